--
-- R4 catalog (products, add-ons, trials, upgrade paths, prices), R12.3
-- exchange rates, and the privileges of the install script (API.md "Roles",
-- DESIGN.md "Security", the append-only audit log).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY default

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_carl;
RESET client_min_messages;
CREATE ROLE regress_csp_carl LOGIN IN ROLE csp_global_admin, csp_time_admin;
SET csp.clock = '2025-01-15 10:00+00';

------------------------------------------------------------------------------
-- Roles and privileges
------------------------------------------------------------------------------
-- the six group roles exist and cannot log in
SELECT rolname, rolcanlogin, rolsuper, rolinherit FROM pg_roles WHERE rolname LIKE 'csp\_%' ORDER BY rolname;
-- nothing is granted to PUBLIC: functions, tables, views, sequences, schema
-- (a NULL acl means the defaults, which give PUBLIC EXECUTE on functions)
SELECT count(*) AS public_function_grants
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'csp'::regnamespace AND a.grantee = 0;
SELECT count(*) AS public_relation_grants
  FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
 WHERE c.relnamespace = 'csp'::regnamespace AND a.grantee = 0;
SELECT count(*) AS public_schema_grants
  FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
 WHERE n.nspname = 'csp' AND a.grantee = 0;
-- no group role may write a table directly
SELECT count(*) AS direct_write_grants
  FROM pg_class c, unnest(ARRAY['csp_global_admin', 'csp_admin_agent', 'csp_sales_agent', 'csp_helpdesk_agent',
                                'csp_billing_admin', 'csp_reader']) r
 WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND has_table_privilege(r, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE');
-- EXECUTE on the foundation's functions, by role (API.md "Roles")
SELECT p.proname AS function,
       string_agg(replace(r, 'csp_', ''), ' ' ORDER BY r) FILTER (WHERE has_function_privilege(r, p.oid, 'EXECUTE')) AS may_execute
  FROM pg_proc p,
       unnest(ARRAY['csp_global_admin', 'csp_admin_agent', 'csp_sales_agent', 'csp_helpdesk_agent',
                    'csp_billing_admin', 'csp_reader']) r
 WHERE p.pronamespace = 'csp'::regnamespace
   AND p.proname IN ('ensure_group_roles', 'audit_trigger', 'append_only_trigger', 'now', 'term_end',
                     'billing_cycle', 'billing_cycles', 'prorate', 'round_money', 'currency_exponent',
                     'fx_rate_date', 'utc_date', 'whole_days', 'invoice_period', 'create_partner',
                     'set_partner_status', 'create_billing_account', 'grant_billing_account_role',
                     'create_billing_profile', 'create_invoice_section', 'link_partner_billing',
                     'add_customer', 'update_customer', 'attest_mca', 'set_customer_verification',
                     'add_product', 'add_upgrade_path', 'set_price', 'set_fx_rate',
                     'grant_profile_role', 'revoke_profile_role', 'visible_profile')
 GROUP BY p.oid, p.proname ORDER BY p.proname;
-- every group role reads the views
SELECT v AS view, bool_and(has_table_privilege(r, v, 'SELECT')) AS all_roles_select
  FROM unnest(ARRAY['csp.customers', 'csp.invoice_sections', 'csp.partners', 'csp.billing_profiles']) v,
       unnest(ARRAY['csp_global_admin', 'csp_admin_agent', 'csp_sales_agent', 'csp_helpdesk_agent',
                    'csp_billing_admin', 'csp_reader']) r
 GROUP BY v ORDER BY v;
-- writing functions are SECURITY DEFINER with a safe search_path; views are security_invoker
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'csp'::regnamespace AND p.prosecdef
   AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind = 'v'
   AND NOT coalesce(c.reloptions @> '{security_invoker=true}', false);

------------------------------------------------------------------------------
-- R4.1 products
------------------------------------------------------------------------------
-- R4.1 positive: license- and usage-based, Microsoft and ISV, one per customer
SELECT csp.add_product('O365_E3', 'Office 365 E3');
SELECT csp.add_product('O365_E5', 'Office 365 E5');
SELECT csp.add_product('O365_E5_PLUS', 'Office 365 E5 Plus');
SELECT csp.add_product('M365_BP', 'Microsoft 365 Business Premium', one_per_customer => true);
SELECT csp.add_product(sku_id => 'AZURE_PLAN', name => 'Azure plan', billing_type => 'usage');
SELECT csp.add_product('ISV_SAAS', 'Contoso SaaS', publisher => 'Contoso ISV');
-- R9.1 positive: a trial names its paid, license-based equivalent
SELECT csp.add_product('O365_E3_TRIAL', 'Office 365 E3 Trial', trial_of => 'O365_E3');
-- R4.6, R4.7 positive: add-ons with their ratios (multi-geo 5%, Copilot 1:1)
SELECT csp.add_product('MULTI_GEO', 'Multi-Geo Capabilities', addon_of => ARRAY['O365_E3', 'O365_E5'], addon_min_ratio => 0.05);
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => '{O365_E3,O365_E5,M365_BP}', addon_max_ratio => 1);
SELECT csp.add_product('TEAMS_PHONE', 'Teams Phone Standard', addon_of => ARRAY['O365_E3']);
SELECT csp.add_product('BOTH_RATIOS', 'Bounded add-on', addon_of => ARRAY['O365_E3'], addon_min_ratio => 0.5, addon_max_ratio => 0.5);
SELECT sku_id, name, publisher, billing_type, one_per_customer, trial_of, addon_of, addon_min_ratio, addon_max_ratio, created_at
  FROM csp.product ORDER BY sku_id;

-- R4.1 negative: a billing type other than license or usage (22023)
SELECT csp.add_product('X', 'X', billing_type => 'subscription');
\echo :SQLSTATE
-- R4.1 negative: a duplicate SKU (23505)
SELECT csp.add_product('O365_E3', 'Office 365 E3 again');
\echo :SQLSTATE
-- R4.1 negative: blank or NULL identifiers and names (22023)
SELECT csp.add_product(' ', 'X');
\echo :SQLSTATE
SELECT csp.add_product('X', NULL);
\echo :SQLSTATE
SELECT csp.add_product('X', 'X', publisher => '');
\echo :SQLSTATE
SELECT csp.add_product('X', 'X', one_per_customer => NULL);
\echo :SQLSTATE
-- R9.1 negative: trial_of must name a paid license SKU
SELECT csp.add_product('X_TRIAL', 'X', trial_of => 'NO_SUCH_SKU');
\echo :SQLSTATE
SELECT csp.add_product('X_TRIAL', 'X', trial_of => 'AZURE_PLAN');
\echo :SQLSTATE
SELECT csp.add_product('X_TRIAL', 'X', trial_of => 'O365_E3_TRIAL');
\echo :SQLSTATE
SELECT csp.add_product('X_TRIAL', 'X', billing_type => 'usage', trial_of => 'O365_E3');
\echo :SQLSTATE
-- R4.6, R4.7 negative: the bases of an add-on must exist (NC404) ...
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3', 'NO_SUCH_SKU']);
\echo :SQLSTATE
-- ... and be named: not empty, no NULL, not itself (22023)
SELECT csp.add_product('X_ADDON', 'X', addon_of => '{}');
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3', NULL]);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['X_ADDON']);
\echo :SQLSTATE
-- R4.6, R4.7 negative: ratios: min above max, without addon_of, not positive,
-- a minimum above 1, NaN (22023)
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3'], addon_min_ratio => 0.5, addon_max_ratio => 0.1);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_min_ratio => 0.05);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_max_ratio => 1);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3'], addon_min_ratio => 0);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3'], addon_max_ratio => -1);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3'], addon_min_ratio => 1.5);
\echo :SQLSTATE
SELECT csp.add_product('X_ADDON', 'X', addon_of => ARRAY['O365_E3'], addon_max_ratio => 'NaN');
\echo :SQLSTATE
-- bad input never changes data
SELECT count(*) AS products, count(*) FILTER (WHERE sku_id LIKE 'X%') AS refused_ones FROM csp.product;

------------------------------------------------------------------------------
-- R8.1 upgrade paths
------------------------------------------------------------------------------
-- R8.1 positive
SELECT csp.add_upgrade_path('O365_E3', 'O365_E5');
SELECT csp.add_upgrade_path(from_sku => 'O365_E5', to_sku => 'O365_E5_PLUS');
-- idempotent: adding a path again changes nothing
SELECT csp.add_upgrade_path('O365_E3', 'O365_E5');
SELECT from_sku, to_sku, created_at FROM csp.upgrade_path ORDER BY from_sku, to_sku;
SELECT count(*) AS upgrade_path_audit_rows FROM csp.audit_log WHERE object_type = 'upgrade_path';
-- R8.1 negative: to itself (NC008)
SELECT csp.add_upgrade_path('O365_E3', 'O365_E3');
\echo :SQLSTATE
-- R8.1 negative: the reverse of a path would be a downgrade (NC008)
SELECT csp.add_upgrade_path('O365_E5', 'O365_E3');
\echo :SQLSTATE
-- R8.1 negative: so would closing a loop through another SKU: E3 -> E5 ->
-- E5 Plus exists, so E5 Plus -> E3 is a downgrade (NC008); rolled back so a
-- wrongly accepted path would not linger
BEGIN;
SELECT csp.add_upgrade_path('O365_E5_PLUS', 'O365_E3');
\echo :SQLSTATE
ROLLBACK;
-- R8.1 negative: trials are converted, not upgraded (NC008)
SELECT csp.add_upgrade_path('O365_E3_TRIAL', 'O365_E5');
\echo :SQLSTATE
-- R8.1 negative: unknown SKUs (NC404), NULL (22023)
SELECT csp.add_upgrade_path('NO_SUCH_SKU', 'O365_E5');
\echo :SQLSTATE
SELECT csp.add_upgrade_path('O365_E3', 'NO_SUCH_SKU');
\echo :SQLSTATE
SELECT csp.add_upgrade_path('O365_E3', NULL);
\echo :SQLSTATE
SELECT count(*) AS upgrade_paths FROM csp.upgrade_path;

------------------------------------------------------------------------------
-- R4.3 prices: per SKU, term, billing frequency, currency and validity date
------------------------------------------------------------------------------
-- R4.3 positive
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.00);
SELECT csp.set_price('O365_E3', 'P1Y', 'annual', 'eur', 120.00);
SELECT csp.set_price('O365_E3', 'P3Y', 'triennial', 'EUR', 340.00);
SELECT csp.set_price('O365_E3', 'P1M', 'monthly', 'EUR', 12.00);
SELECT csp.set_price('O365_E3', 'P1Y', 'one_time', 'USD', 118.50);
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'JPY', 1500);
-- a price list published for a later month
SELECT csp.set_price(sku_id => 'O365_E3', term => 'P1Y', billing_frequency => 'monthly', currency => 'EUR',
                     unit_price => 11.00, valid_from => '2025-04-01');
-- free, and up to six decimals
SELECT csp.set_price('ISV_SAAS', 'P1M', 'monthly', 'USD', 0);
SELECT csp.set_price('ISV_SAAS', 'P1Y', 'monthly', 'USD', 4.123456);
SELECT csp.set_price('ISV_SAAS', 'P1Y', 'annual', 'USD', 49.1234560);
SELECT csp.set_price('ISV_SAAS', 'P3Y', 'monthly', 'USD', 999999999999999.999999);
-- R4.3 positive: setting the same key again updates the price, keeping one row
SET csp.clock = '2025-02-01 00:00+00';
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.50);
-- and setting the same value again changes nothing
SET csp.clock = '2025-02-02 00:00+00';
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.50);
SELECT sku_id, term, billing_frequency, currency, valid_from, unit_price, set_at
  FROM csp.price ORDER BY sku_id, term, billing_frequency, currency, valid_from;
SELECT operation, before->>'unit_price' AS before, after->>'unit_price' AS after, at
  FROM csp.audit_log WHERE object_type = 'price' AND after->>'valid_from' = '-infinity'
   AND after->>'currency' = 'EUR' AND after->>'billing_frequency' = 'monthly' AND after->>'term' = 'P1Y'
 ORDER BY audit_id;

-- R4.3 negative: negative (22023), out of range (22003), not a number (22023)
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', -0.01);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 1234567890123456789012345678901234567890);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 1000000000000000);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 'NaN');
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 'Infinity');
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.1234567);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', NULL);
\echo :SQLSTATE
-- R4.3 negative: a frequency that does not fit the term, a bad term or frequency (22023)
SELECT csp.set_price('O365_E3', 'P1M', 'annual', 'EUR', 120.00);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'triennial', 'EUR', 340.00);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P2Y', 'monthly', 'EUR', 10.00);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'weekly', 'EUR', 10.00);
\echo :SQLSTATE
-- R4.3 negative: a bad currency (22023)
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EURO', 10.00);
\echo :SQLSTATE
-- R4.3 negative: a bad valid_from (22023); -infinity is the default
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.00, valid_from => 'infinity');
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.00, valid_from => '1850-01-01');
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 10.00, valid_from => NULL);
\echo :SQLSTATE
-- R11.3 / R9.1 negative: usage-based SKUs and trials have no list price (22023)
SELECT csp.set_price('AZURE_PLAN', 'P1Y', 'monthly', 'USD', 10.00);
\echo :SQLSTATE
SELECT csp.set_price('O365_E3_TRIAL', 'P1M', 'monthly', 'USD', 0);
\echo :SQLSTATE
-- an unknown SKU (NC404)
SELECT csp.set_price('NO_SUCH_SKU', 'P1Y', 'monthly', 'USD', 10.00);
\echo :SQLSTATE
SELECT count(*) AS prices FROM csp.price;

------------------------------------------------------------------------------
-- R12.3 exchange rates
------------------------------------------------------------------------------
SET csp.clock = '2025-01-15 10:00+00';
-- the mid-rates around the turn of November 2023 (2023-11-29 is a Wednesday)
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-28', 0.9170);
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 0.9150);
SELECT csp.set_fx_rate(from_currency => 'usd', to_currency => 'eur', rate_date => '2023-11-30', rate => 0.9200);
SELECT csp.set_fx_rate('USD', 'EUR', '2023-12-28', 0.9050);
SELECT csp.set_fx_rate('USD', 'EUR', '2023-12-29', 0.9030);
SELECT csp.set_fx_rate('USD', 'JPY', '2023-11-29', 147.2512345678);
-- setting a date again replaces its rate
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-28', 0.9175);
SELECT from_currency, to_currency, rate_date, rate FROM csp.fx_rate ORDER BY 1, 2, 3;
-- R12.3 positive: December 2023's rate is the one of 2023-11-29 ...
SELECT rate_date, rate AS december_2023_rate FROM csp.fx_rate
 WHERE from_currency = 'USD' AND to_currency = 'EUR' AND rate_date = csp.fx_rate_date('2023-12-01');
-- ... for every purchase of that month; January 2024 (1st a Monday) uses 2023-12-28
SELECT d, (SELECT rate FROM csp.fx_rate WHERE from_currency = 'USD' AND to_currency = 'EUR'
                                         AND rate_date = csp.fx_rate_date(d)) AS rate
  FROM unnest(ARRAY['2023-12-01', '2023-12-15', '2023-12-31', '2024-01-01', '2024-01-31']::date[]) d;
-- R12.3 negative: the latest rate before the 1st (2023-11-30) is not December's,
-- nor is the last business day of December January's
SELECT rate_date, rate_date = csp.fx_rate_date('2023-12-01') AS is_december_rate,
       rate_date = csp.fx_rate_date('2024-01-01') AS is_january_rate
  FROM csp.fx_rate WHERE from_currency = 'USD' AND to_currency = 'EUR' AND rate_date IN ('2023-11-30', '2023-12-29')
 ORDER BY rate_date;

-- R12.3 negative: a rate needs two currencies and a positive value (22023)
SELECT csp.set_fx_rate('EUR', 'eur', '2023-11-29', 1);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 0);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', -0.9);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 'NaN');
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 0.12345678901);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 1e20);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EURO', '2023-11-29', 0.9);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', 'infinity', 0.9);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', NULL, 0.9);
\echo :SQLSTATE
SELECT rate FROM csp.fx_rate WHERE from_currency = 'USD' AND to_currency = 'EUR' AND rate_date = '2023-11-29';

------------------------------------------------------------------------------
-- only global admins maintain the catalog
------------------------------------------------------------------------------
SET ROLE regress_csp_carl;
SELECT csp.add_product('CARL_SKU', 'Carl product') AS carl_sku;
SELECT csp.set_price('CARL_SKU', 'P1Y', 'monthly', 'EUR', 1.00);
RESET ROLE;
SET ROLE csp_sales_agent;
SELECT csp.add_product('SALES_SKU', 'Sales product');
\echo :SQLSTATE
SELECT csp.set_price('O365_E3', 'P1Y', 'monthly', 'EUR', 1.00);
\echo :SQLSTATE
SELECT csp.set_fx_rate('USD', 'EUR', '2023-11-29', 1);
\echo :SQLSTATE
SELECT csp.add_upgrade_path('O365_E3', 'O365_E5_PLUS');
\echo :SQLSTATE
RESET ROLE;
SET ROLE csp_reader;
SELECT csp.add_product('READER_SKU', 'Reader product');
\echo :SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- the audit log is append-only
------------------------------------------------------------------------------
SELECT object_type, operation, CASE WHEN actor = session_user THEN '(session user)' ELSE actor::text END AS actor, count(*)
  FROM csp.audit_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- not even the owner may change or remove a row (42501)
UPDATE csp.audit_log SET actor = 'someone_else' WHERE object_type = 'product';
\echo :SQLSTATE
DELETE FROM csp.audit_log WHERE object_type = 'price';
\echo :SQLSTATE
-- and the group roles may not write it at all (42501)
SET ROLE regress_csp_carl;
UPDATE csp.audit_log SET actor = 'someone_else';
\echo :SQLSTATE
DELETE FROM csp.audit_log;
\echo :SQLSTATE
INSERT INTO csp.audit_log (at, actor, action, operation, object_type, object_id)
VALUES (now(), 'forged', 'forge', 'insert', 'product', 'X');
\echo :SQLSTATE
RESET ROLE;
SELECT count(*) AS audit_rows, count(*) FILTER (WHERE actor IN ('someone_else', 'forged')) AS tampered FROM csp.audit_log;

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_carl;
