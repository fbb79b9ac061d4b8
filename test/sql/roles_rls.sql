--
-- Roles and privileges (API.md "Roles", DESIGN.md "Security"): one allowed
-- and one refused call per group role; billing-profile roles
-- (csp.grant_profile_role) and the row-level security scoping money by
-- profile; writers refusing a profile the caller holds no writing role on;
-- a search_path hijack that changes nothing.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\set VERBOSITY default

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS regress_evil CASCADE;
DROP ROLE IF EXISTS regress_csp_rls_admin, regress_csp_rls_agent, regress_csp_rls_sales,
    regress_csp_rls_helpdesk, regress_csp_rls_billing, regress_csp_rls_reader,
    regress_csp_rls_preader, regress_csp_rls_imgr, regress_csp_rls_hijacker;
RESET client_min_messages;
CREATE ROLE regress_csp_rls_admin LOGIN IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_csp_rls_agent LOGIN IN ROLE csp_admin_agent, csp_time_admin;
CREATE ROLE regress_csp_rls_sales LOGIN IN ROLE csp_sales_agent, csp_time_admin;
CREATE ROLE regress_csp_rls_helpdesk LOGIN IN ROLE csp_helpdesk_agent, csp_time_admin;
CREATE ROLE regress_csp_rls_billing LOGIN IN ROLE csp_billing_admin, csp_time_admin;
CREATE ROLE regress_csp_rls_reader LOGIN IN ROLE csp_reader, csp_time_admin;
-- login roles of no group role: they get billing-profile roles below
CREATE ROLE regress_csp_rls_preader LOGIN IN ROLE csp_time_admin;
CREATE ROLE regress_csp_rls_imgr LOGIN IN ROLE csp_time_admin;
CREATE ROLE regress_csp_rls_hijacker LOGIN IN ROLE csp_time_admin;

-- the group role of profile-role holders exists, cannot log in, and gets
-- no direct write either
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'csp_profile_member';
SELECT count(*) AS direct_write_grants
  FROM pg_class c
 WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND has_table_privilege('csp_profile_member', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE');
-- row-level security on the money tables, with policies for reading only
SELECT c.relname, c.relrowsecurity, string_agg(p.polname || ':' || p.polcmd::text, ' ') AS policies
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
 GROUP BY c.relname, c.relrowsecurity ORDER BY c.relname;

------------------------------------------------------------------------------
-- Set-up, by the global admin: it owns the billing account it creates (R1.1)
------------------------------------------------------------------------------
SET csp.clock = '2024-12-01 09:00+00';
SET ROLE regress_csp_rls_admin;
SELECT csp.create_partner('P1', 'Contoso Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('P2', 'Litware Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('Contoso BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Main') AS main \gset
SELECT csp.create_billing_profile(:account, 'Litware') AS other \gset
SELECT csp.link_partner_billing('P1', :account, :main, accept_mca => true);
SELECT csp.link_partner_billing('P2', :account, :other);
SELECT csp.add_product('M365', 'Microsoft 365 E3');
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 100.00);
RESET ROLE;
-- an account the global admin does not own
SELECT csp.create_billing_account('Fabrikam BV', 'NL', 'EUR') AS foreign_account \gset
SELECT csp.create_billing_profile(:foreign_account, 'Fabrikam') AS foreign_profile \gset

------------------------------------------------------------------------------
-- One allowed and one refused call per group role
------------------------------------------------------------------------------
-- csp_admin_agent: customers yes, money no
SET ROLE regress_csp_rls_agent;
SELECT csp.add_customer('P1', 'Fabrikam', 'NL', mca_attested => true) AS fabrikam \gset
SELECT csp.record_payment(:main, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.add_customer('P2', 'Northwind', 'NL', mca_attested => true) AS northwind \gset
SELECT csp.add_customer('P1', 'Adatum X', 'NL', mca_attested => true) AS cust_x \gset
SELECT csp.add_customer('P1', 'Adatum Y', 'NL', mca_attested => true) AS cust_y \gset
RESET ROLE;
SET ROLE regress_csp_rls_admin;
SELECT csp.set_customer_verification(c, 'approved')
  FROM unnest(ARRAY[:'fabrikam', :'northwind', :'cust_x', :'cust_y']::uuid[]) c;
RESET ROLE;

SET csp.clock = '2025-01-01 08:00+00';
-- csp_sales_agent: subscriptions yes, invoicing no
SET ROLE regress_csp_rls_sales;
SELECT csp.purchase(:'fabrikam', 'M365', 10) AS fabrikam_sub \gset
SELECT csp.purchase(:'northwind', 'M365', 1) IS NOT NULL AS bought;
SELECT csp.run_invoicing();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- csp_helpdesk_agent: subscriptions yes, customers no
SET ROLE regress_csp_rls_helpdesk;
SELECT csp.rename(:'fabrikam_sub', 'Fabrikam E3');
SELECT csp.add_customer('P1', 'Helpdesk Ltd', 'NL');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- csp_reader: the views yes, subscriptions no
SET ROLE regress_csp_rls_reader;
SELECT count(*) AS subscriptions FROM csp.subscriptions;
SELECT csp.purchase(:'fabrikam', 'M365', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- csp_global_admin: grants profile roles on the account it owns, not on another
SET ROLE regress_csp_rls_admin;
SELECT csp.grant_profile_role(:main, 'regress_csp_rls_preader', 'reader');
SELECT csp.grant_profile_role(:main, 'regress_csp_rls_imgr', 'invoice_manager');
SELECT csp.grant_profile_role(:foreign_profile, 'regress_csp_rls_preader', 'reader');
\echo :LAST_ERROR_SQLSTATE
-- 22023 and NC404: an unknown profile role, a group role, an unknown role or profile
SELECT csp.grant_profile_role(:main, 'regress_csp_rls_preader', 'accountant');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.grant_profile_role(:main, 'csp_reader', 'reader');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.grant_profile_role(:main, 'regress_csp_rls_nobody', 'reader');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.grant_profile_role(-1, 'regress_csp_rls_preader', 'reader');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- granted with the membership that reading and paying need, and audited
SELECT billing_profile_id = :main AS on_main, member, profile_role, granted_by
  FROM csp.billing_profile_role ORDER BY member::text;
SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
 WHERE m.roleid = 'csp_profile_member'::regrole ORDER BY 1;
SELECT actor, action, operation, object_id FROM csp.audit_log
 WHERE object_type = 'billing_profile_role' ORDER BY audit_id;

------------------------------------------------------------------------------
-- A search_path hijack changes nothing: objects named like pg_catalog's
-- functions and operators, and like the extension's tables, in public and
-- in a schema first on the caller's search_path; every one raises if called
------------------------------------------------------------------------------
GRANT CREATE ON SCHEMA public TO regress_csp_rls_hijacker;
CREATE SCHEMA regress_evil AUTHORIZATION regress_csp_rls_hijacker;
SET ROLE regress_csp_rls_hijacker;
GRANT USAGE ON SCHEMA regress_evil TO PUBLIC;
CREATE FUNCTION regress_evil.hijacked() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked: % on %', TG_OP, TG_TABLE_NAME; END$$;
DO $$
DECLARE
    s text;
    f text;
BEGIN
    FOREACH s IN ARRAY ARRAY['public', 'regress_evil'] LOOP
        FOREACH f IN ARRAY ARRAY[
            'nextval(regclass) RETURNS bigint',
            'lpad(text, integer, text) RETURNS text',
            'now() RETURNS timestamptz',
            'gen_random_uuid() RETURNS uuid',
            'to_jsonb(anyelement) RETURNS jsonb',
            'jsonb_build_object(VARIADIC text[]) RETURNS jsonb',
            'pg_has_role(name, oid, text) RETURNS boolean',
            'pg_has_role(oid, oid, text) RETURNS boolean',
            'coalesce_any(numeric, numeric) RETURNS numeric',
            'uuid_eq(uuid, uuid) RETURNS boolean',
            'int8eq(bigint, bigint) RETURNS boolean',
            'texteq(text, text) RETURNS boolean',
            'date_pl_int(date, integer) RETURNS date'] LOOP
            EXECUTE format('CREATE FUNCTION %s.%s LANGUAGE plpgsql AS $b$BEGIN RAISE EXCEPTION ''hijacked: %s.%s''; END$b$',
                           s, f, s, split_part(f, '(', 1));
        END LOOP;
        EXECUTE format('CREATE OPERATOR %s.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = %s.uuid_eq)', s, s);
        EXECUTE format('CREATE OPERATOR %s.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = %s.int8eq)', s, s);
        EXECUTE format('CREATE OPERATOR %s.= (LEFTARG = text, RIGHTARG = text, FUNCTION = %s.texteq)', s, s);
        EXECUTE format('CREATE OPERATOR %s.+ (LEFTARG = date, RIGHTARG = integer, FUNCTION = %s.date_pl_int)', s, s);
        FOREACH f IN ARRAY ARRAY['charge', 'subscription', 'invoice', 'payment', 'payment_allocation',
                                 'seat_lot', 'audit_log', 'billing_profile_role'] LOOP
            EXECUTE format('CREATE TABLE %s.%s (x int)', s, f);
            EXECUTE format('GRANT ALL ON %s.%s TO PUBLIC', s, f);
            EXECUTE format('CREATE TRIGGER hijacked BEFORE INSERT OR UPDATE OR DELETE ON %s.%s
                            FOR EACH ROW EXECUTE FUNCTION regress_evil.hijacked()', s, f);
        END LOOP;
    END LOOP;
END
$$;
RESET ROLE;
SELECT count(*) AS hijack_functions FROM pg_proc
 WHERE pronamespace IN ('public'::regnamespace, 'regress_evil'::regnamespace);

-- the same purchase and seat change, once for X on the usual search_path
-- and once for Y on the hijacked one
SET csp.clock = '2025-01-10 12:00+00';
SET ROLE regress_csp_rls_sales;
SELECT csp.purchase(:'cust_x', 'M365', 5) AS sub_x \gset
SELECT csp.change_quantity(:'sub_x', 7);
SET search_path = regress_evil, public, pg_catalog;
SELECT csp.purchase(:'cust_y', 'M365', 5) AS sub_y \gset
SELECT csp.change_quantity(:'sub_y', 7);
RESET search_path;
RESET ROLE;
SELECT charge_type, quantity, amount, charge_start, charge_end
  FROM csp.line_items WHERE customer_id = :'cust_y' ORDER BY charge_id;
SELECT (SELECT array_agg((charge_type, quantity, amount, charge_start, charge_end) ORDER BY charge_id)
          FROM csp.line_items WHERE customer_id = :'cust_x')
     = (SELECT array_agg((charge_type, quantity, amount, charge_start, charge_end) ORDER BY charge_id)
          FROM csp.line_items WHERE customer_id = :'cust_y') AS same_lines;

-- invoicing and a payment on the hijacked search_path
SET csp.clock = '2025-02-01 00:30+00';
SET search_path = regress_evil, public, pg_catalog;
SET ROLE regress_csp_rls_admin;
SELECT csp.run_cycle_charges() AS cycle_charges;
SELECT csp.run_invoicing() AS invoices_made;
RESET ROLE;
RESET search_path;
SELECT invoice_number AS main_invoice, total AS main_total FROM csp.billing_overview WHERE billing_profile_id = :main \gset
SELECT invoice_number AS other_invoice FROM csp.billing_overview WHERE billing_profile_id = :other \gset
SELECT billing_profile_id = :main AS main, total, status FROM csp.billing_overview ORDER BY invoice_number;
SELECT sum(amount) = :main_total AS total_is_lines FROM csp.invoice_lines WHERE invoice_number = :'main_invoice';

-- csp_billing_admin: payments yes (on the hijacked search_path too), partners no
SELECT jsonb_build_array(jsonb_build_object('invoice', :'main_invoice', 'amount', 100.00)) AS remittance \gset
SET ROLE regress_csp_rls_billing;
SET search_path = regress_evil, public, pg_catalog;
SELECT csp.record_payment(:main, 100.00, 'EUR', remittance => :'remittance') IS NOT NULL AS recorded;
RESET search_path;
SELECT csp.create_partner('P9', 'Nope', 'direct_bill', 'NL');
\echo :LAST_ERROR_SQLSTATE
-- a group role holding no profile role sees every profile
SELECT count(DISTINCT billing_profile_id) AS profiles_seen FROM csp.billing_overview;
RESET ROLE;
SELECT invoice_number = :'main_invoice' AS main, paid, status FROM csp.billing_overview ORDER BY invoice_number;
-- nothing was hijacked: the tables stay empty (every call would have raised)
SELECT (SELECT count(*) FROM public.charge) + (SELECT count(*) FROM public.subscription)
     + (SELECT count(*) FROM public.invoice) + (SELECT count(*) FROM public.payment)
     + (SELECT count(*) FROM regress_evil.charge) + (SELECT count(*) FROM regress_evil.subscription)
     + (SELECT count(*) FROM regress_evil.invoice) + (SELECT count(*) FROM regress_evil.payment)
       AS rows_in_hijack_tables;

------------------------------------------------------------------------------
-- A profile reader sees only its profile, and cannot pay
------------------------------------------------------------------------------
SET ROLE regress_csp_rls_preader;
SELECT billing_profile_id = :main AS main, invoice_number = :'main_invoice' AS main_invoice, status
  FROM csp.billing_overview;
SELECT billing_profile_id = :main AS main, balance FROM csp.account_balance;
SELECT count(*) AS lines, bool_and(billing_profile_id = :main) AS all_main FROM csp.line_items;
SELECT count(*) AS lines, bool_and(billing_profile_id = :main) AS all_main FROM csp.invoice_lines;
SELECT count(*) AS sections, bool_and(billing_profile_id = :main) AS all_main FROM csp.invoice_section_totals;
SELECT count(*) AS allocations FROM csp.payment_allocation;
-- the tables beneath are scoped the same way
SELECT count(*) AS other_invoices FROM csp.invoice WHERE billing_profile_id = :other;
SELECT count(*) AS other_charges FROM csp.charge WHERE billing_profile_id = :other;
SELECT csp.record_payment(:main, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
-- issue 12 item 3: its own profile's subscriptions only; no direct writes
SELECT count(*) > 0 AS subscriptions, bool_and(billing_profile_id = :main) AS all_main
  FROM csp.subscription;
DELETE FROM csp.invoice;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- An invoice manager records and allocates on its profile, not another's
------------------------------------------------------------------------------
SET ROLE regress_csp_rls_imgr;
SELECT csp.record_payment(:main, 50, 'EUR', reference => 'imgr') AS imgr_payment \gset
SELECT payment_id = :imgr_payment AS mine, unallocated FROM csp.unallocated_payments;
SELECT csp.allocate_payment(:imgr_payment, :'main_invoice', 50);
SELECT invoice_number = :'main_invoice' AS main, paid, amount_due FROM csp.billing_overview;
SELECT csp.record_payment(:other, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS other_payments FROM csp.payment WHERE billing_profile_id = :other;
-- R1.4: an invoice manager pays, but credit notes and void and rebill need owner or contributor
SELECT csp.apply_credit_note(:main, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.void_and_rebill(:'main_invoice');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- ... which a contributor of the profile may do
SET ROLE regress_csp_rls_admin;
SELECT csp.grant_profile_role(:main, 'regress_csp_rls_imgr', 'contributor');
RESET ROLE;
SET ROLE regress_csp_rls_imgr;
SELECT csp.apply_credit_note(:main, 10, 'EUR') IS NOT NULL AS credited;
SELECT csp.void_and_rebill(:'other_invoice');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a payment on the other profile, which the invoice manager may not allocate
SET ROLE regress_csp_rls_billing;
SELECT csp.record_payment(:other, 10, 'EUR') AS other_payment \gset
RESET ROLE;
SET ROLE regress_csp_rls_imgr;
SELECT csp.allocate_payment(:other_payment, :'other_invoice', 10);
\echo :LAST_ERROR_SQLSTATE
-- issue 12 item 9: its own payment named against the other profile's
-- invoice is NC404, the answer for an invoice that does not exist (NC015
-- told it that the invoice exists); the messages are the same
SELECT csp.record_payment(:main, 5, 'EUR') AS imgr_payment_2 \gset
SELECT csp.allocate_payment(:imgr_payment_2, :'other_invoice', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 5, 'EUR', remittance => jsonb_build_array(:'other_invoice'));
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:imgr_payment_2, 'G999999999', 5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a billing admin sees every profile: for it the invoice exists, NC015
SET ROLE regress_csp_rls_billing;
SELECT csp.allocate_payment(:imgr_payment_2, :'other_invoice', 5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS other_allocations FROM csp.payment_allocation a
  JOIN csp.payment p USING (billing_account_id, payment_id) WHERE p.billing_profile_id = :other;

------------------------------------------------------------------------------
-- Revoking: the last profile role takes this database's USAGE grant back;
-- csp_profile_member stays (issue 12 item 8: another database may rely on
-- it, and alone it opens nothing)
------------------------------------------------------------------------------
SET ROLE regress_csp_rls_admin;
SELECT csp.revoke_profile_role(:main, 'regress_csp_rls_imgr', 'reader');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.revoke_profile_role(:main, 'regress_csp_rls_imgr', 'invoice_manager');
SELECT csp.revoke_profile_role(:main, 'regress_csp_rls_imgr', 'contributor');
SELECT csp.revoke_profile_role(:main, 'regress_csp_rls_preader', 'reader');
RESET ROLE;
SELECT count(*) AS profile_roles FROM csp.billing_profile_role;
SELECT count(*) AS profile_members FROM pg_auth_members WHERE roleid = 'csp_profile_member'::regrole;
SELECT has_schema_privilege('regress_csp_rls_preader', 'csp', 'USAGE') AS preader_usage,
       has_schema_privilege('regress_csp_rls_imgr', 'csp', 'USAGE') AS imgr_usage;
SET ROLE regress_csp_rls_preader;
SELECT count(*) FROM csp.billing_overview;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- Clean up the cluster-wide roles
------------------------------------------------------------------------------
RESET csp.clock;
SET client_min_messages = warning;
DROP SCHEMA regress_evil CASCADE;
DROP OWNED BY regress_csp_rls_hijacker CASCADE;
RESET client_min_messages;
DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_rls_admin, regress_csp_rls_agent, regress_csp_rls_sales,
    regress_csp_rls_helpdesk, regress_csp_rls_billing, regress_csp_rls_reader,
    regress_csp_rls_preader, regress_csp_rls_imgr, regress_csp_rls_hijacker;
