/*
 * csp_billing 0.1.0 -> 0.2.0 upgrade script.
 *
 * Every object that sql/csp_billing.sql (the 0.2.0 install script) adds or
 * changes relative to 0.1.0 is added or changed here too, so that
 * ALTER EXTENSION csp_billing UPDATE gives the same database as a fresh
 * install (test/t/004_upgrade_path.pl checks that).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION csp_billing UPDATE TO '0.2.0'" to load this file. \quit

-- csp_profile_member joins the group roles (src/roles.c)
SELECT csp.ensure_group_roles();

------------------------------------------------------------------------------
-- Billing-profile roles and row-level security (API.md "Roles")
------------------------------------------------------------------------------
-- Who holds which role on a billing profile.  A role holding any of them is
-- limited to those profiles; it is also made a member of csp_profile_member,
-- the group role that gives what reading and paying on a profile needs.
CREATE TABLE csp.billing_profile_role (
    billing_account_id  bigint      NOT NULL,
    billing_profile_id  bigint      NOT NULL,
    member              name        NOT NULL,
    profile_role        text        NOT NULL
                                    CHECK (profile_role IN ('owner', 'contributor', 'reader', 'invoice_manager')),
    granted_by          name        NOT NULL,
    granted_at          timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, billing_profile_id, member, profile_role),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile
);
CREATE INDEX ON csp.billing_profile_role (billing_profile_id);
CREATE INDEX ON csp.billing_profile_role (member);
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.billing_profile_role
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('member');
COMMENT ON TABLE csp.billing_profile_role IS
    'Billing-profile roles (owner, contributor, reader, invoice_manager); written by csp.grant_profile_role and csp.revoke_profile_role';
SELECT pg_catalog.pg_extension_config_dump('csp.billing_profile_role', '');

CREATE FUNCTION csp.grant_profile_role(billing_profile_id bigint, member name, profile_role text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_grant_profile_role' LANGUAGE C
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.grant_profile_role(bigint, name, text) IS
    'Gives member the owner, contributor, reader or invoice_manager role on a billing profile (account owners only); member then sees only its profiles';
CREATE FUNCTION csp.revoke_profile_role(billing_profile_id bigint, member name, profile_role text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_revoke_profile_role' LANGUAGE C
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.revoke_profile_role(bigint, name, text) IS
    'Takes a billing-profile role back; with its last one the member leaves csp_profile_member';

-- The row-level security test, run as the querying role: members of the
-- group roles holding no profile role see every profile; a role holding a
-- profile role sees the profiles it holds one on.  The body is parsed here,
-- so the caller's search_path cannot change it.
CREATE FUNCTION csp.visible_profile(billing_profile_id bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN (EXISTS (SELECT 1 FROM pg_catalog.pg_roles g
                 WHERE g.rolname IN ('csp_global_admin', 'csp_admin_agent', 'csp_sales_agent',
                                     'csp_helpdesk_agent', 'csp_billing_admin', 'csp_reader')
                   AND pg_catalog.pg_has_role(CURRENT_USER, g.oid, 'MEMBER'))
        AND NOT EXISTS (SELECT 1 FROM csp.billing_profile_role r
                          JOIN pg_catalog.pg_roles ro ON ro.rolname = r.member
                         WHERE pg_catalog.pg_has_role(CURRENT_USER, ro.oid, 'MEMBER')))
    OR EXISTS (SELECT 1 FROM csp.billing_profile_role r
                 JOIN pg_catalog.pg_roles ro ON ro.rolname = r.member
                WHERE r.billing_profile_id = visible_profile.billing_profile_id
                  AND pg_catalog.pg_has_role(CURRENT_USER, ro.oid, 'MEMBER'));
COMMENT ON FUNCTION csp.visible_profile(bigint) IS
    'Row-level security: may the current role see this billing profile''s money?';

-- Reading only: no table has a policy for writing, and only the writing
-- functions (owned by the superuser that installed the extension) write.
ALTER TABLE csp.invoice ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.payment ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.payment_allocation ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.charge ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.invoice_section ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_profile ON csp.invoice FOR SELECT USING (csp.visible_profile(billing_profile_id));
CREATE POLICY by_profile ON csp.payment FOR SELECT USING (csp.visible_profile(billing_profile_id));
CREATE POLICY by_profile ON csp.payment_allocation FOR SELECT
    USING (EXISTS (SELECT 1 FROM csp.payment p
                    WHERE p.billing_account_id = payment_allocation.billing_account_id
                      AND p.payment_id = payment_allocation.payment_id));
CREATE POLICY by_profile ON csp.charge FOR SELECT USING (csp.visible_profile(billing_profile_id));
CREATE POLICY by_profile ON csp.invoice_section FOR SELECT USING (csp.visible_profile(billing_profile_id));

-- a fresh install revokes PUBLIC's defaults on the whole schema
REVOKE ALL ON csp.billing_profile_role FROM PUBLIC;
REVOKE ALL ON FUNCTION csp.grant_profile_role(bigint, name, text), csp.revoke_profile_role(bigint, name, text),
    csp.visible_profile(bigint) FROM PUBLIC;
GRANT SELECT ON csp.billing_profile_role TO csp_global_admin, csp_admin_agent, csp_sales_agent,
                                            csp_helpdesk_agent, csp_billing_admin, csp_reader;

-- Billing-profile roles: the row-level security test is run as the querying
-- role; csp_profile_member reads the money views (scoped by row-level
-- security) and may call the money-writing functions, which refuse a
-- profile the caller holds no writing role on (R1.4: payments need owner,
-- contributor or invoice_manager; credit notes and void and rebill owner
-- or contributor).
GRANT EXECUTE ON FUNCTION csp.grant_profile_role(bigint, name, text),
    csp.revoke_profile_role(bigint, name, text)
    TO csp_global_admin;
GRANT EXECUTE ON FUNCTION csp.visible_profile(bigint)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;
GRANT USAGE ON SCHEMA csp TO csp_profile_member;
GRANT SELECT ON csp.invoice, csp.payment, csp.payment_allocation, csp.charge, csp.invoice_section,
    csp.billing_profile_role,
    csp.billing_overview, csp.account_balance, csp.unallocated_payments, csp.invoice_lines,
    csp.invoice_section_totals, csp.line_items, csp.unbilled_charges
    TO csp_profile_member;
GRANT SELECT (customer_id, legal_name) ON csp.customer TO csp_profile_member;
GRANT EXECUTE ON FUNCTION csp.now(), csp.round_money(numeric, text), csp.utc_date(timestamptz),
    csp.record_payment(bigint, numeric, text, timestamptz, jsonb, text, text),
    csp.allocate_payment(bigint, text, numeric),
    csp.apply_credit_note(bigint, numeric, text, jsonb, text),
    csp.void_and_rebill(text, text, jsonb)
    TO csp_profile_member;

------------------------------------------------------------------------------
-- Buffered audit for the tables the jobs write in bulk (issue 7): the same
-- audit rows, written with one INSERT when the statement ends (src/audit.c)
------------------------------------------------------------------------------
CREATE FUNCTION csp.audit_buffer_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_audit_buffer_trigger' LANGUAGE C;
REVOKE ALL ON FUNCTION csp.audit_buffer_trigger() FROM PUBLIC;
DROP TRIGGER audit ON csp.subscription;
DROP TRIGGER audit ON csp.seat_lot;
DROP TRIGGER audit ON csp.invoice;
-- the tables the jobs write in bulk: the same audit rows, buffered per row and
-- written with one INSERT when the statement ends (src/audit.c)
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.subscription
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('subscription_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.seat_lot
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('lot_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.invoice
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('invoice_number');

------------------------------------------------------------------------------
-- The jobs' due indexes in their keyset order (date, id) (issue 7): a job's
-- next batch starts after the last row it took instead of walking back over
-- the rows it has already done.
------------------------------------------------------------------------------
DROP INDEX csp.subscription_live_by_end;
CREATE INDEX subscription_live_by_end ON csp.subscription (term_end, subscription_id)
    WHERE status IN ('active', 'suspended');
DROP INDEX csp.subscription_charge_due;
CREATE INDEX subscription_charge_due ON csp.subscription (next_charge_date, subscription_id)
    WHERE next_charge_date IS NOT NULL AND status IN ('active', 'suspended');

------------------------------------------------------------------------------
-- The money views read today's date once per query, not once per row
-- (issue 7: (SELECT csp.utc_date(csp.now())) is an InitPlan)
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW csp.billing_overview WITH (security_invoker = true) AS
    SELECT i.billing_account_id, i.billing_profile_id, i.invoice_number, i.document_type,
           i.replaces_invoice_number, i.period_start, i.period_end, i.invoice_date, i.published_on,
           i.due_date, i.currency, i.total, csp.round_money(i.paid, i.currency) AS paid,
           csp.round_money(CASE WHEN v.void THEN 0 ELSE GREATEST(i.total - i.paid, 0) END, i.currency)
               AS amount_due,
           CASE WHEN v.void THEN 'void'
                WHEN i.paid >= i.total THEN 'paid'
                WHEN i.due_date < (SELECT csp.utc_date(csp.now())) THEN 'overdue'
                WHEN i.paid > 0 THEN 'partially_paid'
                ELSE 'unpaid' END AS status
      FROM csp.invoice i
     CROSS JOIN LATERAL (SELECT i.document_type = 'void_note' OR i.replaced_by IS NOT NULL AS void) v;
CREATE OR REPLACE VIEW csp.account_balance WITH (security_invoker = true) AS
    WITH documents AS (
        SELECT billing_account_id, billing_profile_id, currency,
               sum(total) AS invoiced, sum(paid) AS paid,
               sum(CASE WHEN due_date < (SELECT csp.utc_date(csp.now()))
                        THEN GREATEST(total - paid, 0) ELSE 0 END) AS overdue
          FROM csp.invoice
         WHERE document_type IN ('invoice', 'rebill') AND replaced_by IS NULL
         GROUP BY billing_account_id, billing_profile_id, currency
    ), payments AS (
        SELECT billing_account_id, billing_profile_id, currency, sum(amount - allocated) AS unallocated
          FROM csp.payment
         GROUP BY billing_account_id, billing_profile_id, currency
    )
    SELECT billing_account_id, billing_profile_id, currency,
           csp.round_money(coalesce(d.invoiced, 0), currency) AS invoiced,
           csp.round_money(coalesce(d.paid, 0), currency) AS paid,
           csp.round_money(coalesce(d.invoiced, 0) - coalesce(d.paid, 0), currency) AS balance,
           csp.round_money(coalesce(d.overdue, 0), currency) AS overdue,
           csp.round_money(coalesce(p.unallocated, 0), currency) AS unallocated
      FROM documents d
      FULL JOIN payments p USING (billing_account_id, billing_profile_id, currency);
