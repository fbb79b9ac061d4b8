--
-- pgTAP: the subscription engine's public signatures (API.md "Subscription
-- functions") and every error path of purchase, change_quantity,
-- reducible_licenses, suspend, reactivate, cancel, set_auto_renew, rename
-- and run_cycle_charges, each with its SQLSTATE (API.md "Errors").
-- Runs under pg_regress and pg_prove; everything is rolled back.
--
BEGIN;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION csp_billing;
RESET client_min_messages;

SELECT plan(136);

------------------------------------------------------------------------------
-- Signatures: names, argument types, argument names, defaults, results
------------------------------------------------------------------------------
SELECT has_function('csp', 'purchase',
    ARRAY['uuid', 'text', 'integer', 'text', 'text', 'boolean', 'bigint', 'uuid', 'boolean', 'text', 'text[]', 'text'],
    'csp.purchase(uuid, text, integer, text, text, boolean, bigint, uuid, boolean, text, text[], text) exists');
SELECT has_function('csp', 'change_quantity', ARRAY['uuid', 'integer'], 'csp.change_quantity(uuid, integer) exists');
SELECT has_function('csp', 'reducible_licenses', ARRAY['uuid'], 'csp.reducible_licenses(uuid) exists');
SELECT has_function('csp', 'suspend', ARRAY['uuid'], 'csp.suspend(uuid) exists');
SELECT has_function('csp', 'reactivate', ARRAY['uuid'], 'csp.reactivate(uuid) exists');
SELECT has_function('csp', 'cancel', ARRAY['uuid'], 'csp.cancel(uuid) exists');
SELECT has_function('csp', 'set_auto_renew', ARRAY['uuid', 'boolean'], 'csp.set_auto_renew(uuid, boolean) exists');
SELECT has_function('csp', 'rename', ARRAY['uuid', 'text'], 'csp.rename(uuid, text) exists');
SELECT has_function('csp', 'run_cycle_charges', ARRAY['timestamp with time zone'], 'csp.run_cycle_charges(timestamptz) exists');

SELECT is((SELECT proargnames::text[] FROM pg_proc
            WHERE oid = 'csp.purchase(uuid, text, integer, text, text, boolean, bigint, uuid, boolean, text, text[], text)'::regprocedure),
          ARRAY['customer_id', 'sku_id', 'quantity', 'term', 'billing_frequency', 'auto_renew', 'invoice_section_id',
                'coterminate_with', 'align_to_calendar_month', 'reseller_id', 'additional_resellers', 'friendly_name'],
          'csp.purchase argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.change_quantity(uuid, integer)'::regprocedure),
          ARRAY['subscription_id', 'quantity'], 'csp.change_quantity argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.reducible_licenses(uuid)'::regprocedure),
          ARRAY['subscription_id', 'quantity', 'reducible_until'], 'csp.reducible_licenses argument and column names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.suspend(uuid)'::regprocedure),
          ARRAY['subscription_id'], 'csp.suspend argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.reactivate(uuid)'::regprocedure),
          ARRAY['subscription_id'], 'csp.reactivate argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.cancel(uuid)'::regprocedure),
          ARRAY['subscription_id'], 'csp.cancel argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.set_auto_renew(uuid, boolean)'::regprocedure),
          ARRAY['subscription_id', 'enabled'], 'csp.set_auto_renew argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.rename(uuid, text)'::regprocedure),
          ARRAY['subscription_id', 'friendly_name'], 'csp.rename argument names');
SELECT is((SELECT proargnames::text[] FROM pg_proc WHERE oid = 'csp.run_cycle_charges(timestamptz)'::regprocedure),
          ARRAY['as_of'], 'csp.run_cycle_charges argument names');

SELECT is(pg_get_function_arguments('csp.purchase(uuid, text, integer, text, text, boolean, bigint, uuid, boolean, text, text[], text)'::regprocedure),
          'customer_id uuid, sku_id text, quantity integer, term text DEFAULT ''P1Y''::text, '
          'billing_frequency text DEFAULT ''monthly''::text, auto_renew boolean DEFAULT true, '
          'invoice_section_id bigint DEFAULT NULL::bigint, coterminate_with uuid DEFAULT NULL::uuid, '
          'align_to_calendar_month boolean DEFAULT false, reseller_id text DEFAULT NULL::text, '
          'additional_resellers text[] DEFAULT ''{}''::text[], friendly_name text DEFAULT NULL::text',
          'csp.purchase defaults: P1Y, monthly, auto-renew on, no alignment, no resellers');
SELECT is(pg_get_function_arguments('csp.run_cycle_charges(timestamptz)'::regprocedure),
          'as_of timestamp with time zone DEFAULT csp.now()', 'csp.run_cycle_charges defaults to csp.now()');
SELECT is(pg_get_function_result('csp.reducible_licenses(uuid)'::regprocedure),
          'TABLE(quantity integer, reducible_until timestamp with time zone)', 'csp.reducible_licenses result columns');

SELECT function_returns('csp', 'purchase',
    ARRAY['uuid', 'text', 'integer', 'text', 'text', 'boolean', 'bigint', 'uuid', 'boolean', 'text', 'text[]', 'text'],
    'uuid', 'csp.purchase returns uuid');
SELECT function_returns('csp', 'change_quantity', ARRAY['uuid', 'integer'], 'void', 'csp.change_quantity returns void');
SELECT function_returns('csp', 'suspend', ARRAY['uuid'], 'void', 'csp.suspend returns void');
SELECT function_returns('csp', 'reactivate', ARRAY['uuid'], 'void', 'csp.reactivate returns void');
SELECT function_returns('csp', 'cancel', ARRAY['uuid'], 'void', 'csp.cancel returns void');
SELECT function_returns('csp', 'set_auto_renew', ARRAY['uuid', 'boolean'], 'void', 'csp.set_auto_renew returns void');
SELECT function_returns('csp', 'rename', ARRAY['uuid', 'text'], 'void', 'csp.rename returns void');
SELECT function_returns('csp', 'run_cycle_charges', ARRAY['timestamp with time zone'], 'integer', 'csp.run_cycle_charges returns integer');

------------------------------------------------------------------------------
-- Set-up
------------------------------------------------------------------------------
SET csp.clock = '2025-03-01 08:00+00';
SELECT csp.create_billing_account('Fabrikam Distribution', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Fabrikam NL') AS bp \gset
SELECT csp.create_partner('p1', 'Northwind Partners', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p1', :ba, :bp, accept_mca => true) \gset
SELECT csp.add_customer('p1', 'Acme BV', 'NL', mca_attested => true) AS cust \gset
SELECT csp.set_customer_verification(:'cust', 'approved') \gset
SELECT csp.add_customer('p1', 'Unattested BV', 'NL') AS c_nomca \gset
SELECT csp.set_customer_verification(:'c_nomca', 'approved') \gset
SELECT csp.add_customer('p1', 'Pending BV', 'NL', mca_attested => true) AS c_pend \gset
SELECT csp.create_partner('ip', 'Contoso Distribution', 'indirect_provider', 'NL') \gset
SELECT csp.link_partner_billing('ip', :ba, :bp) \gset
SELECT count(csp.create_partner('r' || g, 'Reseller ' || g, 'indirect_reseller', 'NL', indirect_provider_id => 'ip')) AS resellers
  FROM generate_series(1, 7) g \gset
SELECT csp.create_partner('rnone', 'Reseller without a provider', 'indirect_reseller', 'NL') \gset
SELECT csp.add_customer('ip', 'EU Kunde GmbH', 'DE', mca_attested => true) AS c_eu \gset
SELECT csp.set_customer_verification(:'c_eu', 'approved') \gset
SELECT csp.add_customer('ip', 'US Corp', 'US', mca_attested => true) AS c_us \gset
SELECT csp.set_customer_verification(:'c_us', 'approved') \gset
SELECT csp.add_product('M365', 'Microsoft 365 E3') \gset
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 10.00) \gset
SELECT csp.set_price('M365', 'P1Y', 'annual', 'EUR', 120.00) \gset
SELECT csp.add_product('MGEO', 'Multi-Geo Capabilities', addon_of => '{M365}', addon_min_ratio => 0.05) \gset
SELECT csp.set_price('MGEO', 'P1Y', 'monthly', 'EUR', 2.00) \gset
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => '{M365}', addon_max_ratio => 1) \gset
SELECT csp.set_price('COPILOT', 'P1Y', 'monthly', 'EUR', 30.00) \gset
SELECT csp.add_product('TEAMS', 'Teams Premium', one_per_customer => true) \gset
SELECT csp.set_price('TEAMS', 'P1Y', 'monthly', 'EUR', 8.00) \gset
SELECT csp.add_product('M365TRIAL', 'Microsoft 365 E3 Trial', trial_of => 'M365') \gset
SELECT csp.add_product('AZURE', 'Azure plan', billing_type => 'usage') \gset
SELECT csp.add_product('NOPRICE', 'Product without a price') \gset
SELECT csp.add_product('USDONLY', 'Product priced in USD only') \gset
SELECT csp.set_price('USDONLY', 'P1Y', 'monthly', 'USD', 10.00) \gset
\set unknown '00000000-0000-0000-0000-000000000000'

------------------------------------------------------------------------------
-- purchase
------------------------------------------------------------------------------
-- 22023
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 0)', :'cust', 'M365'),
                 '22023', NULL, 'purchase: quantity 0 is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => -1)', :'cust', 'M365'),
                 '22023', NULL, 'purchase: a negative quantity is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, term => %L)', :'cust', 'M365', 'P2Y'),
                 '22023', NULL, 'purchase: an unknown term is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, billing_frequency => %L)', :'cust', 'M365', 'weekly'),
                 '22023', NULL, 'purchase: an unknown billing frequency is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, term => %L, billing_frequency => %L)',
                        :'cust', 'M365', 'P1M', 'annual'),
                 '22023', NULL, 'purchase: a frequency that does not fit the term is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => NULL, quantity => 1)', :'cust'),
                 '22023', NULL, 'purchase: a NULL SKU is refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 2)', :'cust', 'AZURE'),
                 '22023', NULL, 'R11.3 purchase: a usage-based SKU with quantity 2 is refused with 22023');
-- NC404
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'unknown', 'M365'),
                 'NC404', NULL, 'purchase: an unknown customer is refused with NC404');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'cust', 'NOSUCHSKU'),
                 'NC404', NULL, 'purchase: an unknown SKU is refused with NC404');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, coterminate_with => %L)', :'cust', 'M365', :'unknown'),
                 'NC404', NULL, 'R4.5 purchase: an unknown co-termination target is refused with NC404');
-- NC004, NC005
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'c_pend', 'M365'),
                 'NC004', NULL, 'R3.4 purchase: a pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'c_nomca', 'M365'),
                 'NC005', NULL, 'R3.3 purchase: a customer without MCA attestation is refused with NC005');
SELECT lives_ok(format('SELECT csp.attest_mca(%L)', :'c_nomca'), 'R3.3 the partner attests the MCA');
SELECT lives_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'c_nomca', 'M365'),
                'R3.3 purchase: allowed after the attestation');
SELECT lives_ok(format('SELECT csp.set_customer_verification(%L, %L)', :'c_pend', 'rejected'), 'R3.4 the customer is rejected');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'c_pend', 'M365'),
                 'NC004', NULL, 'R3.4 purchase: a rejected customer is refused with NC004');
-- NC013, NC014
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'cust', 'NOPRICE'),
                 'NC013', NULL, 'R4.3 purchase: no price is refused with NC013');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, term => %L)', :'cust', 'M365', 'P3Y'),
                 'NC013', NULL, 'R4.3 purchase: no price for the term is refused with NC013');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'cust', 'USDONLY'),
                 'NC014', NULL, 'R12.3 purchase: a USD price without the month''s rate is refused with NC014');
SELECT lives_ok(format('SELECT csp.set_fx_rate(%L, %L, csp.fx_rate_date(%L), 0.92)', 'USD', 'EUR', '2025-03-01'),
                'R12.3 the rate of 2025-02-27 is recorded');
SELECT lives_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1)', :'cust', 'USDONLY'),
                'R12.3 purchase: allowed with the rate');
-- NC006
SELECT csp.purchase(customer_id => :'cust', sku_id => 'TEAMS', quantity => 5) AS teams \gset
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 5)', :'cust', 'TEAMS'),
                 'NC006', NULL, 'R4.2 purchase: a second one-per-customer subscription is refused with NC006');
SELECT lives_ok(format('SELECT csp.suspend(%L)', :'teams'), 'R6.2 the first one is suspended');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 5)', :'cust', 'TEAMS'),
                 'NC006', NULL, 'R4.11 purchase: refused with NC006 while the first is suspended');
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365TRIAL', quantity => 25) AS trial \gset
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 25)', :'cust', 'M365TRIAL'),
                 'NC006', NULL, 'R9.1 purchase: a second trial of the SKU is refused with NC006');
-- NC007
SELECT csp.add_customer('p1', 'Addon Corp', 'NL', mca_attested => true) AS c_ao \gset
SELECT csp.set_customer_verification(:'c_ao', 'approved') \gset
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 20)', :'c_ao', 'MGEO'),
                 'NC007', NULL, 'R4.8 purchase: an add-on without a base is refused with NC007');
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'M365', quantity => 300) AS base1 \gset
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'M365', quantity => 100) AS base2 \gset
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 19)', :'c_ao', 'MGEO'),
                 'NC007', NULL, 'R4.6 purchase: 19 multi-geo seats for 400 base licenses are refused with NC007');
SELECT lives_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 20)', :'c_ao', 'MGEO'),
                'R4.6 purchase: 20 multi-geo seats for 400 base licenses');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 401)', :'c_ao', 'COPILOT'),
                 'NC007', NULL, 'R4.7 purchase: 401 Copilot seats for 400 base licenses are refused with NC007');
SELECT csp.purchase(customer_id => :'c_ao', sku_id => 'COPILOT', quantity => 400, coterminate_with => :'base1') AS copilot \gset
SELECT is((SELECT term_end FROM csp.subscriptions WHERE subscription_id = :'copilot'),
          (SELECT term_end FROM csp.subscriptions WHERE subscription_id = :'base1'), 'R4.8 the add-on ends with its base');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 401)', :'copilot'),
                 'NC007', NULL, 'R4.7 change_quantity: Copilot above the base is refused with NC007');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 299)', :'base1'),
                 'NC007', NULL, 'R4.7 change_quantity: the base below Copilot is refused with NC007');
-- 22023 for co-termination with alignment; NC011 resellers
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, coterminate_with => %L, align_to_calendar_month => true)',
                        :'c_ao', 'M365', :'base1'),
                 '22023', NULL, 'R4.5 purchase: co-termination and calendar alignment together are refused with 22023');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, reseller_id => %L)', :'cust', 'M365', 'r1'),
                 'NC011', NULL, 'R2.3 purchase: a direct-bill partner with a reseller is refused with NC011');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, additional_resellers => %L)', :'c_eu', 'M365', '{r2}'),
                 'NC011', NULL, 'R2.3 purchase: additional resellers without a first one are refused with NC011');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, reseller_id => %L, additional_resellers => %L)',
                        :'c_eu', 'M365', 'r1', '{r2,r3,r4,r5,r6,r7}'),
                 'NC011', NULL, 'R2.3 purchase: six additional resellers are refused with NC011');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, reseller_id => %L, additional_resellers => %L)',
                        :'c_us', 'M365', 'r1', '{r2}'),
                 'NC011', NULL, 'R2.3 purchase: additional resellers outside the EU/EEA are refused with NC011');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, reseller_id => %L)', :'c_eu', 'M365', 'rnone'),
                 'NC011', NULL, 'R2.1/R2.3 purchase: a reseller that works through no indirect provider is refused with NC011');
SELECT throws_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, coterminate_with => %L)', :'cust', 'M365', :'base1'),
                 NULL::char(5), NULL, 'R4.5 purchase: co-termination with another customer''s subscription is refused');
SELECT lives_ok(format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => 1, reseller_id => %L, additional_resellers => %L)',
                       :'c_eu', 'M365', 'r1', '{r2,r3,r4,r5,r6}'),
                'R2.3 purchase: an EU customer with a reseller and five more');

------------------------------------------------------------------------------
-- change_quantity, reducible_licenses
------------------------------------------------------------------------------
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 1) AS s168 \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'AZURE', quantity => 1) AS az \gset
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 0)', :'s'), '22023', NULL, 'change_quantity: 0 is refused with 22023');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, -2)', :'s'), '22023', NULL, 'change_quantity: a negative quantity is refused with 22023');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, NULL)', :'s'), '22023', NULL, 'change_quantity: NULL is refused with 22023');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 5)', :'unknown'), 'NC404', NULL, 'change_quantity: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT * FROM csp.reducible_licenses(%L)', :'unknown'), 'NC404', NULL, 'reducible_licenses: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 30)', :'trial'), 'NC003', NULL, 'R9.2 change_quantity: a trial is refused with NC003');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 2)', :'az'), 'NC003', NULL, 'R11.3 change_quantity: a usage-based subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 6)', :'teams'), 'NC003', NULL, 'R6.2 change_quantity: a suspended subscription is refused with NC003');
SELECT is((SELECT sum(quantity)::int FROM csp.reducible_licenses(:'s')), 10, 'R5.4 the purchase lot is reducible');
SELECT is((SELECT reducible_until FROM csp.reducible_licenses(:'s')), '2025-03-08 08:00+00'::timestamptz,
          'R5.4 ... until 168 hours after the purchase');
SET csp.clock = '2025-03-08 07:59+00';
SELECT lives_ok(format('SELECT csp.change_quantity(%L, 9)', :'s'), 'R5.2 change_quantity: a reduction at 167 h 59 min');
SET csp.clock = '2025-03-08 08:00+00';
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 8)', :'s'), 'NC002', NULL, 'R5.2 change_quantity: a reduction at 168 h is refused with NC002');
SELECT is((SELECT count(*)::int FROM csp.reducible_licenses(:'s')), 0, 'R5.4 nothing is reducible after 168 hours');
SELECT lives_ok(format('SELECT csp.change_quantity(%L, 12)', :'s'), 'R5.1 change_quantity: an increase at any time');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 8)', :'s'), 'NC002', NULL,
                 'R5.2 change_quantity: more than the reducible licenses is refused with NC002');
SELECT lives_ok(format('SELECT csp.change_quantity(%L, 9)', :'s'), 'R5.2 change_quantity: the new lot is reducible');

------------------------------------------------------------------------------
-- suspend, reactivate, set_auto_renew, rename, cancel
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'unknown'), 'NC404', NULL, 'suspend: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', :'unknown'), 'NC404', NULL, 'reactivate: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'unknown'), 'NC404', NULL, 'cancel: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, false)', :'unknown'), 'NC404', NULL, 'set_auto_renew: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', :'unknown', 'x'), 'NC404', NULL, 'rename: an unknown subscription is refused with NC404');
SELECT throws_ok(format('SELECT csp.suspend(NULL)'), '22023', NULL, 'suspend: NULL is refused with 22023');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, NULL)', :'s'), '22023', NULL, 'set_auto_renew: NULL is refused with 22023');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', :'s', ' '), '22023', NULL, 'rename: a blank name is refused with 22023');
SELECT throws_ok(format('SELECT csp.run_cycle_charges(%L)', 'infinity'), '22023', NULL, 'run_cycle_charges: infinity is refused with 22023');
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'trial'), 'NC003', NULL, 'R9.2 suspend: a trial is refused with NC003');
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'trial'), 'NC003', NULL, 'R9.2 cancel: a trial is refused with NC003');
SELECT lives_ok(format('SELECT csp.set_auto_renew(%L, false)', :'trial'), 'R9.1 set_auto_renew: a trial''s auto-renew can be switched off');
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'teams'), 'NC003', NULL, 'R6.2 suspend: a suspended subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, true)', :'teams'), 'NC003', NULL,
                 'R6.2 set_auto_renew: on while suspended is refused with NC003');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', :'s'), 'NC003', NULL, 'R6.2 reactivate: an active subscription is refused with NC003');
SELECT lives_ok(format('SELECT csp.suspend(%L)', :'base1'), 'R4.8 suspend: the base suspends its add-ons');
SELECT is((SELECT status FROM csp.subscriptions WHERE subscription_id = :'copilot'), 'suspended', 'R4.8 the add-on is suspended with its base');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', :'copilot'), 'NC003', NULL,
                 'R4.8 reactivate: an add-on whose base is suspended is refused with NC003');
SELECT lives_ok(format('SELECT csp.reactivate(%L)', :'base1'), 'R6.2 reactivate: the base within its term');
SELECT is((SELECT auto_renew FROM csp.subscriptions WHERE subscription_id = :'base1'), false, 'R6.2 auto-renew stays off after reactivation');
-- NC001 (X7)
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'s168'), 'NC001', NULL, 'R6.3 cancel: at 168 hours is refused with NC001');
SET csp.clock = '2025-03-08 09:00+00';
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'base2'), 'NC001', NULL, 'X7 cancel: after the window is refused with NC001');
-- NC002 (X4)
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 99)', :'base2'), 'NC002', NULL, 'R5.2 change_quantity: after every window is refused with NC002');
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, billing_frequency => 'annual') AS a \gset
SELECT lives_ok(format('SELECT csp.cancel(%L)', :'a'), 'R6.3 cancel: within the window');
SELECT is((SELECT sum(amount) FROM csp.line_items WHERE subscription_id = :'a'), 0.00, 'R6.3 within 24 hours the refund is full');
-- NC003 cancelled is final, also for direct changes
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'a'), 'NC003', NULL, 'R6.1 suspend: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', :'a'), 'NC003', NULL, 'R6.1 reactivate: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'a'), 'NC003', NULL, 'R6.1 cancel: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, true)', :'a'), 'NC003', NULL, 'R6.1 set_auto_renew: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', :'a', 'x'), 'NC003', NULL, 'R6.1 rename: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 6)', :'a'), 'NC003', NULL, 'R6.1 change_quantity: a cancelled subscription is refused with NC003');
SELECT throws_ok(format('UPDATE csp.subscription SET status = %L WHERE subscription_id = %L', 'active', :'a'),
                 'NC003', NULL, 'R6.1 a direct UPDATE from cancelled to active is refused with NC003');
SELECT throws_ok(format('DELETE FROM csp.subscription WHERE subscription_id = %L', :'s'),
                 'NC003', NULL, 'R6.1 a DELETE of a subscription is refused with NC003');
-- NC004 management of a customer sent back to verification
SELECT lives_ok(format('SELECT csp.update_customer(%L, legal_name => %L)', :'cust', 'Acme Holding BV'),
                'R3.4 new billing data sends the customer back to pending');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 20)', :'s'), 'NC004', NULL, 'R3.4 change_quantity: pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'s'), 'NC004', NULL, 'R3.4 suspend: pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.cancel(%L)', :'s'), 'NC004', NULL, 'R3.4 cancel: pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', :'teams'), 'NC004', NULL, 'R3.4 reactivate: pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, false)', :'s'), 'NC004', NULL, 'R3.4 set_auto_renew: pending customer is refused with NC004');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', :'s', 'x'), 'NC004', NULL, 'R3.4 rename: pending customer is refused with NC004');
SELECT lives_ok(format('SELECT csp.set_customer_verification(%L, %L)', :'cust', 'approved'), 'R3.4 the customer is approved again');
-- NC009
SELECT is((SELECT count(csp.rename(:'base2', 'n' || g))::int FROM generate_series(1, 1200) g), 1200, 'R4.9 1,200 updates are allowed');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', :'base2', 'n1201'), 'NC009', NULL, 'R4.9 rename: the 1,201st update is refused with NC009');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 101)', :'base2'), 'NC009', NULL, 'R4.9 change_quantity: past 1,200 updates is refused with NC009');
SELECT throws_ok(format('SELECT csp.suspend(%L)', :'base2'), 'NC009', NULL, 'R4.9 suspend: past 1,200 updates is refused with NC009');
SELECT is((SELECT update_count FROM csp.subscriptions WHERE subscription_id = :'base2'), 1200, 'R4.9 the count stays at 1,200');

------------------------------------------------------------------------------
-- run_cycle_charges
------------------------------------------------------------------------------
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-04-01'), 0.93) \gset
SELECT ok(csp.run_cycle_charges('2025-04-01 08:00+00') > 0, 'R11.1 run_cycle_charges posts the cycles that started');
SELECT is(csp.run_cycle_charges('2025-04-01 08:00+00'), 0, 'R11.1 run_cycle_charges: a second run posts nothing');
SELECT is((SELECT amount FROM csp.line_items WHERE subscription_id = :'s' AND charge_type = 'cycleCharge'), 90.00,
          'R11.1 the cycle of 2025-04-01 is charged for 9 seats: 90.00');
SELECT is((SELECT count(*)::int FROM csp.line_items WHERE subscription_id = :'a' AND charge_type = 'cycleCharge'), 0,
          'R11.1 a cancelled subscription has no cycle charge');
SELECT is((SELECT count(*)::int FROM csp.line_items WHERE subscription_id = :'teams' AND charge_type = 'cycleCharge'), 1,
          'R6.2 a suspended subscription is still charged');

SELECT * FROM finish();
ROLLBACK;
