--
-- Term and charge arithmetic at the function level (API.md "Term and charge
-- arithmetic", worked examples X1-X11; R4.3, R4.5, R5.3, R6.3, R11.1,
-- R11.2, R12.3, R13.1, R13.3).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY default

------------------------------------------------------------------------------
-- Term ends (R4.3, R4.5)
------------------------------------------------------------------------------
-- X1: P1Y bought 2025-01-15 ends 2026-01-14 (end inclusive)
SELECT csp.term_end('2025-01-15', 'P1Y') AS x1_end;
-- X6 / R4.5: aligned to the calendar month it ends 2025-12-31 instead
SELECT csp.term_end(start => '2025-01-15', term => 'P1Y', align_to_calendar_month => true) AS x6_aligned_end;
-- X10: P1Y bought 2021-01-31 ends 2022-01-30
SELECT csp.term_end('2021-01-31', 'P1Y') AS x10_end;
-- X11: aligned P1M and P1Y bought 2022-07-15 end 2022-07-31 and 2023-06-30
SELECT csp.term_end('2022-07-15', 'P1M', true) AS x11_p1m, csp.term_end('2022-07-15', 'P1Y', true) AS x11_p1y;
-- R4.5: an aligned term whose natural end already is a month end keeps it
SELECT csp.term_end('2025-02-01', 'P1M', true) AS feb_p1m, csp.term_end('2025-01-01', 'P1Y', true) AS jan_p1y,
       csp.term_end('2025-03-01', 'P3Y', true) AS mar_p3y;
-- P3Y
SELECT csp.term_end('2025-01-15', 'P3Y') AS p3y, csp.term_end('2025-01-15', 'P3Y', true) AS p3y_aligned;

-- Jan 31 starts: month arithmetic clamps to the shorter month
SELECT csp.term_end('2025-01-31', 'P1M') AS jan31_2025_p1m, csp.term_end('2024-01-31', 'P1M') AS jan31_2024_p1m,
       csp.term_end('2024-01-31', 'P1Y') AS jan31_2024_p1y, csp.term_end('2025-01-31', 'P1M', true) AS jan31_p1m_aligned;
-- Feb 29 starts
SELECT csp.term_end('2024-02-29', 'P1M') AS feb29_p1m, csp.term_end('2024-02-29', 'P1Y') AS feb29_p1y,
       csp.term_end('2024-02-29', 'P3Y') AS feb29_p3y, csp.term_end('2024-02-29', 'P1Y', true) AS feb29_p1y_aligned;
-- leap years: 2024 and 2000 are leap years, 2100 is not
SELECT csp.term_end('2024-01-31', 'P1M') AS y2024, csp.term_end('2000-01-31', 'P1M') AS y2000,
       csp.term_end('2100-01-31', 'P1M') AS y2100;
SELECT csp.term_end('2023-03-01', 'P1Y') AS y2024, csp.term_end('1999-03-01', 'P1Y') AS y2000,
       csp.term_end('2099-03-01', 'P1Y') AS y2100, csp.term_end('2098-03-01', 'P3Y') AS y2100_p3y;

-- The natural end is start + duration - 1 day with PostgreSQL's own month
-- arithmetic, for every start day of 2023-2025 and 2099-2101; the aligned
-- end is the natural end if that is a month end, else the month end before.
SELECT t.term, count(*) AS starts,
       count(*) FILTER (WHERE csp.term_end(d, t.term) <> (d + t.duration - interval '1 day')::date) AS natural_mismatches,
       count(*) FILTER (WHERE csp.term_end(d, t.term, true) <>
                        CASE WHEN (d + t.duration)::date = date_trunc('month', d + t.duration)::date
                             THEN (d + t.duration - interval '1 day')::date
                             ELSE (date_trunc('month', d + t.duration - interval '1 day') - interval '1 day')::date END)
           AS aligned_mismatches
  FROM (VALUES ('P1M', interval '1 month'), ('P1Y', interval '12 months'), ('P3Y', interval '36 months')) t(term, duration),
       LATERAL (SELECT g::date AS d FROM generate_series('2023-01-01'::date, '2025-12-31', '1 day') g
                UNION ALL
                SELECT g::date FROM generate_series('2099-01-01'::date, '2101-12-31', '1 day') g) s
 GROUP BY t.term ORDER BY t.term;

------------------------------------------------------------------------------
-- Billing cycles (R11.1): anchored at end + 1, counted back, first clipped
------------------------------------------------------------------------------
-- X10: the first two monthly cycles of P1Y bought 2021-01-31
SELECT * FROM csp.billing_cycles('2021-01-31', '2022-01-30', 'P1Y', 'monthly') LIMIT 2;
SELECT * FROM csp.billing_cycle('2021-01-31', '2022-01-30', 'P1Y', 'monthly', '2021-03-15');
-- X1: the first cycle of P1Y bought 2025-01-15 is 2025-01-15..2025-02-14 (31 days)
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2025-01-15');
-- X2: 2025-02-01 lies in that same cycle
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2025-02-01');
-- X5: the cycle charged at 2025-02-15 is 2025-02-15..2025-03-14
SELECT * FROM csp.billing_cycle(term_start => '2025-01-15', term_end => '2026-01-14', term => 'P1Y',
                                billing_frequency => 'monthly', on_date => '2025-02-15');
-- X6: the aligned term's first cycle is clipped: 2025-01-15..2025-01-31 of a 31-day cycle
SELECT * FROM csp.billing_cycles('2025-01-15', '2025-12-31', 'P1Y', 'monthly') LIMIT 2;
SELECT count(*) AS x6_cycles FROM csp.billing_cycles('2025-01-15', '2025-12-31', 'P1Y', 'monthly');
-- X7: P1Y annual bought 2025-03-01 has one 365-day cycle
SELECT * FROM csp.billing_cycles('2025-03-01', csp.term_end('2025-03-01', 'P1Y'), 'P1Y', 'annual');

-- Jan 31: the monthly cycles of P1Y from 2024-01-31 start on the 31st or the
-- last day of each shorter month (Feb 29 2024 included), never drifting
SELECT * FROM csp.billing_cycles('2024-01-31', csp.term_end('2024-01-31', 'P1Y'), 'P1Y', 'monthly');
-- Feb 29: the anchor is end + 1 = 2025-02-28, so cycles run from the 28th and
-- the first one is clipped at 2024-02-29 (28 of 29 days: the contract's
-- formula taken literally, A - 12 months = 2024-02-28 is before the start)
SELECT * FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P1Y'), 'P1Y', 'monthly') LIMIT 3;
SELECT * FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P3Y'), 'P3Y', 'annual');
SELECT * FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P3Y'), 'P3Y', 'triennial');
SELECT * FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P3Y'), 'P3Y', 'one_time');
-- leap years: an annual cycle holding Feb 29 has 366 days (2024, 2000), not 2100
SELECT csp.term_end(s, 'P1Y') AS term_end, (csp.billing_cycle(s, csp.term_end(s, 'P1Y'), 'P1Y', 'annual', s)).*
  FROM unnest(ARRAY['2023-03-01', '1999-03-01', '2099-03-01', '2024-03-01']::date[]) s;
-- and a February monthly cycle has 29, 29 and 28 days
SELECT s, (csp.billing_cycle(s, csp.term_end(s, 'P1M'), 'P1M', 'monthly', s)).*
  FROM unnest(ARRAY['2024-02-01', '2000-02-01', '2100-02-01']::date[]) s;

-- P3Y with triennial, annual and monthly billing, and one_time
SELECT * FROM csp.billing_cycles('2025-01-15', '2028-01-14', 'P3Y', 'triennial');
SELECT * FROM csp.billing_cycles('2025-01-15', '2028-01-14', 'P3Y', 'annual');
SELECT count(*) AS cycles, min(cycle_start) AS first_start, max(cycle_end) AS last_end, sum(cycle_end - cycle_start + 1) AS days
  FROM csp.billing_cycles('2025-01-15', '2028-01-14', 'P3Y', 'monthly');
-- one_time: a single cycle [start, natural end], also for P1M and an aligned P1Y
SELECT * FROM csp.billing_cycles('2025-01-15', '2025-02-14', 'P1M', 'one_time');
SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-14', 'P1Y', 'one_time');
SELECT * FROM csp.billing_cycles('2025-01-15', '2025-12-31', 'P1Y', 'one_time');
SELECT * FROM csp.billing_cycle('2025-01-15', '2025-12-31', 'P1Y', 'one_time', '2025-12-31');
-- P1M monthly is one cycle; from Jan 31 it is [A - 1 month, A - 1] =
-- [2025-01-28, 2025-02-27] clipped at the start, so the divisor is 31 for a
-- 28-day term (the contract's formula taken literally; one_time above uses
-- [start, natural end] instead)
SELECT * FROM csp.billing_cycles('2025-01-31', csp.term_end('2025-01-31', 'P1M'), 'P1M', 'monthly');

-- R4.5 co-termination: a term ending anywhere in [start, natural end] is
-- billed in cycles anchored at its own end: bought 2025-02-01, co-terminated
-- with a subscription ending 2025-12-31 -> 11 monthly cycles
SELECT count(*) AS cycles, min(cycle_start) AS first_start, max(cycle_end) AS last_end
  FROM csp.billing_cycles('2025-02-01', '2025-12-31', 'P1Y', 'monthly');
-- co-terminated on 2025-06-20: first cycle clipped 2025-02-01..2025-02-20 of a 31-day cycle
SELECT * FROM csp.billing_cycles('2025-02-01', '2025-06-20', 'P1Y', 'monthly');
-- the shortest co-terminous term: one day
SELECT * FROM csp.billing_cycles('2025-02-01', '2025-02-01', 'P1Y', 'monthly');

-- Every cycle, for every start day from 2023-12-01 to 2024-03-31, every term
-- and frequency, natural and aligned end, equals the contract's formula:
-- k-th cycle from the end = [A - k*L months, A - (k-1)*L months - 1],
-- A = end + 1, first cycle clipped; one_time = [start, natural end].
WITH terms(term, months, frequency, len) AS (
    VALUES ('P1M', 1, 'monthly', 1), ('P1Y', 12, 'monthly', 1), ('P1Y', 12, 'annual', 12),
           ('P3Y', 36, 'monthly', 1), ('P3Y', 36, 'annual', 12), ('P3Y', 36, 'triennial', 36)),
starts AS (
    SELECT g::date AS s FROM generate_series('2023-12-01'::date, '2024-03-31', '1 day') g),
cases AS (
    SELECT s, term, months, frequency, len, e
      FROM starts, terms, LATERAL (VALUES (csp.term_end(s, term)), (csp.term_end(s, term, true))) ends(e)),
expected AS (
    SELECT c.s, c.term, c.frequency, c.e,
           greatest(c.s, (c.e + 1 - make_interval(months => k * c.len))::date) AS cycle_start,
           (c.e + 1 - make_interval(months => (k - 1) * c.len))::date - 1 AS cycle_end,
           (c.e + 1 - make_interval(months => (k - 1) * c.len))::date - (c.e + 1 - make_interval(months => k * c.len))::date AS days_in_cycle
      FROM cases c, generate_series(1, c.months / c.len + 1) k
     WHERE (c.e + 1 - make_interval(months => (k - 1) * c.len))::date - 1 >= c.s
    UNION ALL
    SELECT s, term, 'one_time', e, s, csp.term_end(s, term), csp.term_end(s, term) - s + 1
      FROM cases WHERE frequency = 'monthly'),
actual AS (
    SELECT c.s, c.term, c.frequency, c.e, b.*
      FROM (SELECT s, term, frequency, e FROM cases
            UNION ALL SELECT s, term, 'one_time', e FROM cases WHERE frequency = 'monthly') c,
           csp.billing_cycles(c.s, c.e, c.term, c.frequency) b)
SELECT (SELECT count(*) FROM actual) AS cycles,
       (SELECT count(*) FROM (SELECT * FROM actual EXCEPT ALL SELECT * FROM expected) x) AS unexpected,
       (SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM actual) x) AS missing;

-- csp.billing_cycle(on_date) is the billing_cycles row holding on_date, for
-- every day of a few terms
SELECT t.s, t.term, t.frequency, count(*) AS days,
       count(*) FILTER (WHERE (b.cycle_start, b.cycle_end, b.days_in_cycle) IS DISTINCT FROM
                        (SELECT (c.cycle_start, c.cycle_end, c.days_in_cycle)
                           FROM csp.billing_cycles(t.s, t.e, t.term, t.frequency) c
                          WHERE d BETWEEN c.cycle_start AND c.cycle_end)) AS mismatches
  FROM (VALUES ('2024-01-31'::date, '2025-01-30'::date, 'P1Y', 'monthly'),
               ('2024-02-29', '2027-02-27', 'P3Y', 'annual'),
               ('2025-01-15', '2025-12-31', 'P1Y', 'monthly'),
               ('2025-01-15', '2025-12-31', 'P1Y', 'one_time')) t(s, e, term, frequency),
       generate_series(t.s, t.e, '1 day') g(d),
       csp.billing_cycle(t.s, t.e, t.term, t.frequency, d::date) b
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

------------------------------------------------------------------------------
-- Proration and rounding (R5.3, R11.2)
------------------------------------------------------------------------------
-- X1: 10 seats at 10.00 for the whole first cycle = 100.00
SELECT csp.prorate(10.00, 10, 31, 31, 'USD') AS x1_new;
-- X2: 5 added seats for 2025-02-01..2025-02-14 of the 31-day cycle = 22.58
SELECT csp.prorate(unit_price => 10.00, quantity => 5, days => 14, days_in_cycle => 31, currency => 'USD') AS x2_add;
-- X3: 3 seats removed for 2025-02-03..2025-02-14 (12 days) = -11.61
SELECT csp.prorate(10.00, -3, 12, 31, 'USD') AS x3_remove, -csp.prorate(10.00, 3, 12, 31, 'USD') AS x3_negated;
-- X5: 12 seats for the full cycle 2025-02-15..2025-03-14 (28 days) = 120.00
SELECT csp.prorate(10.00, 12, 28, 28, 'USD') AS x5_cycle;
-- X6: 2025-01-15..2025-01-31 = 17 days of the 31-day cycle = 54.84
SELECT csp.prorate(10.00, 10, 17, 31, 'USD') AS x6_new;
-- X7: 5 at 120.00 annual = 600.00; cancelled 3 days in: 362 of 365 days back
SELECT csp.prorate(120.00, 5, 365, 365, 'USD') AS x7_new, csp.prorate(120.00, -5, 365, 365, 'USD') AS x7_cancel_same_day,
       csp.prorate(120.00, -5, 362, 365, 'USD') AS x7_cancel_day_3;

-- X1-X7 end to end: the charge of a span = prorate over the cycle that holds it
SELECT csp.prorate(10.00, 10, (c).cycle_end - (c).cycle_start + 1, (c).days_in_cycle, 'USD') AS x6_new
  FROM (SELECT csp.billing_cycle('2025-01-15', csp.term_end('2025-01-15', 'P1Y', true), 'P1Y', 'monthly', '2025-01-15') AS c) x;
SELECT csp.prorate(10.00, 5, (c).cycle_end - '2025-02-01'::date + 1, (c).days_in_cycle, 'USD') AS x2_add
  FROM (SELECT csp.billing_cycle('2025-01-15', csp.term_end('2025-01-15', 'P1Y'), 'P1Y', 'monthly', '2025-02-01') AS c) x;

-- rounding is half away from zero, also for negative amounts
SELECT csp.prorate(0.01, 1, 1, 2, 'USD') AS half_cent_up, csp.prorate(0.01, -1, 1, 2, 'USD') AS half_cent_down,
       csp.prorate(0.01, 1, 1, 3, 'USD') AS third_cent, csp.prorate(0.01, -1, 1, 3, 'USD') AS minus_third_cent,
       csp.prorate(0.03, 1, 1, 2, 'USD') AS one_and_a_half_cent, csp.prorate(0.03, -1, 1, 2, 'USD') AS minus_one_and_a_half;
SELECT csp.prorate(10.00, 10, 0, 31, 'USD') AS zero_days, csp.prorate(0, 10, 31, 31, 'USD') AS free;
SELECT csp.round_money(2.345, 'USD') AS up, csp.round_money(-2.345, 'USD') AS down, csp.round_money(2.3449999, 'USD') AS below_half,
       csp.round_money(-0.005, 'EUR') AS minus_half_cent, csp.round_money(7, 'EUR') AS whole;
-- minor units (ISO 4217 exponent): JPY 0 decimals, KWD 3, USD 2; lower case accepted
SELECT csp.currency_exponent('JPY') AS jpy, csp.currency_exponent('KWD') AS kwd, csp.currency_exponent('usd') AS usd,
       csp.currency_exponent('BHD') AS bhd, csp.currency_exponent('CLP') AS clp;
SELECT csp.prorate(1000, 1, 1, 3, 'JPY') AS jpy_third, csp.prorate(1000, 1, 2, 3, 'JPY') AS jpy_two_thirds,
       csp.prorate(1, 1, 1, 2, 'JPY') AS jpy_half, csp.prorate(1, -1, 1, 2, 'JPY') AS jpy_minus_half,
       csp.round_money(2.5, 'JPY') AS jpy_round, csp.round_money(-2.5, 'JPY') AS jpy_round_negative;
SELECT csp.prorate(10, 1, 1, 3, 'KWD') AS kwd_third, csp.prorate(0.001, 1, 1, 2, 'KWD') AS kwd_half_fils,
       csp.prorate(0.001, -1, 1, 2, 'KWD') AS kwd_minus_half_fils, csp.prorate(10.00, 10, 17, 31, 'KWD') AS kwd_x6,
       csp.round_money(1.2345, 'KWD') AS kwd_round;
-- a 30-digit price is still prorated exactly (no float, no intermediate rounding)
SELECT csp.prorate(123456789012345678901234.56, 1, 1, 3, 'USD') AS third,
       csp.prorate(123456789012345678901234.57, 1, 1, 2, 'USD') AS half_up,
       csp.prorate(123456789012345678901234.57, -1, 1, 2, 'USD') AS half_down,
       csp.prorate(123456789012345678901234.56, 7, 13, 31, 'USD') AS seven_seats_13_of_31;
-- a price with more decimals than the currency: exact until the one rounding
SELECT csp.prorate(0.004999, 1, 1, 1, 'USD') AS just_below_half_cent, csp.prorate(0.005, 1, 1, 1, 'USD') AS half_cent,
       csp.prorate(1.0049999999, 3, 1, 3, 'USD') AS tiny_below, csp.prorate(3.335, 1, 1, 1, 'USD') AS three_335;

------------------------------------------------------------------------------
-- Whole days used (R5.2, R5.3, R6.3): whole 24-hour periods, rounded down
------------------------------------------------------------------------------
-- X3: 2025-02-01 09:00 -> 2025-02-03 10:00 = 2 days used
SELECT csp.whole_days('2025-02-01 09:00+00', '2025-02-03 10:00+00') AS x3_days_used;
-- X7: bought 2025-03-01 08:00; 20:00 same day = 0, 2025-03-04 09:00 = 3, 2025-03-08 09:00 = 7
SELECT csp.whole_days('2025-03-01 08:00+00', '2025-03-01 20:00+00') AS x7_same_day,
       csp.whole_days('2025-03-01 08:00+00', '2025-03-04 09:00+00') AS x7_day_3,
       csp.whole_days(from_at => '2025-03-01 08:00+00', to_at => '2025-03-08 09:00+00') AS x7_day_7;
-- exactly 24 h is one day, a microsecond less is none; backwards is negative
SELECT csp.whole_days('2025-03-01 08:00+00', '2025-03-02 08:00+00') AS exactly_24h,
       csp.whole_days('2025-03-01 08:00+00', '2025-03-02 07:59:59.999999+00') AS just_under,
       csp.whole_days('2025-03-01 08:00+00', '2025-03-01 07:59:59.999999+00') AS backwards,
       csp.whole_days('2025-03-01 08:00+00', '2025-03-01 08:00+00') AS same;
-- 24-hour periods, not calendar days: a local day that is 23 h long (DST) is
-- no whole day; 168 h (R5.2) is 7
SELECT csp.whole_days('2025-03-08 12:00 America/New_York', '2025-03-09 12:00 America/New_York') AS dst_day,
       csp.whole_days('2025-02-01 09:00+00', '2025-02-01 09:00+00'::timestamptz + interval '168 hours') AS h168;

------------------------------------------------------------------------------
-- R12.3 FX rate date: two business days before the month's first day
------------------------------------------------------------------------------
-- X8 positive: December 2023 (1st is a Friday) uses the rate of 2023-11-29
SELECT csp.fx_rate_date('2023-12-01') AS x8, csp.fx_rate_date('2023-12-31') AS x8_any_day_of_month;
-- R12.3 negative: not the business day before the 1st, nor 2 calendar days before
SELECT csp.fx_rate_date('2023-12-01') <> '2023-11-30' AS not_one_day, csp.fx_rate_date('2023-12-01') = '2023-11-29' AS is_two;
-- 1st on each weekday: Mon 2024-01-01, Tue 2024-10-01, Wed 2025-01-01,
-- Thu 2024-02-01, Sat 2024-06-01, Sun 2023-10-01
SELECT m, to_char(m, 'Dy') AS first_is, csp.fx_rate_date(m) AS rate_date, to_char(csp.fx_rate_date(m), 'Dy') AS rate_day
  FROM unnest(ARRAY['2024-01-01', '2024-10-01', '2025-01-01', '2024-02-01', '2023-12-01', '2024-06-01', '2023-10-01']::date[]) m;
-- over 30 years: always a weekday, and exactly two weekdays in [rate_date, 1st)
SELECT count(*) AS months,
       count(*) FILTER (WHERE extract(isodow FROM r) > 5) AS weekend_dates,
       count(*) FILTER (WHERE (SELECT count(*) FROM generate_series(r, m - 1, '1 day') x WHERE extract(isodow FROM x) < 6) <> 2)
           AS not_two_business_days
  FROM generate_series('2000-01-01'::date, '2029-12-01', '1 month') g(m0), LATERAL (SELECT g.m0::date AS m, csp.fx_rate_date(g.m0::date) AS r) x;

------------------------------------------------------------------------------
-- R13.1, R13.3 invoice periods
------------------------------------------------------------------------------
-- X9: NCE invoice for January 2025: dated 2025-02-01, published the 8th, due 60 days on
SELECT * FROM csp.invoice_period('2025-01-17');
SELECT (csp.invoice_period('2025-01-01')).period_start = (csp.invoice_period('2025-01-31')).period_start AS same_period;
-- December, and a leap February
SELECT * FROM csp.invoice_period('2024-12-05');
SELECT * FROM csp.invoice_period('2024-02-29');
-- legacy: anniversary day 12, invoice and files two days after the invoice date
SELECT * FROM csp.invoice_period('2025-01-17', 12);
SELECT * FROM csp.invoice_period('2025-01-11', 12);
SELECT * FROM csp.invoice_period(on_date => '2025-01-12', anniversary_day => 12);
SELECT * FROM csp.invoice_period('2025-02-27', 28);
SELECT * FROM csp.invoice_period('2025-03-01', 1);

------------------------------------------------------------------------------
-- Errors: malformed input is 22023 (API.md "Errors")
------------------------------------------------------------------------------
-- bad term
SELECT csp.term_end('2025-01-15', 'P2Y');
\echo :SQLSTATE
SELECT csp.term_end('2025-01-15', '');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-14', '1Y', 'monthly');
\echo :SQLSTATE
-- bad frequency
SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-14', 'P1Y', 'yearly');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'quarterly', '2025-01-15');
\echo :SQLSTATE
-- a frequency that does not fit the term: annual on P1M, triennial on P1Y
SELECT * FROM csp.billing_cycles('2025-01-15', '2025-02-14', 'P1M', 'annual');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'triennial', '2025-01-15');
\echo :SQLSTATE
-- on_date outside the term
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2025-01-14');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2026-01-15');
\echo :SQLSTATE
-- a term ending before it starts
SELECT * FROM csp.billing_cycles('2025-01-15', '2025-01-14', 'P1Y', 'monthly');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2025-01-14', 'P1Y', 'monthly', '2025-01-15');
\echo :SQLSTATE
-- R4.5 negative: a term cannot end after its natural end (a co-terminous end
-- must lie in [start, natural end]); P1Y from 2025-01-15 ends by 2026-01-14
SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-15', 'P1Y', 'monthly');
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2027-01-14', 'P1Y', 'monthly', '2025-01-15');
\echo :SQLSTATE
-- dates outside 1900-01-01..9999-12-31, infinite dates
SELECT csp.term_end('1899-12-31', 'P1M');
\echo :SQLSTATE
SELECT csp.term_end('9999-06-01', 'P1Y');
\echo :SQLSTATE
SELECT csp.term_end('infinity', 'P1Y');
\echo :SQLSTATE
SELECT csp.fx_rate_date('-infinity');
\echo :SQLSTATE
-- NULL arguments
SELECT csp.term_end(NULL, 'P1Y');
\echo :SQLSTATE
SELECT csp.term_end('2025-01-15', NULL);
\echo :SQLSTATE
SELECT csp.term_end('2025-01-15', 'P1Y', NULL);
\echo :SQLSTATE
SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', NULL);
\echo :SQLSTATE
SELECT * FROM csp.billing_cycles('2025-01-15', NULL, 'P1Y', 'monthly');
\echo :SQLSTATE
SELECT csp.prorate(NULL, 1, 1, 1, 'USD');
\echo :SQLSTATE
SELECT csp.prorate(10, 1, 1, 1, NULL);
\echo :SQLSTATE
SELECT csp.whole_days(NULL, '2025-01-01 00:00+00');
\echo :SQLSTATE
SELECT csp.fx_rate_date(NULL);
\echo :SQLSTATE
SELECT * FROM csp.invoice_period(NULL);
\echo :SQLSTATE
SELECT csp.round_money(NULL, 'USD');
\echo :SQLSTATE
-- bad currency: unknown, not three letters, a precious metal
SELECT csp.prorate(10, 1, 1, 1, 'EURO');
\echo :SQLSTATE
SELECT csp.prorate(10, 1, 1, 1, 'ABC');
\echo :SQLSTATE
SELECT csp.round_money(1.5, 'XAU');
\echo :SQLSTATE
SELECT csp.currency_exponent('');
\echo :SQLSTATE
-- days outside [0, days_in_cycle], a cycle of no days
SELECT csp.prorate(10, 1, 32, 31, 'USD');
\echo :SQLSTATE
SELECT csp.prorate(10, 1, -1, 31, 'USD');
\echo :SQLSTATE
SELECT csp.prorate(10, 1, 0, 0, 'USD');
\echo :SQLSTATE
-- NaN and infinite prices
SELECT csp.prorate('NaN', 1, 1, 1, 'USD');
\echo :SQLSTATE
SELECT csp.prorate('Infinity', 1, 1, 1, 'USD');
\echo :SQLSTATE
SELECT csp.round_money('-Infinity', 'USD');
\echo :SQLSTATE
-- infinite instants
SELECT csp.whole_days('2025-01-01 00:00+00', 'infinity');
\echo :SQLSTATE
-- anniversary day outside 1..28
SELECT * FROM csp.invoice_period('2025-01-17', 29);
\echo :SQLSTATE
SELECT * FROM csp.invoice_period('2025-01-17', 0);
\echo :SQLSTATE

-- whole 24-hour periods between the most distant finite instants: the
-- difference in microseconds overflows int64, the day count does not
-- (found by make fuzz, which compares against a slow reference calendar)
SELECT csp.whole_days('4713-01-01 00:00+00 BC', '294276-12-31 00:00+00') AS forward,
       csp.whole_days('294276-12-31 00:00+00', '4713-01-01 00:00+00 BC') AS backward;

DROP EXTENSION csp_billing CASCADE;
