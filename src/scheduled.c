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

/* R7.2: a change is scheduled only on an active subscription with auto-renew on */
static void
CheckSchedulable(const SubscriptionRow *sub)
{
	if (strcmp(sub->status, "active") != 0 || !sub->auto_renew)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_SCHEDULE_NOT_ALLOWED),
				 errmsg("cannot schedule a change for subscription %s: it is %s with auto-renew %s",
						csp_uuid_to_cstring(sub->subscription_id), sub->status, sub->auto_renew ? "on" : "off"),
				 errdetail("Changes at renewal need an active subscription with auto-renew on (R7.2)."),
				 errhint("%s", strcmp(sub->status, "active") != 0 ? "Reactivate it and switch auto-renew on first." :
						 "Switch auto-renew on first with csp.set_auto_renew.")));
}

/*
 * What the renewal will start from: the subscription's SKU, term and
 * frequency, or for a trial its paid SKU, P1Y monthly (R9.1).  Returns the
 * SKU; *term and *freq receive the term and frequency.
 */
static const char *
RenewalBase(const SubscriptionRow *sub, TermCode *term, BillingFrequency *freq)
{
	static CspPlan trial_base = {
		"SELECT trial_of FROM csp.product WHERE sku_id = $1", 1, {TEXTOID}, NULL, 0
	};
#define Anum_trial_base_trial_of 1
	Datum		sku;

	if (!sub->is_trial)
	{
		*term = sub->term;
		*freq = sub->frequency;
		return sub->sku_id;
	}
	sku = CStringGetTextDatum(sub->sku_id);
	csp_spi_run(&trial_base, &sku, NULL, true, 1);
	*term = TERM_P1Y;
	*freq = FREQ_MONTHLY;
	return csp_spi_getcstring(0, Anum_trial_base_trial_of);
}

/*
 * R7.4: the change asked for, the arguments of csp.schedule_change laid
 * over what was scheduled before ("existing") and, for term and
 * frequency, over the renewal's base (already in change->term and
 * change->frequency).
 */
static void
OverlayChange(FunctionCallInfo fcinfo, Jsonb *existing, CspScheduledChange *change)
{
	char	   *field;

	change->sku_id = !PG_ARGISNULL(1) ? csp_arg_cstring(fcinfo, 1) : csp_jsonb_field(existing, "sku_id");
	field = csp_jsonb_field(existing, "quantity");
	change->has_quantity = !PG_ARGISNULL(2) || field != NULL;
	change->quantity = 0;
	if (!PG_ARGISNULL(2))
		change->quantity = PG_GETARG_INT32(2);
	else if (field != NULL)
		change->quantity = pg_strtoint32(field);
	if (!PG_ARGISNULL(3))
		change->term = csp_check_term(csp_arg_cstring(fcinfo, 3));
	else if ((field = csp_jsonb_field(existing, "term")) != NULL)
		change->term = terms_parse_term(field);
	if (!PG_ARGISNULL(4))
		change->frequency = csp_check_frequency(csp_arg_cstring(fcinfo, 4));
	else if ((field = csp_jsonb_field(existing, "billing_frequency")) != NULL)
		change->frequency = terms_parse_frequency(field);
	change->has_coterm_end = !PG_ARGISNULL(5) ||
		(field = csp_jsonb_field(existing, "coterm_end")) != NULL;
	change->coterm_end = 0;
	if (!PG_ARGISNULL(5))
		change->coterm_end = PG_GETARG_DATEADT(5);
	else if (change->has_coterm_end)
		change->coterm_end = DatumGetDateADT(DirectFunctionCall1(date_in, CStringGetDatum(field)));
}

/*
 * Validates the whole change as renewal will apply it, so that renewal
 * has no surprises: an upgrade along a path (R8.1; a trial converts to
 * its paid SKU only, R9.4), a positive quantity, a valid term and
 * frequency, a co-terminous end the next term can reach (R4.5, R7.1), a
 * price for the next term, and a base still covering its add-ons (R4.7).
 */
static void
CheckChange(const SubscriptionRow *sub, const char *base_sku, const CspScheduledChange *change)
{
	DateADT		next_start = sub->term_end + 1;
	Numeric		price;
	char	   *pricing_currency;

	if (change->sku_id != NULL && strcmp(change->sku_id, base_sku) != 0)
	{
		if (sub->is_trial)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
					 errmsg("a trial converts to %s, not %s", base_sku, change->sku_id),
					 errhint("Schedule the conversion without sku_id, then upgrade after it (R9.4).")));
		RequireUpgradePath(base_sku, change->sku_id);
	}
	if (change->has_quantity && change->quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", change->quantity),
				 errhint("To end the subscription at term end, switch auto-renew off.")));
	csp_check_term_frequency(change->term, change->frequency);

	if (change->has_coterm_end)
	{
		csp_check_date_in_range(change->coterm_end, "coterm_end");
		if (!terms_coterminous_end_ok(next_start, change->term, change->coterm_end))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the next term cannot end on %s", csp_date_to_cstring(change->coterm_end)),
					 errdetail("The next %s term starts %s; a co-terminous end must lie between that and %s (R4.5, R7.1).",
							   terms_term_name(change->term), csp_date_to_cstring(next_start),
							   csp_date_to_cstring(terms_natural_end(next_start, change->term))),
					 errhint("Pick an end date inside that range.")));
	}
	if (strcmp(sub->billing_type, "usage") != 0)
		csp_require_price(change->sku_id ? change->sku_id : base_sku, change->term, change->frequency,
						  sub->currency, next_start, &price, &pricing_currency);

	/* R4.7: a base reduced at renewal must still cover its add-ons' seats */
	if (change->has_quantity && change->quantity < sub->quantity && !sub->has_parent)
		csp_check_addon_rules_after(sub->customer_id, sub->sku_id, false,
									(int64) change->quantity - sub->quantity);
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
	SubscriptionRow sub;
	Jsonb	   *existing;
	const char *base_sku;
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
	CheckSchedulable(&sub);

	existing = csp_store_scheduled_change(&sub);
	base_sku = RenewalBase(&sub, &change.term, &change.frequency);
	OverlayChange(fcinfo, existing, &change);
	CheckChange(&sub, base_sku, &change);

	csp_count_update(&sub);
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
