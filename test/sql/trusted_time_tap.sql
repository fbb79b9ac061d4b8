--
-- pgTAP: trusted time (README "Time") in one transaction that is rolled
-- back.  Under a pinned clock a role without csp_time_admin is refused
-- (42501) for cancel, change_quantity, purchase, record_payment and tick;
-- the same calls succeed under the real clock; a time admin back-fills
-- forward; nobody posts before an object's latest event (NC016).  The
-- regress test trusted_time adds ALTER ROLE ... SET csp.clock, which needs a
-- new session.
--
SET timezone = 'UTC';
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS csp_billing;

CREATE ROLE regress_csp_ttap_sam IN ROLE csp_sales_agent;
CREATE ROLE regress_csp_ttap_bill IN ROLE csp_billing_admin;
CREATE ROLE regress_csp_ttap_glob IN ROLE csp_global_admin;
CREATE ROLE regress_csp_ttap_keeper IN ROLE csp_sales_agent, csp_time_admin;
-- run one statement as another role at a clock ('' = real time)
CREATE FUNCTION pg_temp.as_role_at(r name, clock text, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('csp.clock', clock, true);
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RESET ROLE;
    PERFORM set_config('csp.clock', '', true);
END
$$;

SELECT plan(16);

-- the world, at real time
SELECT csp.create_partner('ttap', 'TAP Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('TAP BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'TAP NL') AS profile \gset
SELECT csp.link_partner_billing('ttap', :account, :profile, accept_mca => true);
SELECT csp.add_customer('ttap', 'TAP Customer', 'NL', mca_attested => true) AS cust \gset
SELECT csp.set_customer_verification(:'cust', 'approved');
SELECT csp.add_product('TTAP', 'TAP E3');
SELECT csp.set_price('TTAP', 'P1Y', 'monthly', 'EUR', 10.00);
SELECT csp.purchase(:'cust', 'TTAP', 10) AS sub \gset

------------------------------------------------------------------------------
-- 42501 negative: writes under a pinned clock need csp_time_admin
------------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '2025-01-15 10:00+00', 'SELECT csp.cancel(''%s'')')$$, :'sub'),
                 '42501', 'writes under a pinned clock need the role csp_time_admin',
                 'a sales agent cannot cancel under a pinned clock');
SELECT throws_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '2025-01-15 10:00+00', 'SELECT csp.change_quantity(''%s'', 1)')$$, :'sub'),
                 '42501', NULL, 'a sales agent cannot change the quantity under a pinned clock');
SELECT throws_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '2099-01-01 00:00+00', 'SELECT csp.purchase(''%s'', ''TTAP'', 1)')$$, :'cust'),
                 '42501', NULL, 'a sales agent cannot purchase under a clock ahead of real time');
SELECT throws_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_bill', '2030-01-01 00:00+00', 'SELECT csp.record_payment(%s, 10, ''EUR'')')$$, :profile),
                 '42501', NULL, 'a billing admin cannot record a payment under a pinned clock');
SELECT throws_ok($$SELECT pg_temp.as_role_at('regress_csp_ttap_glob', '2025-03-01 00:30+00', 'SELECT csp.tick()')$$,
                 '42501', NULL, 'a global admin cannot tick under a pinned clock');
SELECT throws_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_bill', '', 'SELECT csp.record_payment(%s, 10, ''EUR'', received_at => ''2024-06-01 00:00+00'')')$$, :profile),
                 '42501', NULL, 'an explicit received_at far from real time follows the same rule');

------------------------------------------------------------------------------
-- 42501 positive: the same calls under the real clock
------------------------------------------------------------------------------
SELECT lives_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '', 'SELECT csp.change_quantity(''%s'', 12)')$$, :'sub'),
                'a sales agent changes the quantity at real time');
SELECT lives_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '', 'SELECT csp.cancel(''%s'')')$$, :'sub'),
                'a sales agent cancels at real time, within the 168-hour window (R6.3)');
SELECT lives_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_sam', '', 'SELECT csp.purchase(''%s'', ''TTAP'', 1)')$$, :'cust'),
                'a sales agent purchases at real time');
SELECT lives_ok(format($$SELECT pg_temp.as_role_at('regress_csp_ttap_bill', '', 'SELECT csp.record_payment(%s, 10, ''EUR'')')$$, :profile),
                'a billing admin records a payment at real time');
SELECT lives_ok($$SELECT pg_temp.as_role_at('regress_csp_ttap_glob', '', 'SELECT csp.tick()')$$,
                'a global admin ticks at real time');

------------------------------------------------------------------------------
-- A time admin back-fills forward; NC016 for everyone going back
------------------------------------------------------------------------------
SELECT pg_temp.as_role_at('regress_csp_ttap_keeper', '2025-01-15 10:00+00',
                          format('SELECT set_config(''ttap.back'', csp.purchase(%L, ''TTAP'', 10)::text, false)', :'cust'));
SELECT lives_ok($$SELECT pg_temp.as_role_at('regress_csp_ttap_keeper', '2025-02-01 09:00+00',
                  format('SELECT csp.change_quantity(%L, 15)', current_setting('ttap.back')))$$,
                'a time admin back-fills forward under a pinned clock');
SELECT throws_ok($$SELECT pg_temp.as_role_at('regress_csp_ttap_keeper', '2025-01-20 00:00+00',
                   format('SELECT csp.change_quantity(%L, 16)', current_setting('ttap.back')))$$,
                 'NC016', NULL, 'NC016: a time admin cannot act before the latest event');
SELECT throws_ok($$SELECT pg_temp.as_role_at(current_user, '2025-01-31 00:00+00',
                   format('SELECT csp.suspend(%L)', current_setting('ttap.back')))$$,
                 'NC016', NULL, 'NC016: nor can a superuser');
SELECT lives_ok($$SELECT pg_temp.as_role_at('regress_csp_ttap_keeper', '2025-02-01 09:00+00',
                  format('SELECT csp.rename(%L, ''same instant'')', current_setting('ttap.back')))$$,
                'NC016 positive: the instant of the latest event itself is fine');
SELECT is((SELECT count(*) FROM csp.line_items
            WHERE subscription_id = current_setting('ttap.back')::uuid),
          2::bigint, 'the back-fill wrote its new and addQuantity lines, nothing for the refused calls');

SELECT * FROM finish();
ROLLBACK;
