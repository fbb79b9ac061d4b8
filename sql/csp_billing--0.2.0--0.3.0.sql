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

-- issue 14: reconciliation files (src/recon.c)
------------------------------------------------------------------------------
-- Reconciliation files in Partner Center's vocabulary (issue 14, R13.2)
------------------------------------------------------------------------------
-- Columns spelled and ordered as Partner Center's files, so a finance
-- team's spreadsheets read them unchanged:
--   COPY (SELECT * FROM csp.recon_invoice_line_items('G000000001'))
--     TO STDOUT WITH (FORMAT csv, HEADER)
-- Columns the engine does not model are NULL (README "Reconciliation
-- files").  SECURITY DEFINER: a finance user limited to one billing profile
-- cannot read customers, products or subscriptions; src/recon.c applies
-- csp.visible_profile as the caller instead, and a document or profile the
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
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
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
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
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
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_daily_rated_usage(text) IS
    'Partner Center''s DailyRatedUsage file of one document: one row per usage day and meter of its pay-as-you-go lines; BillingPreTaxTotal sums to the document''s usage lines';

REVOKE ALL ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;
