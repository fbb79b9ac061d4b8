--
-- The term engine, part 2: transfers between partners (R10), upgrades (R8)
-- and converting a trial mid-term (R9.3), with the scheduled changes they
-- delete (R7.3, R8.5).
--
-- Each scenario has its own customers and its own stretch of time; the clock
-- only moves forward.  No renewal runs here (renewals.sql has them).  Every
-- amount is worked out in the comment above the query that shows it:
-- unit_price x quantity x days_charged / days_in_cycle, rounded half away
-- from zero to the cent (API.md "Term and charge arithmetic").
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/term_setup.sql
-- The term and state of one subscription.
CREATE FUNCTION pg_temp.sub(s uuid)
RETURNS TABLE (partner_id text, sku_id text, status text, is_trial boolean, auto_renew boolean,
               quantity int, term text, billing_frequency text, term_start date, term_end date,
               cancellation_allowed_until timestamptz, scheduled_change jsonb)
LANGUAGE sql AS $$
    SELECT partner_id, sku_id, status, is_trial, auto_renew, quantity, term, billing_frequency,
           term_start, term_end, cancellation_allowed_until, scheduled_change
      FROM csp.subscriptions WHERE subscription_id = s
$$;
-- A customer of partner p1, MCA attested and approved.
CREATE FUNCTION pg_temp.customer(legal_name text) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    c uuid;
BEGIN
    c := csp.add_customer('p1', legal_name, 'NL', mca_attested => true);
    PERFORM csp.set_customer_verification(c, 'approved');
    RETURN c;
END $$;

------------------------------------------------------------------------------
-- Set-up: two billing accounts in EUR.  p1 (direct bill) is linked to the
-- first, p2 (indirect provider) to the second, p6 (direct bill) to the
-- second and then made inactive; p3 is an indirect reseller of p2 and p4 a
-- direct-bill partner without a billing link.
--   E3  P1M monthly 12.00, P1Y monthly 10.00, P1Y annual 120.00
--   E5  P1M monthly 24.00, P1Y monthly 20.00; E3 -> E5 is an upgrade path
--   E1  P1Y monthly 8.00; no path between E1 and E3 or E5
--   E3T a trial of E3
------------------------------------------------------------------------------
SET csp.clock = '2025-01-01 09:00+00';
SELECT csp.create_billing_account('Fabrikam Distribution', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Fabrikam NL') AS bp \gset
SELECT csp.create_billing_account('Contoso Distribution', 'NL', 'EUR') AS ba2 \gset
SELECT csp.create_billing_profile(:ba2, 'Contoso NL') AS bp2 \gset
SELECT csp.create_partner('p1', 'Northwind Partners', 'direct_bill', 'NL') \gset
SELECT csp.create_partner('p2', 'Tailspin Provider', 'indirect_provider', 'NL') \gset
SELECT csp.create_partner('p3', 'Wingtip Reseller', 'indirect_reseller', 'NL', indirect_provider_id => 'p2') \gset
SELECT csp.create_partner('p4', 'Unlinked Partners', 'direct_bill', 'NL') \gset
SELECT csp.create_partner('p6', 'Retired Partners', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p1', :ba, :bp, accept_mca => true) \gset
SELECT csp.link_partner_billing('p2', :ba2, :bp2, accept_mca => true) \gset
SELECT csp.link_partner_billing('p6', :ba2, :bp2) \gset
SELECT csp.set_partner_status('p6', 'inactive') \gset
SELECT partner_id, kind, status, billing_profile_id = :bp2 AS on_bp2 FROM csp.partners ORDER BY partner_id;
SELECT csp.add_product('E3', 'Microsoft 365 E3') \gset
SELECT csp.add_product('E5', 'Microsoft 365 E5') \gset
SELECT csp.add_product('E1', 'Office 365 E1') \gset
SELECT csp.add_product('E3T', 'Microsoft 365 E3 Trial', trial_of => 'E3') \gset
SELECT csp.add_upgrade_path('E3', 'E5') \gset
SELECT csp.set_price('E3', 'P1M', 'monthly', 'EUR', 12.00) \gset
SELECT csp.set_price('E3', 'P1Y', 'monthly', 'EUR', 10.00) \gset
SELECT csp.set_price('E3', 'P1Y', 'annual', 'EUR', 120.00) \gset
SELECT csp.set_price('E5', 'P1M', 'monthly', 'EUR', 24.00) \gset
SELECT csp.set_price('E5', 'P1Y', 'monthly', 'EUR', 20.00) \gset
SELECT csp.set_price('E1', 'P1Y', 'monthly', 'EUR', 8.00) \gset

------------------------------------------------------------------------------
-- Scenario X, March to June 2025: R10 transfers between partners
------------------------------------------------------------------------------
SELECT pg_temp.customer('Xray BV') AS cx \gset
SET csp.clock = '2025-03-01 09:00+00';
-- x1: P1Y monthly bought 2025-03-01, ends 2026-02-28; new 2025-03-01..
-- 2025-03-31 = 10 x 10.00 x 31/31 = 100.00
SELECT csp.purchase(customer_id => :'cx', sku_id => 'E3', quantity => 10) AS x1 \gset
SELECT csp.purchase(customer_id => :'cx', sku_id => 'E3', quantity => 1) AS x2 \gset
SELECT csp.purchase(customer_id => :'cx', sku_id => 'E3', quantity => 1) AS xs \gset
SELECT csp.suspend(:'xs');
-- the cycles of 2025-04-01 and 2025-05-01 of x1, x2 and xs (suspended ones
-- are billed, R6.2): 6 charges; x1's = 100.00 each
SET csp.clock = '2025-05-01 00:05+00';
SELECT csp.run_cycle_charges() AS posted;

-- R10.1, R10.2 positive: transferred 2025-05-01 to p2, the new subscription
-- keeps the end date, 2025-05-01..2026-02-28 (10 months), under p2's billing
-- profile; the source is cancelled.  Money: the rest of the current cycle,
-- 2025-05-01..2025-05-31, moves: -10 x 10.00 x 31/31 = -100.00 to the
-- source and +10 x 10.00 x 31/31 = 100.00 to the target, one reference_id.
SET csp.clock = '2025-05-01 10:00+00';
SELECT csp.transfer(:'x1', 'p2') AS y1 \gset
SELECT :'y1' <> :'x1' AS new_subscription;
SELECT * FROM pg_temp.sub(:'y1');
SELECT * FROM pg_temp.sub(:'x1');
SELECT * FROM pg_temp.lines(:'x1');
SELECT * FROM pg_temp.lines(:'y1');
SELECT subscription_id = :'y1' AS target, partner_id, billing_profile_id = :bp2 AS on_bp2,
       billing_profile_id = :bp AS on_bp, amount
  FROM csp.line_items WHERE subscription_id IN (:'x1', :'y1') AND charge_type = 'moveQuantity'
 ORDER BY 1;
SELECT count(DISTINCT reference_id) AS references, sum(amount) AS net
  FROM csp.line_items WHERE subscription_id IN (:'x1', :'y1') AND charge_type = 'moveQuantity';
-- a trial, 2025-05-20..2025-06-19 (for a refusal below)
SET csp.clock = '2025-05-20 09:00+00';
SELECT csp.purchase(customer_id => :'cx', sku_id => 'E3T', quantity => 1) AS xt \gset
-- R10 positive: the next cycle is charged to the target only: y1 2025-06-01..
-- 2025-06-30 = 100.00; with x2 and xs, 3 charges
SET csp.clock = '2025-06-01 00:05+00';
SELECT csp.run_cycle_charges() AS posted;
SELECT subscription_id = :'y1' AS target, charge_start, charge_end, amount
  FROM csp.line_items WHERE subscription_id IN (:'x1', :'y1') AND charge_start = '2025-06-01';

-- R10 negative: the same partner (22023); an indirect reseller, an inactive
-- partner, a partner without a billing profile (NC011); an unknown partner
-- or subscription (NC404); a trial, a suspended or a cancelled subscription
-- (NC003)
SET csp.clock = '2025-06-02 10:00+00';
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x2', 'p1'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x2', 'p3'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x2', 'p6'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x2', 'p4'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x2', 'nobody'));
\echo :SQLSTATE
SELECT pg_temp.try('SELECT csp.transfer(''00000000-0000-0000-0000-000000000000'', ''p2'')');
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'xt', 'p2'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'xs', 'p2'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, %L)', :'x1', 'p2'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.transfer(%L, NULL)', :'x2'));
\echo :SQLSTATE
-- nothing moved
SELECT partner_id, status, count(*) FROM csp.subscriptions WHERE customer_id = :'cx'
 GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Scenario U, July 2025: R8 upgrades
------------------------------------------------------------------------------
SELECT pg_temp.customer('Uniform BV') AS cu \gset
SELECT pg_temp.customer('Uniform Two BV') AS cu2 \gset
SELECT pg_temp.customer('Uniform Trial BV') AS cu3 \gset
SET csp.clock = '2025-07-01 10:00+00';
-- an E5 target that ends (2026-06-30) before the sources bought on 2025-07-10
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E5', quantity => 2) AS tgt_early \gset
SET csp.clock = '2025-07-10 10:00+00';
-- P1Y monthly bought 2025-07-10: term 2025-07-10..2026-07-09, first cycle
-- 2025-07-10..2025-08-09 (31 days); new = quantity x 10.00 (E3), x 20.00 (E5)
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 10) AS u1 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 10) AS u3 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 8) AS u4 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E5', quantity => 2) AS tgt_ok \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 2, term => 'P1M') AS u5 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 1) AS u6 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E1', quantity => 1) AS u7 \gset
SELECT csp.purchase(customer_id => :'cu2', sku_id => 'E5', quantity => 2) AS tgt_other \gset
SELECT csp.purchase(customer_id => :'cu3', sku_id => 'E3T', quantity => 1) AS ut \gset
SET csp.clock = '2025-07-20 10:00+00';
-- bought 2025-07-20: cycle 2025-07-20..2025-08-19 (31 days), window until 2025-07-27 10:00
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E3', quantity => 3) AS u2 \gset
SELECT csp.purchase(customer_id => :'cu', sku_id => 'E5', quantity => 1) AS tgt_win \gset
SET csp.clock = '2025-07-22 10:00+00';
SELECT csp.suspend(:'u6');
-- R8.5: a change scheduled on u3 and on u1, removed by their upgrades below
SELECT csp.schedule_change(:'u3', quantity => 12);
SELECT csp.schedule_change(:'u1', quantity => 12);

-- one seat is added to tgt_ok (see R8.4 below) an hour before the upgrades
SET csp.clock = '2025-07-25 08:00+00';
SELECT csp.change_quantity(:'tgt_ok', 3);

-- R8.3 positive, full upgrade: all of u1's licenses, in place, on
-- 2025-07-25: same id, SKU E5.  Both lines cover 2025-07-25..2025-08-09, 16
-- of the 31 days of the cycle, with one reference_id:
--   convert (credit of E3) = -10 x 10.00 x 16/31 = -51.6129 -> -51.61
--   convert (charge of E5) = +10 x 20.00 x 16/31 = 103.2258 -> 103.23
-- R8.5 positive: the scheduled change is removed
SET csp.clock = '2025-07-25 09:00+00';
SELECT csp.upgrade(:'u1', 'E5') = :'u1' AS same_id;
SELECT * FROM pg_temp.sub(:'u1');
SELECT * FROM pg_temp.lines(:'u1');
SELECT l.sku_id, l.amount FROM csp.line_items l
 WHERE l.subscription_id = :'u1' AND l.charge_type = 'convert' ORDER BY l.charge_id;
SELECT count(DISTINCT reference_id) AS references FROM csp.line_items
 WHERE subscription_id = :'u1' AND charge_type = 'convert';

-- R8.2 positive: u2 is inside its cancellation window (until 2025-07-27
-- 10:00) with 3 reducible seats; the in-place upgrade closes both.  Lines
-- over 2025-07-25..2025-08-19, 26 of 31 days:
--   convert = -3 x 10.00 x 26/31 = -25.1613 -> -25.16;  +3 x 20.00 x 26/31 = 50.3226 -> 50.32
SELECT * FROM csp.reducible_licenses(:'u2');
SELECT csp.upgrade(:'u2', 'E5') = :'u2' AS same_id;
SELECT * FROM pg_temp.sub(:'u2');
SELECT * FROM pg_temp.lines(:'u2');
SELECT * FROM csp.reducible_licenses(:'u2');
-- R8.2 positive: not even at the very instant of the upgrade (the same
-- transaction, say) can it be undone: NC001
SELECT pg_temp.try(format('SELECT csp.cancel(%L)', :'u2'));
\echo :SQLSTATE

-- R8.3 positive, partial upgrade: 4 of u3's 10 licenses go to a new
-- co-terminous E5 subscription (2025-07-25..2026-07-09, same term and
-- frequency); u3 keeps 6.  Cycle 2025-07-10..2025-08-09, 16 of 31 days:
--   u3 convert = -4 x 10.00 x 16/31 = -20.6452 -> -20.65
--   n3 convert = +4 x 20.00 x 16/31 = 41.2903 -> 41.29
-- R8.5 positive: u3's scheduled change is removed
SELECT csp.upgrade(:'u3', 'E5', quantity => 4) AS n3 \gset
SELECT :'n3' <> :'u3' AS new_subscription;
SELECT * FROM pg_temp.sub(:'u3');
SELECT * FROM pg_temp.sub(:'n3');
SELECT * FROM pg_temp.lines(:'u3');
SELECT * FROM pg_temp.lines(:'n3');
SELECT count(DISTINCT reference_id) AS references, count(*) AS lines FROM csp.line_items
 WHERE subscription_id IN (:'u3', :'n3') AND charge_type = 'convert';
-- R8.2 positive: the moved seats are not reducible
SELECT * FROM csp.reducible_licenses(:'n3');

-- R8.4 positive, into an existing subscription: tgt_ok (E5, same term,
-- ends 2026-07-09 like u4, window closed on 2025-07-17) gains 3 licenses and
-- keeps its term; u4 keeps 5.  The seat added at 08:00 is still reducible,
-- the 3 upgraded ones are not (R8.2).  Over 2025-07-25..2025-08-09, 16 of 31
-- days:
--   tgt_ok addQuantity = +1 x 20.00 x 16/31 = 10.3226 -> 10.32
--   u4 convert = -3 x 10.00 x 16/31 = -15.4839 -> -15.48
--   tgt_ok convert = +3 x 20.00 x 16/31 = 30.9677 -> 30.97
SELECT csp.upgrade(:'u4', 'E5', quantity => 3, target_subscription_id => :'tgt_ok') = :'tgt_ok' AS into_target;
SELECT * FROM pg_temp.sub(:'u4');
SELECT * FROM pg_temp.sub(:'tgt_ok');
SELECT * FROM pg_temp.lines(:'u4');
SELECT * FROM pg_temp.lines(:'tgt_ok');
SELECT count(DISTINCT reference_id) AS references, count(*) AS lines FROM csp.line_items
 WHERE subscription_id IN (:'u4', :'tgt_ok') AND charge_type = 'convert';
SELECT * FROM csp.reducible_licenses(:'tgt_ok');

-- R8.2 positive, an hour later: u2 (upgraded in place inside its window)
-- cannot be cancelled (NC001) or reduced (NC002); n3 (the partial upgrade's
-- new subscription) neither
SET csp.clock = '2025-07-25 10:00+00';
SELECT pg_temp.try(format('SELECT csp.cancel(%L)', :'u2'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.change_quantity(%L, 2)', :'u2'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.change_quantity(%L, 3)', :'n3'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.cancel(%L)', :'n3'));
\echo :SQLSTATE
SELECT status, quantity FROM csp.subscriptions WHERE subscription_id IN (:'u2', :'n3') ORDER BY quantity;

-- R8.4 negative: ineligible targets (NC008): inside its cancellation window,
-- a different term duration (u5 is P1M), ending before the source, another
-- customer's, another SKU's
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', :'tgt_win'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u5', 'E5', :'tgt_ok'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', :'tgt_early'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', :'tgt_other'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', :'u3'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', '00000000-0000-0000-0000-000000000000'));
\echo :SQLSTATE
-- R8.1 negative: no downgrade (E5 -> E3 is the reverse of a path), no path
-- (E3 -> E1, E1 -> E5), an unknown SKU (NC404)
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'u1', 'E3'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'u4', 'E1'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'u7', 'E5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'u4', 'E9'));
\echo :SQLSTATE
-- R8.1 negative: only from active paid subscriptions: suspended, trial (NC003)
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'u6', 'E5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L)', :'ut', 'E3'));
\echo :SQLSTATE
-- bad quantities (22023): 0, more than the 5 u4 has, a NULL SKU
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 0)', :'u4', 'E5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 6)', :'u4', 'E5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, NULL)', :'u4'));
\echo :SQLSTATE
SELECT pg_temp.try('SELECT csp.upgrade(''00000000-0000-0000-0000-000000000000'', ''E5'')');
\echo :SQLSTATE
-- none of the refusals changed anything
SELECT count(*) AS lines_after_refusals FROM csp.line_items WHERE customer_id IN (:'cu', :'cu2', :'cu3');
SELECT e.name, s.sku_id, s.quantity, s.status FROM csp.subscriptions s
  JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE s.subscription_id IN (:'u4', :'u5', :'u6', :'u7', :'tgt_win', :'tgt_early', :'tgt_other')
 ORDER BY s.quantity, s.sku_id, s.status;

-- R8.4 / R6.3 boundary: tgt_win's window, 168 hours from 2025-07-20 10:00,
-- ends (exclusive, like a seat lot's) at 2025-07-27 10:00.  At that instant
-- it can no longer be cancelled (NC001), so it is no longer inside its window
-- and can receive an upgrade.  Over 2025-07-27..:
--   u4 convert = -1 x 10.00 x 14/31 = -4.5161 -> -4.52 (cycle 2025-07-10..2025-08-09)
--   tgt_win convert = +1 x 20.00 x 24/31 = 15.4839 -> 15.48 (cycle 2025-07-20..2025-08-19)
SET csp.clock = '2025-07-27 10:00+00';
SELECT pg_temp.try(format('SELECT csp.cancel(%L)', :'tgt_win'));
\echo :SQLSTATE
-- the upgrade into tgt_win, at 10:00 exactly
SELECT pg_temp.try(format('SELECT csp.upgrade(%L, %L, 1, %L)', :'u4', 'E5', :'tgt_win'));
\echo :SQLSTATE
SELECT quantity FROM csp.subscriptions WHERE subscription_id = :'tgt_win';
SELECT subscription_id = :'tgt_win' AS target, charge_start, charge_end, quantity, days_charged, days_in_cycle, amount
  FROM csp.line_items WHERE subscription_id IN (:'u4', :'tgt_win') AND charge_start = '2025-07-27' ORDER BY 1;

------------------------------------------------------------------------------
-- Scenario V, September 2025: R9.3 converting a trial mid-term
------------------------------------------------------------------------------
SELECT pg_temp.customer('Victor 1 BV') AS cv1 \gset
SELECT pg_temp.customer('Victor 2 BV') AS cv2 \gset
SELECT pg_temp.customer('Victor 3 BV') AS cv3 \gset
SELECT pg_temp.customer('Victor 4 BV') AS cv4 \gset
SELECT pg_temp.customer('Victor 5 BV') AS cv5 \gset
SET csp.clock = '2025-08-25 10:00+00';
-- paid E3 subscriptions to convert into: tgt4 P1Y monthly, 2025-08-25..
-- 2026-08-24; tgt5 P1M, 2025-08-25..2025-09-24
SELECT csp.purchase(customer_id => :'cv4', sku_id => 'E3', quantity => 5) AS tgt4 \gset
SELECT csp.purchase(customer_id => :'cv5', sku_id => 'E3', quantity => 2, term => 'P1M') AS tgt5 \gset
-- trials 2025-09-01..2025-09-30
SET csp.clock = '2025-09-01 10:00+00';
SELECT csp.purchase(customer_id => :'cv1', sku_id => 'E3T', quantity => 1) AS tr1 \gset
SELECT csp.purchase(customer_id => :'cv2', sku_id => 'E3T', quantity => 1) AS tr2 \gset
SELECT csp.purchase(customer_id => :'cv3', sku_id => 'E3T', quantity => 1) AS tr3 \gset
SELECT csp.purchase(customer_id => :'cv4', sku_id => 'E3T', quantity => 1) AS tr4 \gset
SELECT csp.purchase(customer_id => :'cv5', sku_id => 'E3T', quantity => 1) AS tr5 \gset
SELECT csp.schedule_change(:'tr3', quantity => 10);

-- R9.3 positive, to a new subscription: 30 licenses on 2025-09-10, P1Y
-- billed monthly (the defaults), 2025-09-10..2026-09-09; the trial expires.
--   new = 30 x 10.00 x 30/30 = 300.00 (cycle 2025-09-10..2025-10-09)
-- The new seats have the usual 168-hour window (until 2025-09-17 09:00).
SET csp.clock = '2025-09-10 09:00+00';
SELECT csp.convert_trial(:'tr1', 30) AS p1 \gset
SELECT * FROM pg_temp.sub(:'p1');
SELECT * FROM pg_temp.lines(:'p1');
SELECT * FROM csp.reducible_licenses(:'p1');
SELECT status, is_trial, sku_id FROM csp.subscriptions WHERE subscription_id = :'tr1';
-- R9.3 positive: the term and frequency are the caller's: 25 licenses, P1Y
-- billed annually, 2025-09-10..2026-09-09 (365 days):
--   new = 25 x 120.00 x 365/365 = 3000.00
SELECT csp.convert_trial(:'tr2', 25, 'P1Y', 'annual') AS p2 \gset
SELECT * FROM pg_temp.sub(:'p2');
SELECT * FROM pg_temp.lines(:'p2');
-- R9.3 negative: a mid-term conversion cannot go below 25 (NC008); the
-- trial and its scheduled change stay
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, 24)', :'tr3'));
\echo :SQLSTATE
SELECT status, scheduled_change FROM csp.subscriptions WHERE subscription_id = :'tr3';
-- R7.3 positive: converting the trial deletes its scheduled change
SELECT csp.convert_trial(:'tr3') AS p3 \gset
SELECT status, scheduled_change FROM csp.subscriptions WHERE subscription_id = :'tr3';
SELECT quantity, term, billing_frequency FROM csp.subscriptions WHERE subscription_id = :'p3';

-- R9.3 positive, into an existing subscription: tgt4 (ends 2026-08-24, on or
-- after the trial's end 2025-09-30) gains 25 licenses and keeps its term and
-- frequency.  Its cycle 2025-08-25..2025-09-24 (31 days), from 2025-09-10:
--   addQuantity = 25 x 10.00 x 15/31 = 120.9677 -> 120.97
SELECT csp.convert_trial(:'tr4', target_subscription_id => :'tgt4') = :'tgt4' AS into_target;
SELECT * FROM pg_temp.sub(:'tgt4');
SELECT * FROM pg_temp.lines(:'tgt4');
SELECT status FROM csp.subscriptions WHERE subscription_id = :'tr4';
-- R9.3 negative: a target ending before the trial's end, another customer's
-- target (NC008); converting what is not a trial (NC008)
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, target_subscription_id => %L)', :'tr5', :'tgt5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, target_subscription_id => %L)', :'tr5', :'tgt4'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L)', :'tgt4'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L)', :'tr1'));
\echo :SQLSTATE
-- bad values (22023): unknown term, a frequency that does not fit the term,
-- a NULL quantity; no price for P3Y (NC013); an unknown subscription (NC404)
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, 25, %L)', :'tr5', 'P2Y'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, 25, %L, %L)', :'tr5', 'P1M', 'annual'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, NULL)', :'tr5'));
\echo :SQLSTATE
SELECT pg_temp.try(format('SELECT csp.convert_trial(%L, 25, %L)', :'tr5', 'P3Y'));
\echo :SQLSTATE
SELECT pg_temp.try('SELECT csp.convert_trial(''00000000-0000-0000-0000-000000000000'')');
\echo :SQLSTATE
SELECT * FROM pg_temp.sub(:'tr5');
SELECT quantity FROM csp.subscriptions WHERE subscription_id = :'tgt5';

-- every line's amount is its factors, rounded once (API.md)
SELECT count(*) AS unexplained_lines
  FROM csp.line_items
 WHERE amount <> round(unit_price * fx_rate * quantity * days_charged / days_in_cycle, 2);

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
