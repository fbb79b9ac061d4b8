--
-- Refunds are exact (R5.3, R6.3; issue 12 item 6).  A refund is the
-- difference of cumulative rounded amounts, never a piece rounded on its
-- own, so for every charged line:
--   (1) its refunds never exceed it (and never turn it the other way), and
--   (2) what it still owes is exactly its remaining seat-days at its price,
--       rounded once: amount + refunds = prorate(price, seat-days left, 1, days_in_cycle);
--   (3) a round trip of seats with zero seat-days nets exactly 0.00.
-- First two worked cases that failed before 0.3.0, then a seeded property
-- run over 1,000 random add/remove sequences (setseed), each checked.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql

------------------------------------------------------------------------------
-- R5.3 three one-seat reductions of a 25.16 line give back 25.16, not 25.17
------------------------------------------------------------------------------
-- 2025-01-01 bought (cycle 01-01..01-31); 2025-01-06 10:00 +3 seats:
--   addQuantity 3 x 10.00 x 26/31 = 25.1613 -> 25.16.
-- The same hour, three reductions of one seat (no day used, 26 days back):
--   owed after each: 2 x 10 x 26/31 = 16.77, 8.39, 0.00, so the refunds are
--   16.77 - 25.16 = -8.39, 8.39 - 16.77 = -8.38, 0.00 - 8.39 = -8.39 (sum -25.16);
--   each rounded alone it was 3 x -8.39 = -25.17.
SET csp.clock = '2025-01-01 09:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s1 \gset
SET csp.clock = '2025-01-06 10:00+00';
SELECT csp.change_quantity(:'s1', 13) \gset
SELECT csp.change_quantity(:'s1', 12) \gset
SELECT csp.change_quantity(:'s1', 11) \gset
SELECT csp.change_quantity(:'s1', 10) \gset
SELECT * FROM pg_temp.lines(:'s1');
SELECT sum(amount) AS net_of_the_three_seats FROM csp.line_items
 WHERE subscription_id = :'s1' AND charge_type IN ('addQuantity', 'removeQuantity');

------------------------------------------------------------------------------
-- R5.3 400 seats added, then removed one at a time the same hour: 0.00
------------------------------------------------------------------------------
-- Bought 2025-01-01, +400 on 2025-01-06 10:00:
-- addQuantity 400 x 10.00 x 26/31 = 3354.84; 400 one-seat refunds (each
-- 8.38 or 8.39) now add up to -3354.84 exactly (rounded alone: 400 x -8.39
-- = -3356.00, a net of -1.16 for no seat-day at all).
SET csp.clock = '2025-01-01 09:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1) AS s2 \gset
SET csp.clock = '2025-01-06 10:00+00';
SELECT csp.change_quantity(:'s2', 401) \gset
SELECT count(*) AS reductions FROM generate_series(400, 1, -1) q, LATERAL csp.change_quantity(:'s2', q);
SELECT count(*) FILTER (WHERE charge_type = 'removeQuantity') AS refund_lines,
       sum(amount) FILTER (WHERE charge_type = 'addQuantity') AS added,
       sum(amount) FILTER (WHERE charge_type IN ('addQuantity', 'removeQuantity')) AS net
  FROM csp.line_items WHERE subscription_id = :'s2';

------------------------------------------------------------------------------
-- Property: 1,000 seeded random sequences of purchases, additions and
-- reductions inside the 168-hour window, at several prices and both
-- monthly and annual cycles; some sequences give back, the same hour,
-- everything they added (a zero seat-day round trip).
------------------------------------------------------------------------------
SELECT csp.add_product('ODD', 'Odd prices') \gset
SELECT csp.set_price('ODD', 'P1Y', 'monthly', 'EUR', 0.07) \gset
SELECT csp.set_price('ODD', 'P1Y', 'annual', 'EUR', 33.33) \gset
SELECT csp.add_product('ODD2', 'More odd prices') \gset
SELECT csp.set_price('ODD2', 'P1Y', 'monthly', 'EUR', 12.34) \gset
SELECT csp.set_price('ODD2', 'P1Y', 'annual', 'EUR', 99.99) \gset
CREATE TABLE pg_temp.round_trip (subscription_id uuid, lot_from timestamptz);
SELECT setseed(0.1212);
DO $$
DECLARE
    cust uuid := (SELECT customer_id FROM csp.customers WHERE legal_name = 'Acme BV');
    base timestamptz;
    t timestamptz;
    sub uuid;
    q int;
    n int;
    r int;
    steps int;
BEGIN
    FOR i IN 1..1000 LOOP
        base := timestamptz '2025-03-01 00:00+00' + make_interval(hours => (random() * 48)::int,
                                                                  mins => (random() * 59)::int);
        t := base;
        PERFORM set_config('csp.clock', t::text, true);
        q := 1 + (random() * 40)::int;
        sub := csp.purchase(customer_id => cust,
                            sku_id => (ARRAY['M365', 'ODD', 'ODD2'])[1 + (random() * 2)::int],
                            quantity => q,
                            billing_frequency => CASE WHEN random() < 0.3 THEN 'annual' ELSE 'monthly' END);
        IF i % 10 = 0 THEN
            -- a round trip at one instant: add n, give them back one or a few at a time
            t := t + make_interval(hours => (random() * 100)::int);
            PERFORM set_config('csp.clock', t::text, true);
            n := 1 + (random() * 100)::int;
            PERFORM csp.change_quantity(sub, q + n);
            INSERT INTO pg_temp.round_trip VALUES (sub, t);
            WHILE n > 0 LOOP
                r := least(n, 1 + (random() * 3)::int);
                n := n - r;
                PERFORM csp.change_quantity(sub, q + n);
            END LOOP;
            CONTINUE;
        END IF;
        steps := 1 + (random() * 7)::int;
        FOR j IN 1..steps LOOP
            t := t + make_interval(hours => (random() * 20)::int, mins => (random() * 59)::int);
            EXIT WHEN t >= base + interval '167 hours';
            PERFORM set_config('csp.clock', t::text, true);
            IF random() < 0.5 OR q = 1 THEN
                n := 1 + (random() * 60)::int;
                q := q + n;
            ELSE
                q := q - (1 + (random() * (q - 2))::int);
            END IF;
            PERFORM csp.change_quantity(sub, q);
        END LOOP;
    END LOOP;
END $$;

-- (1) and (2) for every charged line: one row, true when every line holds
WITH line AS (
    SELECT c.charge_id, c.amount, c.unit_price * c.fx_rate AS price, c.currency, c.days_in_cycle,
           c.quantity * c.days_charged AS seat_days,
           coalesce(sum(x.amount), 0) AS refunded,
           coalesce(sum(x.quantity * x.days_charged), 0) AS refunded_seat_days,
           count(x.*) AS refunds
      FROM csp.charge c
      LEFT JOIN csp.charge x ON x.billing_account_id = c.billing_account_id
                            AND x.refunds_charge_id = c.charge_id
     WHERE c.refunds_charge_id IS NULL
     GROUP BY c.charge_id, c.amount, c.unit_price, c.fx_rate, c.currency, c.days_in_cycle,
              c.quantity, c.days_charged)
SELECT count(*) AS lines,
       count(*) FILTER (WHERE refunds > 0) AS refunded_lines,
       sum(refunds) AS refunds,
       count(*) FILTER (WHERE amount >= 0 AND (refunded > 0 OR amount + refunded < 0)) AS refunds_beyond_line,
       count(*) FILTER (WHERE amount + refunded
                              <> csp.prorate(price, (seat_days + refunded_seat_days)::bigint, 1,
                                             days_in_cycle, currency)) AS owed_not_exact
  FROM line;

-- (3) every zero seat-day round trip nets exactly 0.00
SELECT count(*) AS round_trips,
       count(*) FILTER (WHERE net <> 0) AS round_trips_not_zero
  FROM (SELECT rt.subscription_id, sum(c.amount) AS net
          FROM pg_temp.round_trip rt
          JOIN csp.charge c ON c.subscription_id = rt.subscription_id
         WHERE c.charge_type IN ('addQuantity', 'removeQuantity') AND c.posted_at = rt.lot_from
         GROUP BY rt.subscription_id) t;

DROP EXTENSION csp_billing CASCADE;
