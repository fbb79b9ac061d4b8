/*-------------------------------------------------------------------------
 *
 * scheduled.c
 *	  R7 changes scheduled for the end of the term: SKU upgrade, quantity,
 *	  term duration, billing frequency, co-terminous end date.
 *
 * The change is kept as one jsonb object on the subscription, validated as
 * a whole when saved (so renewal can apply it without surprises), shown in
 * csp.subscriptions.scheduled_change, and applied by csp.run_renewals.
 * The lifecycle trigger drops it on the mid-term changes of R7.3.
 *
 * src/scheduled.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(csp_schedule_change);
PG_FUNCTION_INFO_V1(csp_clear_scheduled_change);


static void
RequireUpgradePath(const char *from_sku, const char *to_sku)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.upgrade_path WHERE from_sku = $1 AND to_sku = $2",
		2, {TEXTOID, TEXTOID}, NULL, 0
	};
	Datum		values[2];

	values[0] = CStringGetTextDatum(from_sku);
	values[1] = CStringGetTextDatum(to_sku);
	csp_spi_run(&plan, values, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("%s cannot be changed to %s", from_sku, to_sku),
				 errdetail("Only upgrades along a supported path are possible; downgrades are not supported (R8.1)."),
				 errhint("See csp.upgrade_path for the paths from %s.", from_sku)));
}

/*
 * csp.schedule_change(subscription_id, sku_id, quantity, term,
 *                     billing_frequency, coterm_end)
 * Arguments left NULL keep what is already scheduled (R7.4: update).
 */
Datum
csp_schedule_change(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	static CspPlan trial_base = {
		"SELECT trial_of FROM csp.product WHERE sku_id = $1", 1, {TEXTOID}, NULL, 0
	};
#define Anum_trial_base_trial_of 1
	SubscriptionRow sub;
	Jsonb	   *existing;
	char	   *field;
	char	   *sku_id;
	const char *base_sku;
	bool		has_quantity;
	int32		quantity = 0;
	TermCode	term;
	BillingFrequency freq;
	bool		has_coterm;
	DateADT		coterm_end = 0;
	DateADT		next_start;
	Numeric		price;
	char	   *pricing_currency;
	CspScheduledChange change;
	int			i;

	csp_require_args(fcinfo, args, lengthof(args));
	for (i = 1; i <= 5 && PG_ARGISNULL(i); i++)
		;
	if (i > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nothing to schedule"),
				 errhint("Pass at least one of sku_id, quantity, term, billing_frequency, coterm_end; csp.clear_scheduled_change removes a change.")));

	csp_enter(fcinfo, "schedule_change", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "schedule a change for");

	/* R7.2: only when active with auto-renew on */
	if (strcmp(sub.status, "active") != 0 || !sub.auto_renew)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_SCHEDULE_NOT_ALLOWED),
				 errmsg("cannot schedule a change for subscription %s: it is %s with auto-renew %s",
						csp_uuid_to_cstring(sub.subscription_id), sub.status, sub.auto_renew ? "on" : "off"),
				 errdetail("Changes at renewal need an active subscription with auto-renew on (R7.2)."),
				 errhint("%s", strcmp(sub.status, "active") != 0 ? "Reactivate it and switch auto-renew on first." :
						 "Switch auto-renew on first with csp.set_auto_renew.")));

	existing = csp_store_scheduled_change(&sub);

	/* what the renewal will start from: a trial's paid SKU, P1Y monthly (R9.1) */
	base_sku = sub.sku_id;
	term = sub.term;
	freq = sub.frequency;
	if (sub.is_trial)
	{
		Datum		sku = CStringGetTextDatum(sub.sku_id);

		csp_spi_run(&trial_base, &sku, NULL, true, 1);
		base_sku = csp_spi_getcstring(0, Anum_trial_base_trial_of);
		term = TERM_P1Y;
		freq = FREQ_MONTHLY;
	}

	/* overlay: the new arguments over what was scheduled before */
	sku_id = !PG_ARGISNULL(1) ? csp_arg_cstring(fcinfo, 1) : csp_jsonb_field(existing, "sku_id");
	field = csp_jsonb_field(existing, "quantity");
	has_quantity = !PG_ARGISNULL(2) || field != NULL;
	if (!PG_ARGISNULL(2))
		quantity = PG_GETARG_INT32(2);
	else if (field != NULL)
		quantity = pg_strtoint32(field);
	if (!PG_ARGISNULL(3))
		term = csp_check_term(csp_arg_cstring(fcinfo, 3));
	else if ((field = csp_jsonb_field(existing, "term")) != NULL)
		term = terms_parse_term(field);
	if (!PG_ARGISNULL(4))
		freq = csp_check_frequency(csp_arg_cstring(fcinfo, 4));
	else if ((field = csp_jsonb_field(existing, "billing_frequency")) != NULL)
		freq = terms_parse_frequency(field);
	has_coterm = !PG_ARGISNULL(5) || (field = csp_jsonb_field(existing, "coterm_end")) != NULL;
	if (!PG_ARGISNULL(5))
		coterm_end = PG_GETARG_DATEADT(5);
	else if (has_coterm)
		coterm_end = DatumGetDateADT(DirectFunctionCall1(date_in, CStringGetDatum(field)));

	if (sku_id != NULL && strcmp(sku_id, base_sku) != 0)
	{
		if (sub.is_trial)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
					 errmsg("a trial converts to %s, not %s", base_sku, sku_id),
					 errhint("Schedule the conversion without sku_id, then upgrade after it (R9.4).")));
		RequireUpgradePath(base_sku, sku_id);
	}
	if (has_quantity && quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", quantity),
				 errhint("To end the subscription at term end, switch auto-renew off.")));
	csp_check_term_frequency(term, freq);

	next_start = sub.term_end + 1;
	if (has_coterm)
	{
		csp_check_date_in_range(coterm_end, "coterm_end");
		if (!terms_coterminous_end_ok(next_start, term, coterm_end))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the next term cannot end on %s", csp_date_to_cstring(coterm_end)),
					 errdetail("The next %s term starts %s; a co-terminous end must lie between that and %s (R4.5, R7.1).",
							   terms_term_name(term), csp_date_to_cstring(next_start),
							   csp_date_to_cstring(terms_natural_end(next_start, term))),
					 errhint("Pick an end date inside that range.")));
	}
	if (strcmp(sub.billing_type, "usage") != 0)
		csp_require_price(sku_id ? sku_id : base_sku, term, freq, sub.currency, next_start,
						  &price, &pricing_currency);

	/* R4.7: a base reduced at renewal must still cover its add-ons' seats */
	if (has_quantity && quantity < sub.quantity && !sub.has_parent)
		csp_check_addon_rules_after(sub.customer_id, sub.sku_id, false,
									(int64) quantity - sub.quantity);

	csp_count_update(&sub);
	change.sku_id = sku_id;
	change.has_quantity = has_quantity;
	change.quantity = quantity;
	change.term = term;
	change.frequency = freq;
	change.has_coterm_end = has_coterm;
	change.coterm_end = coterm_end;
	csp_store_save_scheduled_change(&sub, &change);
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.clear_scheduled_change(subscription_id): R7.4 */
Datum
csp_clear_scheduled_change(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	SubscriptionRow sub;

	csp_require_args(fcinfo, args, lengthof(args));
	csp_enter(fcinfo, "clear_scheduled_change", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "clear the scheduled change of");
	csp_store_drop_scheduled_change(&sub);
	csp_finish();
	PG_RETURN_VOID();
}
