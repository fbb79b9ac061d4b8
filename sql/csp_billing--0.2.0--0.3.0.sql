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
-- The caller's identity (src/entry.c): API functions are no longer SECURITY
-- DEFINER.  Each captures the caller at entry (GetUserId()) and switches to
-- its owner's rights itself, so that checks and the audit log name the role
-- PostgreSQL says is executing; writes are refused inside security-restricted
-- operations and SECURITY DEFINER functions.  csp_time_admin joins the group
-- roles: only its members (and superusers) write under a pinned clock.
------------------------------------------------------------------------------
SELECT csp.ensure_group_roles();

DO $upgrade$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure
               FROM pg_catalog.pg_proc p
               JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
               JOIN pg_catalog.pg_language l ON l.oid = p.prolang
              WHERE n.nspname = 'csp' AND p.prosecdef AND l.lanname = 'c'
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY INVOKER', f);
    END LOOP;
END
$upgrade$;

------------------------------------------------------------------------------
-- Trusted time (README "Time"): both instants recorded, history only moves
-- forward (NC016), due items posted at the instant they fell due.
------------------------------------------------------------------------------
-- The real time of every audit row and ledger line, beside its business
-- instant.  Rows written before 0.3.0 get the time of the upgrade: they were
-- written no later than that.
ALTER TABLE csp.audit_log ADD COLUMN written_at timestamptz NOT NULL DEFAULT transaction_timestamp();
ALTER TABLE csp.charge ADD COLUMN written_at timestamptz NOT NULL DEFAULT transaction_timestamp();

-- The latest event of each subscription and profile, from the history that
-- is already recorded: the latest audited change or posted line.
ALTER TABLE csp.billing_profile DISABLE TRIGGER USER;
ALTER TABLE csp.subscription DISABLE TRIGGER USER;
ALTER TABLE csp.subscription ADD COLUMN last_event_at timestamptz;
UPDATE csp.subscription s
   SET last_event_at = GREATEST(s.purchased_at, s.term_started_at,
           (SELECT max(a.at) FROM csp.audit_log a
             WHERE a.object_type = 'subscription' AND a.object_id = s.subscription_id::text),
           (SELECT max(c.posted_at) FROM csp.charge c
             WHERE c.billing_account_id = s.billing_account_id AND c.subscription_id = s.subscription_id));
ALTER TABLE csp.subscription ALTER COLUMN last_event_at SET NOT NULL,
                             ALTER COLUMN last_event_at SET DEFAULT csp.now();
ALTER TABLE csp.billing_profile ADD COLUMN last_event_at timestamptz;
UPDATE csp.billing_profile p
   SET last_event_at = GREATEST(p.created_at,
           (SELECT max(GREATEST(y.received_at, y.recorded_at)) FROM csp.payment y
             WHERE y.billing_account_id = p.billing_account_id AND y.billing_profile_id = p.billing_profile_id),
           (SELECT max(i.created_at) FROM csp.invoice i
             WHERE i.billing_account_id = p.billing_account_id AND i.billing_profile_id = p.billing_profile_id
               AND i.document_type <> 'invoice'));
ALTER TABLE csp.billing_profile ALTER COLUMN last_event_at SET NOT NULL,
                                ALTER COLUMN last_event_at SET DEFAULT csp.now();
ALTER TABLE csp.subscription ENABLE TRIGGER USER;
ALTER TABLE csp.billing_profile ENABLE TRIGGER USER;

-- csp.line_items shows the real time of each line (written_at)
CREATE OR REPLACE VIEW csp.line_items WITH (security_invoker = true) AS
    SELECT c.invoice_number, c.billing_profile_id, c.invoice_section_id, c.partner_id, c.customer_id,
           cu.legal_name AS customer_name, c.subscription_id, c.sku_id, c.charge_type,
           c.charge_start, c.charge_end, c.posted_at, c.quantity, c.unit_price, c.days_charged,
           c.days_in_cycle, c.amount, c.currency, c.pricing_currency, c.fx_rate, c.reference_id,
           c.charge_id, c.written_at
      FROM csp.charge c
      JOIN csp.customer cu ON cu.customer_id = c.customer_id;
COMMENT ON VIEW csp.line_items IS 'The charge ledger in reconciliation-file form (R11, R13.2)';
COMMENT ON COLUMN csp.line_items.invoice_number IS 'Invoice the line is billed on; NULL while unbilled';
COMMENT ON COLUMN csp.line_items.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.line_items.invoice_section_id IS 'Invoice section the line is grouped under';
COMMENT ON COLUMN csp.line_items.partner_id IS 'Partner of record';
COMMENT ON COLUMN csp.line_items.customer_id IS 'Customer (R13.2: reconciliation lines carry the CustomerId)';
COMMENT ON COLUMN csp.line_items.customer_name IS 'Customer legal name';
COMMENT ON COLUMN csp.line_items.subscription_id IS 'Subscription charged';
COMMENT ON COLUMN csp.line_items.sku_id IS 'Product SKU';
COMMENT ON COLUMN csp.line_items.charge_type IS 'new, renew, cycleCharge, addQuantity, removeQuantity, moveQuantity, cancelImmediate, convert, changeBillingPlan, customerCredit, extendTerm or usage';
COMMENT ON COLUMN csp.line_items.charge_start IS 'First day charged (UTC date)';
COMMENT ON COLUMN csp.line_items.charge_end IS 'Last day charged, inclusive';
COMMENT ON COLUMN csp.line_items.posted_at IS 'Business instant of the line: csp.now() of the action, or the instant a job item fell due (a cycle''s start, the day after a term''s end)';
COMMENT ON COLUMN csp.line_items.quantity IS 'Seats charged; the signed delta for quantity changes and refunds';
COMMENT ON COLUMN csp.line_items.unit_price IS 'Price per seat per full billing cycle, in the pricing currency';
COMMENT ON COLUMN csp.line_items.days_charged IS 'Days charged: charge_end - charge_start + 1';
COMMENT ON COLUMN csp.line_items.days_in_cycle IS 'Days in the full billing cycle: the proration divisor';
COMMENT ON COLUMN csp.line_items.amount IS 'round(unit_price * fx_rate * quantity * days_charged / days_in_cycle) to the currency''s minor unit';
COMMENT ON COLUMN csp.line_items.currency IS 'Billing currency (the profile''s)';
COMMENT ON COLUMN csp.line_items.pricing_currency IS 'Currency of unit_price (USD for USD-priced products, R12.2)';
COMMENT ON COLUMN csp.line_items.fx_rate IS 'Pricing to billing currency rate of the posting month (R12.3); 1 when the same';
COMMENT ON COLUMN csp.line_items.reference_id IS 'Shared by the lines of one action';
COMMENT ON COLUMN csp.line_items.charge_id IS 'Ledger line id';
COMMENT ON COLUMN csp.line_items.written_at IS 'Real time the line was written (transaction_timestamp()); differs from posted_at for back-fills and for due items posted by a late job';

CREATE OR REPLACE VIEW csp.unbilled_charges WITH (security_invoker = true) AS
    SELECT * FROM csp.line_items WHERE invoice_number IS NULL;
