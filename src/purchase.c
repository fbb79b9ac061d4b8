/*-------------------------------------------------------------------------
 *
 * purchase.c
 *	  csp.purchase (R2, R3, R4, R9.1, R11): who may buy what, for which
 *	  term and price, and the new subscription it opens.
 *
 * src/purchase.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_purchase);

/* EU and EEA members (R2.3: additional resellers are declared there only). */
static bool
InEuropeanEconomicArea(const char *country)
{
	static const char *const eea[] = {
		"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
		"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
		"IS", "LI", "NO"
	};
	int			i;

	for (i = 0; i < (int) lengthof(eea); i++)
		if (strcmp(country, eea[i]) == 0)
			return true;
	return false;
}

static void
CheckReseller(const char *partner_kind, const char *provider_id, const char *reseller_id)
{
	static CspPlan plan = {
		"SELECT kind::text, indirect_provider_id FROM csp.partner WHERE partner_id = $1",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_reseller_kind					1
#define Anum_reseller_indirect_provider_id	2
	Datum		id = CStringGetTextDatum(reseller_id);
	char	   *kind;
	char	   *its_provider;

	if (strcmp(partner_kind, "indirect_provider") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("only an indirect provider attaches resellers"),
				 errdetail("Partner %s is a %s (R2.3).", provider_id, partner_kind),
				 errhint("Leave reseller_id NULL.")));
	csp_spi_run(&plan, &id, NULL, true, 1);
	if (SPI_processed == 0)
		csp_report_not_found("partner", reseller_id);
	kind = csp_spi_getcstring(0, Anum_reseller_kind);
	its_provider = csp_spi_getcstring(0, Anum_reseller_indirect_provider_id);
	if (strcmp(kind, "indirect_reseller") != 0 ||
		its_provider == NULL || strcmp(its_provider, provider_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s is not an indirect reseller of %s", reseller_id, provider_id),
				 errhint("Attach an indirect reseller that works through %s (R2.3).", provider_id)));
}

/* Product facts for purchase. */
typedef struct ProductFacts
{
	char	   *billing_type;
	char	   *trial_of;
	bool		one_per_customer;
	bool		is_addon;
	char	   *publisher;
} ProductFacts;

static void
LoadProductFacts(const char *sku_id, ProductFacts *facts)
{
	static CspPlan plan = {
		"SELECT billing_type, trial_of, one_per_customer, addon_of IS NOT NULL, publisher"
		"  FROM csp.product WHERE sku_id = $1",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_product_facts_billing_type		1
#define Anum_product_facts_trial_of			2
#define Anum_product_facts_one_per_customer	3
#define Anum_product_facts_is_addon			4
#define Anum_product_facts_publisher		5
	Datum		id = CStringGetTextDatum(sku_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, true, 1);
	if (SPI_processed == 0)
		csp_report_not_found("product", sku_id);
	facts->billing_type = csp_spi_getcstring(0, Anum_product_facts_billing_type);
	facts->trial_of = csp_spi_getcstring(0, Anum_product_facts_trial_of);
	facts->one_per_customer = DatumGetBool(csp_spi_getdatum(0, Anum_product_facts_one_per_customer, &isnull));
	facts->is_addon = DatumGetBool(csp_spi_getdatum(0, Anum_product_facts_is_addon, &isnull));
	facts->publisher = csp_spi_getcstring(0, Anum_product_facts_publisher);
}

/*
 * R4.2, R4.11: one-per-customer offers (and one trial of a SKU per
 * customer).  A suspended existing subscription is to be reactivated,
 * not bought again.
 */
static void
CheckOnePerCustomer(Datum customer_id, const char *sku_id, bool is_trial)
{
	CspLiveSubscription live;
	const char *existing;
	const char *status;

	if (!csp_store_live_of_sku(customer_id, sku_id, &live))
		return;
	existing = live.subscription_id;
	status = live.status;
	/* its renewal (or expiry, or conversion) decides whether it still counts */
	csp_check_no_pending_renewal(existing, live.term_end, "this purchase");
	if (strcmp(status, "suspended") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_ONE_PER_CUSTOMER),
				 errmsg("the customer's subscription %s of %s is suspended", existing, sku_id),
				 errdetail("%s is limited to one subscription per customer (R4.2, R4.11).", sku_id),
				 errhint("Reactivate it with csp.reactivate('%s') instead of buying again.", existing)));
	ereport(ERROR,
			(errcode(ERRCODE_CSP_ONE_PER_CUSTOMER),
			 errmsg("the customer already has %s %s", is_trial ? "a trial of" : "its one subscription of", sku_id),
			 errdetail("Subscription %s; %s is limited to one per customer (R4.2).", existing, sku_id),
			 errhint("Change the quantity of %s instead.", existing)));
}

/*
 * The base subscription an add-on aligns with (R4.8): the one named by
 * coterminate_with when it is a compatible base of the customer, else the
 * customer's live compatible base with the latest end that the add-on's
 * term can reach (between today and the term's natural end).
 *
 * Without that window the latest-ending base of any term was taken, so a
 * valid P1Y Copilot purchase was refused with 22023 ("cannot end on")
 * whenever another base of the customer ended later: a P3Y base, or one
 * bought concurrently by a session whose day was later (issue 12 item 9).
 * A base whose renewal is pending (its end before today) is not a base to
 * align with either.  When no base fits the window, the latest-ending one
 * is returned and the caller's end check explains why it does not fit.
 */
static bool
FindAddonBase(Datum customer_id, const char *sku_id, bool has_target, Datum target,
			  DateADT start, DateADT natural_end, Datum *base_id, DateADT *base_end)
{
	return csp_store_find_addon_base(customer_id, sku_id, has_target, target, start, natural_end,
									 base_id, base_end);
}

/* The co-termination target's end (R4.5): a live subscription of the same customer. */
static DateADT
CoterminationEnd(Datum customer_id, Datum target)
{
	SubscriptionRow other;

	if (!csp_load_subscription(target, &other, false))
		csp_report_not_found("subscription", csp_uuid_to_cstring(target));
	if (!DatumGetBool(DirectFunctionCall2(uuid_eq, other.customer_id, customer_id)) ||
		(strcmp(other.status, "active") != 0 && strcmp(other.status, "suspended") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("cannot co-terminate with subscription %s", csp_uuid_to_cstring(target)),
				 errdetail("Co-termination aligns with a live subscription of the same customer (R4.5)."),
				 errhint("Name an active subscription of this customer.")));
	return other.term_end;
}

/* The section to bill under: the given one (of the profile) or the profile's Default. */
static int64
ResolveSection(int64 billing_account_id, int64 billing_profile_id, bool given, int64 section_id)
{
	static CspPlan plan = {
		"SELECT invoice_section_id FROM csp.invoice_section"
		" WHERE billing_account_id = $1 AND billing_profile_id = $2"
		"   AND (invoice_section_id = $3 OR ($3 IS NULL AND is_default))",
		3, {INT8OID, INT8OID, INT8OID}, NULL, 0
	};
#define Anum_section_invoice_section_id 1
	Datum		values[3];
	char		nulls[3] = "   ";
	bool		isnull;

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = Int64GetDatum(section_id);
	nulls[2] = given ? ' ' : 'n';
	csp_spi_run(&plan, values, nulls, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_FOUND),
				 errmsg("invoice section " INT64_FORMAT " is not a section of billing profile " INT64_FORMAT,
						section_id, billing_profile_id),
				 errhint("Pick one from csp.invoice_sections for that profile, or leave it NULL for Default.")));
	return DatumGetInt64(csp_spi_getdatum(0, Anum_section_invoice_section_id, &isnull));
}

/* The arguments of csp.purchase, checked. */
typedef struct PurchaseRequest
{
	Datum		customer_id;
	char	   *sku_id;
	int32		quantity;
	TermCode	term;
	BillingFrequency freq;
	bool		auto_renew;
	bool		has_section;
	int64		section_id;
	bool		has_coterm;		/* coterminate_with given */
	Datum		coterminate_with;
	bool		align;
	char	   *reseller_id;
	ArrayType  *additional;
	int			nadditional;
	char	   *friendly_name;
} PurchaseRequest;

static void
ReadPurchaseArgs(FunctionCallInfo fcinfo, PurchaseRequest *req)
{
	static const char *const args[] = {"customer_id", "sku_id", "quantity", "term",
		"billing_frequency", "auto_renew", NULL, NULL, "align_to_calendar_month", NULL,
	"additional_resellers", NULL};

	csp_require_args(fcinfo, args, lengthof(args));
	req->customer_id = PG_GETARG_DATUM(0);
	req->sku_id = csp_arg_cstring(fcinfo, 1);
	req->quantity = PG_GETARG_INT32(2);
	req->term = csp_check_term(csp_arg_cstring(fcinfo, 3));
	req->freq = csp_check_frequency(csp_arg_cstring(fcinfo, 4));
	req->auto_renew = PG_GETARG_BOOL(5);
	req->has_section = !PG_ARGISNULL(6);
	req->section_id = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6);
	req->has_coterm = !PG_ARGISNULL(7);
	req->coterminate_with = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);
	req->align = PG_GETARG_BOOL(8);
	req->reseller_id = csp_arg_cstring_or_null(fcinfo, 9);
	req->additional = PG_GETARG_ARRAYTYPE_P(10);
	req->nadditional = ArrayGetNItems(ARR_NDIM(req->additional), ARR_DIMS(req->additional));
	if (!PG_ARGISNULL(11))
		csp_check_nonblank(csp_arg_cstring(fcinfo, 11), "friendly_name");
	req->friendly_name = csp_arg_cstring_or_null(fcinfo, 11);
	if (req->has_coterm && req->align)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a purchase is either co-terminated or aligned to the calendar month, not both"),
				 errhint("Pass coterminate_with or align_to_calendar_month => true (R4.5).")));
}

/* R2.1, R1.5, R3.3, R3.4: who may buy, through which billing link. */
static void
CheckBuyer(const CustomerFacts *cust)
{
	/* R2.1: the customer's partner sells, through its current billing link (R1.5) */
	if (strcmp(cust->partner_kind, "indirect_reseller") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("indirect reseller %s cannot sell subscriptions", cust->partner_id),
				 errhint("The indirect provider sells; attach the reseller with reseller_id (R2.1).")));
	if (!cust->linked)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s has no billing profile", cust->partner_id),
				 errdetail("Purchases are billed to the partner's linked billing profile (R1.5)."),
				 errhint("Link one with csp.link_partner_billing.")));
	if (strcmp(cust->verification_status, "approved") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_CUSTOMER_NOT_APPROVED),
				 errmsg("the customer cannot buy: its verification is %s", cust->verification_status),
				 errdetail("New purchases are blocked until the customer is approved (R3.4)."),
				 errhint("Wait for the verification (csp.set_customer_verification).")));
	if (!cust->mca_attested)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_MCA_NOT_ACCEPTED),
				 errmsg("the customer's acceptance of the Microsoft Customer Agreement is not attested"),
				 errdetail("The partner must attest the customer accepted the MCA before ordering (R3.3)."),
				 errhint("Attest it with csp.attest_mca.")));
}

/* R9.1, R11.3: the shape of a trial or a usage offer; otherwise a positive quantity. */
static void
ApplyOfferShape(PurchaseRequest *req, bool is_trial, bool is_usage)
{
	/* R9.1: a trial is 25 seats for P1M, free, auto-renewing into its paid SKU */
	if (is_trial)
	{
		req->quantity = 25;
		req->term = TERM_P1M;
		req->freq = FREQ_MONTHLY;
		req->auto_renew = true;
	}
	else if (is_usage)
	{
		if (req->quantity != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a usage-based subscription is bought with quantity 1"),
					 errdetail("%s is charged through its usage (R11.3).", req->sku_id),
					 errhint("Pass quantity => 1.")));
		req->term = TERM_P1M;
		req->freq = FREQ_MONTHLY;
	}
	else if (req->quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", req->quantity),
				 errhint("Buy at least one license.")));
	csp_check_term_frequency(req->term, req->freq);
}

/* R2.3: resellers; up to five more in EU/EEA transactions, the first chosen first */
static void
CheckResellers(const PurchaseRequest *req, const CustomerFacts *cust)
{
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n,
				i;

	if (req->reseller_id != NULL)
		CheckReseller(cust->partner_kind, cust->partner_id, req->reseller_id);
	if (req->nadditional == 0)
		return;
	if (req->reseller_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("additional resellers need a first reseller"),
				 errhint("Choose reseller_id before additional_resellers (R2.3).")));
	if (req->nadditional > 5)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("at most five additional resellers may be declared, not %d", req->nadditional),
				 errhint("Declare five or fewer (R2.3).")));
	if (!InEuropeanEconomicArea(cust->country))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("additional resellers are declared only in EU/EEA transactions"),
				 errdetail("The customer is in %s (R2.3).", cust->country),
				 errhint("Leave additional_resellers empty.")));
	deconstruct_array(req->additional, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (elem_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("additional_resellers contains a NULL"),
					 errhint("List partner ids only.")));
		CheckReseller(cust->partner_kind, cust->partner_id, TextDatumGetCString(elems[i]));
	}
}

/*
 * R4.5, R4.8: the term's end: an add-on's base's, a co-termination
 * target's, the calendar month's or the natural one.  *parent_id is set
 * for an add-on.
 */
static DateADT
PurchaseTermEnd(const PurchaseRequest *req, bool is_addon, DateADT start, Datum *parent_id)
{
	DateADT		end;

	if (is_addon)
	{
		if (!FindAddonBase(req->customer_id, req->sku_id, req->has_coterm, req->coterminate_with,
						   start, terms_natural_end(start, req->term), parent_id, &end))
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs a base subscription of the customer", req->sku_id),
					 errdetail("An add-on attaches to an active subscription of one of its base SKUs (R4.8)."),
					 errhint("Buy the base first%s.", !req->has_coterm ? "" : ", or name a compatible base in coterminate_with")));
	}
	else if (req->has_coterm)
		end = CoterminationEnd(req->customer_id, req->coterminate_with);
	else if (req->align)
		end = terms_calendar_aligned_end(start, req->term);
	else
		end = terms_natural_end(start, req->term);
	/* a base or target whose term ended before today is waiting for its renewal */
	if ((is_addon || req->has_coterm) && end < start)
		csp_check_no_pending_renewal(csp_uuid_to_cstring(is_addon ? *parent_id : req->coterminate_with),
									 end, "this purchase");
	if (!terms_coterminous_end_ok(start, req->term, end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s term starting %s cannot end on %s", terms_term_name(req->term),
						csp_date_to_cstring(start), csp_date_to_cstring(end)),
				 errdetail("A co-terminous end must lie between the start and the natural end %s (R4.5).",
						   csp_date_to_cstring(terms_natural_end(start, req->term))),
				 errhint("Co-terminate with a subscription that ends within the term.")));
	return end;
}

/*
 * csp.purchase(customer_id, sku_id, quantity, term, billing_frequency,
 *     auto_renew, invoice_section_id, coterminate_with,
 *     align_to_calendar_month, reseller_id, additional_resellers,
 *     friendly_name) → uuid
 */
Datum
csp_purchase(PG_FUNCTION_ARGS)
{
	PurchaseRequest req;
	CustomerFacts cust;
	ProductFacts prod;
	bool		is_trial;
	bool		is_usage;
	TimestampTz now = csp_now();
	DateADT		start = terms_utc_date(now);
	Datum		parent_id = (Datum) 0;
	NewSubscription ns;
	SubscriptionRow sub;
	Datum		subscription_id;

	ReadPurchaseArgs(fcinfo, &req);
	csp_enter(fcinfo, "purchase", true);

	csp_lock_customer_facts(req.customer_id, &cust);
	/* a profile-limited caller buys only under its own profiles (item 3) */
	if (cust.linked)
		csp_check_profile_scope(cust.billing_profile_id, true, "customer",
								csp_uuid_to_cstring(req.customer_id), "purchase");
	else if (csp_caller_profile_limited())
		csp_report_not_found("customer", csp_uuid_to_cstring(req.customer_id));
	LoadProductFacts(req.sku_id, &prod);
	is_trial = prod.trial_of != NULL;
	is_usage = strcmp(prod.billing_type, "usage") == 0;
	CheckBuyer(&cust);
	ApplyOfferShape(&req, is_trial, is_usage);

	if (prod.one_per_customer || is_trial)
		CheckOnePerCustomer(req.customer_id, req.sku_id, is_trial);
	CheckResellers(&req, &cust);

	memset(&ns, 0, sizeof(ns));
	ns.end = PurchaseTermEnd(&req, prod.is_addon, start, &parent_id);
	ns.has_parent = prod.is_addon;
	ns.parent_subscription_id = parent_id;

	/* R4.3: the price is fixed for the term (trials and usage have none) */
	if (is_trial || is_usage)
	{
		ns.unit_price = int64_to_numeric(0);
		ns.pricing_currency = is_usage ? "USD" : cust.currency;
	}
	else
	{
		char	   *pricing_currency;

		csp_require_price(req.sku_id, req.term, req.freq, cust.currency, start, &ns.unit_price,
						  &pricing_currency);
		ns.pricing_currency = pricing_currency;
	}

	ns.invoice_section_id = ResolveSection(cust.billing_account_id, cust.billing_profile_id,
										   req.has_section, req.section_id);
	ns.cancellation_allowed_until = csp_cancellation_deadline(prod.publisher, req.freq, now);
	ns.billing_account_id = cust.billing_account_id;
	ns.billing_profile_id = cust.billing_profile_id;
	ns.customer_id = req.customer_id;
	ns.partner_id = cust.partner_id;
	ns.sku_id = req.sku_id;
	ns.friendly_name = req.friendly_name;
	ns.quantity = req.quantity;
	ns.is_trial = is_trial;
	ns.auto_renew = req.auto_renew;
	ns.term = req.term;
	ns.frequency = req.freq;
	ns.start = start;
	ns.currency = cust.currency;
	ns.reseller_id = req.reseller_id;
	ns.additional_resellers = req.additional;
	ns.lot_source = "purchase";
	ns.reducible_until = now + CSP_WINDOW_USECS;
	/* R11.1/R11.2: billed in advance, the first cycle prorated from today */
	ns.first_charge_type = (is_trial || is_usage) ? NULL : "new";
	ns.reference_id = csp_new_uuid();
	csp_create_subscription(&ns, &sub);

	if (prod.is_addon)
		csp_check_addon_rules(req.customer_id, req.sku_id, true);

	subscription_id = SPI_datumTransfer(sub.subscription_id, false, UUID_LEN);
	csp_finish();
	PG_RETURN_DATUM(subscription_id);
}
