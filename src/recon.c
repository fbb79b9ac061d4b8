/*-------------------------------------------------------------------------
 *
 * recon.c
 *	  Reconciliation files in Partner Center's vocabulary (R13.2, issue 14):
 *	  csp.recon_invoice_line_items, csp.recon_unbilled_line_items and
 *	  csp.recon_daily_rated_usage.
 *
 * A finance team's spreadsheets and BI models read Partner Center's
 * BilledOneTimeInvoiceLineItems and DailyRatedUsage files by their own
 * column names, so these functions return exactly those columns, in that
 * order, typed (numeric, date, uuid) so that
 *   COPY (SELECT * FROM csp.recon_invoice_line_items('G...')) TO STDOUT
 *        WITH (FORMAT csv, HEADER)
 * gives the file.  Columns the engine does not model are present and NULL
 * (an empty CSV field); README "Reconciliation files" lists them.
 *
 * The functions run with their owner's rights (csp_enter, entry.c), because
 * a finance user limited to one billing profile may not read customers,
 * products or subscriptions, which a file needs.  What they may see is
 * decided by the same rule row-level security uses: csp.visible_profile,
 * evaluated here as the caller.  A document or profile the caller may not
 * see does not exist for them (NC404), exactly as under row-level security.
 *
 * A declared room of the house (README "Development"): a read-only report
 * that may join many tables (invoices, ledger lines, subscriptions,
 * customers, products) in one SELECT.  It never writes or locks a row; the
 * tables' owners (ledger.c, invoice_store.c, ...) do that.
 *
 * src/recon.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(csp_recon_invoice_line_items);
PG_FUNCTION_INFO_V1(csp_recon_unbilled_line_items);
PG_FUNCTION_INFO_V1(csp_recon_daily_rated_usage);

/*
 * May the caller (the role csp_enter captured) see
 * the billing profile's money?  csp.visible_profile is run as the caller,
 * so it is the very test of the row-level security policies.  Superusers
 * bypass row-level security, so they see every profile here too.
 */
bool
csp_caller_sees_profile(int64 billing_profile_id)
{
	static CspPlan plan = {
		"SELECT csp.visible_profile($1)", 1, {INT8OID}, NULL, 0
	};
#define Anum_visible_profile_visible 1
	Oid			caller = csp_caller();
	Oid			save_userid;
	int			save_sec_context;
	Datum		value = Int64GetDatum(billing_profile_id);
	bool		isnull;
	bool		visible;

	if (superuser_arg(caller))
		return true;
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(caller, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	/* an error aborts the (sub)transaction, which restores the user id */
	csp_spi_run(&plan, &value, NULL, true, 1);
	visible = DatumGetBool(csp_spi_getdatum(0, Anum_visible_profile_visible, &isnull)) && !isnull;
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return visible;
}

/* The document's billing profile; NC404 when it does not exist for the caller. */
static void
CheckInvoiceVisible(const char *invoice_number)
{
	int64		profile = csp_invoice_profile(invoice_number);

	if (profile < 0 || !csp_caller_sees_profile(profile))
		csp_report_not_found("invoice", invoice_number);
}

/*
 * Runs "plan" and returns its rows as the function's result set.  The
 * query's columns are cast to the declared result types, so the rows are
 * copied as they are.
 */
static void
ReturnRows(FunctionCallInfo fcinfo, CspPlan *plan, Datum *values, const char *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	spidesc;
	Datum	   *row;
	bool	   *rownulls;
	uint64		i;

	csp_spi_run(plan, values, nulls, true, 0);
	spidesc = SPI_tuptable->tupdesc;
	if (spidesc->natts != rsinfo->setDesc->natts)
		elog(ERROR, "reconciliation query returns %d columns, the function declares %d",
			 spidesc->natts, rsinfo->setDesc->natts);
	row = palloc(sizeof(Datum) * spidesc->natts);
	rownulls = palloc(sizeof(bool) * spidesc->natts);
	for (i = 0; i < SPI_processed; i++)
	{
		heap_deform_tuple(SPI_tuptable->vals[i], spidesc, row, rownulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, rownulls);
	}
}

/*
 * The BilledOneTimeInvoiceLineItems columns, from a ledger line c, its
 * customer cu, subscription s and product p.  SIGN negates the amounts and
 * quantities of a void note's lines (R13.4), INVOICE is the document number
 * shown.  Types are fixed here: they are the functions' declared columns.
 */
#define LINE_ITEM_COLUMNS(INVOICE, SIGN) \
	"SELECT c.partner_id AS \"PartnerId\", c.customer_id AS \"CustomerId\"," \
	"       cu.legal_name AS \"CustomerName\", NULL::text AS \"CustomerDomainName\"," \
	"       cu.country AS \"CustomerCountry\", " INVOICE " AS \"InvoiceNumber\"," \
	"       NULL::text AS \"MpnId\", s.reseller_id AS \"ResellerMpnId\"," \
	"       c.reference_id::text AS \"OrderId\", csp.utc_date(c.posted_at) AS \"OrderDate\"," \
	"       c.sku_id AS \"ProductId\", c.sku_id AS \"SkuId\", NULL::text AS \"AvailabilityId\"," \
	"       p.name AS \"SkuName\", p.name AS \"ProductName\", c.charge_type AS \"ChargeType\"," \
	"       c.unit_price AS \"UnitPrice\", " SIGN " * c.quantity AS \"Quantity\"," \
	"       " SIGN " * c.amount AS \"Subtotal\", NULL::numeric AS \"TaxTotal\"," \
	"       " SIGN " * c.amount AS \"Total\", c.currency AS \"Currency\"," \
	"       NULL::text AS \"PriceAdjustmentDescription\", p.publisher AS \"PublisherName\"," \
	"       NULL::text AS \"PublisherId\"," \
	"       coalesce(s.friendly_name, p.name) AS \"SubscriptionDescription\"," \
	"       c.subscription_id AS \"SubscriptionId\", c.charge_start AS \"ChargeStartDate\"," \
	"       c.charge_end AS \"ChargeEndDate\"," \
	"       CASE s.term WHEN 'P1M' THEN 'One-Month' WHEN 'P1Y' THEN 'One-Year'" \
	"                   ELSE 'Three-Year' END || ' commitment for ' || s.billing_frequency || ' billing'" \
	"           AS \"TermAndBillingCycle\"," \
	"       round(c.unit_price * c.fx_rate * c.days_charged / c.days_in_cycle, 6) AS \"EffectiveUnitPrice\"," \
	"       CASE p.billing_type WHEN 'usage' THEN 'Usage' ELSE 'Licenses' END AS \"UnitType\"," \
	"       c.charge_id::text AS \"AlternateId\"," \
	"       " SIGN " * round(c.quantity * c.days_charged / c.days_in_cycle, 6) AS \"BillableQuantity\"," \
	"       s.billing_frequency AS \"BillingFrequency\", c.pricing_currency AS \"PricingCurrency\"," \
	"       c.fx_rate AS \"PCToBCExchangeRate\"," \
	"       csp.fx_rate_date(CASE WHEN c.charge_type = 'usage' THEN c.charge_start" \
	"                             ELSE csp.utc_date(c.posted_at) END) AS \"PCToBCExchangeRateDate\"," \
	"       c.meter_id AS \"MeterDescription\", NULL::text AS \"ReservationOrderId\"," \
	"       NULL::text AS \"CreditReasonCode\", csp.utc_date(s.purchased_at) AS \"SubscriptionStartDate\"," \
	"       s.term_end AS \"SubscriptionEndDate\", c.reference_id AS \"ReferenceId\"," \
	"       NULL::text AS \"ProductQualifiers\", s.promotion_id AS \"PromotionId\""

#define LINE_JOINS \
	"  JOIN csp.customer cu ON cu.customer_id = c.customer_id" \
	"  JOIN csp.subscription s ON s.billing_account_id = c.billing_account_id" \
	"                         AND s.subscription_id = c.subscription_id" \
	"  JOIN csp.product p ON p.sku_id = c.sku_id"

/* The ledger lines a document bills: its own, a rebill's or a void note's original's. */
#define DOCUMENT_LINES \
	"  FROM csp.invoice d" \
	"  JOIN csp.charge c ON " CSP_LINES_OF_DOCUMENT("d", "c") \
	LINE_JOINS \
	" WHERE d.invoice_number = $1"

#define DOCUMENT_SIGN "(CASE WHEN d.document_type = 'void_note' THEN -1 ELSE 1 END)"

/* csp.recon_invoice_line_items(invoice_number) → BilledOneTimeInvoiceLineItems rows */
Datum
csp_recon_invoice_line_items(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"invoice_number"};
	static CspPlan plan = {
		LINE_ITEM_COLUMNS("d.invoice_number", DOCUMENT_SIGN)
		DOCUMENT_LINES
		" ORDER BY c.charge_id",
		1, {TEXTOID}, NULL, 0
	};
	char	   *invoice_number;
	Datum		value;

	csp_require_args(fcinfo, args, lengthof(args));
	InitMaterializedSRF(fcinfo, 0);
	invoice_number = csp_arg_cstring(fcinfo, 0);
	csp_enter(fcinfo, "recon_invoice_line_items", false);
	CheckInvoiceVisible(invoice_number);
	value = CStringGetTextDatum(invoice_number);
	ReturnRows(fcinfo, &plan, &value, NULL);
	csp_finish();
	return (Datum) 0;
}

/*
 * csp.recon_unbilled_line_items(billing_profile_id, on_date) → the same
 * columns for the lines not billed yet that the invoice of the billing
 * period containing on_date will bill: posted on or before the period's
 * last day (lines posted into a period already invoiced wait for the next
 * open one, R11.5).  InvoiceNumber is empty.
 */
Datum
csp_recon_unbilled_line_items(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "on_date"};
	static CspPlan profile = {
		"SELECT billing_account_id, anniversary_day FROM csp.billing_profile"
		" WHERE billing_profile_id = $1",
		1, {INT8OID}, NULL, 0
	};
#define Anum_unbilled_profile_billing_account_id	1
#define Anum_unbilled_profile_anniversary_day		2
	static CspPlan plan = {
		LINE_ITEM_COLUMNS("NULL::text", "1")
		"  FROM csp.charge c"
		LINE_JOINS
		" WHERE c.billing_account_id = $1 AND c.billing_profile_id = $2"
		"   AND " CSP_LINE_UNBILLED("c")
		"   AND csp.utc_date(c.posted_at) <= (SELECT period_end FROM csp.invoice_period($3, $4))"
		" ORDER BY c.charge_id",
		4, {INT8OID, INT8OID, DATEOID, INT4OID}, NULL, 0
	};
	int64		billing_profile_id;
	DateADT		on_date;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;
	char		id[32];

	csp_require_args(fcinfo, args, lengthof(args));
	InitMaterializedSRF(fcinfo, 0);
	billing_profile_id = PG_GETARG_INT64(0);
	on_date = PG_GETARG_DATEADT(1);
	csp_check_date_in_range(on_date, "on_date");
	snprintf(id, sizeof(id), INT64_FORMAT, billing_profile_id);

	csp_enter(fcinfo, "recon_unbilled_line_items", false);
	values[0] = Int64GetDatum(billing_profile_id);
	csp_spi_run(&profile, values, NULL, true, 1);
	if (SPI_processed == 0)
		csp_report_not_found("billing profile", id);
	values[0] = csp_spi_getdatum(0, Anum_unbilled_profile_billing_account_id, &isnull);
	values[3] = csp_spi_getdatum(0, Anum_unbilled_profile_anniversary_day, &isnull);
	if (isnull)
		nulls[3] = 'n';
	if (!csp_caller_sees_profile(billing_profile_id))
		csp_report_not_found("billing profile", id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = DateADTGetDatum(on_date);
	ReturnRows(fcinfo, &plan, values, nulls);
	csp_finish();
	return (Datum) 0;
}

/*
 * csp.recon_daily_rated_usage(invoice_number) → DailyRatedUsage rows: one
 * per usage day and meter of the document's pay-as-you-go lines (a usage
 * line is one day of one meter, src/usage.c).  The Azure resource columns
 * (resource group, URI, location, tags, ...) are not modelled.
 */
Datum
csp_recon_daily_rated_usage(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"invoice_number"};
	static CspPlan plan = {
		"SELECT c.partner_id AS \"PartnerId\", pa.name AS \"PartnerName\","
		"       c.customer_id AS \"CustomerId\", cu.legal_name AS \"CustomerName\","
		"       NULL::text AS \"CustomerDomainName\", cu.country AS \"CustomerCountry\","
		"       NULL::text AS \"MpnId\", s.reseller_id AS \"Tier2MpnId\","
		"       d.invoice_number AS \"InvoiceNumber\", c.sku_id AS \"ProductId\","
		"       c.sku_id AS \"SkuId\", NULL::text AS \"AvailabilityId\", p.name AS \"SkuName\","
		"       p.name AS \"ProductName\", p.publisher AS \"PublisherName\","
		"       NULL::text AS \"PublisherId\","
		"       coalesce(s.friendly_name, p.name) AS \"SubscriptionDescription\","
		"       c.subscription_id AS \"SubscriptionId\", c.charge_start AS \"ChargeStartDate\","
		"       c.charge_end AS \"ChargeEndDate\", c.charge_start AS \"UsageDate\","
		"       NULL::text AS \"MeterType\", NULL::text AS \"MeterCategory\","
		"       c.meter_id AS \"MeterId\", NULL::text AS \"MeterSubCategory\","
		"       c.meter_id AS \"MeterName\", NULL::text AS \"MeterRegion\","
		"       NULL::text AS \"Unit\", NULL::text AS \"ResourceLocation\","
		"       NULL::text AS \"ConsumedService\", NULL::text AS \"ResourceGroup\","
		"       NULL::text AS \"ResourceURI\", c.charge_type AS \"ChargeType\","
		"       c.unit_price AS \"UnitPrice\", " DOCUMENT_SIGN " * c.quantity AS \"Quantity\","
		"       'Usage'::text AS \"UnitType\","
		"       " DOCUMENT_SIGN " * c.amount AS \"BillingPreTaxTotal\", c.currency AS \"BillingCurrency\","
		"       " DOCUMENT_SIGN " * round(c.unit_price * c.quantity, 6) AS \"PricingPreTaxTotal\","
		"       c.pricing_currency AS \"PricingCurrency\","
		"       NULL::text AS \"ServiceInfo1\", NULL::text AS \"ServiceInfo2\","
		"       NULL::text AS \"Tags\", NULL::text AS \"AdditionalInfo\","
		"       round(c.unit_price * c.fx_rate, 6) AS \"EffectiveUnitPrice\","
		"       c.fx_rate AS \"PCToBCExchangeRate\","
		"       csp.fx_rate_date(c.charge_start) AS \"PCToBCExchangeRateDate\","
		"       c.subscription_id::text AS \"EntitlementId\","
		"       coalesce(s.friendly_name, p.name) AS \"EntitlementDescription\","
		"       NULL::text AS \"PartnerEarnedCreditPercentage\", NULL::text AS \"CreditPercentage\","
		"       NULL::text AS \"CreditType\", NULL::text AS \"BenefitOrderId\","
		"       NULL::text AS \"BenefitId\", NULL::text AS \"BenefitType\""
		"  FROM csp.invoice d"
		"  JOIN csp.charge c ON " CSP_LINES_OF_DOCUMENT("d", "c")
		LINE_JOINS
		"  JOIN csp.partner pa ON pa.partner_id = c.partner_id"
		" WHERE d.invoice_number = $1 AND c.charge_type = 'usage'"
		" ORDER BY c.charge_start, c.meter_id, c.charge_id",
		1, {TEXTOID}, NULL, 0
	};
	char	   *invoice_number;
	Datum		value;

	csp_require_args(fcinfo, args, lengthof(args));
	InitMaterializedSRF(fcinfo, 0);
	invoice_number = csp_arg_cstring(fcinfo, 0);
	csp_enter(fcinfo, "recon_daily_rated_usage", false);
	CheckInvoiceVisible(invoice_number);
	value = CStringGetTextDatum(invoice_number);
	ReturnRows(fcinfo, &plan, &value, NULL);
	csp_finish();
	return (Datum) 0;
}
