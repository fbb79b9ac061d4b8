--
-- pgTAP: the term engine's public contract in one transaction that is rolled
-- back (run by pg_regress against expected/term_engine_tap.out and by
-- pg_prove): the signatures of the job, scheduled-change, upgrade, trial and
-- transfer functions, the SQLSTATE of every error path of R3.4, R6.7, R7-R10,
-- the renewal run, and csp.schedule_jobs without pg_cron.
-- renewals.sql and upgrades.sql show the same with every figure explained.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION csp_billing;
SET LOCAL csp.clock = '2025-01-01 09:00+00';

-- the subscriptions below, by name
CREATE TEMP TABLE ids (name text PRIMARY KEY, id uuid NOT NULL) ON COMMIT DROP;
CREATE FUNCTION pg_temp.id(n text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT id FROM ids WHERE name = n
$$;
-- the SQLSTATE and hint of a refused statement (NULLs when it succeeds)
CREATE FUNCTION pg_temp.refusal(sql text, OUT code text, OUT hint text) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT;
END $$;

SELECT plan(142);

------------------------------------------------------------------------------
-- API.md "Jobs" and "Subscription functions": the term engine's functions
-- exist with their exact argument names, types and defaults (callers use
-- named arguments) and return types
------------------------------------------------------------------------------
SELECT has_function('csp', f, a, format('csp.%s(%s) exists', f, array_to_string(a, ', ')))
  FROM (VALUES ('run_renewals', ARRAY['timestamp with time zone']),
               ('schedule_change', ARRAY['uuid', 'text', 'integer', 'text', 'text', 'date']),
               ('clear_scheduled_change', ARRAY['uuid']),
               ('upgrade', ARRAY['uuid', 'text', 'integer', 'uuid']),
               ('convert_trial', ARRAY['uuid', 'integer', 'text', 'text', 'uuid']),
               ('transfer', ARRAY['uuid', 'text']),
               ('schedule_jobs', ARRAY[]::text[]),
               ('unschedule_jobs', ARRAY[]::text[])) t(f, a);
SELECT is((SELECT string_agg(pg_get_function_arguments(p.oid), ' | ') FROM pg_proc p
            WHERE p.pronamespace = 'csp'::regnamespace AND p.proname = f), args,
          format('csp.%s has the argument names and defaults of API.md', f))
  FROM (VALUES
    ('run_renewals', 'as_of timestamp with time zone DEFAULT csp.now()'),
    ('schedule_change', 'subscription_id uuid, sku_id text DEFAULT NULL::text, quantity integer DEFAULT NULL::integer, term text DEFAULT NULL::text, billing_frequency text DEFAULT NULL::text, coterm_end date DEFAULT NULL::date'),
    ('clear_scheduled_change', 'subscription_id uuid'),
    ('upgrade', 'subscription_id uuid, to_sku text, quantity integer DEFAULT NULL::integer, target_subscription_id uuid DEFAULT NULL::uuid'),
    ('convert_trial', 'subscription_id uuid, quantity integer DEFAULT 25, term text DEFAULT ''P1Y''::text, billing_frequency text DEFAULT ''monthly''::text, target_subscription_id uuid DEFAULT NULL::uuid'),
    ('transfer', 'subscription_id uuid, to_partner_id text'),
    ('schedule_jobs', ''),
    ('unschedule_jobs', '')) t(f, args);
SELECT is((SELECT string_agg(format_type(p.prorettype, NULL), ' | ') FROM pg_proc p
            WHERE p.pronamespace = 'csp'::regnamespace AND p.proname = f), r,
          format('csp.%s returns %s', f, r))
  FROM (VALUES ('run_renewals', 'integer'), ('schedule_change', 'void'), ('clear_scheduled_change', 'void'),
               ('upgrade', 'uuid'), ('convert_trial', 'uuid'), ('transfer', 'uuid'),
               ('schedule_jobs', 'void'), ('unschedule_jobs', 'void')) t(f, r);

------------------------------------------------------------------------------
-- Set-up.  E3: P1M monthly 12.00, P1Y monthly 10.00, P1Y annual 120.00;
-- E5: P1M monthly 24.00, P1Y monthly 20.00; E1: P1Y monthly 8.00; E3T a
-- trial of E3; E3 -> E5 is the only upgrade path.  p1 (direct bill) and p2
-- (indirect provider) are linked, p6 is linked but inactive, p3 is an
-- indirect reseller and p4 has no billing link.
------------------------------------------------------------------------------
SELECT csp.create_billing_account('Fabrikam', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Fabrikam NL') AS bp \gset
SELECT csp.create_billing_account('Contoso', 'NL', 'EUR') AS ba2 \gset
SELECT csp.create_billing_profile(:ba2, 'Contoso NL') AS bp2 \gset
SELECT csp.create_partner('T-P1', 'Northwind', 'direct_bill', 'NL') \gset
SELECT csp.create_partner('T-P2', 'Tailspin', 'indirect_provider', 'NL') \gset
SELECT csp.create_partner('T-P3', 'Wingtip', 'indirect_reseller', 'NL', indirect_provider_id => 'T-P2') \gset
SELECT csp.create_partner('T-P4', 'Unlinked', 'direct_bill', 'NL') \gset
SELECT csp.create_partner('T-P6', 'Retired', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('T-P1', :ba, :bp, accept_mca => true) \gset
SELECT csp.link_partner_billing('T-P2', :ba2, :bp2, accept_mca => true) \gset
SELECT csp.link_partner_billing('T-P6', :ba2, :bp2) \gset
SELECT csp.set_partner_status('T-P6', 'inactive') \gset
SELECT csp.add_customer('T-P1', 'Alpha BV', 'NL', mca_attested => true) AS ca \gset
SELECT csp.add_customer('T-P1', 'Bravo BV', 'NL', mca_attested => true) AS cb \gset
SELECT csp.add_customer('T-P1', 'Papa BV', 'NL', mca_attested => true) AS cp \gset
SELECT csp.add_customer('T-P1', 'Tango BV', 'NL', mca_attested => true) AS ct \gset
SELECT count(csp.set_customer_verification(c, 'approved')) AS approved FROM unnest(ARRAY[:'ca', :'cb', :'cp', :'ct']::uuid[]) c \gset
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

SET LOCAL csp.clock = '2025-01-05 10:00+00';
INSERT INTO ids VALUES
    ('u_early', csp.purchase(customer_id => :'ca', sku_id => 'E5', quantity => 2)),            -- ends 2026-01-04
    ('ct_early', csp.purchase(customer_id => :'ct', sku_id => 'E3', quantity => 2, term => 'P1M')); -- ends 2025-02-04
SET LOCAL csp.clock = '2025-01-10 10:00+00';
INSERT INTO ids VALUES
    ('m1', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 10, term => 'P1M')),  -- ends 2025-02-09
    ('u1', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 10)),                 -- ends 2026-01-09
    ('u3', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 10)),
    ('u_tgt', csp.purchase(customer_id => :'ca', sku_id => 'E5', quantity => 2)),
    ('u5', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 2, term => 'P1M')),
    ('u6', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 1)),
    ('u7', csp.purchase(customer_id => :'ca', sku_id => 'E1', quantity => 1)),
    ('x1', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 10)),
    ('off', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 1, term => 'P1M', auto_renew => false)),
    ('sus', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 1, term => 'P1M')),
    ('tr', csp.purchase(customer_id => :'ca', sku_id => 'E3T', quantity => 1)),                 -- ends 2025-02-09
    ('b_tgt', csp.purchase(customer_id => :'cb', sku_id => 'E5', quantity => 2)),
    ('tr_b', csp.purchase(customer_id => :'cb', sku_id => 'E3T', quantity => 1)),
    ('p_sub', csp.purchase(customer_id => :'cp', sku_id => 'E3', quantity => 1, term => 'P1M')),
    ('tr_c', csp.purchase(customer_id => :'ct', sku_id => 'E3T', quantity => 1));
SET LOCAL csp.clock = '2025-01-20 10:00+00';
INSERT INTO ids VALUES
    ('u2', csp.purchase(customer_id => :'ca', sku_id => 'E3', quantity => 3)),                  -- window until 2025-01-27 10:00
    ('u_win', csp.purchase(customer_id => :'ca', sku_id => 'E5', quantity => 1));
SELECT is(count(*), 19::bigint, 'set-up: 19 subscriptions') FROM ids;

SET LOCAL csp.clock = '2025-01-25 09:00+00';
SELECT csp.schedule_change(pg_temp.id('u6'), quantity => 2) \gset
SELECT csp.suspend(pg_temp.id('u6')) \gset
SELECT is((SELECT scheduled_change FROM csp.subscriptions WHERE subscription_id = pg_temp.id('u6')), NULL,
          'R7.3/R6.2 positive: suspending switches auto-renew off and so deletes the saved change');
SELECT csp.suspend(pg_temp.id('sus')) \gset
SELECT csp.set_customer_verification(:'cp', 'pending') \gset

------------------------------------------------------------------------------
-- R8 upgrades (2025-01-25 09:00; the cycle of the 2025-01-10 purchases is
-- 2025-01-10..2025-02-09, 16 of its 31 days are left)
------------------------------------------------------------------------------
SELECT is(csp.upgrade(pg_temp.id('u1'), 'E5'), pg_temp.id('u1'), 'R8.3 positive: a full upgrade keeps the subscription id');
SELECT is((SELECT sku_id FROM csp.subscriptions WHERE subscription_id = pg_temp.id('u1')), 'E5',
          'R8.3 positive: ... and moves it to the new SKU');
SELECT results_eq(format($$SELECT sku_id, amount FROM csp.line_items WHERE subscription_id = %L AND charge_type = 'convert' ORDER BY charge_id$$, pg_temp.id('u1')),
                  $$VALUES ('E3', -51.61), ('E5', 103.23)$$,
                  'R8.3 positive: convert -10 x 10.00 x 16/31 = -51.61 and +10 x 20.00 x 16/31 = 103.23');
SELECT is((SELECT count(DISTINCT reference_id) FROM csp.line_items WHERE subscription_id = pg_temp.id('u1') AND charge_type = 'convert'),
          1::bigint, 'R8 positive: the credit and the charge share a reference_id');
SELECT lives_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u2'), 'E5'), 'R8.2: u2 is upgraded in place inside its cancellation window');
SELECT throws_ok(format('SELECT csp.cancel(%L)', pg_temp.id('u2')), 'NC001', NULL,
                 'R8.2 positive: an in-place upgrade closes the cancellation window, even at the same instant (NC001)');
SELECT is_empty(format('SELECT * FROM csp.reducible_licenses(%L)', pg_temp.id('u2')),
                'R8.2 positive: ... and the seats are no longer reducible');
INSERT INTO ids VALUES ('n3', csp.upgrade(pg_temp.id('u3'), 'E5', quantity => 4));
SELECT results_eq(format($$SELECT sku_id, quantity, term_start, term_end FROM csp.subscriptions WHERE subscription_id IN (%L, %L) ORDER BY sku_id$$,
                         pg_temp.id('u3'), pg_temp.id('n3')),
                  $$VALUES ('E3', 6, '2025-01-10'::date, '2026-01-09'::date), ('E5', 4, '2025-01-25', '2026-01-09')$$,
                  'R8.3 positive: a partial upgrade opens a co-terminous subscription; the source keeps the rest');
SELECT results_eq(format($$SELECT amount FROM csp.line_items WHERE subscription_id IN (%L, %L) AND charge_type = 'convert' ORDER BY amount$$,
                         pg_temp.id('u3'), pg_temp.id('n3')),
                  $$VALUES (-20.65), (41.29)$$, 'R8.3 positive: convert -4 x 10.00 x 16/31 = -20.65, +4 x 20.00 x 16/31 = 41.29');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 3)', pg_temp.id('n3')), 'NC002', NULL,
                 'R8.2 positive: the upgraded seats are not reducible (NC002)');
SELECT is(csp.upgrade(pg_temp.id('u3'), 'E5', 2, pg_temp.id('u_tgt')), pg_temp.id('u_tgt'),
          'R8.4 positive: an upgrade into an existing subscription returns it');
SELECT results_eq(format($$SELECT quantity, term_start, term_end FROM csp.subscriptions WHERE subscription_id = %L$$, pg_temp.id('u_tgt')),
                  $$VALUES (4, '2025-01-10'::date, '2026-01-09'::date)$$,
                  'R8.4 positive: the target gains the licenses and keeps its term');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u1'), 'E3'), 'NC008', NULL, 'R8.1 negative: no downgrade (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u3'), 'E1'), 'NC008', NULL, 'R8.1 negative: no path from E3 to E1 (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u7'), 'E5'), 'NC008', NULL, 'R8.1 negative: no path from E1 to E5 (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u3'), 'E5', pg_temp.id('u_win')), 'NC008', NULL,
                 'R8.4 negative: a target inside its cancellation window (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u5'), 'E5', pg_temp.id('u_tgt')), 'NC008', NULL,
                 'R8.4 negative: a target with another term duration (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u3'), 'E5', pg_temp.id('u_early')), 'NC008', NULL,
                 'R8.4 negative: a target ending before the source (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u3'), 'E5', pg_temp.id('b_tgt')), 'NC008', NULL,
                 'R8.4 negative: another customer''s target (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u3'), 'E5', pg_temp.id('x1')), 'NC008', NULL,
                 'R8.4 negative: a target of another SKU (NC008)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 1, %L)', pg_temp.id('u3'), 'E5', '00000000-0000-0000-0000-000000000000'), 'NC404', NULL,
                 'R8.4 negative: an unknown target (NC404)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u6'), 'E5'), 'NC003', NULL, 'R8.1 negative: not from a suspended subscription (NC003)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('tr'), 'E5'), 'NC003', NULL, 'R8.1 negative: not from a trial (NC003)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 0)', pg_temp.id('u3'), 'E5'), '22023', NULL, 'R8 negative: quantity 0 (22023)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L, 7)', pg_temp.id('u3'), 'E5'), '22023', NULL, 'R8 negative: more licenses than the 4 owned (22023)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, NULL)', pg_temp.id('u3')), '22023', NULL, 'R8 negative: a NULL to_sku (22023)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('u3'), 'E9'), 'NC404', NULL, 'R8 negative: an unknown SKU (NC404)');
SELECT throws_ok($$SELECT csp.upgrade('00000000-0000-0000-0000-000000000000', 'E5')$$, 'NC404', NULL, 'R8 negative: an unknown subscription (NC404)');

------------------------------------------------------------------------------
-- R7 scheduled changes
------------------------------------------------------------------------------
SELECT lives_ok(format('SELECT csp.schedule_change(%L, quantity => 6)', pg_temp.id('m1')), 'R7.1 positive: m1 schedules 6 seats for its renewal');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 2)', pg_temp.id('sus')), 'NC012', NULL, 'R7.2 negative: suspended (NC012)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 2)', pg_temp.id('off')), 'NC012', NULL, 'R7.2 negative: auto-renew off (NC012)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, sku_id => %L)', pg_temp.id('m1'), 'E1'), 'NC008', NULL, 'R7.1 negative: a SKU without a path (NC008)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, sku_id => %L)', pg_temp.id('u1'), 'E3'), 'NC008', NULL, 'R7.1 negative: a downgrade (NC008)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, sku_id => %L)', pg_temp.id('tr'), 'E5'), 'NC008', NULL,
                 'R9.4 negative: a trial converts to its own paid SKU (NC008)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, term => %L)', pg_temp.id('m1'), 'P3Y'), 'NC013', NULL,
                 'R7.1 negative: no price for the resulting SKU, term and frequency (NC013)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L)', pg_temp.id('m1')), '22023', NULL, 'R7 negative: nothing to schedule (22023)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 0)', pg_temp.id('m1')), '22023', NULL, 'R7 negative: quantity 0 (22023)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, term => %L)', pg_temp.id('m1'), 'P2Y'), '22023', NULL, 'R7 negative: unknown term (22023)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, billing_frequency => %L)', pg_temp.id('m1'), 'weekly'), '22023', NULL,
                 'R7 negative: unknown billing frequency (22023)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, billing_frequency => %L)', pg_temp.id('m1'), 'annual'), '22023', NULL,
                 'R7 negative: a frequency that does not fit the term (22023)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, coterm_end => %L)', pg_temp.id('m1'), '2025-03-31'), '22023', NULL,
                 'R4.5/R7.1 negative: a co-terminous end outside the next term 2025-02-10..2025-03-09 (22023)');
SELECT throws_ok($$SELECT csp.schedule_change('00000000-0000-0000-0000-000000000000', quantity => 1)$$, 'NC404', NULL,
                 'R7 negative: an unknown subscription (NC404)');
SELECT throws_ok($$SELECT csp.clear_scheduled_change('00000000-0000-0000-0000-000000000000')$$, 'NC404', NULL,
                 'R7.4 negative: clearing on an unknown subscription (NC404)');
SELECT is((SELECT scheduled_change->>'quantity' FROM csp.subscriptions WHERE subscription_id = pg_temp.id('m1')), '6',
          'R7.4: the refusals left the saved change as it was');

------------------------------------------------------------------------------
-- R9.3 converting a trial mid-term; R9.2 nothing else changes a trial
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT csp.convert_trial(%L, 24)', pg_temp.id('tr')), 'NC008', NULL, 'R9.3 negative: fewer than 25 mid-term (NC008)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L)', pg_temp.id('m1')), 'NC008', NULL, 'R9.3 negative: not a trial (NC008)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, target_subscription_id => %L)', pg_temp.id('tr_c'), pg_temp.id('ct_early')), 'NC008', NULL,
                 'R9.3 negative: a target ending before the trial (NC008)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, target_subscription_id => %L)', pg_temp.id('tr_b'), pg_temp.id('m1')), 'NC008', NULL,
                 'R9.3 negative: another customer''s target (NC008)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, 25, %L)', pg_temp.id('tr'), 'P2Y'), '22023', NULL, 'R9.3 negative: unknown term (22023)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, 25, %L, %L)', pg_temp.id('tr'), 'P1M', 'annual'), '22023', NULL,
                 'R9.3 negative: a frequency that does not fit the term (22023)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, NULL)', pg_temp.id('tr')), '22023', NULL, 'R9.3 negative: a NULL quantity (22023)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L, 25, %L)', pg_temp.id('tr'), 'P3Y'), 'NC013', NULL, 'R9.3 negative: no P3Y price (NC013)');
SELECT throws_ok($$SELECT csp.convert_trial('00000000-0000-0000-0000-000000000000')$$, 'NC404', NULL, 'R9.3 negative: an unknown subscription (NC404)');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 30)', pg_temp.id('tr')), 'NC003', NULL, 'R9.2 negative: no quantity change in a trial (NC003)');
SELECT throws_ok(format('SELECT csp.suspend(%L)', pg_temp.id('tr')), 'NC003', NULL, 'R9.2 negative: no suspension of a trial (NC003)');
SELECT throws_ok(format('SELECT csp.cancel(%L)', pg_temp.id('tr')), 'NC003', NULL, 'R9.2 negative: no cancellation of a trial (NC003)');
SELECT is((SELECT count(*) FROM csp.subscriptions WHERE is_trial AND status = 'active'), 3::bigint,
          'R9: the refused conversions left the three trials as they were');

------------------------------------------------------------------------------
-- R10 transfers
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-P1'), '22023', NULL, 'R10 negative: to the same partner (22023)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-P3'), 'NC011', NULL, 'R10 negative: to an indirect reseller (NC011)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-P6'), 'NC011', NULL, 'R10 negative: to an inactive partner (NC011)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-P4'), 'NC011', NULL, 'R10 negative: to a partner without a billing link (NC011)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-NOBODY'), 'NC404', NULL, 'R10 negative: to an unknown partner (NC404)');
SELECT throws_ok($$SELECT csp.transfer('00000000-0000-0000-0000-000000000000', 'T-P2')$$, 'NC404', NULL, 'R10 negative: an unknown subscription (NC404)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('tr'), 'T-P2'), 'NC003', NULL, 'R10 negative: a trial (NC003)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('u6'), 'T-P2'), 'NC003', NULL, 'R10 negative: a suspended subscription (NC003)');
INSERT INTO ids VALUES ('y1', csp.transfer(pg_temp.id('x1'), 'T-P2'));
SELECT results_eq(format($$SELECT partner_id, status, quantity, term_start, term_end FROM csp.subscriptions WHERE subscription_id IN (%L, %L) ORDER BY partner_id$$,
                         pg_temp.id('x1'), pg_temp.id('y1')),
                  $$VALUES ('T-P1', 'cancelled', 10, '2025-01-10'::date, '2026-01-09'::date), ('T-P2', 'active', 10, '2025-01-25', '2026-01-09')$$,
                  'R10.1/R10.2 positive: a new subscription under the target with the original end date; the source cancelled');
SELECT results_eq(format($$SELECT amount, billing_profile_id FROM csp.line_items WHERE subscription_id IN (%L, %L) AND charge_type = 'moveQuantity' ORDER BY amount$$,
                         pg_temp.id('x1'), pg_temp.id('y1')),
                  format($$VALUES (-51.61, %s::bigint), (51.61, %s)$$, :bp, :bp2),
                  'R10 positive: moveQuantity -10 x 10.00 x 16/31 = -51.61 to the source, +51.61 to the target''s profile');
SELECT is((SELECT count(DISTINCT reference_id) FROM csp.line_items WHERE subscription_id IN (pg_temp.id('x1'), pg_temp.id('y1'))
            AND charge_type = 'moveQuantity'), 1::bigint, 'R10 positive: both sides share a reference_id');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('x1'), 'T-P2'), 'NC003', NULL, 'R10 negative: a cancelled subscription (NC003)');

------------------------------------------------------------------------------
-- R3.4 management is blocked while the customer is not approved
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 2)', pg_temp.id('p_sub')), 'NC004', NULL, 'R3.4 negative: change_quantity (NC004)');
SELECT throws_ok(format('SELECT csp.cancel(%L)', pg_temp.id('p_sub')), 'NC004', NULL, 'R3.4 negative: cancel (NC004)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 2)', pg_temp.id('p_sub')), 'NC004', NULL, 'R3.4 negative: schedule_change (NC004)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('p_sub'), 'E5'), 'NC004', NULL, 'R3.4 negative: upgrade (NC004)');

------------------------------------------------------------------------------
-- R6.6 / R6.7 the renewal: nothing is due on the last day; from 00:00 UTC
-- the day after until the run every change is NC409
------------------------------------------------------------------------------
SET LOCAL csp.clock = '2025-02-09 23:59:59+00';
SELECT is(csp.run_renewals(), 1, 'R6.6 positive: ct_early (ended 2025-02-04) renews, late');
SELECT is((SELECT term_end FROM csp.subscriptions WHERE subscription_id = pg_temp.id('m1')), '2025-02-09'::date,
          'R6.6 negative: m1 is not renewed on its end date (inclusive)');
SELECT lives_ok(format('SELECT csp.rename(%L, %L)', pg_temp.id('m1'), 'Alpha'), 'R6.7 negative: until 23:59:59 of the end date m1 is managed');
SET LOCAL csp.clock = '2025-02-10 00:00+00';
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 11)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: change_quantity while pending (NC409)');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', pg_temp.id('m1'), 'Beta'), 'NC409', NULL, 'R6.7 positive: rename while pending (NC409)');
SELECT throws_ok(format('SELECT csp.set_auto_renew(%L, false)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: set_auto_renew while pending (NC409)');
SELECT throws_ok(format('SELECT csp.suspend(%L)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: suspend while pending (NC409)');
SELECT throws_ok(format('SELECT csp.reactivate(%L)', pg_temp.id('sus')), 'NC409', NULL, 'R6.7 positive: reactivate while pending (NC409)');
SELECT throws_ok(format('SELECT csp.cancel(%L)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: cancel while pending (NC409)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 5)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: schedule_change while pending (NC409)');
SELECT throws_ok(format('SELECT csp.clear_scheduled_change(%L)', pg_temp.id('m1')), 'NC409', NULL, 'R6.7 positive: clear_scheduled_change while pending (NC409)');
SELECT throws_ok(format('SELECT csp.upgrade(%L, %L)', pg_temp.id('m1'), 'E5'), 'NC409', NULL, 'R6.7 positive: upgrade while pending (NC409)');
SELECT throws_ok(format('SELECT csp.transfer(%L, %L)', pg_temp.id('m1'), 'T-P2'), 'NC409', NULL, 'R6.7 positive: transfer while pending (NC409)');
SELECT throws_ok(format('SELECT csp.convert_trial(%L)', pg_temp.id('tr')), 'NC409', NULL, 'R6.7 positive: convert_trial while pending (NC409)');
SELECT results_eq(format($$SELECT quantity, auto_renew, status FROM csp.subscriptions WHERE subscription_id = %L$$, pg_temp.id('m1')),
                  $$VALUES (10, true, 'active')$$, 'R6.7: the refused calls changed nothing');

-- the run processes 8: m1, u5 and p_sub renew (p_sub although its
-- customer is pending, R3.4); tr, tr_b and tr_c convert (R9.1); off (auto-renew
-- off) and sus (suspended) expire (R6.2)
SET LOCAL csp.clock = '2025-02-10 00:05+00';
SELECT is(csp.run_renewals(), 8, 'R6.6 positive: the run of 2025-02-10 00:05 processes the 8 subscriptions ended 2025-02-09');
SELECT is(csp.run_renewals(), 0, 'R6.6 negative: a second run changes nothing');
SELECT results_eq(format($$SELECT quantity, term_start, term_end, cancellation_allowed_until, scheduled_change FROM csp.subscriptions WHERE subscription_id = %L$$, pg_temp.id('m1')),
                  $$VALUES (6, '2025-02-10'::date, '2025-03-09'::date, '2025-02-17 00:00+00'::timestamptz, NULL::jsonb)$$,
                  'R6.6/R7 positive: m1 renewed into 2025-02-10..2025-03-09 with its scheduled 6 seats, window from the due instant 2025-02-10 00:00 until 2025-02-17 00:00');
SELECT results_eq(format($$SELECT charge_start, charge_end, quantity, amount FROM csp.line_items WHERE subscription_id = %L AND charge_type = 'renew'$$, pg_temp.id('m1')),
                  $$VALUES ('2025-02-10'::date, '2025-03-09'::date, 6::numeric, 72.00)$$,
                  'R6.6 positive: renew line 6 x 12.00 x 28/28 = 72.00');
SELECT results_eq(format($$SELECT * FROM csp.reducible_licenses(%L)$$, pg_temp.id('m1')),
                  $$VALUES (6, '2025-02-17 00:00+00'::timestamptz)$$, 'R5.2/R6.6 positive: the renewed seats are reducible for 168 h');
SELECT is((SELECT term_start FROM csp.subscriptions WHERE subscription_id = pg_temp.id('p_sub')), '2025-02-10'::date,
          'R3.4 positive: the pending customer''s subscription renewed');
SELECT results_eq(format($$SELECT sku_id, is_trial, quantity, term, billing_frequency, term_end FROM csp.subscriptions WHERE subscription_id = %L$$, pg_temp.id('tr')),
                  $$VALUES ('E3', false, 25, 'P1Y', 'monthly', '2026-02-09'::date)$$,
                  'R9.1 positive: the trial converted to E3, 25 seats, P1Y billed monthly');
SELECT results_eq(format($$SELECT status FROM csp.subscriptions WHERE subscription_id IN (%L, %L)$$, pg_temp.id('off'), pg_temp.id('sus')),
                  $$VALUES ('expired'), ('expired')$$, 'R6.2/R6.5 positive: without auto-renew or suspended, it expired');
SELECT throws_ok(format('SELECT csp.change_quantity(%L, 2)', pg_temp.id('off')), 'NC003', NULL, 'R6.1 negative: expired is final (NC003)');
SELECT throws_ok(format('SELECT csp.schedule_change(%L, quantity => 2)', pg_temp.id('sus')), 'NC003', NULL, 'R6.1 negative: no change scheduled on an expired one (NC003)');
SELECT throws_ok(format('SELECT csp.clear_scheduled_change(%L)', pg_temp.id('sus')), 'NC003', NULL, 'R6.1 negative: nothing cleared on an expired one (NC003)');
SELECT throws_ok(format('SELECT csp.rename(%L, %L)', pg_temp.id('p_sub'), 'Papa'), 'NC004', NULL, 'R3.4 negative: still pending after the run (NC004)');

-- R6.7 positive: after the run the same calls work
SET LOCAL csp.clock = '2025-02-10 10:00+00';
SELECT lives_ok(format('SELECT csp.change_quantity(%L, 7)', pg_temp.id('m1')), 'R6.7 positive: change_quantity after the run');
SELECT lives_ok(format('SELECT csp.rename(%L, %L)', pg_temp.id('m1'), 'Beta'), 'R6.7 positive: rename after the run');
SELECT lives_ok(format('SELECT csp.set_auto_renew(%L, false)', pg_temp.id('m1')), 'R6.7 positive: set_auto_renew after the run');
SELECT lives_ok(format('SELECT csp.set_auto_renew(%L, true)', pg_temp.id('m1')), 'R6.7 positive: ... and back on');
SELECT lives_ok(format('SELECT csp.schedule_change(%L, quantity => 5)', pg_temp.id('m1')), 'R6.7 positive: schedule_change after the run');
SELECT lives_ok(format('SELECT csp.clear_scheduled_change(%L)', pg_temp.id('m1')), 'R6.7 positive: clear_scheduled_change after the run');
SELECT lives_ok(format('SELECT csp.suspend(%L)', pg_temp.id('m1')), 'R6.7 positive: suspend after the run');
SELECT lives_ok(format('SELECT csp.reactivate(%L)', pg_temp.id('m1')), 'R6.7 positive: reactivate after the run');
SELECT lives_ok(format('SELECT csp.cancel(%L)', pg_temp.id('m1')), 'R6.7 positive: cancel after the run, inside the new window');

------------------------------------------------------------------------------
-- the jobs
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT csp.run_renewals(NULL)$$, '22023', NULL, 'run_renewals negative: a NULL as_of (22023)');
SELECT throws_ok($$SELECT csp.run_renewals('infinity')$$, '22023', NULL, 'run_renewals negative: an infinite as_of (22023)');
SELECT is(count(*), 0::bigint, 'pg_cron is not installed in this database') FROM pg_extension WHERE extname = 'pg_cron';
SELECT throws_ok($$SELECT csp.schedule_jobs()$$, '0A000', NULL, 'schedule_jobs without pg_cron fails with 0A000');
SELECT matches((pg_temp.refusal('SELECT csp.schedule_jobs()')).hint, 'CREATE EXTENSION pg_cron',
               'schedule_jobs without pg_cron: the hint says how to install it');
SELECT matches((pg_temp.refusal('SELECT csp.schedule_jobs()')).hint, 'csp\.tick',
               'schedule_jobs without pg_cron: the hint names what to call from another scheduler');
SELECT throws_ok($$SELECT csp.unschedule_jobs()$$, '0A000', NULL, 'unschedule_jobs without pg_cron fails with 0A000');

SELECT * FROM finish();
ROLLBACK;
