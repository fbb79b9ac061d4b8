--
-- Time zones (issue 6, item 7).  R4.10 / API.md "Time": dates of terms and
-- charges are UTC calendar dates whatever the session's TimeZone.  The same
-- scenario (test/sql/include/tz_scenario.sql: purchases minutes from midnight
-- UTC, seat changes across midnight, 25 months of daily jobs run one second
-- either side of midnight UTC) is run under UTC, America/Los_Angeles,
-- Pacific/Kiritimati and Asia/Kolkata; the line items, billing overview and
-- subscriptions, as text, must be identical.  Then the month-end and leap-day
-- anchors (R11, API.md "Billing cycles ... anchored at A = end + 1") of a P3Y
-- monthly term, and the P1M renewal chain from Jan 31.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
\set VERBOSITY default
SET client_min_messages = warning;

-- the scenario's results as text, without ids and numbers that differ per
-- run (uuids, invoice numbers: sequences are not rolled back) and with
-- every instant shown in UTC
CREATE FUNCTION pg_temp.result_text() RETURNS TABLE (part text, body text) LANGUAGE sql AS $$
    SELECT 'line_items', string_agg(format('%s %s %s..%s q=%s d=%s/%s amt=%s posted=%s billed=%s',
                                 s.friendly_name, l.charge_type, l.charge_start, l.charge_end, l.quantity,
                                 l.days_charged, l.days_in_cycle, l.amount,
                                 to_char(l.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                                 l.invoice_number IS NOT NULL), E'\n' ORDER BY l.charge_start, s.friendly_name, l.charge_type, l.quantity)
      FROM csp.line_items l JOIN csp.subscription s USING (subscription_id)
    UNION ALL
    SELECT 'billing_overview', string_agg(format('%s %s..%s inv=%s pub=%s due=%s %s total=%s paid=%s due=%s %s',
                                 document_type, period_start, period_end, invoice_date, published_on, due_date,
                                 currency, total, paid, amount_due, status), E'\n' ORDER BY period_start, document_type)
      FROM csp.billing_overview
    UNION ALL
    SELECT 'subscriptions', string_agg(format('%s %s q=%s %s..%s %s cancel_until=%s',
                                 s.friendly_name, status, quantity, term_start, term_end, term,
                                 to_char(cancellation_allowed_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')), E'\n' ORDER BY s.friendly_name)
      FROM csp.subscription s WHERE s.friendly_name LIKE 'tz-%'
$$;
CREATE TEMP TABLE tz_result (zone text, part text, body text);
-- the instants at which the jobs run: one second either side of every
-- midnight UTC from 2025-02-01 to 2027-03-01
CREATE TEMP TABLE tz_ticks AS
SELECT '2025-02-01 00:00+00'::timestamptz + d * interval '24 hours' + s * interval '1 second' AS t
  FROM generate_series(0, 758) AS d, (VALUES (-1), (1)) AS v(s);

BEGIN;
SET LOCAL timezone = 'UTC';
\i test/sql/include/tz_scenario.sql
SELECT json_agg(r)::text AS res FROM pg_temp.result_text() AS r \gset
ROLLBACK;
INSERT INTO tz_result SELECT 'UTC', part, body FROM json_to_recordset(:'res'::json) AS x(part text, body text);
BEGIN;
SET LOCAL timezone = 'America/Los_Angeles';
\i test/sql/include/tz_scenario.sql
SELECT json_agg(r)::text AS res FROM pg_temp.result_text() AS r \gset
ROLLBACK;
INSERT INTO tz_result SELECT 'America/Los_Angeles', part, body FROM json_to_recordset(:'res'::json) AS x(part text, body text);
BEGIN;
SET LOCAL timezone = 'Pacific/Kiritimati';
\i test/sql/include/tz_scenario.sql
SELECT json_agg(r)::text AS res FROM pg_temp.result_text() AS r \gset
ROLLBACK;
INSERT INTO tz_result SELECT 'Pacific/Kiritimati', part, body FROM json_to_recordset(:'res'::json) AS x(part text, body text);
BEGIN;
SET LOCAL timezone = 'Asia/Kolkata';
\i test/sql/include/tz_scenario.sql
SELECT json_agg(r)::text AS res FROM pg_temp.result_text() AS r \gset
ROLLBACK;
INSERT INTO tz_result SELECT 'Asia/Kolkata', part, body FROM json_to_recordset(:'res'::json) AS x(part text, body text);
SHOW timezone;

-- every zone's text equals the UTC run's, part by part
SELECT z.zone, z.part, z.body = u.body AS same_as_utc, length(z.body) > 0 AS not_empty
  FROM tz_result z JOIN tz_result u ON u.zone = 'UTC' AND u.part = z.part
 ORDER BY z.part, z.zone;
-- the UTC run in full (R4.10: a purchase at 2025-05-31 23:30 UTC starts 2025-05-31)
SELECT body AS subscriptions FROM tz_result WHERE zone = 'UTC' AND part = 'subscriptions';
SELECT body AS billing_overview FROM tz_result WHERE zone = 'UTC' AND part = 'billing_overview';
SELECT body AS line_items FROM tz_result WHERE zone = 'UTC' AND part = 'line_items';

------------------------------------------------------------------------------
-- Month-end and leap-day anchors: billing cycles of a P3Y monthly term
-- (API.md: cycles counted back from A = end + 1 with PostgreSQL month
-- arithmetic; the first cycle clipped at the start)
------------------------------------------------------------------------------
-- 2024-01-31 P3Y: end 2027-01-30, A = 2027-01-31; cycle starts are A - k
-- months: the 31st, or the last day of shorter months, never drifting to
-- the 28th/29th/30th of later months
SELECT count(*) AS cycles, min(cycle_start) AS first_start, max(cycle_end) AS last_end,
       bool_and(extract(day FROM cycle_start) = least(31, extract(day FROM (date_trunc('month', cycle_start) + interval '1 month - 1 day'))))
         AS starts_on_31st_or_month_end,
       bool_and(cycle_end + 1 = lead_start OR lead_start IS NULL) AS contiguous
  FROM (SELECT c.*, lead(cycle_start) OVER (ORDER BY cycle_start) AS lead_start
          FROM csp.billing_cycles('2024-01-31', csp.term_end('2024-01-31', 'P3Y'), 'P3Y', 'monthly') c) x;
SELECT string_agg(to_char(cycle_start, 'YYYY-MM-DD'), ' ' ORDER BY cycle_start) AS cycle_starts
  FROM csp.billing_cycles('2024-01-31', csp.term_end('2024-01-31', 'P3Y'), 'P3Y', 'monthly');
-- 2024-02-29 P3Y: end = 2024-02-29 + 36 months - 1 day = 2027-02-27,
-- A = 2027-02-28; cycle starts are the 28th (A's day) of every month, the
-- first cycle clipped at 2024-02-29
SELECT count(*) AS cycles, csp.term_end('2024-02-29', 'P3Y') AS term_end,
       bool_and(extract(day FROM cycle_start) = 28 OR cycle_start = '2024-02-29') AS starts_on_anchor_day,
       bool_and(cycle_end + 1 = lead_start OR lead_start IS NULL) AS contiguous
  FROM (SELECT c.*, lead(cycle_start) OVER (ORDER BY cycle_start) AS lead_start
          FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P3Y'), 'P3Y', 'monthly') c) x;
SELECT string_agg(to_char(cycle_start, 'YYYY-MM-DD'), ' ' ORDER BY cycle_start) AS cycle_starts
  FROM csp.billing_cycles('2024-02-29', csp.term_end('2024-02-29', 'P3Y'), 'P3Y', 'monthly');

------------------------------------------------------------------------------
-- The P1M bought 2025-01-31 through 25 monthly renewals (R6.6: renewal the
-- day after the inclusive end; natural end = start + 1 month - 1 day)
------------------------------------------------------------------------------
-- API.md natural end = start + 1 month - 1 day, renewal = end + 1: from
-- 2025-01-31 the chain goes 01-31..02-27, 02-28..03-27 and then stays on
-- the 28th (it does NOT return to the month end: the anchor drifts once, in
-- February, and is then stable).  FINDING reported to the lead: if P1M
-- renewals must keep a month-end anchor, the engine (and API.md) must
-- carry the original day; the first assertion below then becomes true.
SELECT bool_and(extract(day FROM split_part(split_part(l, ' ', 3), '..', 1)::date)
                = least(31, extract(day FROM (date_trunc('month', split_part(split_part(l, ' ', 3), '..', 1)::date) + interval '1 month - 1 day'))))
         AS renewals_keep_month_end,
       bool_and(extract(day FROM split_part(split_part(l, ' ', 3), '..', 1)::date) = 28) FILTER (WHERE split_part(l, ' ', 2) = 'renew')
         AS renewals_start_on_28th,
       count(*) FILTER (WHERE split_part(l, ' ', 2) = 'renew') AS renewals
  FROM tz_result, regexp_split_to_table(body, E'\n') AS l
 WHERE zone = 'UTC' AND part = 'line_items' AND l LIKE 'tz-p1m-jan31 %';
SELECT split_part(l, ' ', 2) AS charge_type, split_part(l, ' ', 3) AS term
  FROM tz_result, regexp_split_to_table(body, E'\n') WITH ORDINALITY AS t(l, n)
 WHERE zone = 'UTC' AND part = 'line_items' AND l LIKE 'tz-p1m-jan31 %' ORDER BY n;

DROP EXTENSION csp_billing CASCADE;
