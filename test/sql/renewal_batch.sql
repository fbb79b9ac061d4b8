--
-- The set-based paths of csp.run_renewals (R6.6) and csp.run_cycle_charges
-- (R11.1) (src/job_batch.c) against the per-row paths.
--
--   Part 1  Equivalence: a mixed renewal day run with csp.set_based_jobs off
--           and then, from the same savepoint, on.  Subscriptions, seat lots,
--           charges and audit rows are the same, row for row (checksums
--           without the random columns).  The plain subscriptions are renewed
--           by one statement with the setting on, one subtransaction each
--           with it off.
--   Part 2  Audit pairing of the set-based run: one 'update' row per renewed
--           subscription (before = the old row, after = the new row, paired
--           by the statement-level audit trigger), one 'insert' per new lot.
--   Part 3  Fallback: a batch whose UPDATE fails as a whole is rolled back
--           and every subscription of it takes the per-row path; only the
--           one that fails stays pending, with a WARNING.
--   Part 4  Cycle charges: a mixed cycle-charge day run with
--           csp.set_based_jobs off and then, from the same savepoint, on:
--           the same count, subscriptions, charges and audit rows.  Those
--           owing one cycle are charged by one INSERT and one UPDATE with
--           the setting on; several cycles behind or no exchange rate take
--           the per-row path either way.  A second run posts nothing.
--
-- Every amount is worked out by hand in the comment above the query that
-- shows it: unit_price x fx_rate x quantity x days_charged / days_in_cycle,
-- rounded half away from zero to the cent (README "Proration").
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/term_setup.sql
-- A customer of partner p, MCA attested and approved.
CREATE FUNCTION pg_temp.customer(p text, legal_name text) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    c uuid;
BEGIN
    c := csp.add_customer(p, legal_name, 'NL', mca_attested => true);
    PERFORM csp.set_customer_verification(c, 'approved');
    RETURN c;
END $$;
-- The state the two paths must agree on, one text per row, tagged with its
-- table.  Left out, because they are random or come from a sequence (which a
-- ROLLBACK TO SAVEPOINT does not rewind): charge_id, reference_id, lot_id and
-- audit_id, the transaction id of an audit row, and 'lot_id' inside the
-- audited jsonb; an audited lot's object_id is its lot_id.  A charge's lot is
-- replaced by the lot's row (without lot_id), so the link is still compared.
CREATE FUNCTION pg_temp.state_rows()
RETURNS TABLE (tbl text, r text) LANGUAGE sql AS $$
    SELECT 'subscription', to_jsonb(s)::text FROM csp.subscription s
    UNION ALL
    SELECT 'seat_lot', (to_jsonb(l) - 'lot_id')::text FROM csp.seat_lot l
    UNION ALL
    SELECT 'charge', (to_jsonb(c) - '{charge_id,reference_id,lot_id,refunds_charge_id}'::text[]
                      || jsonb_build_object('lot', to_jsonb(l) - 'lot_id',
                                            'refunds', c.refunds_charge_id IS NOT NULL))::text
      FROM csp.charge c
      LEFT JOIN csp.seat_lot l ON l.billing_account_id = c.billing_account_id AND l.lot_id = c.lot_id
    UNION ALL
    SELECT 'audit_log', (to_jsonb(a) - '{audit_id,transaction_id,object_id,before,after}'::text[]
                         || jsonb_build_object('object_id', CASE WHEN a.object_type = 'seat_lot'
                                                                 THEN NULL ELSE a.object_id END,
                                               'before', a.before - 'lot_id',
                                               'after', a.after - 'lot_id'))::text
      FROM csp.audit_log a
$$;
CREATE FUNCTION pg_temp.state_checksums()
RETURNS TABLE (subscription text, seat_lot text, charge text, audit_log text,
               all_rows text, n_rows bigint) LANGUAGE sql AS $$
    SELECT md5(string_agg(r, E'\n' ORDER BY r) FILTER (WHERE tbl = 'subscription')),
           md5(string_agg(r, E'\n' ORDER BY r) FILTER (WHERE tbl = 'seat_lot')),
           md5(string_agg(r, E'\n' ORDER BY r) FILTER (WHERE tbl = 'charge')),
           md5(string_agg(r, E'\n' ORDER BY r) FILTER (WHERE tbl = 'audit_log')),
           string_agg(tbl || ' ' || r, E'\n' ORDER BY tbl, r),
           count(*)
      FROM pg_temp.state_rows()
$$;
-- The rows of the state now that are not in "off" (a saved all_rows),
-- and the other way round, as many times as they are missing.
CREATE FUNCTION pg_temp.differences(off text)
RETURNS TABLE (run text, row_text text) LANGUAGE sql AS $$
    (SELECT 'off only', x FROM regexp_split_to_table(off, E'\n') x
     EXCEPT ALL SELECT 'off only', tbl || ' ' || r FROM pg_temp.state_rows())
    UNION ALL
    (SELECT 'on only', tbl || ' ' || r FROM pg_temp.state_rows()
     EXCEPT ALL SELECT 'on only', x FROM regexp_split_to_table(off, E'\n') x)
    ORDER BY 1, 2
$$;
-- How many subscriptions, lots and charges there are, and audit rows
-- written by renewal runs.
CREATE FUNCTION pg_temp.counts()
RETURNS TABLE (subscriptions bigint, seat_lots bigint, charges bigint, renewal_audit_rows bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM csp.subscription), (SELECT count(*) FROM csp.seat_lot),
           (SELECT count(*) FROM csp.charge),
           (SELECT count(*) FROM csp.audit_log WHERE action = 'run_renewals')
$$;
-- A subscription by its friendly name.
CREATE FUNCTION pg_temp.sid(n text) RETURNS uuid LANGUAGE sql AS $$
    SELECT subscription_id FROM csp.subscription WHERE friendly_name = n
$$;

------------------------------------------------------------------------------
-- Set-up, 2024-12-01.  Billing account A in EUR with partner p1; billing
-- account B in GBP with partner p2.  Prices (valid from the beginning of
-- time unless a date is given):
--   E3     P1M monthly 12.00, 13.00 from 2026-01-01; P1Y monthly 10.00;
--          P1Y annual 120.00; P1M monthly GBP 11.00
--   E5     P1M monthly 24.00; E3 -> E5 is an upgrade path
--   E3T    a trial of E3;  XT a trial of X, which has no price (yet)
--   ADDON  an add-on of E3, P1M monthly 3.00
--   SAAS   publisher contoso (marketplace SaaS, R6.4), P1M monthly 7.50
--   USDP   priced in USD only (R12.2), P1M monthly USD 10.00
--   METER  usage-billed (R11.3), no price
-- Exchange rates (R12.3, the rate of fx_rate_date(month) for the month):
--   USD -> EUR  0.90 for December 2025, 0.9137 for January 2026
--   USD -> GBP  0.79 for December 2025, none for January 2026 (yet)
------------------------------------------------------------------------------
SET csp.clock = '2024-12-01 09:00+00';
SELECT csp.create_billing_account('Fabrikam Distribution', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Fabrikam NL') AS bp \gset
SELECT csp.create_partner('p1', 'Northwind Partners', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p1', :ba, :bp, accept_mca => true) \gset
SELECT csp.create_billing_account('Fabrikam UK', 'GB', 'GBP') AS ba2 \gset
SELECT csp.create_billing_profile(:ba2, 'Fabrikam GB') AS bp2 \gset
SELECT csp.create_partner('p2', 'Southwind Partners', 'direct_bill', 'GB') \gset
SELECT csp.link_partner_billing('p2', :ba2, :bp2, accept_mca => true) \gset
SELECT csp.add_product('E3', 'Microsoft 365 E3') \gset
SELECT csp.add_product('E5', 'Microsoft 365 E5') \gset
SELECT csp.add_product('E3T', 'Microsoft 365 E3 Trial', trial_of => 'E3') \gset
SELECT csp.add_product('X', 'Unpriced product') \gset
SELECT csp.add_product('XT', 'Unpriced product Trial', trial_of => 'X') \gset
SELECT csp.add_product('ADDON', 'E3 add-on', addon_of => ARRAY['E3']) \gset
SELECT csp.add_product('SAAS', 'Contoso SaaS', publisher => 'contoso') \gset
SELECT csp.add_product('USDP', 'Priced in USD') \gset
SELECT csp.add_product('METER', 'Metered service', billing_type => 'usage') \gset
SELECT csp.add_upgrade_path('E3', 'E5') \gset
SELECT csp.set_price('E3', 'P1M', 'monthly', 'EUR', 12.00) \gset
SELECT csp.set_price('E3', 'P1M', 'monthly', 'EUR', 13.00, valid_from => '2026-01-01') \gset
SELECT csp.set_price('E3', 'P1M', 'monthly', 'GBP', 11.00) \gset
SELECT csp.set_price('E3', 'P1Y', 'monthly', 'EUR', 10.00) \gset
SELECT csp.set_price('E3', 'P1Y', 'annual', 'EUR', 120.00) \gset
SELECT csp.set_price('E5', 'P1M', 'monthly', 'EUR', 24.00) \gset
SELECT csp.set_price('ADDON', 'P1M', 'monthly', 'EUR', 3.00) \gset
SELECT csp.set_price('SAAS', 'P1M', 'monthly', 'EUR', 7.50) \gset
SELECT csp.set_price('USDP', 'P1M', 'monthly', 'USD', 10.00) \gset
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-12-01'), 0.90) \gset
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2026-01-01'), 0.9137) \gset
SELECT csp.set_fx_rate('USD', 'GBP', csp.fx_rate_date('2025-12-01'), 0.79) \gset
SELECT pg_temp.customer('p1', 'Plain BV') AS c_plain \gset
SELECT pg_temp.customer('p1', 'Pending BV') AS c_pending \gset
SELECT pg_temp.customer('p1', 'Base BV') AS c_base \gset
SELECT pg_temp.customer('p1', 'Base Off BV') AS c_base_off \gset
SELECT pg_temp.customer('p1', 'Trial BV') AS c_trial \gset
SELECT pg_temp.customer('p1', 'Unpriced Trial BV') AS c_xt \gset
SELECT pg_temp.customer('p1', 'Fallback BV') AS c_fb \gset
SELECT pg_temp.customer('p2', 'Pound Ltd') AS c_gbp \gset

------------------------------------------------------------------------------
-- The subscriptions due on 2026-01-01.  The friendly name says what each
-- one is for; the nine named "plain ..." are what the set-based path takes
-- (active, auto-renew, no trial, no add-on, nothing scheduled, licence
-- based, last cycle charged, at most one term behind, price and rate found).
------------------------------------------------------------------------------
-- P1Y monthly 7 seats, 2024-12-31..2025-12-30
SET csp.clock = '2024-12-31 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 7, friendly_name => 'plain P1Y monthly') \gset
-- P1Y annual 4 seats and P1Y monthly 2 seats, 2025-01-01..2025-12-31
SET csp.clock = '2025-01-01 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 4, billing_frequency => 'annual', friendly_name => 'plain P1Y annual') \gset
SELECT csp.purchase(:'c_plain', 'E3', 2, friendly_name => 'last cycle uncharged') \gset
-- P1M 2 seats, 2025-11-01..2025-11-30: two terms behind on 2026-01-01
SET csp.clock = '2025-11-01 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 2, 'P1M', friendly_name => 'two terms behind') \gset
-- R11.1: the cycle-charge run of 2025-11-30 charges every cycle started by
-- then.  'plain P1Y monthly' has 12 cycles; its last, 2025-11-30..2025-12-30,
-- starts today, so all 11 after the purchase are charged and none is left.
-- 'last cycle uncharged' has 10 after the purchase (2025-02-01 ..
-- 2025-11-01); its last, 2025-12-01..2025-12-31, is not due yet: 21 posted.
SET csp.clock = '2025-11-30 00:05+00';
SELECT csp.run_cycle_charges() AS posted;
SELECT friendly_name, next_charge_date FROM csp.subscription
 WHERE friendly_name IN ('plain P1Y monthly', 'last cycle uncharged') ORDER BY friendly_name COLLATE "C";
-- a trial of X, 2025-11-30..2025-12-29; X has no P1Y monthly price; and a
-- P1M 2025-11-30..2025-12-29, whose next term starts before the new price
SET csp.clock = '2025-11-30 09:00+00';
SELECT csp.purchase(:'c_xt', 'XT', 1, friendly_name => 'trial, no price') \gset
SELECT csp.purchase(:'c_plain', 'E3', 2, 'P1M', friendly_name => 'plain P1M, old price') \gset
-- all P1M, 2025-12-01..2025-12-31
SET csp.clock = '2025-12-01 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 10, 'P1M', friendly_name => 'plain P1M 10') \gset
SELECT csp.purchase(:'c_pending', 'E3', 3, 'P1M', friendly_name => 'plain P1M 3, customer pending') \gset
SELECT csp.purchase(:'c_plain', 'SAAS', 6, 'P1M', friendly_name => 'plain SaaS') \gset
SELECT csp.purchase(:'c_plain', 'USDP', 5, 'P1M', friendly_name => 'plain USD priced') \gset
SELECT csp.purchase(:'c_base', 'E3', 10, 'P1M', friendly_name => 'plain base') \gset
SELECT csp.purchase(:'c_base', 'ADDON', 4, 'P1M', friendly_name => 'add-on') \gset
SELECT csp.purchase(:'c_base_off', 'E3', 2, 'P1M', auto_renew => false, friendly_name => 'base, auto-renew off') \gset
SELECT csp.purchase(:'c_base_off', 'ADDON', 1, 'P1M', friendly_name => 'add-on of base off') \gset
SELECT csp.purchase(:'c_trial', 'E3T', 1, friendly_name => 'trial') \gset
SELECT csp.purchase(:'c_plain', 'E3', 5, 'P1M', friendly_name => 'scheduled change') \gset
SELECT csp.purchase(:'c_plain', 'E3', 2, 'P1M', auto_renew => false, friendly_name => 'auto-renew off') \gset
SELECT csp.purchase(:'c_plain', 'E3', 1, 'P1M', friendly_name => 'suspended') \gset
SELECT csp.purchase(:'c_plain', 'METER', 1, 'P1M', friendly_name => 'usage') \gset
SELECT csp.purchase(:'c_gbp', 'USDP', 3, 'P1M', friendly_name => 'GBP, no rate') \gset
SELECT csp.purchase(:'c_gbp', 'E3', 2, 'P1M', friendly_name => 'plain GBP') \gset
-- for part 3, not due on 2026-01-01: P1M 2025-12-15..2026-01-14
SET csp.clock = '2025-12-15 09:00+00';
SELECT csp.purchase(:'c_fb', 'E3', 2, 'P1M', friendly_name => 'fallback 1') \gset
SELECT csp.purchase(:'c_fb', 'E3', 3, 'P1M', friendly_name => 'fallback 2') \gset
SELECT csp.purchase(:'c_fb', 'E3', 4, 'P1M', friendly_name => 'fallback 3') \gset
-- R6.2: suspending switches auto-renew off; R7.1: a change for the renewal,
-- along the upgrade path E3 -> E5, 8 seats; R3.4: a customer sent back to
-- verification still renews
SET csp.clock = '2025-12-20 09:00+00';
SELECT csp.suspend(pg_temp.sid('suspended'));
SELECT csp.schedule_change(pg_temp.sid('scheduled change'), sku_id => 'E5', quantity => 8);
SELECT csp.set_customer_verification(:'c_pending', 'pending');
SELECT e.name, s.sku_id, s.status, s.is_trial, s.auto_renew, s.quantity, s.term,
       s.billing_frequency, s.term_start, s.term_end, s.parent_subscription_id IS NOT NULL AS addon,
       s.scheduled_change
  FROM csp.subscriptions s JOIN csp.subscriptions_export e USING (subscription_id)
 ORDER BY s.term_end, e.name COLLATE "C";

------------------------------------------------------------------------------
-- Part 1, R6.6: the renewal day 2026-01-01, per-row path and set-based path
------------------------------------------------------------------------------
-- The run processes 21 subscriptions (every term_end < 2026-01-01, all but
-- the three "fallback" ones) and returns 19:
--   9 plain ones renew: plain P1M 10, plain P1M 3 (R3.4), plain P1M, old
--     price, plain P1Y monthly, plain P1Y annual, plain SaaS (R6.4), plain
--     USD priced (R12.2), plain GBP (billing account B), plain base (R4.8);
--   10 others succeed on the per-row path:
--     R6.6  two terms behind renews twice; last cycle uncharged gets its
--           cycle charge, then renews;
--     R4.8  add-on renews with its base; add-on of base off expires with it;
--     R6.2  base, auto-renew off, auto-renew off and suspended expire;
--     R9.1  trial converts; R7 scheduled change renews as E5 x 8;
--     R11.3 usage renews without a charge;
--   2 fail, each with a WARNING, and stay pending: trial, no price (NC013;
--     it ends 2025-12-29, so it comes first) and GBP, no rate (NC014).
-- The warnings name the random subscription ids, so only their SQLSTATEs
-- are shown.
-- Before the run: 24 subscriptions, each with its purchase lot; 42 charges:
-- 21 'new' lines (not the two trials, not usage) and the 21 cycle charges.
CREATE TEMP TABLE before_run AS
SELECT subscription_id, friendly_name, term_end FROM csp.subscription;
SELECT * FROM pg_temp.counts();
SET csp.clock = '2026-01-01 00:05+00';
-- Each renewal is written at the instant it fell due (00:00 UTC of the day
-- after its term end), not at the run's 00:05 (README "Time"): what the run
-- wrote is told by ids, not by instants.
SELECT coalesce(max(charge_id), 0) AS charges_before_renewal FROM csp.charge \gset
SELECT coalesce(max(lot_id), 0) AS lots_before_renewal FROM csp.seat_lot \gset
SELECT coalesce(max(audit_id), 0) AS audit_before_renewal FROM csp.audit_log \gset
BEGIN;
SAVEPOINT renewal_day;
-- R6.6 per-row path: every subscription in a subtransaction of its own
SET csp.set_based_jobs = off;
\set VERBOSITY sqlstate
SELECT csp.run_renewals() AS processed;
\set VERBOSITY default
-- 16 new lots and 16 new charges: one per renewed term (9 plain, 2 two
-- terms behind, last cycle uncharged, add-on, trial, scheduled change,
-- usage), 15 renew lines (not usage) and 1 cycle charge; 37 audit rows: 16
-- lot inserts and 21 subscription updates (the 16 renewals, the cycle
-- charge's next_charge_date, 4 expiries)
SELECT * FROM pg_temp.counts();
SELECT * FROM pg_temp.state_checksums() \gset off_
-- nine plain subscriptions renewed, by nine different (sub)transactions
SELECT count(*) AS plain_renewed, count(DISTINCT xmin::text) AS writing_transactions
  FROM csp.subscription WHERE friendly_name LIKE 'plain %' AND term_started_at = term_start::timestamp AT TIME ZONE 'UTC' AND term_start >= '2025-12-01';
ROLLBACK TO SAVEPOINT renewal_day;
SHOW csp.set_based_jobs;
-- back where we were: nothing renewed
SELECT * FROM pg_temp.counts();
SELECT count(*) AS due FROM csp.subscription
 WHERE term_end < '2026-01-01' AND status IN ('active', 'suspended');
-- R6.6 set-based path: the same run, the same result (19, the same warnings)
SET csp.set_based_jobs = on;
\set VERBOSITY sqlstate
SELECT csp.run_renewals() AS processed;
\set VERBOSITY default
SELECT * FROM pg_temp.counts();
SELECT * FROM pg_temp.state_checksums() \gset on_
-- the nine plain subscriptions, their new lots and the audit rows of both
-- were written by one subtransaction: the batch's UPDATE and INSERT
SELECT count(*) AS plain_renewed, count(DISTINCT xmin::text) AS writing_transactions
  FROM csp.subscription WHERE friendly_name LIKE 'plain %' AND term_started_at = term_start::timestamp AT TIME ZONE 'UTC' AND term_start >= '2025-12-01';
SELECT count(DISTINCT x) AS writing_transactions FROM (
    SELECT s.xmin::text AS x FROM csp.subscription s WHERE s.friendly_name LIKE 'plain %'
    UNION ALL
    SELECT l.xmin::text FROM csp.seat_lot l JOIN csp.subscription s USING (billing_account_id, subscription_id)
     WHERE s.friendly_name LIKE 'plain %' AND l.lot_id > :lots_before_renewal
    UNION ALL
    SELECT a.xmin::text FROM csp.audit_log a JOIN csp.subscription s ON a.after->>'subscription_id' = s.subscription_id::text
     WHERE s.friendly_name LIKE 'plain %' AND a.audit_id > :audit_before_renewal) w;
-- R6.6 positive: the same subscriptions, seat lots, charges and audit rows
SELECT :'on_subscription' = :'off_subscription' AS same_subscriptions,
       :'on_seat_lot' = :'off_seat_lot' AS same_seat_lots,
       :'on_charge' = :'off_charge' AS same_charges,
       :'on_audit_log' = :'off_audit_log' AS same_audit_rows,
       :on_n_rows = :off_n_rows AS same_row_count;
-- ... and the rows that differ (none): in one run and not the other
SELECT * FROM pg_temp.differences(:'off_all_rows');
-- negative control: the comparison sees a one-row change.  Renaming one
-- subscription changes its row (one 'off only', one 'on only') and adds two
-- audit rows (its update count, R4.9, and its name); lots and charges stay
-- the same.
SAVEPOINT probe;
SELECT csp.rename(pg_temp.sid('plain P1M 10'), 'renamed') \gset
SELECT c.subscription = :'off_subscription' AS same_subscriptions,
       c.seat_lot = :'off_seat_lot' AS same_seat_lots,
       c.charge = :'off_charge' AS same_charges,
       c.audit_log = :'off_audit_log' AS same_audit_rows
  FROM pg_temp.state_checksums() c;
SELECT run, split_part(row_text, ' ', 1) AS tbl, count(*) AS rows
  FROM pg_temp.differences(:'off_all_rows') GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK TO SAVEPOINT probe;
COMMIT;

-- The subscriptions after the run (set-based path).  Renewed terms (R6.6:
-- from term_end + 1; the window starts at the renewal's due instant, 00:00
-- UTC of term_end + 1, not at the run's 00:05; README "Time"):
--   plain P1Y monthly   2025-12-31..2026-12-30, window + 168 h = 2026-01-07 00:00
--   plain P1M, old price 2025-12-30..2026-01-29
--   plain P1Y annual, plain P1M ..., last cycle uncharged, add-on, trial,
--   scheduled change, usage: 2026-01-01..2026-01-31 (P1M) or ..2026-12-31 (P1Y)
--   plain SaaS          marketplace, monthly: window 24 h, until 2026-01-02 00:00 (R6.4)
--   two terms behind    2025-12-01..2025-12-31, then 2026-01-01..2026-01-31
--   trial               E3, 25 seats, P1Y monthly, 2026-01-01..2026-12-31 (R9.1)
--   scheduled change    E5, 8 seats, scheduled_change cleared (R7)
--   expired: base, auto-renew off; add-on of base off; auto-renew off;
--            suspended (terms unchanged)
--   pending (unchanged): trial, no price; GBP, no rate
SELECT e.name, s.sku_id, s.status, s.is_trial, s.auto_renew, s.quantity, s.term,
       s.billing_frequency, s.term_start, s.term_end, s.cancellation_allowed_until,
       s.scheduled_change
  FROM csp.subscriptions s JOIN csp.subscriptions_export e USING (subscription_id)
 ORDER BY e.name COLLATE "C";
-- The lines the run posted (each at its due instant), every amount:
--   add-on               4 x  3.00 x 31/31 =  12.00   (2026-01-01..2026-01-31)
--   last cycle uncharged cycleCharge 2025-12-01..2025-12-31: 2 x 10.00 x 31/31 = 20.00,
--                        then renew, P1Y monthly first cycle
--                        2026-01-01..2026-01-31: 2 x 10.00 x 31/31 = 20.00
--   plain base          10 x 13.00 x 31/31 = 130.00   (13.00 valid from 2026-01-01, R4.3)
--   plain P1M 10        10 x 13.00 x 31/31 = 130.00
--   plain P1M 3, ...     3 x 13.00 x 31/31 =  39.00
--   plain P1Y annual     4 x 120.00 x 365/365 = 480.00 (2026-01-01..2026-12-31)
--   plain GBP            2 x 11.00 x 31/31 =  22.00 GBP (the GBP price of E3)
--   plain P1M, old price 2 x 12.00 x 31/31 =  24.00   (2025-12-30..2026-01-29: 12.00 then)
--   plain P1Y monthly    7 x 10.00 x 31/31 =  70.00   (first cycle 2025-12-31..2026-01-30)
--   plain SaaS           6 x  7.50 x 31/31 =  45.00
--   plain USD priced     5 x 10.00 USD x 0.9137 x 31/31 = 45.685 -> 45.69 EUR
--                        (exactly half a cent: rounded away from zero)
--   scheduled change     8 x 24.00 x 31/31 = 192.00   (E5)
--   trial               25 x 10.00 x 31/31 = 250.00   (E3 P1Y monthly)
--   two terms behind     2 x 12.00 x 31/31 =  24.00   (2025-12-01..2025-12-31, 12.00 then)
--                        2 x 13.00 x 31/31 =  26.00   (2026-01-01..2026-01-31)
--   usage, the expired and the pending ones: none
SELECT e.name, l.sku_id, l.charge_type, l.charge_start, l.charge_end, l.quantity, l.unit_price,
       l.pricing_currency, l.fx_rate, l.days_charged, l.days_in_cycle, l.amount, l.currency
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.charge_id > :charges_before_renewal
 ORDER BY e.name COLLATE "C", l.charge_start;
-- R5.2 / R6.6: each renewal adds a lot of all the seats, reducible for 168
-- hours from its due instant, and its renew line names it
SELECT e.name, l.term_start, l.source, l.added_at, l.reducible_until, l.quantity_added,
       (SELECT count(*) FROM csp.charge c WHERE c.lot_id = l.lot_id AND c.charge_type = 'renew') AS renew_lines
  FROM csp.seat_lot l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.lot_id > :lots_before_renewal
 ORDER BY e.name COLLATE "C", l.term_start;
SELECT * FROM csp.reducible_licenses(pg_temp.sid('plain P1M 10'));

------------------------------------------------------------------------------
-- Part 2, R6.6: the audit rows of the set-based run
------------------------------------------------------------------------------
-- For every subscription the run renewed: its 'update' rows (action
-- run_renewals) that moved term_end, chained from the end it had before the
-- run to the end it has now; the 'update' rows that did not (the cycle
-- charge's next_charge_date); and the 'insert' rows of its new lots.  Each
-- plain one has exactly one update, old end -> new end, and one insert for
-- its one new lot; two terms behind has two of each; last cycle uncharged
-- has one more update, the cycle charge's.
WITH renewed AS (
    SELECT s.subscription_id, s.friendly_name, b.term_end AS old_end, s.term_end AS new_end
      FROM csp.subscription s JOIN before_run b USING (subscription_id)
     WHERE s.term_end <> b.term_end
), upd AS (
    SELECT a.* FROM csp.audit_log a
     WHERE a.object_type = 'subscription' AND a.operation = 'update'
       AND a.action = 'run_renewals' AND a.audit_id > :audit_before_renewal
)
SELECT r.friendly_name AS name, r.old_end, r.new_end,
       (SELECT string_agg((u.before->>'term_end') || ' -> ' || (u.after->>'term_end'), ', '
                          ORDER BY u.before->>'term_end')
          FROM upd u WHERE u.object_id = r.subscription_id::text
           AND u.before->>'term_end' <> u.after->>'term_end') AS term_updates,
       (SELECT count(*) FROM upd u WHERE u.object_id = r.subscription_id::text
           AND NOT u.after ? 'term_end') AS other_updates,
       (SELECT count(*) FROM csp.audit_log a
         WHERE a.object_type = 'seat_lot' AND a.operation = 'insert' AND a.action = 'run_renewals'
           AND a.audit_id > :audit_before_renewal AND a.after->>'subscription_id' = r.subscription_id::text) AS lot_inserts,
       (SELECT count(*) FROM csp.seat_lot l
         WHERE l.subscription_id = r.subscription_id AND l.lot_id > :lots_before_renewal) AS new_lots
  FROM renewed r ORDER BY r.friendly_name COLLATE "C";
-- the pairing is by subscription_id: each update row's before is what the
-- update changed as it was (the old term) and its after the same columns as
-- they are now, with the keys (issue 12 item 7: only what changed);
-- the columns a plain renewal changes are the term, its start instant and
-- window, and, where they change, the price (12.00 -> 13.00) and the next
-- cycle (P1Y monthly)
SELECT s.friendly_name AS name, a.object_id = s.subscription_id::text AS object_id_ok,
       to_jsonb(s) @> a.after AS after_is_row,
       a.before->>'term_end' = b.term_end::text AS before_is_old_term,
       (SELECT string_agg(k, ', ' ORDER BY k COLLATE "C") FROM jsonb_object_keys(a.after) k
         WHERE a.after->k IS DISTINCT FROM a.before->k) AS changed
  FROM csp.subscription s
  JOIN before_run b USING (subscription_id)
  JOIN csp.audit_log a ON a.object_type = 'subscription' AND a.operation = 'update'
                      AND a.action = 'run_renewals' AND a.audit_id > :audit_before_renewal
                      AND a.after->>'subscription_id' = s.subscription_id::text
 WHERE s.friendly_name LIKE 'plain %'
 ORDER BY s.friendly_name COLLATE "C";
-- every new lot has exactly one 'insert' row, its object_id the lot's id and
-- its after the whole lot; no audit row of the run is left without its row
SELECT count(*) AS new_lots,
       count(*) FILTER (WHERE (SELECT count(*) FROM csp.audit_log a
                                WHERE a.object_type = 'seat_lot' AND a.operation = 'insert'
                                  AND a.object_id = l.lot_id::text AND a.after = to_jsonb(l)) = 1) AS with_one_insert_row
  FROM csp.seat_lot l WHERE l.lot_id > :lots_before_renewal;
SELECT a.object_type, a.operation, count(*) AS audit_rows,
       count(*) FILTER (WHERE a.object_type = 'seat_lot'
                          AND EXISTS (SELECT FROM csp.seat_lot l WHERE l.lot_id::text = a.object_id)
                         OR a.object_type = 'subscription'
                          AND EXISTS (SELECT FROM csp.subscription s WHERE s.subscription_id::text = a.object_id)) AS with_row
  FROM csp.audit_log a
 WHERE a.action = 'run_renewals' AND a.audit_id > :audit_before_renewal
 GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- The two pending ones, once their price and rate exist (R6.6: the next run
-- retries them), 2026-01-01 00:10: 2 processed, no warning.
--   trial, no price: X, 25 seats, P1Y monthly 5.00, 2025-12-30..2026-12-29,
--     first cycle 2025-12-30..2026-01-29: 25 x 5.00 x 31/31 = 125.00
--   GBP, no rate (plain now: the set-based path): 3 x 10.00 USD x 0.7853
--     x 31/31 = 23.559 -> 23.56 GBP
------------------------------------------------------------------------------
SELECT pg_temp.try(format('SELECT csp.rename(%L, %L)', pg_temp.sid('GBP, no rate'), 'GBP'));
\echo :SQLSTATE
SELECT csp.set_price('X', 'P1Y', 'monthly', 'EUR', 5.00) \gset
SELECT csp.set_fx_rate('USD', 'GBP', csp.fx_rate_date('2026-01-01'), 0.7853) \gset
SET csp.clock = '2026-01-01 00:10+00';
SELECT coalesce(max(charge_id), 0) AS charges_before_late_run FROM csp.charge \gset
SELECT csp.run_renewals() AS processed;
SELECT e.name, s.sku_id, s.status, s.quantity, s.term, s.billing_frequency, s.term_start, s.term_end
  FROM csp.subscriptions s JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE e.name IN ('trial, no price', 'GBP, no rate') ORDER BY e.name COLLATE "C";
SELECT e.name, l.charge_type, l.charge_start, l.charge_end, l.quantity, l.unit_price,
       l.fx_rate, l.days_charged, l.days_in_cycle, l.amount, l.currency
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.charge_id > :charges_before_late_run ORDER BY e.name COLLATE "C";

------------------------------------------------------------------------------
-- Part 3, R6.6 negative: the set-based batch fails as a whole
------------------------------------------------------------------------------
-- A test trigger (not part of the extension) makes every renewal of
-- 'fallback 2' fail with SQLSTATE ZZ001.  On 2026-01-15 00:05 the three
-- fallback subscriptions (2025-12-15..2026-01-14, all plain) are due and
-- nothing else is.  The batch's one UPDATE fails, so the batch is rolled
-- back and each of the three is renewed on its own: 'fallback 1' and
-- 'fallback 3' renew (2 processed), 'fallback 2' is reported in a WARNING
-- (ZZ001) and stays pending.
CREATE FUNCTION public.block_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.friendly_name = 'fallback 2' AND NEW.term_end <> OLD.term_end THEN
        RAISE EXCEPTION 'renewal of fallback 2 blocked by the test' USING ERRCODE = 'ZZ001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER block_renewal BEFORE UPDATE ON csp.subscription
    FOR EACH ROW EXECUTE FUNCTION public.block_renewal();
SET csp.clock = '2026-01-15 00:05+00';
SELECT count(*) AS due FROM csp.subscription
 WHERE term_end < '2026-01-15' AND status IN ('active', 'suspended');
SHOW csp.set_based_jobs;
\set VERBOSITY sqlstate
SELECT csp.run_renewals() AS processed;
\set VERBOSITY default
-- the two others: 2026-01-15..2026-02-14 (31 days) at 13.00:
--   fallback 1: 2 x 13.00 x 31/31 = 26.00;  fallback 3: 4 x 13.00 x 31/31 = 52.00
-- fallback 2 keeps its term, gets no lot, no line and no audit row
SELECT e.name, s.status, s.quantity, s.term_start, s.term_end, s.cancellation_allowed_until
  FROM csp.subscriptions s JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE s.customer_id = :'c_fb' ORDER BY e.name COLLATE "C";
SELECT e.name, l.charge_type, l.charge_start, l.charge_end, l.quantity, l.unit_price,
       l.days_charged, l.days_in_cycle, l.amount
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.customer_id = :'c_fb' AND l.charge_type = 'renew' ORDER BY e.name COLLATE "C";
SELECT s.friendly_name AS name,
       (SELECT count(*) FROM csp.seat_lot l WHERE l.subscription_id = s.subscription_id
           AND l.source = 'renewal') AS renewal_lots,
       (SELECT count(*) FROM csp.audit_log a WHERE a.action = 'run_renewals'
           AND a.after->>'subscription_id' = s.subscription_id::text) AS audit_rows
  FROM csp.subscription s WHERE s.customer_id = :'c_fb' ORDER BY s.friendly_name COLLATE "C";
-- the batch was undone and each one renewed by a subtransaction of its own
SELECT count(*) AS renewed, count(DISTINCT xmin::text) AS writing_transactions
  FROM csp.subscription WHERE customer_id = :'c_fb' AND term_start = '2026-01-15';
-- R6.7: fallback 2 is pending: NC409
SELECT pg_temp.try(format('SELECT csp.rename(%L, %L)', pg_temp.sid('fallback 2'), 'f2'));
\echo :SQLSTATE
-- R6.6 positive: without the trigger the next run renews it (1 processed),
-- by the set-based path, 2026-01-15..2026-02-14: 3 x 13.00 x 31/31 = 39.00
-- (after its purchase line, 2025-12-15..2026-01-14: 3 x 12.00 x 31/31 = 36.00);
-- its window starts at this run: 2026-01-15 00:10 + 168 h = 2026-01-22 00:10
DROP TRIGGER block_renewal ON csp.subscription;
DROP FUNCTION public.block_renewal();
SET csp.clock = '2026-01-15 00:10+00';
SELECT csp.run_renewals() AS processed;
SELECT e.name, s.status, s.quantity, s.term_start, s.term_end, s.cancellation_allowed_until
  FROM csp.subscriptions s JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE s.subscription_id = pg_temp.sid('fallback 2');
SELECT * FROM pg_temp.lines(pg_temp.sid('fallback 2'));
SELECT * FROM csp.reducible_licenses(pg_temp.sid('fallback 2'));
-- a second run at the same instant does nothing
SELECT csp.run_renewals() AS processed;

------------------------------------------------------------------------------
-- Part 4, R11.1: the cycle charges of one day, per-row path and set-based
-- path (csp.run_cycle_charges; csp_charge_batch in src/job_batch.c)
------------------------------------------------------------------------------
-- R11.1: a monthly-billed term is charged cycle by cycle, each cycle in
-- advance on its first day; csp.run_cycle_charges(as_of) takes every
-- subscription whose next_charge_date is on or before as_of's UTC date and
-- that is active or suspended (R6.2: a suspended one is still billed).  The
-- set-based path takes those that owe exactly one cycle (the next cycle
-- after it is not due yet), have seats and whose exchange rate is found:
-- one INSERT of their cycleCharge lines, one UPDATE of their
-- next_charge_date.  The others (several cycles to catch up, no rate) take
-- the per-row path, one subtransaction each.
--
-- Rates (R12.3: the charges posted in a month use the rate of two business
-- days before its 1st; 2026-10-01 is a Thursday, 2026-12-01 a Tuesday):
--   USD -> EUR  0.9402 for October 2026, 0.9215 for November and December 2026
--   USD -> GBP  0.7721 for October 2026, none for November 2026 (yet)
-- USDP gets a P1Y monthly price, USD 10.00 (R12.2: priced in USD only).
SET csp.clock = '2026-08-20 09:00+00';
SELECT csp.fx_rate_date('2026-10-01') AS october_rate_date,
       csp.fx_rate_date('2026-12-01') AS december_rate_date;
SELECT csp.set_price('USDP', 'P1Y', 'monthly', 'USD', 10.00) \gset
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2026-10-01'), 0.9402) \gset
SELECT csp.set_fx_rate('USD', 'GBP', csp.fx_rate_date('2026-10-01'), 0.7721) \gset
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2026-12-01'), 0.9215) \gset
-- R12.3: a cycle is charged at the rate of the month it starts in, however
-- late the run: the cycles of 2026-11-25 take November's rate
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2026-11-01'), 0.9215) \gset
-- The subscriptions for the cycle-charge day 2026-12-01, all P1Y monthly
-- E3 at 10.00 unless said otherwise, all of customer Plain BV but one.
-- Cycles are anchored at term_end + 1 and counted back (README
-- "Proration"); each purchase charged the first cycle ('new').
--   cc three behind   5 seats, 2026-08-20..2027-08-19, next 2026-09-20
SELECT csp.purchase(:'c_plain', 'E3', 5, friendly_name => 'cc three behind') \gset
--   cc suspended      4 seats, 2026-10-10..2027-10-09, next 2026-11-10
SET csp.clock = '2026-10-10 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 4, friendly_name => 'cc suspended') \gset
--   cc plain 3        3 seats, 2026-10-20..2027-10-19, next 2026-11-20
SET csp.clock = '2026-10-20 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 3, friendly_name => 'cc plain 3') \gset
--   cc USD priced     USDP 3 seats, USD 10.00 billed in EUR, 2026-10-25..2027-10-24
--   cc GBP, no rate   USDP 2 seats, USD 10.00 billed in GBP (Pound Ltd), same term
--   cc annual         6 seats, P1Y annual at 120.00: one cycle, the whole term,
--                     charged at purchase, so no next_charge_date
SET csp.clock = '2026-10-25 09:00+00';
SELECT csp.purchase(:'c_plain', 'USDP', 3, friendly_name => 'cc USD priced') \gset
SELECT csp.purchase(:'c_gbp', 'USDP', 2, friendly_name => 'cc GBP, no rate') \gset
SELECT csp.purchase(:'c_plain', 'E3', 6, billing_frequency => 'annual', friendly_name => 'cc annual') \gset
--   cc plain 12       12 seats, 2026-10-31..2027-10-30: anchor 2027-10-31, so the
--                     second cycle starts 2026-11-30 (no 31st) and the third 2026-12-31
SET csp.clock = '2026-10-31 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 12, friendly_name => 'cc plain 12') \gset
--   cc last cycle     2 seats, co-terminated with plain P1Y monthly (R4.5):
--                     2026-11-10..2026-12-30, anchor 2026-12-31; first cycle
--                     2026-10-31..2026-11-29 clipped to 2026-11-10 (charged at
--                     purchase), last cycle 2026-11-30..2026-12-30
SET csp.clock = '2026-11-10 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 2, coterminate_with => pg_temp.sid('plain P1Y monthly'),
                    friendly_name => 'cc last cycle') \gset
-- R6.2: suspended, still billed
SET csp.clock = '2026-11-15 09:00+00';
SELECT csp.suspend(pg_temp.sid('cc suspended')) \gset
--   cc not yet due    1 seat, 2026-11-20..2027-11-19, next 2026-12-20
SET csp.clock = '2026-11-20 09:00+00';
SELECT csp.purchase(:'c_plain', 'E3', 1, friendly_name => 'cc not yet due') \gset
-- Every subscription with a next charge date, and the cc ones.  The four
-- P1Y monthly subscriptions of the parts above (plain P1Y monthly, last
-- cycle uncharged, trial, trial, no price) have not been charged since
-- their first cycle of the term: each owes its 11 other cycles, the last
-- one included, all started by 2026-12-01.
SELECT friendly_name AS name, sku_id, status, quantity, term, billing_frequency, term_start,
       term_end, next_charge_date, unit_price, pricing_currency, currency
  FROM csp.subscription
 WHERE next_charge_date IS NOT NULL OR friendly_name LIKE 'cc %'
 ORDER BY friendly_name COLLATE "C";
-- How many subscriptions and charges there are, how many of these are
-- cycle charges, and the audit rows written by cycle-charge runs.
CREATE FUNCTION pg_temp.cycle_counts()
RETURNS TABLE (subscriptions bigint, charges bigint, cycle_charges bigint, cycle_audit_rows bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM csp.subscription), (SELECT count(*) FROM csp.charge),
           (SELECT count(*) FROM csp.charge WHERE charge_type = 'cycleCharge'),
           (SELECT count(*) FROM csp.audit_log WHERE action = 'run_cycle_charges')
$$;
-- Before the run: 33 subscriptions (the 24 above and 9 cc ones); 72
-- charges (63 after part 3 and the 9 cc purchase lines), 22 of them cycle
-- charges (the 21 of 2025-11-30 and last cycle uncharged's in part 1); 2
-- audit rows, the 2025-11-30 run's updates of plain P1Y monthly and last
-- cycle uncharged
SELECT * FROM pg_temp.cycle_counts();
-- The subscriptions the run charges, by the number of cycles they owe, and
-- how many (sub)transactions wrote them.
CREATE FUNCTION pg_temp.cycle_writers()
RETURNS TABLE (owed text, subscriptions bigint, writing_transactions bigint) LANGUAGE sql AS $$
    SELECT CASE WHEN friendly_name LIKE 'cc %' AND friendly_name <> 'cc three behind'
                THEN 'one cycle' ELSE 'several cycles' END,
           count(*), count(DISTINCT xmin::text)
      FROM csp.subscription
     WHERE friendly_name IN ('cc plain 3', 'cc plain 12', 'cc suspended', 'cc USD priced',
                             'cc last cycle', 'cc three behind', 'plain P1Y monthly',
                             'last cycle uncharged', 'trial', 'trial, no price')
     GROUP BY 1 ORDER BY 1
$$;

------------------------------------------------------------------------------
-- The run of 2026-12-01 00:05.  11 subscriptions are due (next_charge_date
-- <= 2026-12-01, active or suspended); not cc annual (none), cc not yet
-- due (2026-12-20), nor the P1M ones (a P1M monthly term is one cycle).
--   set-based, one cycle each (5 lines): cc plain 3, cc plain 12, cc
--     suspended (R6.2), cc USD priced (R12.2/R12.3), cc last cycle (its
--     next_charge_date becomes NULL);
--   per-row, several cycles (47 lines): cc three behind (3: 2026-09-20,
--     2026-10-20, 2026-11-20; 2026-12-20 is not due) and the four of the
--     parts above (11 each = 44);
--   per-row, fails: cc GBP, no rate (NC014, in a WARNING; it stays due).
-- 52 posted, with csp.set_based_jobs off and on alike.
------------------------------------------------------------------------------
SET csp.clock = '2026-12-01 00:05+00';
SELECT coalesce(max(charge_id), 0) AS charges_before_cycles FROM csp.charge \gset
SELECT coalesce(max(audit_id), 0) AS audit_before_cycles FROM csp.audit_log \gset
SELECT count(*) AS due FROM csp.subscription
 WHERE next_charge_date <= '2026-12-01' AND status IN ('active', 'suspended');
BEGIN;
SAVEPOINT cycle_day;
-- R11.1 per-row path: every subscription in a subtransaction of its own
SET csp.set_based_jobs = off;
\set VERBOSITY sqlstate
SELECT csp.run_cycle_charges() AS posted \gset cc_off_
\set VERBOSITY default
SELECT :cc_off_posted AS posted;
-- 52 new cycle charges; 10 audit rows, one 'update' per subscription
-- charged (its next_charge_date), none for cc GBP, no rate
SELECT * FROM pg_temp.cycle_counts();
SELECT * FROM pg_temp.state_checksums() \gset cc_off_
-- the five owing one cycle and the five owing several: each charged by a
-- (sub)transaction of its own
SELECT * FROM pg_temp.cycle_writers();
ROLLBACK TO SAVEPOINT cycle_day;
SHOW csp.set_based_jobs;
-- back where we were: nothing charged
SELECT * FROM pg_temp.cycle_counts();
-- R11.1 set-based path: the same run, the same result (52, the same warning)
SET csp.set_based_jobs = on;
\set VERBOSITY sqlstate
SELECT csp.run_cycle_charges() AS posted \gset cc_on_
\set VERBOSITY default
SELECT :cc_on_posted AS posted;
SELECT * FROM pg_temp.cycle_counts();
SELECT * FROM pg_temp.state_checksums() \gset cc_on_
-- the five owing one cycle were charged by one subtransaction, the batch;
-- the five owing several still by one subtransaction each
SELECT * FROM pg_temp.cycle_writers();
-- ... and the batch wrote the five, their lines and their audit rows: its
-- INSERT and its UPDATE
SELECT count(DISTINCT x) AS writing_transactions FROM (
    SELECT s.xmin::text AS x FROM csp.subscription s
     WHERE s.friendly_name IN ('cc plain 3', 'cc plain 12', 'cc suspended', 'cc USD priced', 'cc last cycle')
    UNION ALL
    SELECT c.xmin::text FROM csp.charge c JOIN csp.subscription s USING (billing_account_id, subscription_id)
     WHERE s.friendly_name IN ('cc plain 3', 'cc plain 12', 'cc suspended', 'cc USD priced', 'cc last cycle')
       AND c.charge_id > :charges_before_cycles
    UNION ALL
    SELECT a.xmin::text FROM csp.audit_log a JOIN csp.subscription s ON a.object_id = s.subscription_id::text
     WHERE s.friendly_name IN ('cc plain 3', 'cc plain 12', 'cc suspended', 'cc USD priced', 'cc last cycle')
       AND a.action = 'run_cycle_charges' AND a.audit_id > :audit_before_cycles) w;
-- R11.1 positive: the same count, the same subscriptions, charges and audit
-- rows (seat lots: a cycle charge adds none)
SELECT :cc_on_posted = :cc_off_posted AS same_posted,
       :'cc_on_subscription' = :'cc_off_subscription' AS same_subscriptions,
       :'cc_on_seat_lot' = :'cc_off_seat_lot' AS same_seat_lots,
       :'cc_on_charge' = :'cc_off_charge' AS same_charges,
       :'cc_on_audit_log' = :'cc_off_audit_log' AS same_audit_rows,
       :cc_on_n_rows = :cc_off_n_rows AS same_row_count;
-- ... and the rows that differ (none): in one run and not the other
SELECT * FROM pg_temp.differences(:'cc_off_all_rows');
COMMIT;

-- The subscriptions after the run (set-based path): every one charged has
-- its next cycle's start; cc last cycle and the four of the parts above
-- charged their term's last cycle (NULL); cc GBP, no rate is unchanged
SELECT friendly_name AS name, status, quantity, term_end, next_charge_date
  FROM csp.subscription
 WHERE next_charge_date IS NOT NULL OR friendly_name LIKE 'cc %'
    OR friendly_name IN ('plain P1Y monthly', 'last cycle uncharged', 'trial', 'trial, no price')
 ORDER BY friendly_name COLLATE "C";
-- The cc lines the run posted (all at 2026-12-01 00:05, all full cycles:
-- days_charged = days_in_cycle), every amount:
--   cc last cycle     2026-11-30..2026-12-30   2 x 10.00 x 31/31 =  20.00
--   cc plain 12       2026-11-30..2026-12-30  12 x 10.00 x 31/31 = 120.00
--   cc plain 3        2026-11-20..2026-12-19   3 x 10.00 x 30/30 =  30.00
--   cc suspended      2026-11-10..2026-12-09   4 x 10.00 x 30/30 =  40.00 (R6.2)
--   cc three behind   2026-09-20..2026-10-19   5 x 10.00 x 30/30 =  50.00
--                     2026-10-20..2026-11-19   5 x 10.00 x 31/31 =  50.00
--                     2026-11-20..2026-12-19   5 x 10.00 x 30/30 =  50.00
--   cc USD priced     2026-11-25..2026-12-24   3 x 10.00 USD x 0.9215 x 30/30
--                     = 27.645 -> 27.65 EUR (exactly half a cent: away from
--                     zero); December's rate, whatever month the cycle began in
--   cc GBP, no rate, cc annual, cc not yet due: none
SELECT e.name, l.sku_id, l.charge_type, l.charge_start, l.charge_end, l.quantity, l.unit_price,
       l.pricing_currency, l.fx_rate, l.days_charged, l.days_in_cycle, l.amount, l.currency
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.charge_id > :charges_before_cycles AND e.name LIKE 'cc %'
 ORDER BY e.name COLLATE "C", l.charge_start;
-- The four of the parts above, 11 lines each (per-row), all at 10.00 but
-- trial, no price (X at 5.00):
--   last cycle uncharged   2026-02-01 .. 2026-12-01   11 x  2 x 10.00 =  220.00
--   plain P1Y monthly      2026-01-31 .. 2026-11-30   11 x  7 x 10.00 =  770.00
--   trial                  2026-02-01 .. 2026-12-01   11 x 25 x 10.00 = 2750.00
--   trial, no price        2026-01-30 .. 2026-11-30   11 x 25 x  5.00 = 1375.00
SELECT e.name, count(*) AS lines, min(l.charge_start) AS first_cycle, max(l.charge_start) AS last_cycle,
       max(l.charge_end) AS last_day, bool_and(l.days_charged = l.days_in_cycle) AS full_cycles,
       sum(l.amount) AS amount
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.charge_id > :charges_before_cycles AND e.name NOT LIKE 'cc %'
 GROUP BY e.name ORDER BY e.name COLLATE "C";
-- cc last cycle, the last cycle of its term (R4.5 co-termination): its
-- purchase line, the first cycle 2026-10-31..2026-11-29 clipped to
-- 2026-11-10: 2 x 10.00 x 20/30 = 13.333 -> 13.33; then the run's line, the
-- last cycle 2026-11-30..2026-12-30: 2 x 10.00 x 31/31 = 20.00
SELECT * FROM pg_temp.lines(pg_temp.sid('cc last cycle'));
-- The audit rows of the run: one 'update' per subscription charged (10:
-- not cc GBP, no rate), however many cycles it was charged, each changing
-- next_charge_date only
SELECT s.friendly_name AS name, count(*) AS audit_rows,
       string_agg(DISTINCT a.operation, ', ') AS operations,
       (SELECT string_agg(DISTINCT k, ', ') FROM csp.audit_log a2, jsonb_object_keys(a2.after) k
         WHERE a2.action = 'run_cycle_charges' AND a2.audit_id > :audit_before_cycles
           AND a2.object_id = s.subscription_id::text
           AND a2.after->k IS DISTINCT FROM a2.before->k) AS changed
  FROM csp.audit_log a JOIN csp.subscription s ON a.object_id = s.subscription_id::text
 WHERE a.action = 'run_cycle_charges' AND a.audit_id > :audit_before_cycles
 GROUP BY s.friendly_name, s.subscription_id ORDER BY s.friendly_name COLLATE "C";

-- R11.1 idempotency: a second run at the same instant posts 0.  Only cc
-- GBP, no rate is still due, and it fails again (NC014); nothing changes.
\set VERBOSITY sqlstate
SELECT csp.run_cycle_charges() AS posted;
\set VERBOSITY default
SELECT c.subscription = :'cc_on_subscription' AS same_subscriptions,
       c.charge = :'cc_on_charge' AS same_charges,
       c.audit_log = :'cc_on_audit_log' AS same_audit_rows
  FROM pg_temp.state_checksums() c;
-- R11.1 positive: once November's USD -> GBP rate is recorded (the cycle
-- starts on 2026-11-25), the next run
-- (2026-12-01 00:10) charges it (one cycle owed: the set-based path): 1 posted,
-- 2026-11-25..2026-12-24: 2 x 10.00 USD x 0.7766 x 30/30 = 15.532 -> 15.53 GBP;
-- next_charge_date 2026-12-25
SELECT csp.set_fx_rate('USD', 'GBP', csp.fx_rate_date('2026-11-01'), 0.7766) \gset
SET csp.clock = '2026-12-01 00:10+00';
SELECT coalesce(max(charge_id), 0) AS charges_before_late_run FROM csp.charge \gset
SELECT csp.run_cycle_charges() AS posted;
SELECT e.name, l.charge_type, l.charge_start, l.charge_end, l.quantity, l.unit_price,
       l.pricing_currency, l.fx_rate, l.days_charged, l.days_in_cycle, l.amount, l.currency
  FROM csp.line_items l JOIN csp.subscriptions_export e USING (subscription_id)
 WHERE l.charge_id > :charges_before_late_run;
SELECT friendly_name AS name, next_charge_date FROM csp.subscription
 WHERE friendly_name = 'cc GBP, no rate';
-- and once more at that instant: nothing is due, 0
SELECT csp.run_cycle_charges() AS posted;

-- every line's amount is its factors, rounded once (README "Proration")
SELECT count(*) AS unexplained_lines
  FROM csp.line_items
 WHERE amount <> round(unit_price * fx_rate * quantity * days_charged / days_in_cycle, 2);

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
