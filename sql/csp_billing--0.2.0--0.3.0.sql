/*
 * csp_billing 0.2.0 -> 0.3.0 upgrade script.
 *
 * Every object that sql/csp_billing.sql (the 0.3.0 install script) adds or
 * changes relative to 0.2.0 is added or changed here too, so that
 * ALTER EXTENSION csp_billing UPDATE gives the same database as a fresh
 * install (test/t/004_upgrade_path.pl checks that).  0.2.0's install script
 * (sql/csp_billing--0.2.0.sql) is frozen: it is never edited again.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION csp_billing UPDATE TO '0.3.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Issue 12 items 3, 4, 5, 8: one row-level security rule everywhere, profile
-- roles keyed by role OID, per-database access for profile-role holders
------------------------------------------------------------------------------
-- The one rule (first: the old csp.visible_profile read member by name)
CREATE FUNCTION csp.profile_scope() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'csp_profile_scope' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION csp.profile_scope() IS
    'Row-level security: NULL when the current role sees every billing profile, else the profiles it may see (issue 12: the one rule)';
CREATE OR REPLACE FUNCTION csp.visible_profile(billing_profile_id bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN (SELECT s.scope IS NULL OR visible_profile.billing_profile_id = ANY (s.scope)
          FROM csp.profile_scope() AS s (scope));
-- Item 5: member becomes a regrole (the role's OID).  Rows naming a role
-- that no longer exists gave nothing and are dropped.
DELETE FROM csp.billing_profile_role r
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles ro WHERE ro.rolname = r.member);
ALTER TABLE csp.billing_profile_role
    ALTER COLUMN member TYPE regrole USING (member::text::regrole);
COMMENT ON TABLE csp.billing_profile_role IS
    'Billing-profile roles (owner, contributor, reader, invoice_manager); written by csp.grant_profile_role and csp.revoke_profile_role';

-- Item 8: the holders get USAGE on the schema in this database (what makes
-- their rows live); csp_profile_member no longer has it.
DO $$
DECLARE
    holder regrole;
BEGIN
    FOR holder IN SELECT DISTINCT member FROM csp.billing_profile_role LOOP
        EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA csp TO %s', holder);
    END LOOP;
END
$$;
REVOKE USAGE ON SCHEMA csp FROM csp_profile_member;
COMMENT ON FUNCTION csp.revoke_profile_role(bigint, name, text) IS
    'Takes a billing-profile role back; with its last one in this database the member loses this database''s USAGE on schema csp';

REVOKE ALL ON FUNCTION csp.profile_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION csp.profile_scope()
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;

DROP POLICY by_profile ON csp.invoice;
DROP POLICY by_profile ON csp.payment;
DROP POLICY by_profile ON csp.payment_allocation;
DROP POLICY by_profile ON csp.charge;
DROP POLICY by_profile ON csp.invoice_section;
ALTER TABLE csp.subscription ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.seat_lot ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.billing_profile ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.billing_profile_role ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.customer ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_profile ON csp.invoice FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.payment FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.payment_allocation FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR EXISTS (SELECT 1 FROM csp.payment p
                       WHERE p.billing_account_id = payment_allocation.billing_account_id
                         AND p.payment_id = payment_allocation.payment_id));
CREATE POLICY by_profile ON csp.charge FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.invoice_section FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.subscription FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.seat_lot FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR EXISTS (SELECT 1 FROM csp.subscription s
                       WHERE s.billing_account_id = seat_lot.billing_account_id
                         AND s.subscription_id = seat_lot.subscription_id));
CREATE POLICY by_profile ON csp.billing_profile FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.billing_profile_role FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.customer FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR customer_id IN (SELECT s.customer_id FROM csp.subscription s
                               WHERE s.billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[])));
CREATE POLICY by_profile ON csp.audit_log FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR (coalesce(after ->> 'billing_profile_id', before ->> 'billing_profile_id'))::bigint
              = ANY ((SELECT csp.profile_scope())::bigint[]));

GRANT SELECT ON csp.subscription, csp.seat_lot, csp.subscriptions TO csp_profile_member;
