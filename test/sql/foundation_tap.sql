--
-- pgTAP: the foundation's public contract in one transaction that is rolled
-- back (run by pg_regress against expected/foundation_tap.out and by
-- pg_prove): the set-up functions' signatures, the worked examples, and the
-- SQLSTATE of every error path of R1-R4 and R12.3.
--
SET timezone = 'UTC';
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS csp_billing;
SET LOCAL csp.clock = '2025-01-15 10:00+00';

CREATE ROLE regress_csp_tap_alice IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_csp_tap_bob IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_csp_tap_sam IN ROLE csp_sales_agent, csp_time_admin;
-- run one statement as another role (pgTAP's own bookkeeping stays with us)
CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RESET ROLE;
END
$$;

SELECT plan(252);

------------------------------------------------------------------------------
-- API.md "Set-up functions": they exist with their exact argument names,
-- types and defaults (callers use named arguments), and return types
------------------------------------------------------------------------------
SELECT has_function('csp', f, a, format('csp.%s(%s) exists', f, array_to_string(a, ', ')))
  FROM (VALUES ('create_partner', ARRAY['text', 'text', 'csp.partner_kind', 'text', 'text', 'text']),
               ('create_billing_account', ARRAY['text', 'text', 'text']),
               ('create_billing_profile', ARRAY['bigint', 'text', 'text', 'text', 'boolean', 'jsonb', 'text', 'integer']),
               ('create_invoice_section', ARRAY['bigint', 'text']),
               ('link_partner_billing', ARRAY['text', 'bigint', 'bigint', 'boolean']),
               ('add_customer', ARRAY['text', 'text', 'text', 'jsonb', 'text', 'text', 'text', 'boolean']),
               ('set_customer_verification', ARRAY['uuid', 'text']),
               ('add_product', ARRAY['text', 'text', 'text', 'text', 'boolean', 'text', 'text[]', 'numeric', 'numeric']),
               ('add_upgrade_path', ARRAY['text', 'text']),
               ('set_price', ARRAY['text', 'text', 'text', 'text', 'numeric', 'date']),
               ('set_fx_rate', ARRAY['text', 'text', 'date', 'numeric']),
               ('fx_rate_date', ARRAY['date']),
               ('now', ARRAY[]::text[])) t(f, a);
SELECT is((SELECT string_agg(pg_get_function_arguments(p.oid), ' | ') FROM pg_proc p
            WHERE p.pronamespace = 'csp'::regnamespace AND p.proname = f), args,
          format('csp.%s has the argument names and defaults of API.md', f))
  FROM (VALUES
    ('create_partner', 'partner_id text, name text, kind csp.partner_kind, country text, status text DEFAULT ''active''::text, indirect_provider_id text DEFAULT NULL::text'),
    ('create_billing_account', 'name text, country text, currency text'),
    ('create_billing_profile', 'billing_account_id bigint, name text, currency text DEFAULT NULL::text, po_number text DEFAULT NULL::text, email_invoice boolean DEFAULT false, bill_to jsonb DEFAULT ''{}''::jsonb, billing_model text DEFAULT ''nce''::text, anniversary_day integer DEFAULT NULL::integer'),
    ('create_invoice_section', 'billing_profile_id bigint, name text'),
    ('link_partner_billing', 'partner_id text, billing_account_id bigint, billing_profile_id bigint, accept_mca boolean DEFAULT false'),
    ('add_customer', 'partner_id text, legal_name text, country text, address jsonb DEFAULT ''{}''::jsonb, registration_id text DEFAULT NULL::text, phone text DEFAULT NULL::text, email text DEFAULT NULL::text, mca_attested boolean DEFAULT false'),
    ('set_customer_verification', 'customer_id uuid, status text'),
    ('add_product', 'sku_id text, name text, publisher text DEFAULT ''microsoft''::text, billing_type text DEFAULT ''license''::text, one_per_customer boolean DEFAULT false, trial_of text DEFAULT NULL::text, addon_of text[] DEFAULT NULL::text[], addon_min_ratio numeric DEFAULT NULL::numeric, addon_max_ratio numeric DEFAULT NULL::numeric'),
    ('add_upgrade_path', 'from_sku text, to_sku text'),
    ('set_price', 'sku_id text, term text, billing_frequency text, currency text, unit_price numeric, valid_from date DEFAULT ''-infinity''::date'),
    ('set_fx_rate', 'from_currency text, to_currency text, rate_date date, rate numeric'),
    ('fx_rate_date', 'month date'),
    ('now', '')) t(f, args);
SELECT is((SELECT string_agg(format_type(p.prorettype, NULL), ' | ') FROM pg_proc p
            WHERE p.pronamespace = 'csp'::regnamespace AND p.proname = f), r,
          format('csp.%s returns %s', f, r))
  FROM (VALUES ('create_partner', 'text'), ('create_billing_account', 'bigint'), ('create_billing_profile', 'bigint'),
               ('create_invoice_section', 'bigint'), ('link_partner_billing', 'void'), ('add_customer', 'uuid'),
               ('set_customer_verification', 'void'), ('add_product', 'text'), ('add_upgrade_path', 'void'),
               ('set_price', 'void'), ('set_fx_rate', 'void'), ('fx_rate_date', 'date'),
               ('now', 'timestamp with time zone')) t(f, r);
SELECT is(count(*), 6::bigint, 'the six csp_* group roles exist and cannot log in')
  FROM pg_roles WHERE rolname IN ('csp_global_admin', 'csp_admin_agent', 'csp_sales_agent', 'csp_helpdesk_agent',
                                  'csp_billing_admin', 'csp_reader') AND NOT rolcanlogin;
SELECT is(count(*), 0::bigint, 'no csp function is executable by PUBLIC')
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'csp'::regnamespace AND a.grantee = 0;
SELECT is(count(*), 0::bigint, 'no csp table, view or sequence is granted to PUBLIC')
  FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
 WHERE c.relnamespace = 'csp'::regnamespace AND a.grantee = 0;

------------------------------------------------------------------------------
-- Time
------------------------------------------------------------------------------
SELECT is(csp.now(), '2025-01-15 10:00+00'::timestamptz, 'Time positive: csp.now() returns the pinned csp.clock');
SELECT is(csp.utc_date('2025-05-31 20:00-07'), '2025-06-01'::date, 'R4.10 positive: 2025-05-31 20:00-07 is 2025-06-01 UTC');
SELECT throws_ok($$SET LOCAL csp.clock = 'garbage'$$, '22023', NULL, 'Time negative: a bad csp.clock is refused at SET time');
SELECT is(csp.now(), '2025-01-15 10:00+00'::timestamptz, 'Time: a refused SET keeps the pinned value');
SELECT throws_ok($$SET LOCAL csp.clock = 'now'$$, '22023', NULL, 'Time negative: "now" is not an instant to pin');
SET LOCAL csp.clock = '2025-01-15 10:00+00';

------------------------------------------------------------------------------
-- Worked examples X1-X11
------------------------------------------------------------------------------
SELECT is(csp.term_end('2025-01-15', 'P1Y'), '2026-01-14'::date, 'X1: P1Y from 2025-01-15 ends 2026-01-14');
SELECT is(csp.term_end('2025-01-15', 'P1Y', true), '2025-12-31'::date, 'X6: aligned to the calendar month it ends 2025-12-31');
SELECT is(csp.term_end('2021-01-31', 'P1Y'), '2022-01-30'::date, 'X10: P1Y from 2021-01-31 ends 2022-01-30');
SELECT is(csp.term_end('2022-07-15', 'P1M', true), '2022-07-31'::date, 'X11: aligned P1M from 2022-07-15 ends 2022-07-31');
SELECT is(csp.term_end('2022-07-15', 'P1Y', true), '2023-06-30'::date, 'X11: aligned P1Y from 2022-07-15 ends 2023-06-30');
SELECT results_eq($$SELECT * FROM csp.billing_cycles('2021-01-31', '2022-01-30', 'P1Y', 'monthly') LIMIT 2$$,
                  $$VALUES ('2021-01-31'::date, '2021-02-27'::date, 28), ('2021-02-28', '2021-03-30', 31)$$,
                  'X10: cycles 2021-01-31..2021-02-27 and 2021-02-28..2021-03-30');
SELECT results_eq($$SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2025-02-01')$$,
                  $$VALUES ('2025-01-15'::date, '2025-02-14'::date, 31)$$,
                  'X1/X2: the first cycle is 2025-01-15..2025-02-14, 31 days');
SELECT results_eq($$SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2025-02-15')$$,
                  $$VALUES ('2025-02-15'::date, '2025-03-14'::date, 28)$$,
                  'X5: the cycle charged at 2025-02-15 is 2025-02-15..2025-03-14');
SELECT results_eq($$SELECT * FROM csp.billing_cycle('2025-01-15', '2025-12-31', 'P1Y', 'monthly', '2025-01-15')$$,
                  $$VALUES ('2025-01-15'::date, '2025-01-31'::date, 31)$$,
                  'X6: the aligned first cycle is clipped to 2025-01-15..2025-01-31 of 31 days');
SELECT is(csp.prorate(10.00, 10, 31, 31, 'USD'), 100.00, 'X1: new = 100.00');
SELECT is(csp.prorate(10.00, 5, 14, 31, 'USD'), 22.58, 'X2: addQuantity 5 x 10 x 14/31 = 22.58');
SELECT is(csp.prorate(10.00, -3, 12, 31, 'USD'), -11.61, 'X3: removeQuantity 3 x 10 x 12/31 negated = -11.61');
SELECT is(csp.prorate(10.00, 12, 28, 28, 'USD'), 120.00, 'X5: cycleCharge = 120.00');
SELECT is(csp.prorate(10.00, 10, 17, 31, 'USD'), 54.84, 'X6: new 17/31 = 54.84');
SELECT is(csp.prorate(120.00, 5, 365, 365, 'USD'), 600.00, 'X7: new = 600.00');
SELECT is(csp.prorate(120.00, -5, 362, 365, 'USD'), -595.07, 'X7: cancelImmediate 3 days in = -595.07');
SELECT is(csp.whole_days('2025-02-01 09:00+00', '2025-02-03 10:00+00'), 2::bigint, 'X3: 2 days used');
SELECT is(csp.whole_days('2025-03-01 08:00+00', '2025-03-01 20:00+00'), 0::bigint, 'X7: 0 days used at 20:00 the same day');
SELECT is(csp.whole_days('2025-03-01 08:00+00', '2025-03-04 09:00+00'), 3::bigint, 'X7: 3 days used at 2025-03-04 09:00');
SELECT is(csp.whole_days('2025-03-01 08:00+00', '2025-03-08 09:00+00'), 7::bigint, 'X7: 7 days used at 2025-03-08 09:00');
SELECT is(csp.fx_rate_date('2023-12-01'), '2023-11-29'::date, 'X8 / R12.3 positive: December 2023 uses 2023-11-29');
SELECT isnt(csp.fx_rate_date('2023-12-01'), '2023-11-30'::date, 'R12.3 negative: not the business day before the 1st');
SELECT is(csp.fx_rate_date('2024-01-01'), '2023-12-28'::date, 'R12.3: a month starting on a Monday uses the Thursday before');
SELECT is(csp.fx_rate_date('2023-10-01'), '2023-09-28'::date, 'R12.3: a month starting on a Sunday uses the Thursday before');
SELECT results_eq($$SELECT invoice_date, published_on, due_date FROM csp.invoice_period('2025-01-17')$$,
                  $$VALUES ('2025-02-01'::date, '2025-02-08'::date, '2025-04-02'::date)$$,
                  'X9: January 2025 is invoiced 2025-02-01, published 2025-02-08, due 2025-04-02');
SELECT results_eq($$SELECT * FROM csp.invoice_period('2025-01-17', 12)$$,
                  $$VALUES ('2025-01-12'::date, '2025-02-11'::date, '2025-02-12'::date, '2025-02-14'::date, '2025-04-13'::date)$$,
                  'R13.1: a legacy period runs from the anniversary day 12');
SELECT is(csp.prorate(0.01, 1, 1, 2, 'USD'), 0.01, 'rounding: 0.005 rounds half away from zero to 0.01');
SELECT is(csp.prorate(0.01, -1, 1, 2, 'USD'), -0.01, 'rounding: -0.005 rounds half away from zero to -0.01');
SELECT is(csp.prorate(1, 1, 1, 2, 'JPY')::text, '1', 'rounding: JPY has no decimals');
SELECT is(csp.prorate(10, 1, 1, 3, 'KWD')::text, '3.333', 'rounding: KWD has three decimals');
SELECT is(csp.prorate(123456789012345678901234.56, 7, 13, 31, 'USD'), 362405412907208283226204.68,
          'rounding: a 30-digit price is prorated exactly');

------------------------------------------------------------------------------
-- Term arithmetic errors (22023)
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT csp.term_end('2025-01-15', 'P2Y')$$, '22023', NULL, 'a bad term is 22023');
SELECT throws_ok($$SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-14', 'P1Y', 'yearly')$$, '22023', NULL,
                 'a bad billing frequency is 22023');
SELECT throws_ok($$SELECT * FROM csp.billing_cycles('2025-01-15', '2025-02-14', 'P1M', 'annual')$$, '22023', NULL,
                 'annual billing on a P1M term is 22023');
SELECT throws_ok($$SELECT * FROM csp.billing_cycle('2025-01-15', '2026-01-14', 'P1Y', 'monthly', '2026-01-15')$$, '22023', NULL,
                 'on_date outside the term is 22023');
SELECT throws_ok($$SELECT * FROM csp.billing_cycles('2025-01-15', '2026-01-15', 'P1Y', 'monthly')$$, '22023', NULL,
                 'R4.5 negative: a term ending after its natural end is 22023');
SELECT throws_ok($$SELECT csp.term_end(NULL, 'P1Y')$$, '22023', NULL, 'a NULL start is 22023');
SELECT throws_ok($$SELECT csp.prorate(10, 1, 1, 1, NULL)$$, '22023', NULL, 'a NULL currency is 22023');
SELECT throws_ok($$SELECT csp.prorate(10, 1, 1, 1, 'EURO')$$, '22023', NULL, 'a bad currency is 22023');
SELECT throws_ok($$SELECT csp.prorate(10, 1, 32, 31, 'USD')$$, '22023', NULL, 'days > days_in_cycle is 22023');
SELECT throws_ok($$SELECT csp.prorate('NaN', 1, 1, 1, 'USD')$$, '22023', NULL, 'a NaN price is 22023');
SELECT throws_ok($$SELECT * FROM csp.invoice_period('2025-01-17', 29)$$, '22023', NULL, 'anniversary day 29 is 22023');

------------------------------------------------------------------------------
-- R1.1 billing accounts
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT pg_temp.as_role('regress_csp_tap_alice',
                    $q$SELECT csp.create_billing_account('Contoso Europe', 'NL', 'EUR')$q$)$$,
                'R1.1 positive: a global admin creates a billing account');
SELECT billing_account_id AS acct_a FROM csp.billing_account WHERE name = 'Contoso Europe' \gset
SELECT is((SELECT string_agg(member || ':' || account_role, ', ') FROM csp.billing_account_role WHERE billing_account_id = :acct_a),
          'regress_csp_tap_alice:owner', 'R1.1 positive: its creator is its owner, and the only role holder');
SELECT lives_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_alice', %L)$$,
                       format('SELECT csp.create_billing_profile(%s, %L)', :acct_a, 'Contoso NL')),
                'R1.1 positive: the owner adds a profile');
SELECT billing_profile_id AS prof_a1 FROM csp.billing_profile WHERE name = 'Contoso NL' \gset
SELECT throws_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_bob', %L)$$,
                        format('SELECT csp.create_billing_profile(%s, %L)', :acct_a, 'Bob profile')),
                 '42501', NULL, 'R1.1 negative: another global admin without a role on the account is refused');
SELECT throws_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_bob', %L)$$,
                        format('SELECT csp.create_invoice_section(%s, %L)', :prof_a1, 'Bob section')),
                 '42501', NULL, 'R1.1 negative: ... also for invoice sections');
SELECT throws_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_bob', %L)$$,
                        format('SELECT csp.grant_billing_account_role(%s, %L)', :acct_a, 'regress_csp_tap_bob')),
                 '42501', NULL, 'R1.1 negative: ... and cannot grant himself a role');
SELECT lives_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_alice', %L)$$,
                       format('SELECT csp.grant_billing_account_role(%s, %L, %L)', :acct_a, 'regress_csp_tap_bob', 'contributor')),
                'R1.1 positive: the owner grants a contributor role');
SELECT lives_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_bob', %L)$$,
                       format('SELECT csp.create_billing_profile(%s, %L)', :acct_a, 'Bob profile')),
                'R1.1 positive: with it the other global admin adds a profile');
SELECT throws_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_sam', %L)$$,
                        $q$SELECT csp.create_billing_account('Sam', 'NL', 'EUR')$q$),
                 '42501', NULL, 'R1.1 negative: a sales agent may not create billing accounts');
SELECT throws_ok($$SELECT csp.create_billing_account('X', 'XX', 'EUR')$$, '22023', NULL, 'a bad account country is 22023');
SELECT throws_ok(format('SELECT csp.grant_billing_account_role(%s, %L, %L)', :acct_a, 'regress_csp_tap_bob', 'admin'),
                 '22023', NULL, 'an unknown account role is 22023');
SELECT throws_ok($$SELECT csp.grant_billing_account_role(999999, 'regress_csp_tap_bob')$$, 'NC404', NULL,
                 'granting on an unknown account is NC404');

------------------------------------------------------------------------------
-- R1.2 billing profiles
------------------------------------------------------------------------------
SELECT csp.create_billing_account('Fabrikam Nordic', 'SE', 'SEK') AS acct_b \gset
SELECT csp.create_billing_profile(:acct_b, 'Fabrikam SE') AS prof_b1 \gset
SELECT csp.create_billing_profile(:acct_b, 'Fabrikam US', currency => 'USD', po_number => 'PO-1', email_invoice => true,
                                  bill_to => '{"contact": "Anna"}') AS prof_b2 \gset
SELECT is((SELECT currency FROM csp.billing_profile WHERE billing_profile_id = :prof_b1), 'SEK',
          'R1.2 positive: the profile currency defaults to the account''s');
SELECT is((SELECT format('%s %s %s %s', currency, po_number, email_invoice, bill_to) FROM csp.billing_profile WHERE billing_profile_id = :prof_b2),
          'USD PO-1 t {"contact": "Anna"}', 'R1.2 positive: explicit currency, PO number, e-mail invoice and bill-to are kept');
SELECT lives_ok(format('SELECT csp.create_billing_profile(%s, %L, billing_model => %L, anniversary_day => 12)', :acct_b, 'Legacy', 'legacy'),
                'R1.2 positive: a legacy profile with anniversary day 12');
SELECT throws_ok(format('SELECT csp.create_billing_profile(%s, %L, bill_to => %L)', :acct_b, 'Bad', '[1]'), '22023', NULL,
                 'R1.2 negative: a bill_to that is not a JSON object is 22023');
SELECT throws_ok(format('SELECT csp.create_billing_profile(%s, %L, currency => %L)', :acct_b, 'Bad', 'KRONA'), '22023', NULL,
                 'R1.2 negative: a bad profile currency is 22023');
SELECT throws_ok(format('SELECT csp.create_billing_profile(%s, %L, billing_model => %L)', :acct_b, 'Bad', 'legacy'), '22023', NULL,
                 'R1.2 negative: a legacy profile without an anniversary day is 22023');
SELECT throws_ok(format('SELECT csp.create_billing_profile(%s, %L, billing_model => %L, anniversary_day => 29)', :acct_b, 'Bad', 'legacy'),
                 '22023', NULL, 'R1.2 negative: anniversary day 29 is 22023');
SELECT throws_ok(format('SELECT csp.create_billing_profile(%s, %L, anniversary_day => 12)', :acct_b, 'Bad'), '22023', NULL,
                 'R1.2 negative: an NCE profile with an anniversary day is 22023');
SELECT throws_ok($$SELECT csp.create_billing_profile(999999, 'Bad')$$, 'NC404', NULL,
                 'R1.2 negative: a profile of an unknown account is NC404');

------------------------------------------------------------------------------
-- R1.3 invoice sections
------------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM csp.billing_profile p
            WHERE (SELECT count(*) FROM csp.invoice_section s
                    WHERE s.billing_profile_id = p.billing_profile_id AND s.name = 'Default' AND s.is_default) <> 1),
          0::bigint, 'R1.3 positive: every profile has exactly one Default section');
SELECT lives_ok(format('SELECT csp.create_invoice_section(%s, %L)', :prof_b1, 'Project Apollo'),
                'R1.3 positive: more sections can be added');
SELECT is((SELECT count(*) FROM csp.invoice_sections WHERE billing_profile_id = :prof_b1), 2::bigint,
          'R1.3 positive: the profile now has two sections');
SELECT throws_ok(format('SELECT csp.create_invoice_section(%s, %L)', :prof_b1, 'Project Apollo'), '23505', NULL,
                 'R1.3 negative: a duplicate section name is 23505');
SELECT throws_ok(format('SELECT csp.create_invoice_section(%s, %L)', :prof_b1, 'Default'), '23505', NULL,
                 'R1.3 negative: a second Default section is 23505');
SELECT throws_ok($$SELECT csp.create_invoice_section(999999, 'X')$$, 'NC404', NULL,
                 'R1.3 negative: a section of an unknown profile is NC404');

------------------------------------------------------------------------------
-- R2 partners
------------------------------------------------------------------------------
SELECT csp.create_partner('T-DIRECT', 'Direct Bill BV', 'direct_bill', 'NL') AS partner_id \gset
SELECT csp.create_partner('T-PROV', 'Provider AB', 'indirect_provider', 'SE') AS partner_id \gset
SELECT csp.create_partner('T-PROV2', 'Provider Two', 'indirect_provider', 'DE') AS partner_id \gset
SELECT csp.create_partner('T-RES', 'Reseller Oy', 'indirect_reseller', 'FI', indirect_provider_id => 'T-PROV') AS partner_id \gset
SELECT csp.create_partner('T-PENDING', 'Pending Ltd', 'direct_bill', 'GB', status => 'pending') AS partner_id \gset
SELECT is((SELECT indirect_provider_id FROM csp.partners WHERE partner_id = 'T-RES'), 'T-PROV',
          'R2.1 positive: a reseller works through its indirect provider');
SELECT throws_ok($$SELECT csp.create_partner('T-X', 'X', 'indirect_reseller', 'NL', indirect_provider_id => 'T-DIRECT')$$,
                 'NC011', NULL, 'R2.1 negative: a reseller''s indirect_provider_id must name an indirect provider');
SELECT throws_ok($$SELECT csp.create_partner('T-X', 'X', 'direct_bill', 'NL', indirect_provider_id => 'T-PROV')$$,
                 'NC011', NULL, 'R2.1 negative: a direct-bill partner has no indirect provider');
SELECT throws_ok($$SELECT csp.create_partner('T-X', 'X', 'indirect_reseller', 'NL', indirect_provider_id => 'T-NOBODY')$$,
                 'NC404', NULL, 'R2.1 negative: an unknown indirect provider is NC404');
SELECT throws_ok($$SELECT csp.create_partner('T-DIRECT', 'Again', 'direct_bill', 'NL')$$,
                 '23505', NULL, 'a duplicate partner id is 23505');
SELECT throws_ok($$SELECT csp.create_partner('T-X', 'X', 'direct_bill', 'NL', status => 'deleted')$$,
                 '22023', NULL, 'a bad partner status is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-RES', 'Woodgrove Oy', 'FI')$$,
                 'NC011', NULL, 'R2.2 negative: an indirect reseller cannot add customers');
SELECT lives_ok($$SELECT csp.add_customer('T-PROV', 'Woodgrove Oy', 'FI')$$,
                'R2.2 positive: its indirect provider can');

------------------------------------------------------------------------------
-- R1.5 the partner link
------------------------------------------------------------------------------
SELECT throws_ok(format('SELECT csp.link_partner_billing(%L, %s, %s, accept_mca => true)', 'T-PENDING', :acct_b, :prof_b1),
                 'NC011', NULL, 'R1.5 negative: a pending partner cannot be linked');
SELECT throws_ok(format('SELECT csp.link_partner_billing(%L, %s, %s, accept_mca => true)', 'T-RES', :acct_b, :prof_b1),
                 'NC011', NULL, 'R1.5 negative: an indirect reseller cannot be linked');
SELECT throws_ok(format('SELECT csp.link_partner_billing(%L, %s, %s)', 'T-DIRECT', :acct_b, :prof_b1),
                 'NC005', NULL, 'R1.5 negative: without accept_mca the MCA is not accepted');
SELECT is((SELECT billing_profile_id FROM csp.partners WHERE partner_id = 'T-DIRECT'), NULL::bigint,
          'R1.5 negative: a refused link changes nothing');
SELECT lives_ok(format('SELECT csp.link_partner_billing(%L, %s, %s, accept_mca => true)', 'T-DIRECT', :acct_b, :prof_b1),
                'R1.5 positive: with accept_mca the partner is linked');
SELECT results_eq($$SELECT billing_account_id, billing_profile_id FROM csp.partners WHERE partner_id = 'T-DIRECT'$$,
                  format('VALUES (%s::bigint, %s::bigint)', :acct_b, :prof_b1),
                  'R1.5 positive: csp.partners shows the link');
SELECT isnt((SELECT mca_accepted_at FROM csp.billing_account WHERE billing_account_id = :acct_b), NULL,
            'R1.5 positive: the MCA acceptance is recorded on the account');
SELECT lives_ok(format('SELECT csp.link_partner_billing(%L, %s, %s)', 'T-PROV', :acct_b, :prof_b2),
                'R1.5 positive: a second partner links to the same account without being asked again');
SELECT throws_ok(format('SELECT csp.link_partner_billing(%L, %s, %s, accept_mca => true)', 'T-DIRECT', :acct_b, :prof_a1),
                 'NC404', NULL, 'R1.5 negative: a profile of another account is NC404');
SELECT throws_ok(format('SELECT csp.link_partner_billing(%L, %s, %s)', 'T-NOBODY', :acct_b, :prof_b1),
                 'NC404', NULL, 'R1.5 negative: an unknown partner is NC404');
SELECT throws_ok(format($$SELECT pg_temp.as_role('regress_csp_tap_sam', %L)$$,
                        format('SELECT csp.link_partner_billing(%L, %s, %s)', 'T-PROV2', :acct_b, :prof_b1)),
                 '42501', NULL, 'R1.5 negative: only a global admin may link');
SELECT lives_ok(format('SELECT csp.link_partner_billing(%L, %s, %s)', 'T-DIRECT', :acct_b, :prof_b2),
                'R1.5 positive: re-linking to another profile');
SELECT is((SELECT billing_profile_id FROM csp.partners WHERE partner_id = 'T-DIRECT'), :prof_b2::bigint,
          'R1.5 positive: the partner''s current link moved');

------------------------------------------------------------------------------
-- R3.1 customers
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT csp.add_customer('T-DIRECT', 'Contoso BV', 'NL',
                    address => '{"street": "Main 1", "city": "Utrecht", "postal_code": "3511 AA"}')$$,
                'R3.1 positive: a customer with legal name and address');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', ' ', 'NL')$$, '22023', NULL, 'R3.1 negative: a blank legal name is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', NULL, 'NL')$$, '22023', NULL, 'R3.1 negative: a NULL legal name is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Bad BV', 'NL', address => '{"street": "Main 1", "city": "Utrecht"}')$$,
                 '22023', NULL, 'R3.1 negative: an address without postal_code is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Bad BV', 'NL', address => '{"street": "Main 1", "city": "Utrecht", "postal_code": "1", "zip": "1"}')$$,
                 '22023', NULL, 'R3.1 negative: an unknown address key is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Bad BV', 'NL', address => '{"street": "Main 1", "city": "Utrecht", "postal_code": 3511}')$$,
                 '22023', NULL, 'R3.1 negative: a non-string address value is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Bad BV', 'NL', address => '["Main 1"]')$$,
                 '22023', NULL, 'R3.1 negative: an address that is not an object is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Bad BV', 'XX')$$, '22023', NULL, 'a bad country code is 22023');
SELECT throws_ok($$SELECT csp.add_customer('T-NOBODY', 'Bad BV', 'NL')$$, 'NC404', NULL, 'an unknown partner is NC404');

------------------------------------------------------------------------------
-- R3.2 registration ID and phone, for each of the 24 countries
------------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT csp.add_customer('T-DIRECT', %L, %L)$$, 'Customer ' || c, c), 'NC010', NULL,
                 format('R3.2 negative: a customer in %s needs a registration ID and a phone', c))
  FROM unnest(ARRAY['AM', 'AZ', 'BY', 'BR', 'HU', 'IN', 'IQ', 'KZ', 'KG', 'MD', 'MM', 'PL',
                    'RU', 'SA', 'ZA', 'SS', 'TJ', 'TH', 'TR', 'UA', 'AE', 'UZ', 'VE', 'VN']) c;
SELECT lives_ok(format($$SELECT csp.add_customer('T-DIRECT', %L, %L, registration_id => 'REG-1', phone => '+1 555 0100')$$,
                       'Customer ' || c, c),
                format('R3.2 positive: a customer in %s with both is added', c))
  FROM unnest(ARRAY['AM', 'AZ', 'BY', 'BR', 'HU', 'IN', 'IQ', 'KZ', 'KG', 'MD', 'MM', 'PL',
                    'RU', 'SA', 'ZA', 'SS', 'TJ', 'TH', 'TR', 'UA', 'AE', 'UZ', 'VE', 'VN']) c;
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Only Reg', 'PL', registration_id => 'REG-1')$$, 'NC010', NULL,
                 'R3.2 negative: a registration ID without a phone is not enough');
SELECT throws_ok($$SELECT csp.add_customer('T-DIRECT', 'Only Phone', 'pl', phone => '+48 1')$$, 'NC010', NULL,
                 'R3.2 negative: a phone without a registration ID is not enough (lower-case country)');
SELECT lives_ok($$SELECT csp.add_customer('T-DIRECT', 'Nederland BV', 'NL')$$,
                'R3.2 positive: a customer in NL needs neither');
SELECT throws_ok(format('SELECT csp.update_customer(%L, phone => %L)',
                        (SELECT customer_id FROM csp.customers WHERE legal_name = 'Customer PL'), ''),
                 'NC010', NULL, 'R3.2 negative: an update cannot blank the phone');

------------------------------------------------------------------------------
-- R3.3 MCA attestation, R3.4 verification
------------------------------------------------------------------------------
SELECT csp.add_customer('T-DIRECT', 'Verify BV', 'NL') AS cust \gset
SELECT is((SELECT mca_attested FROM csp.customers WHERE customer_id = :'cust'), false,
          'R3.3 negative: a new customer is not attested by default');
SELECT lives_ok(format('SELECT csp.attest_mca(%L)', :'cust'), 'R3.3 positive: csp.attest_mca');
SELECT is((SELECT mca_attested FROM csp.customers WHERE customer_id = :'cust'), true,
          'R3.3 positive: the attestation is recorded');
SELECT is((SELECT mca_attested FROM csp.customers WHERE legal_name = 'Customer PL'), false,
          'R3.3: add_customer without mca_attested records false');
SELECT throws_ok($$SELECT csp.attest_mca('00000000-0000-0000-0000-000000000000')$$, 'NC404', NULL,
                 'R3.3 negative: attesting an unknown customer is NC404');
SELECT is((SELECT verification_status FROM csp.customers WHERE customer_id = :'cust'), 'pending',
          'R3.4 positive: a new customer starts pending');
SELECT lives_ok(format('SELECT csp.set_customer_verification(%L, %L)', :'cust', 'approved'), 'R3.4 positive: approve');
SELECT is((SELECT verification_status FROM csp.customers WHERE customer_id = :'cust'), 'approved',
          'R3.4 positive: the customer is approved');
SELECT throws_ok(format('SELECT csp.set_customer_verification(%L, %L)', :'cust', 'verified'), '22023', NULL,
                 'R3.4 negative: an unknown verification status is 22023');
SELECT throws_ok($$SELECT csp.set_customer_verification('00000000-0000-0000-0000-000000000000', 'approved')$$, 'NC404', NULL,
                 'R3.4 negative: verifying an unknown customer is NC404');
SELECT lives_ok(format('SELECT csp.update_customer(%L, email => %L, phone => %L)', :'cust', 'ap@verify.example', '+31 1'),
                'R3.4: update e-mail and phone');
SELECT is((SELECT verification_status FROM csp.customers WHERE customer_id = :'cust'), 'approved',
          'R3.4 positive: changing only e-mail and phone keeps the customer approved');
SELECT lives_ok(format('SELECT csp.update_customer(%L, legal_name => %L)', :'cust', 'Verify Holding BV'),
                'R3.4: update the legal name');
SELECT is((SELECT verification_status FROM csp.customers WHERE customer_id = :'cust'), 'pending',
          'R3.4 negative: a changed legal name sends the customer back to pending');
SELECT lives_ok(format('SELECT csp.set_customer_verification(%L, %L)', :'cust', 'rejected'), 'R3.4 positive: reject');
SELECT is((SELECT verification_status FROM csp.customers WHERE customer_id = :'cust'), 'rejected',
          'R3.4 positive: the customer is rejected');
SELECT ok((SELECT count(*) FROM csp.audit_log WHERE action = 'add_customer' AND actor = current_user) > 0,
          'the audit log holds add_customer rows by the caller');

------------------------------------------------------------------------------
-- R4 catalog, R8.1 upgrade paths, R4.3 prices, R12.3 exchange rates
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT csp.add_product('T_E3', 'Office 365 E3')$$, 'R4.1 positive: a license-based product');
SELECT lives_ok($$SELECT csp.add_product('T_E5', 'Office 365 E5')$$, 'R4.1 positive: another');
SELECT lives_ok($$SELECT csp.add_product('T_AZURE', 'Azure plan', billing_type => 'usage')$$, 'R4.1 positive: a usage-based product');
SELECT lives_ok($$SELECT csp.add_product('T_E3_TRIAL', 'E3 trial', trial_of => 'T_E3')$$, 'R9.1 positive: a trial of a paid license SKU');
SELECT lives_ok($$SELECT csp.add_product('T_GEO', 'Multi-Geo', addon_of => ARRAY['T_E3', 'T_E5'], addon_min_ratio => 0.05)$$,
                'R4.6 positive: multi-geo with a 5% minimum');
SELECT lives_ok($$SELECT csp.add_product('T_COPILOT', 'Copilot', addon_of => ARRAY['T_E3', 'T_E5'], addon_max_ratio => 1)$$,
                'R4.7 positive: Copilot with a 1:1 maximum');
SELECT throws_ok($$SELECT csp.add_product('T_X', 'X', billing_type => 'subscription')$$, '22023', NULL,
                 'R4.1 negative: a bad billing type is 22023');
SELECT throws_ok($$SELECT csp.add_product('T_E3', 'Again')$$, '23505', NULL, 'R4.1 negative: a duplicate SKU is 23505');
SELECT throws_ok($$SELECT csp.add_product('T_X', 'X', trial_of => 'T_AZURE')$$, '22023', NULL,
                 'R9.1 negative: trial_of a usage SKU is 22023');
SELECT throws_ok($$SELECT csp.add_product('T_X', 'X', addon_of => ARRAY['T_NOBODY'])$$, 'NC404', NULL,
                 'R4.6 negative: an unknown add-on base is NC404');
SELECT throws_ok($$SELECT csp.add_product('T_X', 'X', addon_of => ARRAY['T_E3'], addon_min_ratio => 0.5, addon_max_ratio => 0.1)$$,
                 '22023', NULL, 'R4.6 negative: a minimum ratio above the maximum is 22023');
SELECT throws_ok($$SELECT csp.add_product('T_X', 'X', addon_max_ratio => 1)$$, '22023', NULL,
                 'R4.7 negative: ratios without addon_of are 22023');
SELECT lives_ok($$SELECT csp.add_upgrade_path('T_E3', 'T_E5')$$, 'R8.1 positive: an upgrade path');
SELECT lives_ok($$SELECT csp.add_upgrade_path('T_E3', 'T_E5')$$, 'R8.1 positive: adding it again is a no-op');
SELECT is((SELECT count(*) FROM csp.upgrade_path WHERE from_sku = 'T_E3'), 1::bigint, 'R8.1: the path is stored once');
SELECT throws_ok($$SELECT csp.add_upgrade_path('T_E3', 'T_E3')$$, 'NC008', NULL, 'R8.1 negative: a path to itself is NC008');
SELECT throws_ok($$SELECT csp.add_upgrade_path('T_E5', 'T_E3')$$, 'NC008', NULL, 'R8.1 negative: the reverse path (a downgrade) is NC008');
SELECT throws_ok($$SELECT csp.add_upgrade_path('T_E3', 'T_NOBODY')$$, 'NC404', NULL, 'R8.1 negative: an unknown SKU is NC404');
SELECT lives_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', 10.00)$$, 'R4.3 positive: a price');
SELECT lives_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', 11.00, valid_from => '2025-04-01')$$,
                'R4.3 positive: a price valid from a later date');
SELECT lives_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', 10.50)$$, 'R4.3 positive: a price updated');
SELECT results_eq($$SELECT valid_from, unit_price FROM csp.price WHERE sku_id = 'T_E3' ORDER BY valid_from$$,
                  $$VALUES ('-infinity'::date, 10.50::numeric), ('2025-04-01', 11.00)$$,
                  'R4.3 positive: one row per validity date, the update replaced the price');
SELECT throws_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', -1)$$, '22023', NULL, 'R4.3 negative: a negative price is 22023');
SELECT throws_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', 1234567890123456789012345678901234567890)$$, '22003', NULL,
                 'R4.3 negative: a 40-digit price is 22003');
SELECT throws_ok($$SELECT csp.set_price('T_E3', 'P1Y', 'monthly', 'EUR', 'NaN')$$, '22023', NULL, 'R4.3 negative: a NaN price is 22023');
SELECT throws_ok($$SELECT csp.set_price('T_AZURE', 'P1Y', 'monthly', 'USD', 1)$$, '22023', NULL,
                 'R11.3 negative: a usage SKU has no list price (22023)');
SELECT throws_ok($$SELECT csp.set_price('T_E3', 'P1M', 'annual', 'EUR', 1)$$, '22023', NULL,
                 'R4.3 negative: a frequency not fitting the term is 22023');
SELECT throws_ok($$SELECT csp.set_price('T_NOBODY', 'P1Y', 'monthly', 'EUR', 1)$$, 'NC404', NULL,
                 'R4.3 negative: a price of an unknown SKU is NC404');
SELECT lives_ok($$SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 0.9150)$$, 'R12.3: the rate of 2023-11-29');
SELECT lives_ok($$SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-30', 0.9200)$$, 'R12.3: the rate of 2023-11-30');
SELECT is((SELECT rate FROM csp.fx_rate WHERE from_currency = 'USD' AND to_currency = 'EUR'
            AND rate_date = csp.fx_rate_date('2023-12-15')), 0.9150,
          'R12.3 positive: December 2023 uses the rate stored for 2023-11-29');
SELECT isnt((SELECT rate FROM csp.fx_rate WHERE from_currency = 'USD' AND to_currency = 'EUR'
              AND rate_date = csp.fx_rate_date('2023-12-15')), 0.9200,
            'R12.3 negative: not the rate stored for 2023-11-30');
SELECT throws_ok($$SELECT csp.set_fx_rate('EUR', 'EUR', '2023-11-29', 1)$$, '22023', NULL,
                 'R12.3 negative: a rate between the same currency is 22023');
SELECT throws_ok($$SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 0)$$, '22023', NULL, 'R12.3 negative: a zero rate is 22023');
SELECT throws_ok($$SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', -1)$$, '22023', NULL, 'R12.3 negative: a negative rate is 22023');
SELECT throws_ok($$UPDATE csp.audit_log SET actor = 'x'$$, '42501', NULL, 'the audit log refuses UPDATE');
SELECT throws_ok($$DELETE FROM csp.audit_log$$, '42501', NULL, 'the audit log refuses DELETE');

SELECT * FROM finish();
ROLLBACK;
