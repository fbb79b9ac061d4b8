--
-- The caller's identity (README "Roles"): the engine checks and audits the
-- role PostgreSQL says is executing when a call starts, and moves no money
-- inside a security-restricted operation or a SECURITY DEFINER function
-- (API.md "Roles", R1.4, R14.7).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\set VERBOSITY terse

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_id_mgr, regress_csp_id_admin;
RESET client_min_messages;
-- an invoice manager of one profile, refused credit notes (R1.4)
CREATE ROLE regress_csp_id_mgr LOGIN;
CREATE ROLE regress_csp_id_admin LOGIN IN ROLE csp_global_admin;
GRANT CREATE ON SCHEMA public TO regress_csp_id_mgr;

SELECT csp.create_partner('id', 'Identity Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('Identity BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Identity NL') AS profile \gset
SELECT csp.link_partner_billing('id', :account, :profile, accept_mca => true);
SELECT csp.grant_profile_role(:profile, 'regress_csp_id_mgr', 'invoice_manager');
SELECT csp.add_customer('id', 'Ident BV', 'NL', mca_attested => true) AS cust \gset
SELECT csp.set_customer_verification(:'cust', 'approved');
SELECT csp.add_product('ID-E3', 'Identity E3');
SELECT csp.set_price('ID-E3', 'P1Y', 'annual', 'EUR', 700.00);
SELECT csp.purchase(:'cust', 'ID-E3', 1, billing_frequency => 'annual') AS sub \gset
SELECT :profile = 1 AS profile_is_1;

-- 42501 negative (R1.4): the invoice manager may not issue credit notes itself
SET ROLE regress_csp_id_mgr;
SELECT csp.apply_credit_note(:profile, 700, 'EUR');
\echo :LAST_ERROR_SQLSTATE

-- ... nor through an index expression on its own table, evaluated later by
-- a superuser's ANALYZE as the table's owner (a security-restricted
-- operation): the engine refuses, and nothing is written
CREATE TABLE public.trap (x int);
INSERT INTO public.trap VALUES (1), (2), (3);
CREATE FUNCTION public.trap_fn(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_setting('id.armed', true) = 'on' THEN
        PERFORM csp.apply_credit_note(1, 700, 'EUR');
    END IF;
    RETURN x;
END $$;
CREATE INDEX trap_idx ON public.trap (public.trap_fn(x));
RESET ROLE;
SET id.armed = on;
ANALYZE public.trap;
\echo :LAST_ERROR_SQLSTATE
-- CREATE INDEX evaluates the expression as the owner too: refused
CREATE INDEX trap_idx2 ON public.trap ((public.trap_fn(x) + 1));
\echo :LAST_ERROR_SQLSTATE
RESET id.armed;
SELECT count(*) AS credit_notes FROM csp.payment WHERE kind = 'credit_note';

-- 42501 negative: a SECURITY DEFINER wrapper borrows its owner's identity;
-- the engine moves no money under it, even for a superuser's wrapper
CREATE FUNCTION public.definer_credit() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT csp.apply_credit_note(1, 700, 'EUR') $$;
GRANT EXECUTE ON FUNCTION public.definer_credit() TO regress_csp_id_mgr;
SET ROLE regress_csp_id_mgr;
SELECT public.definer_credit();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT public.definer_credit();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS credit_notes FROM csp.payment WHERE kind = 'credit_note';

-- positive: called directly, the checked identity is the caller's, and the
-- audit log names it (not the session user)
SET ROLE regress_csp_id_admin;
SELECT csp.create_billing_account('Admin Account', 'NL', 'EUR') IS NOT NULL AS created;
RESET ROLE;
SELECT actor, action FROM csp.audit_log
 WHERE object_type = 'billing_account' AND after->>'name' = 'Admin Account';
-- the creator owns its new account (R1.1), by the checked identity
SELECT member, account_role FROM csp.billing_account_role r
  JOIN csp.billing_account a USING (billing_account_id) WHERE a.name = 'Admin Account';
-- the functions are not SECURITY DEFINER: each captures its caller itself
SELECT count(*) AS security_definer_functions
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'csp' AND p.prosecdef;

SELECT csp.revoke_profile_role(:profile, 'regress_csp_id_mgr', 'invoice_manager');
DROP TABLE public.trap;
DROP FUNCTION public.trap_fn(int), public.definer_credit();
DROP EXTENSION csp_billing CASCADE;
REVOKE CREATE ON SCHEMA public FROM regress_csp_id_mgr;
DROP ROLE regress_csp_id_mgr, regress_csp_id_admin;
