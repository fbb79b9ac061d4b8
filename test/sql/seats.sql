--
-- Seats (R5.1-R5.4): csp.change_quantity and csp.reducible_licenses, with
-- the worked examples X1-X5 of API.md, lots reduced newest first, the
-- 168-hour boundary, refunds for whole 24-hour periods used, cycle charges
-- around seat changes, refusals that change nothing, and the audit log.
--
-- Every figure below is worked out by hand in the comment above the query.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => '{M365}', addon_max_ratio => 1) \gset
SELECT csp.set_price('COPILOT', 'P1Y', 'monthly', 'EUR', 30.00) \gset

------------------------------------------------------------------------------
-- X1-X5 (R5.1, R5.2, R5.3, R11.1)
------------------------------------------------------------------------------
-- X1: buy 2025-01-15 10:00, P1Y monthly, 10 seats at 10.00: end 2026-01-14,
-- `new` 2025-01-15..2025-02-14 = 10 x 10.00 x 31/31 = 100.00
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s \gset
SELECT quantity, term_end, update_count FROM csp.subscriptions WHERE subscription_id = :'s';
SELECT * FROM pg_temp.lines(:'s');
-- X2 / R5.1 positive: 2025-02-01 09:00 quantity 15: `addQuantity` for the 5
-- new seats to the end of the cycle, 2025-02-01..2025-02-14:
-- 5 x 10.00 x 14/31 = 22.5806 -> 22.58
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.change_quantity(:'s', 15) \gset
SELECT quantity, update_count FROM csp.subscriptions WHERE subscription_id = :'s';
SELECT * FROM pg_temp.lines(:'s');
-- R5.4: the purchase lot's window closed on 2025-01-22 10:00; the new lot
-- of 5 is reducible until 2025-02-01 09:00 + 168 h = 2025-02-08 09:00
SELECT * FROM csp.reducible_licenses(:'s');
-- X3 / R5.2, R5.3 positive: 2025-02-03 10:00 quantity 12: 3 seats out of
-- the new lot, 49 hours old: 2 whole days used (2025-02-01, 2025-02-02),
-- refunded from 2025-02-03: `removeQuantity` 2025-02-03..2025-02-14 =
-- -3 x 10.00 x 12/31 = -11.6129 -> -11.61
SET csp.clock = '2025-02-03 10:00+00';
SELECT csp.change_quantity(:'s', 12) \gset
SELECT * FROM pg_temp.lines(:'s');
SELECT * FROM csp.reducible_licenses(:'s');
-- X4 / R5.2 negative: 2025-02-09 12:00 quantity 10: every window has closed:
-- NC002, reducible 0, nothing changed
SET csp.clock = '2025-02-09 12:00+00';
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.change_quantity(:'s', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.change_quantity(%L, 10)', :'s'));
SELECT coalesce(sum(quantity), 0) AS reducible FROM csp.reducible_licenses(:'s');
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
SELECT quantity, update_count FROM csp.subscriptions WHERE subscription_id = :'s';
-- X5 / R11.1: cycle charges at 2025-02-15: `cycleCharge` 2025-02-15..2025-03-14
-- for the 12 seats = 12 x 10.00 x 28/28 = 120.00; a second run posts nothing
SET csp.clock = '2025-02-15 00:00+00';
SELECT csp.run_cycle_charges() AS posted;
SELECT csp.run_cycle_charges() AS posted_again;
SELECT * FROM pg_temp.lines(:'s');
-- the audit log of X1-X5: one row per state change, by the caller; the
-- refused X4 left none; the quantity went 10 -> 15 -> 12
SELECT action, object_type, operation, count(*), bool_and(actor = current_user) AS by_caller
  FROM csp.audit_log
 WHERE object_id = :'s' OR after->>'subscription_id' = :'s'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT before->>'quantity' AS before_quantity, after->>'quantity' AS after_quantity
  FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id = :'s' AND action = 'change_quantity'
   AND before->>'quantity' <> after->>'quantity'
 ORDER BY audit_id;
SELECT source, quantity_added, quantity, added_at, reducible_until
  FROM csp.seat_lot WHERE subscription_id = :'s' ORDER BY lot_id;

------------------------------------------------------------------------------
-- R5.2, R5.3, R5.4: two lots, newest first; the 168-hour and 24-hour limits
------------------------------------------------------------------------------
-- bought 2025-04-01 08:00, 10 seats: term 2025-04-01..2026-03-31, first
-- cycle [2025-04-01, 2025-04-30] (30 days): `new` 10 x 10.00 = 100.00
SET csp.clock = '2025-04-01 08:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS t \gset
-- 2025-04-02 12:00: +5 seats, a second lot: 5 x 10.00 x 29/30 = 48.3333 -> 48.33
SET csp.clock = '2025-04-02 12:00+00';
SELECT csp.change_quantity(:'t', 15) \gset
-- R5.4 positive: both lots, soonest deadline first, each with its own window
SET csp.clock = '2025-04-03 09:00+00';
SELECT * FROM csp.reducible_licenses(:'t');
-- R5.2/R5.3 positive: 2025-04-03 09:00 quantity 8 (7 seats): newest lot
-- first: all 5 of the 2025-04-02 12:00 lot (21 hours: 0 days used, full
-- refund 2025-04-02..2025-04-30: -5 x 10.00 x 29/30 = -48.33), then 2 of the
-- purchase lot (49 hours: 2 days used, 2025-04-03..2025-04-30:
-- -2 x 10.00 x 28/30 = -18.6667 -> -18.67); one action, one reference
SELECT csp.change_quantity(:'t', 8) \gset
SELECT * FROM pg_temp.lines(:'t');
SELECT count(DISTINCT reference_id) AS references, count(*) AS lines
  FROM csp.line_items WHERE subscription_id = :'t' AND charge_type = 'removeQuantity';
SELECT source, quantity_added, quantity FROM csp.seat_lot WHERE subscription_id = :'t' ORDER BY lot_id;
SELECT * FROM csp.reducible_licenses(:'t');
-- R5.2 positive at the boundary: 2025-04-08 07:59 is 167 h 59 min after the
-- purchase: still reducible; 6 whole days used, refund 2025-04-07..2025-04-30:
-- -1 x 10.00 x 24/30 = -8.00
SET csp.clock = '2025-04-08 07:59+00';
SELECT csp.change_quantity(:'t', 7) \gset
SELECT * FROM pg_temp.lines(:'t') WHERE charge_start = '2025-04-07';
-- R5.2 negative at the boundary: 2025-04-08 08:00 is 168 h 00 min: the
-- window is closed (NC002), none is reducible
SET csp.clock = '2025-04-08 08:00+00';
SELECT csp.change_quantity(:'t', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS reducible_lots FROM csp.reducible_licenses(:'t');
-- R5.1 positive: 2025-04-10 10:00 +2 seats: 2 x 10.00 x 21/30 = 14.00
SET csp.clock = '2025-04-10 10:00+00';
SELECT csp.change_quantity(:'t', 9) \gset
SELECT * FROM csp.reducible_licenses(:'t');
-- R5.2 negative: 3 seats when only the 2 of the new lot are reducible
-- (NC002); the hint says how many and until when
SET csp.clock = '2025-04-11 09:59+00';
SELECT csp.change_quantity(:'t', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.change_quantity(%L, 6)', :'t'));
-- R5.3 positive: within 24 hours (23 h 59 min) the refund is full:
-- 0 days used, 2025-04-10..2025-04-30: -1 x 10.00 x 21/30 = -7.00
SELECT csp.change_quantity(:'t', 8) \gset
-- R5.3 negative of "full": at exactly 24 hours one day is used:
-- 2025-04-11..2025-04-30: -1 x 10.00 x 20/30 = -6.6667 -> -6.67
SET csp.clock = '2025-04-11 10:00+00';
SELECT csp.change_quantity(:'t', 7) \gset
SELECT * FROM pg_temp.lines(:'t') WHERE charge_start >= '2025-04-10';
-- what stays charged for those two seats is exactly one seat-day:
-- 14.00 - 7.00 - 6.67 = 0.33 = round(10.00 x 1/30, 2)
SELECT sum(amount) AS net_for_the_lot FROM csp.line_items WHERE subscription_id = :'t' AND charge_start >= '2025-04-10';
-- R11.1: May and June are charged for the 7 seats at each cycle start:
-- 7 x 10.00 x 31/31 = 70.00 and 7 x 10.00 x 30/30 = 70.00
SELECT csp.run_cycle_charges('2025-05-01 00:00+00') > 0 AS charged;
SELECT csp.run_cycle_charges('2025-06-01 00:00+00') > 0 AS charged;
SELECT * FROM pg_temp.lines(:'t') WHERE charge_type = 'cycleCharge';
-- R5.1 positive: an increase long after every window: 2025-06-15 12:00 +2
-- seats, `addQuantity` 2025-06-15..2025-06-30 = 2 x 10.00 x 16/30 = 10.6667 -> 10.67
SET csp.clock = '2025-06-15 12:00+00';
SELECT csp.change_quantity(:'t', 9) \gset
SELECT * FROM pg_temp.lines(:'t') WHERE charge_type = 'addQuantity' AND charge_start = '2025-06-15';
SELECT * FROM csp.reducible_licenses(:'t');
-- R5.2 negative: the old seats are not reducible (NC002); the hint points
-- to the renewal on 2026-04-01
SET csp.clock = '2025-06-30 12:00+00';
SELECT csp.change_quantity(:'t', 8);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.change_quantity(%L, 8)', :'t'));
SELECT quantity, update_count FROM csp.subscriptions WHERE subscription_id = :'t';
-- the subscription's quantity is the sum of its live lots
SELECT (SELECT quantity FROM csp.subscriptions WHERE subscription_id = :'t')
       = (SELECT sum(quantity) FROM csp.seat_lot WHERE subscription_id = :'t') AS quantity_is_sum_of_lots;

------------------------------------------------------------------------------
-- R5.3 a reduction after a cycle charge refunds the cycle charge too
------------------------------------------------------------------------------
-- bought 2025-07-28 10:00 aligned: ends 2026-06-30; first cycle
-- [2025-07-01, 2025-07-31] clipped: 10 x 10.00 x 4/31 = 12.9032 -> 12.90;
-- August's cycle charge: 10 x 10.00 x 31/31 = 100.00
SET csp.clock = '2025-07-28 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10, align_to_calendar_month => true) AS al \gset
SET csp.clock = '2025-08-01 00:00+00';
SELECT csp.run_cycle_charges() > 0 AS charged;
-- 2025-08-02 12:00 (5 days 2 hours: 5 days used, refund from 2025-08-02)
-- quantity 6: July's line ends before, August's is refunded from the 2nd:
-- -4 x 10.00 x 30/31 = -38.7097 -> -38.71
SET csp.clock = '2025-08-02 12:00+00';
SELECT csp.change_quantity(:'al', 6) \gset
SELECT * FROM pg_temp.lines(:'al');
-- the 4 seats paid 4/10 of July's 12.90 and of August's 100.00, less the
-- refund: 5.16 + 40.00 - 38.71 = 6.45, i.e. 5 days: 4 x 10.00 x 5/31 = 6.45
SELECT round(12.90 * 4 / 10 + 100.00 * 4 / 10 - 38.71, 2) AS paid_for_the_4_seats,
       round(4 * 10.00 * 5 / 31, 2) AS five_days_of_4_seats;

------------------------------------------------------------------------------
-- R5.1, R11.1: seats added on a cycle's first day, before the cycle job has
-- run, are charged once for that cycle
------------------------------------------------------------------------------
-- bought 2025-09-15 10:00, 10 seats; cycle [2025-10-15, 2025-11-14]
-- (31 days); at 2025-10-15 00:30 +5 seats, then the job runs: the cycle
-- costs 15 x 10.00 x 31/31 = 150.00, each seat once: 15 x 31 = 465 seat-days
SET csp.clock = '2025-09-15 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS cs \gset
SET csp.clock = '2025-10-15 00:30+00';
SELECT csp.change_quantity(:'cs', 15) \gset
SELECT csp.run_cycle_charges() > 0 AS charged;
SELECT sum(amount) AS october_cycle FROM csp.line_items WHERE subscription_id = :'cs' AND charge_start >= '2025-10-15';
SELECT sum(quantity * days_charged) AS seat_days FROM csp.line_items WHERE subscription_id = :'cs' AND charge_start >= '2025-10-15';

------------------------------------------------------------------------------
-- Malformed, unknown, wrong state, no-op; refused calls change nothing
------------------------------------------------------------------------------
SET csp.clock = '2025-10-20 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5) AS u \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5) AS susp \gset
SELECT csp.suspend(:'susp') \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5) AS canc \gset
SELECT csp.cancel(:'canc') \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'COPILOT', quantity => 5) AS cop \gset
SELECT csp.add_customer('p1', 'Reverified BV', 'NL', mca_attested => true) AS c_rev \gset
SELECT csp.set_customer_verification(:'c_rev', 'approved') \gset
SELECT csp.purchase(customer_id => :'c_rev', sku_id => 'M365', quantity => 5) AS rev \gset
-- R3.4: new billing data: back to pending
SELECT csp.update_customer(:'c_rev', legal_name => 'Reverified Holding BV') \gset
SELECT * FROM pg_temp.checksums() \gset pre_
-- R5.1/R5.2 negative: quantity 0, negative, NULL; NULL subscription (22023)
SELECT csp.change_quantity(:'u', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'u', -3);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'u', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(NULL, 3);
\echo :LAST_ERROR_SQLSTATE
-- unknown subscription (NC404)
SELECT csp.change_quantity('00000000-0000-0000-0000-000000000000', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM csp.reducible_licenses('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
-- R6.2 suspended and R6.1 cancelled: no quantity change (NC003)
SELECT csp.change_quantity(:'susp', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'canc', 6);
\echo :LAST_ERROR_SQLSTATE
-- R3.4 negative: the customer is pending again: no quantity change (NC004)
SELECT csp.change_quantity(:'rev', 6);
\echo :LAST_ERROR_SQLSTATE
-- R4.7: Copilot far above the customer's base licenses (NC007)
SELECT csp.change_quantity(:'cop', 1000);
\echo :LAST_ERROR_SQLSTATE
-- R5.2: a reduction after the window (NC002)
SELECT csp.change_quantity(:'s', 11);
\echo :LAST_ERROR_SQLSTATE
-- R5.1/R5.2 no-op: the same quantity changes nothing, not even update_count
SELECT quantity, update_count FROM csp.subscriptions WHERE subscription_id = :'u';
SELECT csp.change_quantity(:'u', 5) \gset
SELECT quantity, update_count FROM csp.subscriptions WHERE subscription_id = :'u';
SELECT count(*) AS lines FROM csp.line_items WHERE subscription_id = :'u';
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
-- R5.4: nothing is reducible on a suspended or cancelled subscription
SELECT count(*) AS suspended_lots FROM csp.reducible_licenses(:'susp');
SELECT count(*) AS cancelled_lots FROM csp.reducible_licenses(:'canc');
-- R5.2 positive: the same calls succeed where allowed (u is 0 hours old)
SELECT csp.change_quantity(:'u', 3) \gset
SELECT * FROM pg_temp.lines(:'u');
-- every line's amount is explained by its factors
SELECT count(*) AS unexplained
  FROM csp.line_items
 WHERE amount <> round(unit_price * fx_rate * quantity * days_charged / days_in_cycle, 2);

DROP EXTENSION csp_billing CASCADE;
