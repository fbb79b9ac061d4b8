--
-- csp.purchase: terms and first charges (X1, X6, R4.5), add-ons (R4.6-R4.8),
-- one per customer (R4.2, R4.11), trials (R9.1, R9.2), usage (R11.3), MCA and
-- verification (R3.3, R3.4), resellers (R2.3), prices and exchange rates
-- (R4.3, R12.2, R12.3), UTC dates (R4.10), and the views csp.subscriptions,
-- csp.subscriptions_export, csp.line_items and csp.unbilled_charges.
--
-- Every figure below is worked out by hand in the comment above the query.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
SELECT csp.add_product('MGEO', 'Multi-Geo Capabilities', addon_of => '{M365}', addon_min_ratio => 0.05) \gset
SELECT csp.set_price('MGEO', 'P1Y', 'monthly', 'EUR', 2.00) \gset
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => '{M365}', addon_max_ratio => 1) \gset
SELECT csp.set_price('COPILOT', 'P1Y', 'monthly', 'EUR', 30.00) \gset
SELECT csp.add_product('TEAMS', 'Teams Premium', one_per_customer => true) \gset
SELECT csp.set_price('TEAMS', 'P1Y', 'monthly', 'EUR', 8.00) \gset
SELECT csp.add_product('M365TRIAL', 'Microsoft 365 E3 Trial', trial_of => 'M365') \gset
SELECT csp.add_product('AZURE', 'Azure plan', billing_type => 'usage') \gset
SELECT csp.add_product('NOPRICE', 'Product without a price') \gset
SELECT csp.add_product('NEWP', 'Product with a price change') \gset
SELECT csp.set_price('NEWP', 'P1Y', 'monthly', 'EUR', 10.00) \gset
SELECT csp.set_price('NEWP', 'P1Y', 'monthly', 'EUR', 12.00, valid_from => '2025-03-01') \gset
SELECT csp.add_product('USDONLY', 'Product priced in USD only') \gset
SELECT csp.set_price('USDONLY', 'P1Y', 'monthly', 'USD', 10.00) \gset
SELECT csp.add_product('DUAL', 'Product priced in EUR and USD') \gset
SELECT csp.set_price('DUAL', 'P1Y', 'monthly', 'EUR', 9.00) \gset
SELECT csp.set_price('DUAL', 'P1Y', 'monthly', 'USD', 10.00) \gset

------------------------------------------------------------------------------
-- R4.5 co-termination, part 1: the existing subscription 2025-01-01..2025-12-31
------------------------------------------------------------------------------
SET csp.clock = '2025-01-01 09:00+00';
SELECT csp.add_customer('p1', 'Coterm BV', 'NL', mca_attested => true) AS c_co \gset
SELECT csp.set_customer_verification(:'c_co', 'approved') \gset
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 10) AS base_b \gset
-- P1Y from 2025-01-01: natural end 2025-01-01 + 12 months - 1 day = 2025-12-31;
-- first cycle [2025-01-01, 2025-01-31]: 10 x 10.00 x 31/31 = 100.00
SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = :'base_b';
SELECT * FROM pg_temp.lines(:'base_b');

------------------------------------------------------------------------------
-- X1 / R11.1 positive: buy 2025-01-15 10:00, P1Y monthly, 10 seats at 10.00
------------------------------------------------------------------------------
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s_x1 \gset
-- end 2026-01-14; cancellable until purchase + 168 h = 2025-01-22 10:00;
-- default section, no parent, no update yet, nothing scheduled
SELECT sku_id, quantity, status, is_trial, auto_renew, term, billing_frequency, term_start,
       term_end, cancellation_allowed_until, parent_subscription_id IS NULL AS no_parent,
       invoice_section_id = :default_section AS default_section, update_count,
       scheduled_change IS NULL AS nothing_scheduled, partner_id, customer_id = :'cust' AS of_customer
  FROM csp.subscriptions WHERE subscription_id = :'s_x1';
-- X1: `new` 2025-01-15..2025-02-14 (cycles anchored at 2026-01-15, counted
-- back: [2025-01-15, 2025-02-14], 31 days) = 10 x 10.00 x 31/31 = 100.00
SELECT * FROM pg_temp.lines(:'s_x1');
SELECT currency, pricing_currency, fx_rate, customer_name, partner_id, billing_profile_id = :bp AS profile,
       invoice_section_id = :default_section AS section, invoice_number IS NULL AS unbilled
  FROM csp.line_items WHERE subscription_id = :'s_x1';
-- R11.1 and the audit log: the purchase wrote the subscription and its first
-- seat lot (before NULL, after the new row), as the caller
SELECT object_type, operation, count(*), bool_and(actor = current_user) AS by_caller,
       bool_and(before IS NULL) AS no_before, min(after->>'quantity') AS after_quantity
  FROM csp.audit_log
 WHERE action = 'purchase' AND (object_id = :'s_x1' OR after->>'subscription_id' = :'s_x1')
 GROUP BY 1, 2 ORDER BY 1, 2;
-- R5.2: the purchase is the first lot, reducible for 168 hours
SELECT * FROM csp.reducible_licenses(:'s_x1');

------------------------------------------------------------------------------
-- X6 / R4.5 positive: same purchase aligned to the calendar month
------------------------------------------------------------------------------
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10,
                    align_to_calendar_month => true) AS s_x6 \gset
-- natural end 2026-01-14 is no month end, so the last day of the month
-- before: 2025-12-31 (R4.5 example); cycles anchored at 2026-01-01 counted
-- back: the first is [2025-01-01, 2025-01-31], clipped at 2025-01-15:
-- `new` 2025-01-15..2025-01-31 = 10 x 10.00 x 17/31 = 54.8387 -> 54.84
SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = :'s_x6';
SELECT * FROM pg_temp.lines(:'s_x6');
-- R4.5 negative: without alignment the end is the natural one (X1: 2026-01-14)
SELECT (SELECT term_end FROM csp.subscriptions WHERE subscription_id = :'s_x1') = '2026-01-14' AS natural_end_kept;

------------------------------------------------------------------------------
-- R4.5 co-termination, part 2 (example of [F]): bought 2025-02-01,
-- co-terminated with the 2025-01-01..2025-12-31 subscription: ends 2025-12-31
------------------------------------------------------------------------------
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4,
                    coterminate_with => :'base_b') AS s_co1 \gset
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4, billing_frequency => 'annual',
                    coterminate_with => :'base_b') AS s_co2 \gset
-- monthly: cycles anchored at 2026-01-01, the first [2025-02-01, 2025-02-28]
--   is whole: 4 x 10.00 x 28/28 = 40.00
-- annual: the one cycle [2025-01-01, 2025-12-31] clipped at 2025-02-01:
--   4 x 120.00 x 334/365 = 439.2329 -> 439.23 (prorated first charge, 11 months)
SELECT subscription_id = :'s_co1' AS monthly, term_start, term_end, billing_frequency
  FROM csp.subscriptions WHERE subscription_id IN (:'s_co1', :'s_co2') ORDER BY 1 DESC;
SELECT * FROM pg_temp.lines(:'s_co1');
SELECT * FROM pg_temp.lines(:'s_co2');
-- R4.5 negative: co-termination and calendar alignment together (22023)
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4,
                    coterminate_with => :'base_b', align_to_calendar_month => true);
\echo :LAST_ERROR_SQLSTATE
-- R4.5 negative: another customer's subscription is not a co-termination
-- target (API.md names no code; the engine answers NC008, ineligible target)
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4, coterminate_with => :'s_x1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 4, coterminate_with => %L)',
                              :'c_co', 'M365', :'s_x1'));
-- R4.5 negative: an unknown co-termination target (NC404)
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4,
                    coterminate_with => '00000000-0000-0000-0000-000000000000');
\echo :LAST_ERROR_SQLSTATE
-- R4.5 negative: the target's end must lie in [start, natural end]; a P1M
-- bought 2025-02-01 ends by 2025-02-28, not 2025-12-31 (22023)
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4, term => 'P1M',
                    coterminate_with => :'base_b');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS c_co_subscriptions FROM csp.subscriptions WHERE customer_id = :'c_co';
-- R4.5/R11.1 positive: co-terminated mid-cycle, the first charge is prorated:
-- bought 2025-02-10, cycle [2025-02-01, 2025-02-28] clipped at 2025-02-10:
-- 4 x 10.00 x 19/28 = 27.1429 -> 27.14
SET csp.clock = '2025-02-10 12:00+00';
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'M365', quantity => 4,
                    coterminate_with => :'base_b') AS s_co3 \gset
SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = :'s_co3';
SELECT * FROM pg_temp.lines(:'s_co3');

------------------------------------------------------------------------------
-- R4.6, R4.7, R4.8 add-ons
------------------------------------------------------------------------------
SET csp.clock = '2025-02-20 10:00+00';
SELECT csp.create_partner('p2', 'Southwind Partners', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p2', :ba, :bp) \gset
SELECT csp.add_customer('p1', 'Addon Corp', 'NL', mca_attested => true) AS c_ao \gset
SELECT csp.set_customer_verification(:'c_ao', 'approved') \gset
-- R4.8 negative: an add-on without a base subscription (NC007)
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'MGEO', quantity => 20);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 20)', :'c_ao', 'COPILOT'));
-- 400 base licenses split over two subscriptions: 300 (ends 2026-02-19) and
-- 100 aligned (ends 2026-01-31)
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'M365', quantity => 300) AS a1 \gset
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'M365', quantity => 100, align_to_calendar_month => true) AS a2 \gset
-- ... and over two partners: the second is transferred to p2 (R10.1: a new
-- subscription with the same end, the old one cancelled)
SELECT csp.transfer(:'a2', 'p2') AS a2 \gset
SELECT partner_id, quantity, term_end FROM csp.subscriptions
 WHERE customer_id = :'c_ao' AND status <> 'cancelled' ORDER BY quantity DESC;
SET csp.clock = '2025-02-25 10:00+00';
-- R4.6 negative: multi-geo needs ceil(0.05 x 400) = 20 seats; 19 is refused
-- (NC007), the 400 counting both subscriptions and both partners
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'MGEO', quantity => 19);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 19)', :'c_ao', 'MGEO'));
-- R4.6 positive: 20 is allowed
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'MGEO', quantity => 20) AS mg1 \gset
-- R4.7 negative: Copilot allows at most 1 x 400 base licenses; 401 is refused
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'COPILOT', quantity => 401);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 401)', :'c_ao', 'COPILOT'));
-- R4.7 positive: 400 is allowed
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'COPILOT', quantity => 400) AS cp \gset
-- R4.8 positive: the add-ons attach to the base with the latest end (a1)
-- and end with it, 2026-02-19; the first charge is prorated: cycles
-- anchored at 2026-02-20, the current one [2025-02-20, 2025-03-19] (28 days)
-- clipped at 2025-02-25 (23 days):
--   multi-geo 20 x 2.00 x 23/28 = 32.857 -> 32.86
--   Copilot  400 x 30.00 x 23/28 = 9857.1429 -> 9857.14
SELECT sku_id, quantity, term_start, term_end, parent_subscription_id = :'a1' AS parent_is_a1
  FROM csp.subscriptions WHERE subscription_id IN (:'mg1', :'cp') ORDER BY sku_id;
SELECT * FROM pg_temp.lines(:'mg1');
SELECT * FROM pg_temp.lines(:'cp');
-- R4.8 positive: an add-on co-terminated with a chosen base (a2) attaches to
-- it and ends 2026-01-31; cycle [2025-02-01, 2025-02-28] clipped at
-- 2025-02-25: 5 x 2.00 x 4/28 = 1.4286 -> 1.43
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'MGEO', quantity => 5, coterminate_with => :'a2') AS mg2 \gset
SELECT term_start, term_end, parent_subscription_id = :'a2' AS parent_is_a2
  FROM csp.subscriptions WHERE subscription_id = :'mg2';
SELECT * FROM pg_temp.lines(:'mg2');
-- R4.7 negative through change_quantity: Copilot above the base (NC007) ...
SELECT csp.change_quantity(:'cp', 401);
\echo :LAST_ERROR_SQLSTATE
-- ... or the base reduced below Copilot (a1's lot is 120 h old, reducible; NC007)
SELECT csp.change_quantity(:'a1', 299);
\echo :LAST_ERROR_SQLSTATE
SELECT sku_id, sum(quantity) FROM csp.subscriptions WHERE customer_id = :'c_ao' AND status <> 'cancelled' GROUP BY 1 ORDER BY 1;
-- R4.7 negative: base bought in the same transaction counts, but 251
-- Copilot seats exceed its 250 (NC007; the base goes with the rollback)
SELECT csp.add_customer('p1', 'Same Order Ltd', 'NL', mca_attested => true) AS c_ao2 \gset
SELECT csp.set_customer_verification(:'c_ao2', 'approved') \gset
BEGIN;
SELECT csp.purchase(customer_id => :'c_ao2', sku_id => 'M365', quantity => 250) IS NOT NULL AS base_bought;
SELECT csp.purchase(customer_id => :'c_ao2', sku_id => 'COPILOT', quantity => 251);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS c_ao2_subscriptions FROM csp.subscriptions WHERE customer_id = :'c_ao2';
-- R4.7 positive: base and 250 Copilot seats in one transaction (250 base -> at most 250)
BEGIN;
SELECT csp.purchase(customer_id => :'c_ao2', sku_id => 'M365', quantity => 250) IS NOT NULL AS base_bought;
SELECT csp.purchase(customer_id => :'c_ao2', sku_id => 'COPILOT', quantity => 250) IS NOT NULL AS copilot_bought;
COMMIT;
SELECT sku_id, quantity, status FROM csp.subscriptions WHERE customer_id = :'c_ao2' ORDER BY sku_id;
-- R4.8 positive: suspending the base suspends its add-ons (mg1, cp), not
-- those of the other base (mg2); auto-renew goes off with them (R6.2)
SELECT csp.suspend(:'a1') \gset
SELECT CASE subscription_id WHEN :'a1' THEN 'a1' WHEN :'a2' THEN 'a2' WHEN :'mg1' THEN 'mg1'
       WHEN :'mg2' THEN 'mg2' WHEN :'cp' THEN 'cp' END AS sub, status, auto_renew
  FROM csp.subscriptions WHERE customer_id = :'c_ao' AND status <> 'cancelled' ORDER BY 1;
-- R4.8 negative: an add-on cannot be reactivated while its base is suspended (NC003)
SELECT csp.reactivate(:'mg1');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.reactivate(%L)', :'cp'));
SELECT status FROM csp.subscriptions WHERE subscription_id = :'mg1';
-- reactivating the base brings its add-ons back; auto-renew stays off (R6.2)
SELECT csp.reactivate(:'a1') \gset
SELECT CASE subscription_id WHEN :'a1' THEN 'a1' WHEN :'a2' THEN 'a2' WHEN :'mg1' THEN 'mg1'
       WHEN :'mg2' THEN 'mg2' WHEN :'cp' THEN 'cp' END AS sub, status, auto_renew
  FROM csp.subscriptions WHERE customer_id = :'c_ao' AND status <> 'cancelled' ORDER BY 1;

------------------------------------------------------------------------------
-- R4.3 prices
------------------------------------------------------------------------------
SET csp.clock = '2025-02-28 23:00+00';
-- R4.3 negative: no price for the SKU (NC013) ...
SELECT csp.purchase(customer_id => :'cust', sku_id => 'NOPRICE', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'cust', 'NOPRICE'));
-- ... or for the term (M365 has no P3Y price) (NC013)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, term => 'P3Y');
\echo :LAST_ERROR_SQLSTATE
-- R4.3 negative: the price valid from 2025-03-01 is not used on 2025-02-28:
-- 10.00; cycle [2025-02-28, 2025-03-27]: 1 x 10.00 x 28/28 = 10.00
SELECT csp.purchase(customer_id => :'cust', sku_id => 'NEWP', quantity => 1) AS np1 \gset
SELECT * FROM pg_temp.lines(:'np1');
-- R4.3 positive: from 2025-03-01 the new price 12.00 applies:
-- cycle [2025-03-01, 2025-03-31]: 1 x 12.00 x 31/31 = 12.00
SET csp.clock = '2025-03-01 00:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'NEWP', quantity => 1) AS np2 \gset
SELECT * FROM pg_temp.lines(:'np2');
-- R12.2 positive: a price in the billing currency wins over a USD one (no FX)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'DUAL', quantity => 2) AS dual \gset
SELECT unit_price, amount, currency, pricing_currency, fx_rate FROM csp.line_items WHERE subscription_id = :'dual';

------------------------------------------------------------------------------
-- R4.2, R4.11 one subscription per customer
------------------------------------------------------------------------------
SET csp.clock = '2025-03-01 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'TEAMS', quantity => 5) AS tm \gset
-- R4.2 negative: a second one is refused (NC006), the hint names the first
SELECT csp.purchase(customer_id => :'cust', sku_id => 'TEAMS', quantity => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 5)', :'cust', 'TEAMS'));
-- R4.2 positive: the limit is per customer, another customer may buy it
SELECT csp.purchase(customer_id => :'c_co', sku_id => 'TEAMS', quantity => 5) IS NOT NULL AS other_customer_bought;
-- R4.11 negative: the existing one is suspended: refused (NC006) with the
-- hint to reactivate it rather than buy again
SELECT csp.suspend(:'tm') \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'TEAMS', quantity => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 5)', :'cust', 'TEAMS'));
-- R4.2 positive: once the first is cancelled, a new one can be bought
SELECT csp.cancel(:'tm') \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'TEAMS', quantity => 5) IS NOT NULL AS bought_again;
SELECT status, count(*) FROM csp.subscriptions WHERE customer_id = :'cust' AND sku_id = 'TEAMS' GROUP BY 1 ORDER BY 1;

------------------------------------------------------------------------------
-- R9.1, R9.2 trials
------------------------------------------------------------------------------
-- R9.1 positive: term, frequency and quantity are ignored: 25 seats, P1M
-- (2025-03-01..2025-03-31), auto-renew on, free: no price needed, no line
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365TRIAL', quantity => 3, term => 'P1Y',
                    billing_frequency => 'annual', auto_renew => false) AS tr \gset
SELECT quantity, is_trial, term, billing_frequency, term_start, term_end, auto_renew, status
  FROM csp.subscriptions WHERE subscription_id = :'tr';
SELECT count(*) AS trial_lines FROM csp.line_items WHERE subscription_id = :'tr';
-- R9.1 negative: a second trial of the SKU for the customer is refused (NC006)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365TRIAL', quantity => 25);
\echo :LAST_ERROR_SQLSTATE
-- R9.2 negative: no quantity or status change during a trial (NC003)
SELECT csp.change_quantity(:'tr', 30);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.suspend(:'tr');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.cancel(:'tr');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.change_quantity(%L, 30)', :'tr'));
-- R9.1/R9.2 positive: auto-renew may be switched off (the trial then ends)
SELECT csp.set_auto_renew(:'tr', false) \gset
SELECT quantity, status, auto_renew, update_count FROM csp.subscriptions WHERE subscription_id = :'tr';

------------------------------------------------------------------------------
-- R11.3 usage-based
------------------------------------------------------------------------------
-- negative: bought with quantity 1 only (22023)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'AZURE', quantity => 2);
\echo :LAST_ERROR_SQLSTATE
-- positive: quantity 1, no price needed, nothing charged at purchase
SELECT csp.purchase(customer_id => :'cust', sku_id => 'AZURE', quantity => 1) AS az \gset
SELECT quantity, status, is_trial FROM csp.subscriptions WHERE subscription_id = :'az';
SELECT count(*) AS usage_lines FROM csp.line_items WHERE subscription_id = :'az';
-- negative: no seats to change (NC003), not even to the same quantity
SELECT csp.change_quantity(:'az', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'az', 1);
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- R3.3 MCA attestation, R3.4 verification
------------------------------------------------------------------------------
SELECT csp.add_customer('p1', 'No Attestation BV', 'NL') AS c_nomca \gset
SELECT csp.set_customer_verification(:'c_nomca', 'approved') \gset
-- R3.3 negative: approved but MCA not attested (NC005)
SELECT csp.purchase(customer_id => :'c_nomca', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R3.3 positive: after csp.attest_mca
SELECT csp.attest_mca(:'c_nomca') \gset
SELECT csp.purchase(customer_id => :'c_nomca', sku_id => 'M365', quantity => 1) IS NOT NULL AS bought_after_attestation;
SELECT csp.add_customer('p1', 'Pending BV', 'NL', mca_attested => true) AS c_pend \gset
-- R3.4 negative: a new customer is pending: no purchase (NC004) ...
SELECT verification_status FROM csp.customers WHERE customer_id = :'c_pend';
SELECT csp.purchase(customer_id => :'c_pend', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- ... nor when rejected (NC004)
SELECT csp.set_customer_verification(:'c_pend', 'rejected') \gset
SELECT csp.purchase(customer_id => :'c_pend', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R3.4 positive: once approved
SELECT csp.set_customer_verification(:'c_pend', 'approved') \gset
SELECT csp.purchase(customer_id => :'c_pend', sku_id => 'M365', quantity => 1) IS NOT NULL AS bought_when_approved;

------------------------------------------------------------------------------
-- R2.3 resellers
------------------------------------------------------------------------------
SELECT csp.create_partner('ip', 'Contoso Distribution', 'indirect_provider', 'NL') \gset
SELECT csp.link_partner_billing('ip', :ba, :bp) \gset
SELECT count(csp.create_partner('r' || g, 'Reseller ' || g, 'indirect_reseller', 'NL', indirect_provider_id => 'ip'))
  FROM generate_series(1, 7) g;
SELECT csp.create_partner('ip2', 'Other Distribution', 'indirect_provider', 'NL') \gset
SELECT csp.create_partner('rx', 'Reseller of ip2', 'indirect_reseller', 'NL', indirect_provider_id => 'ip2') \gset
SELECT csp.create_partner('rnone', 'Reseller without a provider', 'indirect_reseller', 'NL') \gset
SELECT csp.add_customer('ip', 'EU Kunde GmbH', 'DE', mca_attested => true) AS c_eu \gset
SELECT csp.set_customer_verification(:'c_eu', 'approved') \gset
SELECT csp.add_customer('ip', 'US Corp', 'US', mca_attested => true) AS c_us \gset
SELECT csp.set_customer_verification(:'c_us', 'approved') \gset
-- R2.3 positive: an indirect provider's customer with its reseller
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'r1') AS rs1 \gset
SELECT reseller_id FROM csp.subscriptions_export WHERE subscription_id = :'rs1';
-- R2.3 positive: in the EU, five additional resellers after the first
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'r1',
                    additional_resellers => '{r2,r3,r4,r5,r6}') AS rs5 \gset
SELECT reseller_id, additional_resellers FROM csp.subscription WHERE subscription_id = :'rs5';
-- R2.3 positive: outside the EU, one reseller is fine
SELECT csp.purchase(customer_id => :'c_us', sku_id => 'M365', quantity => 1, reseller_id => 'r1') IS NOT NULL AS us_with_reseller;
-- R2.3 negative: a direct-bill partner's purchase with a reseller (NC011)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, reseller_id => 'r1');
\echo :LAST_ERROR_SQLSTATE
-- R2.3 negative: additional resellers without a first one (NC011)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, additional_resellers => '{r2}');
\echo :LAST_ERROR_SQLSTATE
-- R2.3 negative: six additional resellers (NC011)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'r1',
                    additional_resellers => '{r2,r3,r4,r5,r6,r7}');
\echo :LAST_ERROR_SQLSTATE
-- R2.3 negative: additional resellers for a customer outside the EU/EEA (NC011)
SELECT csp.purchase(customer_id => :'c_us', sku_id => 'M365', quantity => 1, reseller_id => 'r1',
                    additional_resellers => '{r2}');
\echo :LAST_ERROR_SQLSTATE
-- R2.1/R2.3 negative: a reseller that works through another provider (NC011)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'rx');
\echo :LAST_ERROR_SQLSTATE
-- R2.1/R2.3 negative: a reseller that works through no provider at all does
-- not work through ip either (NC011)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'rnone') IS NOT NULL AS accepted;
\echo :LAST_ERROR_SQLSTATE
-- R2.3 negative: a partner that is not a reseller (NC011), an unknown one (NC404)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'ip2');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365', quantity => 1, reseller_id => 'nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FILTER (WHERE reseller_id IS NOT NULL) AS with_reseller FROM csp.subscriptions_export
 WHERE customer_id IN (:'c_eu', :'c_us');

------------------------------------------------------------------------------
-- R12.2, R12.3 a USD-priced product billed in EUR
------------------------------------------------------------------------------
SET csp.clock = '2025-03-10 12:00+00';
-- March 2025 uses the rate of two business days before 2025-03-01 (a
-- Saturday): Friday 2025-02-28, Thursday 2025-02-27
SELECT csp.fx_rate_date('2025-03-01') AS march_rate_date, csp.fx_rate_date('2025-04-01') AS april_rate_date;
-- R12.3 negative: without that rate the purchase is refused (NC014) and
-- nothing changes
SELECT * FROM pg_temp.checksums() \gset pre_
SELECT csp.purchase(customer_id => :'cust', sku_id => 'USDONLY', quantity => 3);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refused(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 3)', :'cust', 'USDONLY'));
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();
-- R12.3 positive: with the rate of 2025-02-27 (0.9234) the line keeps the
-- USD price and the rate: cycle [2025-03-10, 2025-04-09]:
-- round(10.00 x 0.9234 x 3 x 31/31, 2) = round(27.702, 2) = 27.70 EUR
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-03-01'), 0.9234) \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'USDONLY', quantity => 3) AS us \gset
SELECT charge_type, charge_start, charge_end, quantity, unit_price, days_charged, days_in_cycle,
       amount, currency, pricing_currency, fx_rate
  FROM csp.line_items WHERE subscription_id = :'us';
-- R4.3 positive: the price is fixed for the term: np1's cycle charge of
-- 2025-03-28..2025-04-27 (31 days) is at 10.00 although 12.00 applies now
SELECT csp.run_cycle_charges('2025-03-28 00:00+00') > 0 AS charged;
SELECT * FROM pg_temp.lines(:'np1');
-- R12.3 negative: April's cycle charge needs April's rate (2025-03-28): that
-- subscription is skipped with a WARNING (NC014) and stays due, while the job
-- charges the others (one missing rate must not block every cycle charge)
SET csp.clock = '2025-04-10 00:00+00';
SELECT count(*) AS us_lines_before FROM csp.line_items WHERE subscription_id = :'us';
SELECT csp.run_cycle_charges() AS charged_others;
SELECT count(*) AS us_lines_after FROM csp.line_items WHERE subscription_id = :'us';
-- R12.3 positive: with April's rate 0.95, cycle [2025-04-10, 2025-05-09]:
-- 10.00 x 0.95 x 3 x 30/30 = 28.50
SELECT csp.set_fx_rate('USD', 'EUR', '2025-03-28', 0.95) \gset
SELECT csp.run_cycle_charges() > 0 AS charged;
SELECT charge_type, charge_start, charge_end, quantity, unit_price, days_charged, days_in_cycle,
       amount, currency, pricing_currency, fx_rate
  FROM csp.line_items WHERE subscription_id = :'us' ORDER BY charge_id;

------------------------------------------------------------------------------
-- R4.10 dates are UTC dates whatever the session's time zone: bought at
-- 2025-05-31 20:00-07 = 2025-06-01 03:00 UTC, the term starts 2025-06-01
------------------------------------------------------------------------------
-- R4.10 negative: in Amsterdam it is already 2025-06-01 01:00 (+02), but the
-- UTC date is 2025-05-31 23:00: the term starts 2025-05-31, natural end
-- 2026-05-30; first cycle [2025-05-31, 2025-06-29] (anchored at 2026-05-31):
-- 1 x 10.00 x 30/30 = 10.00
SET timezone = 'Europe/Amsterdam';
SET csp.clock = '2025-06-01 01:00+02';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1) AS not_local \gset
SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = :'not_local';
SELECT * FROM pg_temp.lines(:'not_local');
-- R4.10 positive
SET timezone = 'America/Phoenix';
SET csp.clock = '2025-05-31 20:00-07';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1) AS utc \gset
SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = :'utc';
SELECT * FROM pg_temp.lines(:'utc');
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- Refused purchases change nothing: malformed and unknown arguments (22023,
-- NC404) and every rule refusal (NC004-NC007, NC011, NC013, NC014)
------------------------------------------------------------------------------
SET csp.clock = '2025-06-01 10:00+00';
SELECT csp.add_customer('p1', 'Late Pending BV', 'NL', mca_attested => true) AS c_late \gset
SELECT csp.add_customer('p1', 'Unattested Two BV', 'NL') AS c_nomca2 \gset
SELECT csp.set_customer_verification(:'c_nomca2', 'approved') \gset
SELECT csp.add_customer('p1', 'No Base BV', 'NL', mca_attested => true) AS c_nobase \gset
SELECT csp.set_customer_verification(:'c_nobase', 'approved') \gset
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'TEAMS', quantity => 1) IS NOT NULL AS first_teams;
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365TRIAL', quantity => 25) IS NOT NULL AS first_trial;
-- R3.4: changing the legal name sends an approved customer back to pending
SELECT csp.update_customer(:'c_nomca', legal_name => 'No Attestation Holding BV') \gset
SELECT verification_status FROM csp.customers WHERE customer_id = :'c_nomca';
SELECT * FROM pg_temp.checksums() \gset pre_
-- quantity 0 and negative (22023)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => -5);
\echo :LAST_ERROR_SQLSTATE
-- unknown term, unknown frequency, a frequency that does not fit the term (22023)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, term => 'P2Y');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, billing_frequency => 'weekly');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, term => 'P1M', billing_frequency => 'annual');
\echo :LAST_ERROR_SQLSTATE
-- NULL where a value is required, a blank friendly name (22023)
SELECT csp.purchase(customer_id => :'cust', sku_id => NULL, quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, friendly_name => ' ');
\echo :LAST_ERROR_SQLSTATE
-- unknown customer, SKU, invoice section (NC404)
SELECT csp.purchase(customer_id => '00000000-0000-0000-0000-000000000000', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'NOSUCHSKU', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, invoice_section_id => -1);
\echo :LAST_ERROR_SQLSTATE
-- R3.4 pending, new and re-verified (NC004)
SELECT csp.purchase(customer_id => :'c_late', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'c_nomca', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R3.3 (NC005)
SELECT csp.purchase(customer_id => :'c_nomca2', sku_id => 'M365', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R4.2 and one trial per customer (NC006)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'TEAMS', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'M365TRIAL', quantity => 25);
\echo :LAST_ERROR_SQLSTATE
-- R4.7 above the base, R4.8 no base (NC007)
SELECT csp.purchase(customer_id => :'c_eu', sku_id => 'COPILOT', quantity => 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(customer_id => :'c_nobase', sku_id => 'MGEO', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R2.3 (NC011)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1, reseller_id => 'r2');
\echo :LAST_ERROR_SQLSTATE
-- R4.3 (NC013)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'NOPRICE', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
-- R12.3: June uses the rate of 2025-05-29, not recorded (NC014)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'USDONLY', quantity => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT charge = :'pre_charge' AS charge_unchanged, subscription = :'pre_subscription' AS subscription_unchanged,
       seat_lot = :'pre_seat_lot' AS seat_lot_unchanged, audit_log = :'pre_audit_log' AS audit_log_unchanged
  FROM pg_temp.checksums();

------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------
-- csp.subscriptions and csp.subscriptions_export have the columns of API.md, in order
SELECT string_agg(column_name::text, ', ' ORDER BY ordinal_position) AS subscriptions_columns
  FROM information_schema.columns WHERE table_schema = 'csp' AND table_name = 'subscriptions';
SELECT string_agg(column_name::text, ', ' ORDER BY ordinal_position) AS export_columns
  FROM information_schema.columns WHERE table_schema = 'csp' AND table_name = 'subscriptions_export';
-- csp.line_items has every column of API.md (it may have more)
SELECT c AS missing_line_items_column
  FROM unnest(ARRAY['invoice_number', 'billing_profile_id', 'invoice_section_id', 'partner_id',
                    'customer_id', 'customer_name', 'subscription_id', 'sku_id', 'charge_type',
                    'charge_start', 'charge_end', 'posted_at', 'quantity', 'unit_price',
                    'days_charged', 'days_in_cycle', 'amount', 'currency', 'pricing_currency',
                    'fx_rate', 'reference_id']) c
 WHERE NOT EXISTS (SELECT FROM information_schema.columns
                    WHERE table_schema = 'csp' AND table_name = 'line_items' AND column_name = c);
-- export: the friendly name or the product name; renewal_date = term_end + 1
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 2, friendly_name => 'Sales team') AS named \gset
SELECT e.name, e.quantity, e.status, e.auto_renew, e.renewal_date, e.term, e.billing_cycle,
       e.promotion_id, e.reseller_id, e.renewal_date = s.term_end + 1 AS day_after_term_end
  FROM csp.subscriptions_export e JOIN csp.subscriptions s USING (subscription_id)
 WHERE subscription_id IN (:'s_x1', :'s_co2', :'named', :'tr', :'rs1')
 ORDER BY e.name, e.renewal_date;
SELECT bool_and(e.renewal_date = s.term_end + 1) AS renewal_is_day_after_end,
       bool_and(e.customer_id = s.customer_id AND e.quantity = s.quantity AND e.status = s.status
                AND e.term = s.term AND e.billing_cycle = s.billing_frequency) AS same_as_subscriptions,
       count(*) = (SELECT count(*) FROM csp.subscription) AS every_subscription
  FROM csp.subscriptions_export e JOIN csp.subscriptions s USING (subscription_id);
-- csp.unbilled_charges = csp.line_items without an invoice number: all of
-- them so far; once invoiced (the periods up to May 2025) lines leave it
SELECT (SELECT count(*) FROM csp.unbilled_charges) = (SELECT count(*) FROM csp.line_items) AS all_unbilled,
       (SELECT count(*) FROM csp.line_items) > 0 AS some_lines;
SELECT csp.run_invoicing('2025-06-01 10:00+00') > 0 AS invoiced;
SELECT (SELECT count(*) FROM csp.line_items) - (SELECT count(*) FROM csp.unbilled_charges) > 0 AS some_billed,
       (SELECT count(*) FROM csp.unbilled_charges) > 0 AS some_unbilled,
       NOT EXISTS (SELECT FROM csp.unbilled_charges WHERE posted_at < '2025-06-01') AS before_june_all_billed,
       NOT EXISTS (SELECT FROM csp.unbilled_charges WHERE invoice_number IS NOT NULL) AS only_unbilled,
       NOT EXISTS (SELECT * FROM csp.line_items WHERE invoice_number IS NULL
                   EXCEPT SELECT * FROM csp.unbilled_charges)
       AND NOT EXISTS (SELECT * FROM csp.unbilled_charges
                       EXCEPT SELECT * FROM csp.line_items WHERE invoice_number IS NULL) AS same_rows;
-- every line's amount is explained by its factors (R11.2)
SELECT count(*) AS unexplained
  FROM csp.line_items
 WHERE amount <> round(unit_price * fx_rate * quantity * days_charged / days_in_cycle, 2);

DROP EXTENSION csp_billing CASCADE;
