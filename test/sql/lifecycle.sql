--
-- Lifecycle (R6.1-R6.5, R6.7): suspend, reactivate, cancel, set_auto_renew,
-- rename and the state-machine trigger; cancellation refunds (X7, R6.3) and
-- marketplace SaaS credits (R6.4); management blocked while the customer is
-- not approved (R3.4); the update limit (R4.9); cycle charges (R11.1); the
-- audit log; refused calls that change nothing.
--
-- Every figure below is worked out by hand in the comment above the query.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
SELECT csp.add_product('ISV', 'Contoso SaaS', publisher => 'contoso-isv') \gset
SELECT csp.set_price('ISV', 'P1M', 'monthly', 'EUR', 20.00) \gset
SELECT csp.set_price('ISV', 'P1Y', 'annual', 'EUR', 200.00) \gset
SELECT csp.set_price('ISV', 'P1Y', 'monthly', 'EUR', 20.00) \gset

------------------------------------------------------------------------------
-- R6.3 a cancellation refunds, line by line, everything after the days used
------------------------------------------------------------------------------
-- 2025-01-15 10:00: 10 seats, `new` 2025-01-15..2025-02-14 = 100.00;
-- 2025-01-16 09:00: +5, 5 x 10.00 x 30/31 = 48.3871 -> 48.39;
-- 2025-01-17 11:00: -2 of the new lot (26 h: 1 day used), 2025-01-17..02-14:
--   -2 x 10.00 x 29/31 = -18.7097 -> -18.71
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS c1 \gset
SET csp.clock = '2025-01-16 09:00+00';
SELECT csp.change_quantity(:'c1', 15) \gset
SET csp.clock = '2025-01-17 11:00+00';
SELECT csp.change_quantity(:'c1', 13) \gset
-- R6.3 positive: cancel 2025-01-18 12:00, 74 hours into the term: 3 days
-- used, every seat still charged refunded from 2025-01-18 (28 of 31 days),
-- each as the difference of cumulative amounts (item 6 of issue 12):
--   new            -10 x 10.00 x 28/31 = -90.3226 -> -90.32
--                  (owed after: 10 x 10.00 x 3/31 = 9.68; 9.68 - 100.00)
--   addQuantity    the 3 seats left of 5 (2 went on 01-17):
--                  owed after: 10.00 x (5 x 30 - 2 x 29 - 3 x 28)/31 = 2.58;
--                  2.58 - (48.39 - 18.71) = -27.10
--                  (before 0.3.0: -45.16 and the refund's undoing +18.06, the
--                  same -27.10 in two separately rounded pieces)
SET csp.clock = '2025-01-18 12:00+00';
SELECT csp.cancel(:'c1') \gset
SELECT * FROM pg_temp.lines(:'c1');
SELECT status, auto_renew, quantity FROM csp.subscriptions WHERE subscription_id = :'c1';
SELECT count(DISTINCT reference_id) AS references FROM csp.line_items
 WHERE subscription_id = :'c1' AND charge_type = 'cancelImmediate';
-- what stays charged is what was used: 10 seats x 3 days, 3 seats x 2 days,
-- 2 seats x 1 day: (30 + 6 + 2) x 10.00 / 31 = 12.2581 -> 12.26
SELECT sum(amount) AS net, round(38 * 10.00 / 31, 2) AS used FROM csp.line_items WHERE subscription_id = :'c1';

------------------------------------------------------------------------------
-- R6.3, R11.1 a cancellation after a cycle charge; cancelled is not charged
------------------------------------------------------------------------------
-- 2025-01-28 10:00 aligned: ends 2025-12-31; `new` 2025-01-28..01-31 =
-- 10 x 10.00 x 4/31 = 12.90; 2025-02-01 `cycleCharge` = 10 x 10.00 = 100.00
SET csp.clock = '2025-01-28 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10, align_to_calendar_month => true) AS c2 \gset
SET csp.clock = '2025-02-01 00:00+00';
-- R11.1 positive: one cycle charge (c2); R11.1 negative: cancelled c1 gets none
SELECT csp.run_cycle_charges() AS posted;
-- 2025-02-02 12:00: 5 days used; `new` ended 2025-01-31, February is
-- refunded from the 2nd: -10 x 10.00 x 27/28 = -96.4286 -> -96.43
SET csp.clock = '2025-02-02 12:00+00';
SELECT csp.cancel(:'c2') \gset
SELECT * FROM pg_temp.lines(:'c2');
-- net 16.47 = 10 seats x (4 days of January + 1 day of February)
SELECT sum(amount) AS net, round(10 * 10.00 * 4 / 31, 2) + round(10 * 10.00 * 1 / 28, 2) AS used
  FROM csp.line_items WHERE subscription_id = :'c2';
-- R11.1 negative: a cancelled subscription has no cycle charge (March 1st)
SELECT csp.run_cycle_charges('2025-03-01 00:00+00') AS posted;
SELECT count(*) AS c2_march_lines FROM csp.line_items WHERE subscription_id = :'c2' AND charge_start >= '2025-03-01';

------------------------------------------------------------------------------
-- X7 / R6.3: buy 2025-03-01 08:00, P1Y annual, 5 at 120.00: `new` 600.00
------------------------------------------------------------------------------
SET csp.clock = '2025-03-01 08:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a1 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a2 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a3 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a4 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a5 \gset
SELECT * FROM pg_temp.lines(:'a1');
SELECT term_start, term_end, cancellation_allowed_until FROM csp.subscriptions WHERE subscription_id = :'a1';
-- X7: cancelled at 20:00 the same day: 0 days used, `cancelImmediate` -600.00
SET csp.clock = '2025-03-01 20:00+00';
SELECT csp.cancel(:'a1') \gset
SELECT * FROM pg_temp.lines(:'a1');
-- X7: at 2025-03-04 09:00 (73 h: 3 days used), 2025-03-04..2026-02-28:
-- -5 x 120.00 x 362/365 = -595.0685 -> -595.07
SET csp.clock = '2025-03-04 09:00+00';
SELECT csp.cancel(:'a2') \gset
SELECT * FROM pg_temp.lines(:'a2');
-- R6.3 positive at the boundary: 167 h 59 min 59 s after the purchase:
-- 6 days used, 2025-03-07..2026-02-28: -5 x 120.00 x 359/365 = -590.1370 -> -590.14
SET csp.clock = '2025-03-08 07:59:59+00';
SELECT csp.cancel(:'a4') \gset
SELECT * FROM pg_temp.lines(:'a4');
-- R6.3 negative at the boundary: at 168 h 00 min the window is closed, as
-- it is for seat reductions (R5.2) (NC001)
SET csp.clock = '2025-03-08 08:00+00';
SELECT csp.cancel(:'a5');
\echo :LAST_ERROR_SQLSTATE
-- X7 / R6.3 negative: at 2025-03-08 09:00 (NC001): the whole term is paid
SET csp.clock = '2025-03-08 09:00+00';
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.cancel(:'a3');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.cancel(%L)', :'a3'));
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
SELECT CASE subscription_id WHEN :'a1' THEN 'a1' WHEN :'a2' THEN 'a2' WHEN :'a3' THEN 'a3'
       WHEN :'a4' THEN 'a4' WHEN :'a5' THEN 'a5' END AS sub, status, auto_renew,
       (SELECT sum(amount) FROM csp.line_items l WHERE l.subscription_id = s.subscription_id) AS net
  FROM csp.subscriptions s WHERE subscription_id IN (:'a1', :'a2', :'a3', :'a4', :'a5') ORDER BY 1;

------------------------------------------------------------------------------
-- R6.2, R6.5 suspend, reactivate, auto-renew
------------------------------------------------------------------------------
SET csp.clock = '2025-03-10 10:00+00';
-- R6.5 positive: auto-renew is on by default; negative: it may be bought off
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 3) AS p \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 3, auto_renew => false) AS q \gset
SELECT subscription_id = :'p' AS is_p, status, auto_renew FROM csp.subscriptions
 WHERE subscription_id IN (:'p', :'q') ORDER BY 1 DESC;
-- R6.2 positive: suspend: suspended, auto-renew off
SET csp.clock = '2025-03-10 11:00+00';
SELECT csp.suspend(:'p') \gset
SELECT status, auto_renew, update_count FROM csp.subscriptions WHERE subscription_id = :'p';
-- R6.2 negative: suspended twice (NC003); auto-renew on while suspended (NC003)
SELECT csp.suspend(:'p');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'p', true);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.set_auto_renew(%L, true)', :'p'));
-- switching it off while suspended is allowed (and changes nothing)
SELECT csp.set_auto_renew(:'p', false) \gset
SELECT status, auto_renew, update_count FROM csp.subscriptions WHERE subscription_id = :'p';
-- R6.2 positive, R11.1 positive: a suspended subscription is still billed:
-- the cycles of 2025-04-10 for p (suspended) and q: 3 x 10.00 x 30/30 = 30.00
SET csp.clock = '2025-04-10 00:00+00';
SELECT csp.run_cycle_charges() AS posted;
-- R11.1: the same instant again posts nothing
SELECT csp.run_cycle_charges() AS posted_again;
SELECT * FROM pg_temp.lines(:'p');
-- R6.2 positive: reactivate within the term: active, auto-renew stays off
SET csp.clock = '2025-04-10 09:00+00';
SELECT csp.reactivate(:'p') \gset
SELECT status, auto_renew, update_count FROM csp.subscriptions WHERE subscription_id = :'p';
-- R6.2 negative: reactivating an active subscription (NC003)
SELECT csp.reactivate(:'p');
\echo :LAST_ERROR_SQLSTATE
-- R6.5 positive: auto-renew switched on by hand, and on for q
SELECT csp.set_auto_renew(:'p', true) \gset
SELECT csp.set_auto_renew(:'q', true) \gset
SELECT subscription_id = :'p' AS is_p, status, auto_renew, update_count FROM csp.subscriptions
 WHERE subscription_id IN (:'p', :'q') ORDER BY 1 DESC;
-- R6.5 positive: and off again
SELECT csp.set_auto_renew(:'q', false) \gset
SELECT auto_renew, update_count FROM csp.subscriptions WHERE subscription_id = :'q';
-- the trigger applies R6.2 whatever the path: a direct suspension switches
-- auto-renew off too
SELECT csp.set_auto_renew(:'q', true) \gset
UPDATE csp.subscription SET status = 'suspended' WHERE subscription_id = :'q';
SELECT status, auto_renew FROM csp.subscriptions WHERE subscription_id = :'q';
SELECT csp.reactivate(:'q') \gset

------------------------------------------------------------------------------
-- R6.1 cancelled is final
------------------------------------------------------------------------------
SELECT * FROM pg_temp.checksums() \gset pre_
-- R6.1 negative: every call on a cancelled subscription (NC003)
SELECT csp.suspend(:'a1');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.reactivate(:'a1');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.cancel(:'a1');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'a1', true);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'a1', false);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.rename(:'a1', 'Revived');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'a1', 6);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.reactivate(%L)', :'a1'));
-- R6.1 negative: not even directly, as a superuser: the trigger refuses to
-- bring it back (NC003), to change its record (NC003), or to delete any
-- subscription (NC003)
UPDATE csp.subscription SET status = 'active' WHERE subscription_id = :'a1';
\echo :LAST_ERROR_SQLSTATE
UPDATE csp.subscription SET status = 'suspended' WHERE subscription_id = :'a1';
\echo :LAST_ERROR_SQLSTATE
UPDATE csp.subscription SET friendly_name = 'Revived' WHERE subscription_id = :'a1';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM csp.subscription WHERE subscription_id = :'a1';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM csp.subscription WHERE subscription_id = :'p';
\echo :LAST_ERROR_SQLSTATE
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
SELECT status, auto_renew FROM csp.subscriptions WHERE subscription_id = :'a1';

------------------------------------------------------------------------------
-- R6.4 marketplace SaaS
------------------------------------------------------------------------------
-- bought 2025-05-01 10:00: monthly-billed P1M (3 x 20.00 = 60.00, ends
-- 2025-05-31), cancellable with full credit for 24 h; annually billed P1Y
-- (2 x 200.00 = 400.00, ends 2026-04-30), for 14 days
SET csp.clock = '2025-05-01 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'ISV', quantity => 3, term => 'P1M') AS m1 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'ISV', quantity => 3, term => 'P1M') AS m2 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'ISV', quantity => 2, billing_frequency => 'annual') AS y1 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'ISV', quantity => 2, billing_frequency => 'annual') AS y2 \gset
SELECT CASE subscription_id WHEN :'m1' THEN 'm1' WHEN :'m2' THEN 'm2' WHEN :'y1' THEN 'y1' WHEN :'y2' THEN 'y2' END AS sub,
       term, billing_frequency, term_end, cancellation_allowed_until
  FROM csp.subscriptions WHERE subscription_id IN (:'m1', :'m2', :'y1', :'y2') ORDER BY 1;
-- R6.4 positive: monthly, 23 h 59 min after purchase: full credit -60.00
SET csp.clock = '2025-05-02 09:59+00';
SELECT csp.cancel(:'m1') \gset
SELECT * FROM pg_temp.lines(:'m1');
-- R6.4 negative of full credit: monthly, 24 h 01 min after purchase: the
-- cancellation is scheduled for the end of the term (a NOTICE): still
-- active, auto-renew off, no credit
SET csp.clock = '2025-05-02 10:01+00';
SELECT csp.cancel(:'m2');
SELECT status, auto_renew FROM csp.subscriptions WHERE subscription_id = :'m2';
SELECT * FROM pg_temp.lines(:'m2');
-- R6.4 positive: annual, 10 days after purchase (past the 7 days of R6.3):
-- full credit -400.00
SET csp.clock = '2025-05-11 10:00+00';
SELECT csp.cancel(:'y1') \gset
SELECT * FROM pg_temp.lines(:'y1');
SELECT status FROM csp.subscriptions WHERE subscription_id = :'y1';
-- R6.4 negative of full credit: annual, 14 days and 1 minute: scheduled
SET csp.clock = '2025-05-15 10:01+00';
SELECT csp.cancel(:'y2');
SELECT status, auto_renew FROM csp.subscriptions WHERE subscription_id = :'y2';
SELECT count(*) AS y2_credits FROM csp.line_items WHERE subscription_id = :'y2' AND amount < 0;

------------------------------------------------------------------------------
-- R3.4 no management while the customer is not approved; renewals go on
------------------------------------------------------------------------------
SET csp.clock = '2025-06-01 10:00+00';
SELECT csp.add_customer('p1', 'Moving BV', 'NL', mca_attested => true) AS c_mv \gset
SELECT csp.set_customer_verification(:'c_mv', 'approved') \gset
SELECT csp.purchase(customer_id => :'c_mv', sku_id => 'M365', quantity => 4) AS r \gset
SELECT csp.purchase(customer_id => :'c_mv', sku_id => 'M365', quantity => 4) AS r2 \gset
SELECT csp.suspend(:'r2') \gset
-- new billing data: the customer goes back to pending
SELECT csp.update_customer(:'c_mv', legal_name => 'Moving Holding BV') \gset
SELECT verification_status FROM csp.customers WHERE customer_id = :'c_mv';
SELECT * FROM pg_temp.checksums() \gset pre_
-- R3.4 negative (NC004): quantity, suspend, cancel, reactivate, auto-renew, rename
SELECT csp.change_quantity(:'r', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.suspend(:'r');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.cancel(:'r');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.reactivate(:'r2');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'r', false);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.rename(:'r', 'Moving');
\echo :LAST_ERROR_SQLSTATE
-- rejected: the same (NC004)
SELECT csp.set_customer_verification(:'c_mv', 'rejected') \gset
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.cancel(:'r');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'r', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
-- R3.4 positive: the billing of existing subscriptions goes on: the cycle
-- of 2025-07-01 is charged, 4 x 10.00 x 30/30 = 40.00 each
SELECT csp.run_cycle_charges('2025-07-01 00:00+00') > 0 AS charged;
SELECT * FROM pg_temp.lines(:'r');
SELECT * FROM pg_temp.lines(:'r2') WHERE charge_type = 'cycleCharge';
-- R3.4 positive: approved again, management works again (after the cycle
-- charge of 2025-07-01: history moves forward, NC016)
SET csp.clock = '2025-07-01 10:00+00';
SELECT csp.set_customer_verification(:'c_mv', 'approved') \gset
SELECT csp.suspend(:'r') \gset
SELECT csp.reactivate(:'r2') \gset
SELECT subscription_id = :'r' AS is_r, status FROM csp.subscriptions WHERE subscription_id IN (:'r', :'r2') ORDER BY 1 DESC;

------------------------------------------------------------------------------
-- R4.9 at most 1,200 updates
------------------------------------------------------------------------------
SET csp.clock = '2025-07-02 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 2) AS lim \gset
-- R4.9 positive: 1,200 updates are allowed
SELECT count(csp.rename(:'lim', 'n' || g)) FROM generate_series(1, 1200) g;
SELECT update_count, friendly_name FROM csp.subscription WHERE subscription_id = :'lim';
-- R4.9 negative: the 1,201st fails (NC009), whatever the update
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.rename(:'lim', 'n1201');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.rename(%L, %L)', :'lim', 'n1201'));
SELECT csp.change_quantity(:'lim', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.suspend(:'lim');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'lim', false);
\echo :LAST_ERROR_SQLSTATE
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
-- R4.9 positive: a second subscription of the SKU can be bought
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1) IS NOT NULL AS second_bought;

------------------------------------------------------------------------------
-- R6.7 after the term end, until the renewal runs, changes answer NC409
------------------------------------------------------------------------------
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, term => 'P1M') AS mo \gset
SELECT term_end FROM csp.subscriptions WHERE subscription_id = :'mo';
-- positive: on the last day of the term a change is still fine
SET csp.clock = '2025-08-01 23:59+00';
SELECT csp.rename(:'mo', 'Last day') \gset
-- negative: the day after (the renewal date) it is pending (NC409)
SET csp.clock = '2025-08-02 00:00+00';
SELECT csp.rename(:'mo', 'Renewal day');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- R11.1 monthly cycles at each cycle start; annual has none inside a P1Y term
------------------------------------------------------------------------------
-- q (bought 2025-03-10) was charged for 2025-04-10 on that day; the later
-- runs (2025-07-01 and now) caught up every cycle since: 2025-05-10,
-- 2025-06-10, 2025-07-10, 3 x 10.00 = 30.00 each (31, 30, 31 days)
SELECT csp.run_cycle_charges() > 0 AS charged;
SELECT * FROM pg_temp.lines(:'q');
-- annual: a3 (P1Y annual) has its `new` line only, and no cycle to come
SELECT * FROM pg_temp.lines(:'a3');
SELECT next_charge_date IS NULL AS no_cycle_to_come FROM csp.subscription WHERE subscription_id = :'a3';
-- cancelled subscriptions got no cycle charge
SELECT count(*) AS cycle_lines_after_cancellation
  FROM csp.line_items l JOIN csp.subscription s USING (subscription_id)
 WHERE s.status = 'cancelled' AND l.charge_type = 'cycleCharge' AND l.posted_at > s.ended_at;

------------------------------------------------------------------------------
-- Audit log: one row per state change, with actor, action, before and after
------------------------------------------------------------------------------
-- p: purchase; suspend and reactivate (update count, status); set_auto_renew
-- off while suspended (no change, no row), on (update count, auto_renew);
-- run_cycle_charges (the next charge date), three times
SELECT action, object_type, operation, count(*), bool_and(actor = current_user) AS by_caller
  FROM csp.audit_log
 WHERE object_id = :'p' OR after->>'subscription_id' = :'p'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- the status changes, with what they changed
SELECT action, before->>'status' AS before_status, after->>'status' AS after_status,
       before->>'auto_renew' AS before_auto_renew, after->>'auto_renew' AS after_auto_renew
  FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id IN (:'p', :'a1')
   AND before->>'status' IS DISTINCT FROM after->>'status'
 ORDER BY audit_id;
-- a cancellation stamps ended_at; a refused call leaves no row at all
SELECT after->>'ended_at' AS ended_at FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id = :'a1' AND action = 'cancel';
SELECT count(*) AS rows_of_refused_calls FROM csp.audit_log
 WHERE object_id = :'a3' AND action = 'cancel';
-- a direct change is recorded as such, also after an API call in the same
-- transaction
UPDATE csp.subscription SET friendly_name = 'Direct one' WHERE subscription_id = :'p';
BEGIN;
SELECT csp.rename(:'p', 'Renamed') \gset
UPDATE csp.subscription SET friendly_name = 'Direct two' WHERE subscription_id = :'p';
COMMIT;
SELECT action, before->>'friendly_name' AS before_name, after->>'friendly_name' AS after_name
  FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id = :'p'
   AND before->>'friendly_name' IS DISTINCT FROM after->>'friendly_name'
 ORDER BY audit_id;
-- the audit log is append-only (42501)
UPDATE csp.audit_log SET action = 'forged' WHERE object_id = :'p';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM csp.audit_log WHERE object_id = :'p';
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- Malformed and unknown arguments (22023, NC404) change nothing
------------------------------------------------------------------------------
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.suspend(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'p', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.rename(:'p', '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.rename(:'p', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.suspend('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.reactivate('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.cancel('00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew('00000000-0000-0000-0000-000000000000', false);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.rename('00000000-0000-0000-0000-000000000000', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.run_cycle_charges('infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.run_cycle_charges(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();

DROP EXTENSION csp_billing CASCADE;
