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
COMMENT ON COLUMN csp.line_items.amount IS 'round(unit_price * fx_rate * quantity * days_charged / days_in_cycle) to the currency''s minor unit; a refund gives back its line''s part after the days used, as a difference of rounded amounts: within one minor unit of the formula, never more than was charged';
COMMENT ON COLUMN csp.line_items.currency IS 'Billing currency (the profile''s)';
COMMENT ON COLUMN csp.line_items.pricing_currency IS 'Currency of unit_price (USD for USD-priced products, R12.2)';
COMMENT ON COLUMN csp.line_items.fx_rate IS 'Pricing to billing currency rate of the posting month (R12.3); 1 when the same';
COMMENT ON COLUMN csp.line_items.reference_id IS 'Shared by the lines of one action';
COMMENT ON COLUMN csp.line_items.charge_id IS 'Ledger line id';
COMMENT ON COLUMN csp.line_items.written_at IS 'Real time the line was written (transaction_timestamp()); differs from posted_at for back-fills and for due items posted by a late job';

CREATE OR REPLACE VIEW csp.unbilled_charges WITH (security_invoker = true) AS
    SELECT * FROM csp.line_items WHERE invoice_number IS NULL;

-- issue 14: reconciliation files (src/recon.c)
------------------------------------------------------------------------------
-- Reconciliation files in Partner Center's vocabulary (issue 14, R13.2)
------------------------------------------------------------------------------
-- Columns spelled and ordered as Partner Center's files, so a finance
-- team's spreadsheets read them unchanged:
--   COPY (SELECT * FROM csp.recon_invoice_line_items('G000000001'))
--     TO STDOUT WITH (FORMAT csv, HEADER)
-- Columns the engine does not model are NULL (README "Reconciliation
-- files").  They run with their owner's rights (src/entry.c): a finance user
-- limited to one billing profile cannot read customers, products or
-- subscriptions; src/recon.c applies csp.visible_profile as the caller, and a document or profile the
-- caller may not see is NC404.
CREATE FUNCTION csp.recon_invoice_line_items(invoice_number text)
    RETURNS TABLE ("PartnerId" text, "CustomerId" uuid, "CustomerName" text, "CustomerDomainName" text,
                   "CustomerCountry" text, "InvoiceNumber" text, "MpnId" text, "ResellerMpnId" text,
                   "OrderId" text, "OrderDate" date, "ProductId" text, "SkuId" text,
                   "AvailabilityId" text, "SkuName" text, "ProductName" text, "ChargeType" text,
                   "UnitPrice" numeric, "Quantity" numeric, "Subtotal" numeric, "TaxTotal" numeric,
                   "Total" numeric, "Currency" text, "PriceAdjustmentDescription" text,
                   "PublisherName" text, "PublisherId" text, "SubscriptionDescription" text,
                   "SubscriptionId" uuid, "ChargeStartDate" date, "ChargeEndDate" date,
                   "TermAndBillingCycle" text, "EffectiveUnitPrice" numeric, "UnitType" text,
                   "AlternateId" text, "BillableQuantity" numeric, "BillingFrequency" text,
                   "PricingCurrency" text, "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date,
                   "MeterDescription" text, "ReservationOrderId" text, "CreditReasonCode" text,
                   "SubscriptionStartDate" date, "SubscriptionEndDate" date, "ReferenceId" uuid,
                   "ProductQualifiers" text, "PromotionId" text)
    AS 'MODULE_PATHNAME', 'csp_recon_invoice_line_items' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_invoice_line_items(text) IS
    'Partner Center''s BilledOneTimeInvoiceLineItems file of one document (invoice, void note or rebill): one row per line, Total sums to the document''s total; unmodelled columns empty';

CREATE FUNCTION csp.recon_unbilled_line_items(billing_profile_id bigint,
                                              on_date date DEFAULT csp.utc_date(csp.now()))
    RETURNS TABLE ("PartnerId" text, "CustomerId" uuid, "CustomerName" text, "CustomerDomainName" text,
                   "CustomerCountry" text, "InvoiceNumber" text, "MpnId" text, "ResellerMpnId" text,
                   "OrderId" text, "OrderDate" date, "ProductId" text, "SkuId" text,
                   "AvailabilityId" text, "SkuName" text, "ProductName" text, "ChargeType" text,
                   "UnitPrice" numeric, "Quantity" numeric, "Subtotal" numeric, "TaxTotal" numeric,
                   "Total" numeric, "Currency" text, "PriceAdjustmentDescription" text,
                   "PublisherName" text, "PublisherId" text, "SubscriptionDescription" text,
                   "SubscriptionId" uuid, "ChargeStartDate" date, "ChargeEndDate" date,
                   "TermAndBillingCycle" text, "EffectiveUnitPrice" numeric, "UnitType" text,
                   "AlternateId" text, "BillableQuantity" numeric, "BillingFrequency" text,
                   "PricingCurrency" text, "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date,
                   "MeterDescription" text, "ReservationOrderId" text, "CreditReasonCode" text,
                   "SubscriptionStartDate" date, "SubscriptionEndDate" date, "ReferenceId" uuid,
                   "ProductQualifiers" text, "PromotionId" text)
    AS 'MODULE_PATHNAME', 'csp_recon_unbilled_line_items' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_unbilled_line_items(bigint, date) IS
    'The unbilled variant of csp.recon_invoice_line_items: lines of the profile not billed yet, posted up to the end of the billing period containing on_date (default today); InvoiceNumber empty';

CREATE FUNCTION csp.recon_daily_rated_usage(invoice_number text)
    RETURNS TABLE ("PartnerId" text, "PartnerName" text, "CustomerId" uuid, "CustomerName" text,
                   "CustomerDomainName" text, "CustomerCountry" text, "MpnId" text, "Tier2MpnId" text,
                   "InvoiceNumber" text, "ProductId" text, "SkuId" text, "AvailabilityId" text,
                   "SkuName" text, "ProductName" text, "PublisherName" text, "PublisherId" text,
                   "SubscriptionDescription" text, "SubscriptionId" uuid, "ChargeStartDate" date,
                   "ChargeEndDate" date, "UsageDate" date, "MeterType" text, "MeterCategory" text,
                   "MeterId" text, "MeterSubCategory" text, "MeterName" text, "MeterRegion" text,
                   "Unit" text, "ResourceLocation" text, "ConsumedService" text, "ResourceGroup" text,
                   "ResourceURI" text, "ChargeType" text, "UnitPrice" numeric, "Quantity" numeric,
                   "UnitType" text, "BillingPreTaxTotal" numeric, "BillingCurrency" text,
                   "PricingPreTaxTotal" numeric, "PricingCurrency" text, "ServiceInfo1" text,
                   "ServiceInfo2" text, "Tags" text, "AdditionalInfo" text, "EffectiveUnitPrice" numeric,
                   "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date, "EntitlementId" text,
                   "EntitlementDescription" text, "PartnerEarnedCreditPercentage" text,
                   "CreditPercentage" text, "CreditType" text, "BenefitOrderId" text, "BenefitId" text,
                   "BenefitType" text)
    AS 'MODULE_PATHNAME', 'csp_recon_daily_rated_usage' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_daily_rated_usage(text) IS
    'Partner Center''s DailyRatedUsage file of one document: one row per usage day and meter of its pay-as-you-go lines; BillingPreTaxTotal sums to the document''s usage lines';

REVOKE ALL ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;

-- issue 14 item 5 / issue 11 item 6: daily tick, unschedule on DROP EXTENSION
------------------------------------------------------------------------------
-- pg_cron: one daily tick; DROP EXTENSION removes the jobs (issue 14 item 5,
-- issue 11 item 6; src/cron.c)
------------------------------------------------------------------------------
COMMENT ON FUNCTION csp.schedule_jobs() IS
    'Registers the pg_cron job csp_billing_daily: csp.tick() at 00:05 UTC every day (renewals, cycle charges, and invoicing of every period that has ended, R6.6, R13.1); removes the jobs of earlier versions';
COMMENT ON FUNCTION csp.unschedule_jobs() IS
    'Removes the billing jobs from pg_cron (DROP EXTENSION csp_billing does it too)';

CREATE FUNCTION csp.drop_jobs_trigger() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'csp_drop_jobs_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.drop_jobs_trigger() IS
    'Event trigger: DROP EXTENSION csp_billing unschedules the billing jobs first, so none is left behind';
REVOKE ALL ON FUNCTION csp.drop_jobs_trigger() FROM PUBLIC;
CREATE EVENT TRIGGER csp_billing_drop_jobs ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION csp.drop_jobs_trigger();

-- issue 14 item 5: comments
------------------------------------------------------------------------------
-- COMMENTs on every view column, function and table still without one
-- (issue 14 item 5; test/sql/catalog_comments.sql fails on any missing)
------------------------------------------------------------------------------
COMMENT ON COLUMN csp.partners.partner_id IS 'Partner id (MPN-like text key)';
COMMENT ON COLUMN csp.partners.name IS 'Partner name';
COMMENT ON COLUMN csp.partners.kind IS 'direct_bill, indirect_provider or indirect_reseller (R2)';
COMMENT ON COLUMN csp.partners.country IS 'ISO 3166-1 alpha-2 country of the partner';
COMMENT ON COLUMN csp.partners.status IS 'active, pending, suspended or inactive (R1.5)';
COMMENT ON COLUMN csp.partners.indirect_provider_id IS 'For an indirect reseller: its indirect provider (R2.3)';
COMMENT ON COLUMN csp.partners.billing_account_id IS 'Billing account the partner is currently linked to (R1.5), or NULL';
COMMENT ON COLUMN csp.partners.billing_profile_id IS 'Billing profile new purchases are billed to (R1.5), or NULL';
COMMENT ON COLUMN csp.partners.linked_at IS 'When the current billing link was made';
COMMENT ON COLUMN csp.billing_profiles.billing_account_id IS 'Billing account of the profile (R1.1)';
COMMENT ON COLUMN csp.billing_profiles.billing_account_name IS 'Name of the billing account';
COMMENT ON COLUMN csp.billing_profiles.billing_profile_id IS 'Billing profile id (R1.2)';
COMMENT ON COLUMN csp.billing_profiles.name IS 'Profile name';
COMMENT ON COLUMN csp.billing_profiles.currency IS 'Billing currency of the profile''s invoices (R12.1)';
COMMENT ON COLUMN csp.billing_profiles.po_number IS 'Purchase order number printed on the invoices';
COMMENT ON COLUMN csp.billing_profiles.email_invoice IS 'Invoices are sent by email';
COMMENT ON COLUMN csp.billing_profiles.bill_to IS 'Bill-to address (jsonb object) printed on the invoices';
COMMENT ON COLUMN csp.billing_profiles.billing_model IS 'nce (calendar-month periods) or legacy (anniversary-day periods), R13.1';
COMMENT ON COLUMN csp.billing_profiles.anniversary_day IS 'Legacy profiles: day of the month a billing period starts (1-28); NULL for NCE';
COMMENT ON COLUMN csp.billing_profiles.mca_accepted_at IS 'When the Microsoft Customer Agreement was accepted for the billing account (R1.5)';
COMMENT ON COLUMN csp.unbilled_charges.invoice_number IS 'Invoice the line is billed on; NULL while unbilled';
COMMENT ON COLUMN csp.unbilled_charges.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.unbilled_charges.invoice_section_id IS 'Invoice section the line is grouped under';
COMMENT ON COLUMN csp.unbilled_charges.partner_id IS 'Partner of record';
COMMENT ON COLUMN csp.unbilled_charges.customer_id IS 'Customer (R13.2: reconciliation lines carry the CustomerId)';
COMMENT ON COLUMN csp.unbilled_charges.customer_name IS 'Customer legal name';
COMMENT ON COLUMN csp.unbilled_charges.subscription_id IS 'Subscription charged';
COMMENT ON COLUMN csp.unbilled_charges.sku_id IS 'Product SKU';
COMMENT ON COLUMN csp.unbilled_charges.charge_type IS 'new, renew, cycleCharge, addQuantity, removeQuantity, moveQuantity, cancelImmediate, convert, changeBillingPlan, customerCredit, extendTerm or usage';
COMMENT ON COLUMN csp.unbilled_charges.charge_start IS 'First day charged (UTC date)';
COMMENT ON COLUMN csp.unbilled_charges.charge_end IS 'Last day charged, inclusive';
COMMENT ON COLUMN csp.unbilled_charges.posted_at IS 'When the line was posted (csp.now())';
COMMENT ON COLUMN csp.unbilled_charges.quantity IS 'Seats charged; the signed delta for quantity changes and refunds';
COMMENT ON COLUMN csp.unbilled_charges.unit_price IS 'Price per seat per full billing cycle, in the pricing currency';
COMMENT ON COLUMN csp.unbilled_charges.days_charged IS 'Days charged: charge_end - charge_start + 1';
COMMENT ON COLUMN csp.unbilled_charges.days_in_cycle IS 'Days in the full billing cycle: the proration divisor';
COMMENT ON COLUMN csp.unbilled_charges.amount IS 'round(unit_price * fx_rate * quantity * days_charged / days_in_cycle) to the currency''s minor unit';
COMMENT ON COLUMN csp.unbilled_charges.currency IS 'Billing currency (the profile''s)';
COMMENT ON COLUMN csp.unbilled_charges.pricing_currency IS 'Currency of unit_price (USD for USD-priced products, R12.2)';
COMMENT ON COLUMN csp.unbilled_charges.fx_rate IS 'Pricing to billing currency rate of the posting month (R12.3); 1 when the same';
COMMENT ON COLUMN csp.unbilled_charges.reference_id IS 'Shared by the lines of one action';
COMMENT ON COLUMN csp.unbilled_charges.charge_id IS 'Ledger line id';
COMMENT ON COLUMN csp.unbilled_charges.written_at IS 'Real time the line was written (transaction_timestamp()); differs from posted_at for back-fills and for due items posted by a late job';
COMMENT ON FUNCTION csp.add_customer(text,text,text,jsonb,text,text,text,boolean) IS 'R3.1-R3.3: adds a customer of a partner (pending verification); returns its id';
COMMENT ON FUNCTION csp.add_product(text,text,text,text,boolean,text,text[],numeric,numeric) IS 'R4: adds a SKU to the catalog (licence or usage, trial, add-on ratios); returns the SKU id';
COMMENT ON FUNCTION csp.add_upgrade_path(text,text) IS 'R8.1: allows upgrades from one SKU to another';
COMMENT ON FUNCTION csp.append_only_trigger() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE on append-only tables (audit log, ledger)';
COMMENT ON FUNCTION csp.attest_mca(uuid) IS 'R3.3: records the partner''s attestation that the customer accepted the MCA';
COMMENT ON FUNCTION csp.audit_buffer_trigger() IS 'Trigger: buffers audit rows of a statement and writes them when it ends';
COMMENT ON FUNCTION csp.audit_trigger() IS 'Trigger: writes one audit row per changed row';
COMMENT ON FUNCTION csp.billing_cycles(date,date,text,text) IS 'R11: every billing cycle of a term, first one clipped; days_in_cycle is the proration divisor';
COMMENT ON FUNCTION csp.cancel(uuid) IS 'R6.3, R6.4: cancels a subscription inside its cancellation window, with a prorated refund';
COMMENT ON FUNCTION csp.change_quantity(uuid,integer) IS 'R5: changes the seats; increases charge prorated, reductions only within 168 hours of a lot (R5.2)';
COMMENT ON FUNCTION csp.charge_ledger_trigger() IS 'Trigger: the charge ledger is append-only; only invoice_number may be set, once';
COMMENT ON FUNCTION csp.clear_scheduled_change(uuid) IS 'R7: removes the change scheduled for the renewal';
COMMENT ON FUNCTION csp.convert_trial(uuid,integer,text,text,uuid) IS 'R9.3: converts a trial into a paid subscription; returns the paid subscription';
COMMENT ON FUNCTION csp.create_billing_account(text,text,text) IS 'R1.1: creates a billing account; the caller becomes its owner; returns its id';
COMMENT ON FUNCTION csp.create_billing_profile(bigint,text,text,text,boolean,jsonb,text,integer) IS 'R1.2, R1.3: creates a billing profile (NCE or legacy) with its Default invoice section; returns its id';
COMMENT ON FUNCTION csp.create_invoice_section(bigint,text) IS 'R1.3: adds an invoice section to a billing profile; returns its id';
COMMENT ON FUNCTION csp.create_partner(text,text,csp.partner_kind,text,text,text) IS 'R2: creates a partner (direct bill, indirect provider or reseller); returns its id';
COMMENT ON FUNCTION csp.currency_exponent(text) IS 'R12: minor-unit exponent of an ISO 4217 currency (EUR 2, JPY 0)';
COMMENT ON FUNCTION csp.ensure_group_roles() IS 'Creates the csp_* NOLOGIN group roles that are missing (run by CREATE EXTENSION)';
COMMENT ON FUNCTION csp.grant_billing_account_role(bigint,name,text) IS 'R1.1: gives a role owner, contributor or reader rights on a billing account (owners only)';
COMMENT ON FUNCTION csp.link_partner_billing(text,bigint,bigint,boolean) IS 'R1.5: links a partner to the billing account and profile its purchases are billed to';
COMMENT ON FUNCTION csp.purchase(uuid,text,integer,text,text,boolean,bigint,uuid,boolean,text,text[],text) IS 'R3-R5, R9, R11: buys a subscription and posts its first charge; returns the subscription id';
COMMENT ON FUNCTION csp.reactivate(uuid) IS 'R6.2: reactivates a suspended subscription';
COMMENT ON FUNCTION csp.reducible_licenses(uuid) IS 'R5.4: the seats still reducible per lot and until when';
COMMENT ON FUNCTION csp.rename(uuid,text) IS 'Sets the subscription''s friendly name';
COMMENT ON FUNCTION csp.round_money(numeric,text) IS 'R12: rounds an amount half away from zero to the currency''s minor unit';
COMMENT ON FUNCTION csp.run_cycle_charges(timestamp with time zone) IS 'R11.1: posts every billing-cycle charge due up to as_of; returns the charges posted';
COMMENT ON FUNCTION csp.run_renewals(timestamp with time zone) IS 'R6.6, R6.7: renews (or expires) every term that ended before as_of''s date; returns the subscriptions processed';
COMMENT ON FUNCTION csp.schedule_change(uuid,text,integer,text,text,date) IS 'R7: schedules a SKU, quantity, term or frequency change for the renewal';
COMMENT ON FUNCTION csp.set_auto_renew(uuid,boolean) IS 'R6.5: turns renewal at term end on or off';
COMMENT ON FUNCTION csp.set_customer_verification(uuid,text) IS 'R3.4: sets a customer''s verification status (pending, approved, rejected)';
COMMENT ON FUNCTION csp.set_fx_rate(text,text,date,numeric) IS 'R12.3: records an exchange rate for a date';
COMMENT ON FUNCTION csp.set_partner_status(text,text) IS 'R1.5: sets a partner''s status (active, pending, suspended, inactive)';
COMMENT ON FUNCTION csp.set_price(text,text,text,text,numeric,date) IS 'R4.3: sets a SKU''s price for a term, frequency and currency from valid_from';
COMMENT ON FUNCTION csp.subscription_lifecycle_trigger() IS 'Trigger: enforces the subscription state machine (R6.1)';
COMMENT ON FUNCTION csp.suspend(uuid) IS 'R6.2: suspends a subscription';
COMMENT ON FUNCTION csp.transfer(uuid,text) IS 'R10: transfers a subscription to another partner; returns the new subscription';
COMMENT ON FUNCTION csp.update_customer(uuid,text,jsonb,text,text,text) IS 'R3.4: updates a customer''s details';
COMMENT ON FUNCTION csp.upgrade(uuid,text,integer,uuid) IS 'R8: upgrades seats to another SKU; returns the target subscription';
COMMENT ON FUNCTION csp.utc_date(timestamp with time zone) IS 'R4.10: the UTC calendar date of an instant';
COMMENT ON FUNCTION csp.whole_days(timestamp with time zone,timestamp with time zone) IS 'R5.3: whole days between two instants';
COMMENT ON TABLE csp.billing_account IS 'Billing accounts (R1.1); written by csp.create_billing_account';
COMMENT ON TABLE csp.billing_account_role IS 'Who may act on a billing account: owner, contributor or reader (R1.1)';
COMMENT ON TABLE csp.billing_profile IS 'Billing profiles: one invoice per profile, currency and period (R1.2)';
COMMENT ON TABLE csp.charge IS 'The charge ledger: append-only; a line is only ever attached to an invoice (R11)';
COMMENT ON TABLE csp.customer IS 'Customers of partners (R3)';
COMMENT ON TABLE csp.fx_rate IS 'Exchange rates by date (R12.3)';
COMMENT ON TABLE csp.invoice_section IS 'Invoice sections of billing profiles (R1.3)';
COMMENT ON TABLE csp.partner IS 'Partners and their billing link (R1.5, R2)';
COMMENT ON TABLE csp.price IS 'Prices by SKU, term, frequency, currency and valid_from (R4.3)';
COMMENT ON TABLE csp.product IS 'The catalog: SKUs (R4)';
COMMENT ON TABLE csp.seat_lot IS 'Seat lots: every increase of seats with its own 168-hour window (R5.2)';
COMMENT ON TABLE csp.subscription IS 'Subscriptions (R4-R9)';
COMMENT ON TABLE csp.upgrade_path IS 'Allowed upgrades between SKUs (R8.1)';

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

-- issue 14 item 2: invoice document
------------------------------------------------------------------------------
-- The invoice document (issue 14 item 2; src/invoice_document.c)
------------------------------------------------------------------------------
CREATE FUNCTION csp.invoice_document(invoice_number text) RETURNS text
    AS 'MODULE_PATHNAME', 'csp_invoice_document' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.invoice_document(text) IS
    'The document as one self-contained HTML page: bill-to, PO number, period and dates, lines by invoice section (R1.3), totals, amount due, payment instructions with the invoice number as remittance reference, void and rebill references (R13.4)';
REVOKE ALL ON FUNCTION csp.invoice_document(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION csp.invoice_document(text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;

------------------------------------------------------------------------------
-- Month close writes invoices, not ledger lines (issue 15 item 1): a line's
-- billing period is decided when it is posted (R11.5) and its invoice is that
-- period's; csp.open_period lists the periods with lines and no invoice yet.
------------------------------------------------------------------------------
ALTER TABLE csp.charge ADD COLUMN billing_period_start date;
ALTER TABLE csp.charge DISABLE TRIGGER ledger;
-- a billed line: its invoice's period
UPDATE csp.charge c SET billing_period_start = i.period_start
  FROM csp.invoice i
 WHERE i.billing_account_id = c.billing_account_id AND i.invoice_number = c.invoice_number;
-- an unbilled line: R11.5, the period of its instant or the first later one without an invoice
WITH unbilled AS (
    SELECT c.billing_account_id, c.charge_id, c.billing_profile_id, c.currency,
           (csp.invoice_period(csp.utc_date(c.posted_at), p.anniversary_day)).period_start AS natural_start
      FROM csp.charge c
      JOIN csp.billing_profile p
        ON p.billing_account_id = c.billing_account_id AND p.billing_profile_id = c.billing_profile_id
     WHERE c.invoice_number IS NULL)
UPDATE csp.charge c
   SET billing_period_start =
       (SELECT min(x.start)
          FROM (SELECT u.natural_start AS start
                UNION ALL
                SELECT i.period_end + 1 FROM csp.invoice i
                 WHERE i.billing_account_id = u.billing_account_id AND i.billing_profile_id = u.billing_profile_id
                   AND i.currency = u.currency AND i.document_type = 'invoice'
                   AND i.period_start >= u.natural_start) x
         WHERE NOT EXISTS (SELECT 1 FROM csp.invoice j
                            WHERE j.billing_account_id = u.billing_account_id
                              AND j.billing_profile_id = u.billing_profile_id
                              AND j.currency = u.currency AND j.period_start = x.start
                              AND j.document_type = 'invoice'))
  FROM unbilled u
 WHERE u.billing_account_id = c.billing_account_id AND u.charge_id = c.charge_id;
ALTER TABLE csp.charge ENABLE TRIGGER ledger;
ALTER TABLE csp.charge ALTER COLUMN billing_period_start SET NOT NULL;

CREATE TABLE csp.open_period (
    billing_account_id      bigint      NOT NULL,
    billing_profile_id      bigint      NOT NULL,
    currency                text        NOT NULL,
    period_start            date        NOT NULL,
    PRIMARY KEY (billing_account_id, billing_profile_id, currency, period_start),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile
);
COMMENT ON TABLE csp.open_period IS 'Billing periods with lines and no invoice yet (R11.5, R13.1): the work list of csp.run_invoicing';
INSERT INTO csp.open_period (billing_account_id, billing_profile_id, currency, period_start)
SELECT DISTINCT billing_account_id, billing_profile_id, currency, billing_period_start
  FROM csp.charge WHERE invoice_number IS NULL;
SELECT pg_catalog.pg_extension_config_dump('csp.open_period', '');
ALTER TABLE csp.open_period ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_profile ON csp.open_period FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
GRANT SELECT ON csp.open_period TO csp_global_admin, csp_admin_agent, csp_sales_agent,
                                  csp_helpdesk_agent, csp_billing_admin, csp_reader;

CREATE OR REPLACE VIEW csp.line_items WITH (security_invoker = true) AS
    SELECT i.invoice_number, c.billing_profile_id, c.invoice_section_id, c.partner_id, c.customer_id,
           cu.legal_name AS customer_name, c.subscription_id, c.sku_id, c.charge_type,
           c.charge_start, c.charge_end, c.posted_at, c.quantity, c.unit_price, c.days_charged,
           c.days_in_cycle, c.amount, c.currency, c.pricing_currency, c.fx_rate, c.reference_id,
           c.charge_id, c.written_at
      FROM csp.charge c
      JOIN csp.customer cu ON cu.customer_id = c.customer_id
      -- the line's invoice: the one of its profile, currency and billing period
      LEFT JOIN csp.invoice i ON i.billing_account_id = c.billing_account_id
                             AND i.billing_profile_id = c.billing_profile_id
                             AND i.currency = c.currency
                             AND i.period_start = c.billing_period_start
                             AND i.document_type = 'invoice';
CREATE OR REPLACE VIEW csp.invoice_lines WITH (security_invoker = true) AS
    SELECT d.billing_account_id, d.invoice_number, d.document_type, d.billing_profile_id,
           c.invoice_section_id, c.charge_id, c.customer_id, c.subscription_id, c.sku_id, c.charge_type,
           c.charge_start, c.charge_end, c.posted_at, c.quantity,
           CASE WHEN d.document_type = 'void_note' THEN -c.amount ELSE c.amount END AS amount, c.currency
      FROM csp.invoice d
      JOIN csp.charge c ON c.billing_account_id = d.billing_account_id
                       AND c.billing_profile_id = d.billing_profile_id
                       AND c.currency = d.currency
                       AND c.billing_period_start = d.period_start;

DROP INDEX csp.charge_unbilled;
DROP INDEX csp.charge_by_invoice;
ALTER TABLE csp.charge DROP COLUMN invoice_number;
CREATE INDEX charge_by_period ON csp.charge (billing_account_id, billing_profile_id, currency, billing_period_start, posted_at);
COMMENT ON TABLE csp.charge IS 'The charge ledger: append-only; a line''s billing period is decided when it is posted, and its invoice is that period''s (R11, R11.5)';
COMMENT ON FUNCTION csp.charge_ledger_trigger() IS 'Trigger: the charge ledger is append-only; a line is never changed or deleted';
