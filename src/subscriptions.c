/*-------------------------------------------------------------------------
 *
 * subscriptions.c
 *	  Loading and locking subscriptions, the checks every management call
 *	  shares, add-on ratios, and csp.purchase.
 *
 * src/subscriptions.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_purchase);

#define SUBSCRIPTION_SELECT \
	"SELECT " CSP_SUBSCRIPTION_COLUMNS CSP_SUBSCRIPTION_FROM " WHERE s.subscription_id = $1"

DateADT
csp_today(void)
{
	return terms_utc_date(csp_now());
}

char *
csp_uuid_to_cstring(Datum uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid));
}

Datum
csp_new_uuid(void)
{
	return DirectFunctionCall1(gen_random_uuid, (Datum) 0);
}

/* A row of CSP_SUBSCRIPTION_COLUMNS (the first 27 columns of t). */
void
csp_subscription_from_tuple(HeapTuple t, TupleDesc d, SubscriptionRow *sub)
{
	bool		isnull;

	sub->billing_account_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	sub->subscription_id = SPI_getbinval(t, d, 2, &isnull);
	sub->billing_profile_id = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
	sub->invoice_section_id = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
	sub->customer_id = SPI_getbinval(t, d, 5, &isnull);
	sub->partner_id = SPI_getvalue(t, d, 6);
	sub->sku_id = SPI_getvalue(t, d, 7);
	sub->quantity = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
	sub->status = SPI_getvalue(t, d, 9);
	sub->is_trial = DatumGetBool(SPI_getbinval(t, d, 10, &isnull));
	sub->auto_renew = DatumGetBool(SPI_getbinval(t, d, 11, &isnull));
	sub->term = terms_parse_term(SPI_getvalue(t, d, 12));
	sub->frequency = terms_parse_frequency(SPI_getvalue(t, d, 13));
	sub->term_start = DatumGetDateADT(SPI_getbinval(t, d, 14, &isnull));
	sub->term_end = DatumGetDateADT(SPI_getbinval(t, d, 15, &isnull));
	sub->term_started_at = DatumGetTimestampTz(SPI_getbinval(t, d, 16, &isnull));
	sub->cancellation_allowed_until = DatumGetTimestampTz(SPI_getbinval(t, d, 17, &isnull));
	sub->unit_price = DatumGetNumeric(SPI_getbinval(t, d, 18, &isnull));
	sub->currency = SPI_getvalue(t, d, 19);
	sub->pricing_currency = SPI_getvalue(t, d, 20);
	sub->parent_subscription_id = SPI_getbinval(t, d, 21, &isnull);
	sub->has_parent = !isnull;
	sub->update_count = DatumGetInt32(SPI_getbinval(t, d, 22, &isnull));
	sub->publisher = SPI_getvalue(t, d, 23);
	sub->billing_type = SPI_getvalue(t, d, 24);
	sub->verification_status = SPI_getvalue(t, d, 25);
	sub->next_charge_date = DatumGetDateADT(SPI_getbinval(t, d, 26, &isnull));
	sub->has_next_charge = !isnull;
	sub->last_event_at = DatumGetTimestampTz(SPI_getbinval(t, d, 27, &isnull));
}

/* Loads a subscription (optionally locking it); false when unknown. */
bool
csp_load_subscription(Datum subscription_id, SubscriptionRow *sub, bool for_update)
{
	static CspPlan plain = {SUBSCRIPTION_SELECT, 1, {UUIDOID}, NULL, 0
	};
	static CspPlan locking = {SUBSCRIPTION_SELECT " FOR UPDATE OF s", 1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(for_update ? &locking : &plain, &subscription_id, NULL, !for_update, 1);
	if (SPI_processed == 0)
		return false;
	csp_subscription_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, sub);
	return true;
}

/*
 * The customer row owns every rule that reads the customer's other
 * subscriptions to decide: one subscription per customer (R4.2, R4.11),
 * one trial (R9.1) and the add-on ratios across partners (R4.6, R4.7).
 * Purchases and changes lock it FOR UPDATE before they read, so two
 * concurrent purchases queue and the second sees the first (a FOR SHARE
 * lock let both read, both pass and both insert).  Lock order: the
 * customer, then its subscriptions, then their lots and charges; every
 * writer follows it, so they queue instead of deadlocking.
 */
void
csp_lock_customer(Datum customer_id)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.customer WHERE customer_id = $1 FOR UPDATE",
		1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(&plan, &customer_id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
}

/*
 * The same, for a change to a subscription, before the subscription
 * itself is locked (so in the lock order).  An unknown subscription is
 * left for csp_lock_subscription to report.
 */
void
csp_lock_customer_of_subscription(Datum subscription_id)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.customer c"
		"  JOIN csp.subscription s ON s.customer_id = c.customer_id"
		" WHERE s.subscription_id = $1 FOR UPDATE OF c",
		1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(&plan, &subscription_id, NULL, false, 1);
}

/* Locks a subscription for a change; NC404 when unknown. */
void
csp_lock_subscription(Datum subscription_id, SubscriptionRow *sub)
{
	if (!csp_load_subscription(subscription_id, sub, true))
		csp_report_not_found("subscription", csp_uuid_to_cstring(subscription_id));

	/*
	 * Issue 12 item 3: changing a subscription posts lines on its profile's
	 * ledger, so a profile-limited caller changes only its own profiles'.
	 */
	csp_check_profile_scope(sub->billing_profile_id, true, "subscription",
							csp_uuid_to_cstring(subscription_id), "change a subscription");
}

/*
 * What every partner-initiated change needs (R3.4, R6.1, R6.7):
 * a live subscription, an approved customer, and no renewal pending.
 */
void
csp_check_manageable(const SubscriptionRow *sub, const char *action)
{
	if (strcmp(sub->status, "cancelled") == 0 || strcmp(sub->status, "expired") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is %s", action,
						csp_uuid_to_cstring(sub->subscription_id), sub->status),
				 errdetail("Cancelled and expired subscriptions are final (R6.1)."),
				 errhint("Buy a new subscription instead.")));

	if (strcmp(sub->verification_status, "approved") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_CUSTOMER_NOT_APPROVED),
				 errmsg("cannot %s subscription %s: the customer's verification is %s",
						action, csp_uuid_to_cstring(sub->subscription_id), sub->verification_status),
				 errdetail("Management and cancellation are blocked until the customer is approved; renewals continue (R3.4)."),
				 errhint("Wait for the verification, or correct the customer's billing data.")));

	if (sub->term_end < csp_today())
		ereport(ERROR,
				(errcode(ERRCODE_CSP_RENEWAL_PENDING),
				 errmsg("cannot %s subscription %s: its renewal is pending",
						action, csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("The term ended on %s and the renewal has not been processed yet (R6.7).",
						   csp_date_to_cstring(sub->term_end)),
				 errhint("Retry after the renewal run (csp.run_renewals), in two minutes or more.")));
}

/*
 * NC409 (R6.7) when a subscription that another call depends on (a base, a
 * co-termination target, an existing one-per-customer subscription) ended
 * before today and its renewal has not been processed: what it will be
 * after the renewal decides, so the call is retried after the run, and the
 * answer does not depend on when the jobs ran.
 */
void
csp_check_no_pending_renewal(const char *subscription_id, DateADT term_end, const char *caller)
{
	if (term_end < csp_today())
		ereport(ERROR,
				(errcode(ERRCODE_CSP_RENEWAL_PENDING),
				 errmsg("subscription %s, which %s depends on, has its renewal pending",
						subscription_id, caller),
				 errdetail("Its term ended on %s and the renewal has not been processed yet (R6.7).",
						   csp_date_to_cstring(term_end)),
				 errhint("Retry after the renewal run (csp.run_renewals), in two minutes or more.")));
}

/* R9.2: a trial's quantity and status do not change. */
void
csp_check_not_trial(const SubscriptionRow *sub, const char *action)
{
	if (sub->is_trial)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is a trial",
						action, csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("During a trial the quantity and status do not change (R9.2)."),
				 errhint("Convert it with csp.convert_trial, or switch auto-renew off to let it end on %s.",
						 csp_date_to_cstring(sub->term_end))));
}

/*
 * R4.9: a subscription can be updated at most 1,200 times.  Counts one
 * update; callers that write the subscription row anyway check with
 * csp_check_update_limit and count in their own UPDATE.
 */
void
csp_count_update(SubscriptionRow *sub)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET update_count = update_count + 1"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		2, {INT8OID, UUIDOID}, NULL, 0
	};

	csp_check_update_limit(sub);
	csp_run_on_subscription(&plan, sub, NULL, NULL, 0);
	sub->update_count++;
}

/* NC010 when the subscription has used its 1,200 updates (R4.9). */
void
csp_check_update_limit(const SubscriptionRow *sub)
{
	if (sub->update_count >= 1200)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPDATE_LIMIT),
				 errmsg("subscription %s has reached its limit of 1,200 updates",
						csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("A subscription can be updated at most 1,200 times (R4.9)."),
				 errhint("Buy a second subscription of %s for further changes.", sub->sku_id)));
}

/*
 * Runs a statement about one subscription: $1 and $2 are its key
 * (billing_account_id, subscription_id), $3.. the "nargs" values given.
 */
void
csp_run_on_subscription(CspPlan *plan, const SubscriptionRow *sub,
						const Datum *args, const char *arg_nulls, int nargs)
{
	Datum		values[CSP_PLAN_MAX_ARGS];
	char		nulls[CSP_PLAN_MAX_ARGS];
	int			i;

	Assert(nargs + 2 <= CSP_PLAN_MAX_ARGS && plan->nargs == nargs + 2);
	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	nulls[0] = nulls[1] = ' ';
	for (i = 0; i < nargs; i++)
	{
		values[i + 2] = args[i];
		nulls[i + 2] = arg_nulls ? arg_nulls[i] : ' ';
	}
	csp_spi_run(plan, values, nulls, false, 0);
}

/* The number of active or suspended add-ons attached to a base. */
int64
csp_live_addons(const SubscriptionRow *base)
{
	static CspPlan plan = {
		"SELECT count(*) FROM csp.subscription"
		" WHERE billing_account_id = $1 AND parent_subscription_id = $2"
		"   AND status IN ('active', 'suspended')",
		2, {INT8OID, UUIDOID}, NULL, 0
	};
	Datum		values[2];
	bool		isnull;

	values[0] = Int64GetDatum(base->billing_account_id);
	values[1] = base->subscription_id;
	csp_spi_run(&plan, values, NULL, false, 1);
	return DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
}

/*
 * Locks a subscription for a change that moves money mid-cycle, after
 * posting any billing cycle that has started but not been charged yet:
 * credits and additions are computed against the cycle's charge, so that
 * charge must exist first, at the quantity and price it had.
 */
void
csp_lock_for_change(Datum subscription_id, SubscriptionRow *sub)
{
	csp_lock_customer_of_subscription(subscription_id);
	csp_lock_subscription(subscription_id, sub);
	if (sub->has_next_charge && sub->next_charge_date <= csp_today() &&
		(strcmp(sub->status, "active") == 0 || strcmp(sub->status, "suspended") == 0) &&
		sub->term_end >= csp_today())
	{
		csp_charge_due_cycles(sub, csp_today());
		csp_lock_subscription(subscription_id, sub);
	}
}

/*
 * NC016: history only moves forward.  An action whose instant (csp.now())
 * is earlier than the latest event recorded for its object is refused, for
 * everyone: a back-fill replays forward, it never rewrites.
 */
void
csp_check_not_before(TimestampTz now, TimestampTz latest, const char *object, const char *id)
{
	if (now < latest)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_INSTANT_BEFORE_EVENT),
				 errmsg("instant %s is before the latest recorded event of %s %s",
						pstrdup(timestamptz_to_str(now)), object, id),
				 errdetail("Its latest event was recorded at %s; nothing is posted before it.",
						   pstrdup(timestamptz_to_str(latest))),
				 errhint("Act at %s or later: a back-fill replays history forward.",
						 timestamptz_to_str(latest))));
}

/*
 * Locks a subscription for a caller's action at csp.now(): NC404 when
 * unknown, NC016 when now is before its latest event, which then moves to
 * now.  "catch_up": the action moves money mid-cycle, so due cycles are
 * charged first (csp_lock_for_change).
 */
void
csp_lock_for_action(Datum subscription_id, SubscriptionRow *sub, bool catch_up)
{
	static CspPlan record = {
		"UPDATE csp.subscription SET last_event_at = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND last_event_at < $3",
		3, {INT8OID, UUIDOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		now = TimestampTzGetDatum(csp_now());

	csp_lock_subscription(subscription_id, sub);
	csp_check_not_before(DatumGetTimestampTz(now), sub->last_event_at, "subscription", csp_uuid_to_cstring(subscription_id));
	if (catch_up)
		csp_lock_for_change(subscription_id, sub);
	/* a cancelled or expired subscription records nothing more: its action fails NC003 */
	if (strcmp(sub->status, "cancelled") != 0 && strcmp(sub->status, "expired") != 0)
	{
		csp_run_on_subscription(&record, sub, &now, NULL, 1);
		sub->last_event_at = DatumGetTimestampTz(now);
	}
}

/* Moves a subscription along the state machine (the trigger checks the edge). */
void
csp_set_subscription_status(const SubscriptionRow *sub, const char *status)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET status = $3, last_event_at = GREATEST(last_event_at, $4)"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		4, {INT8OID, UUIDOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[2];

	args[0] = CStringGetTextDatum(status);
	args[1] = TimestampTzGetDatum(csp_now());
	csp_run_on_subscription(&plan, sub, args, NULL, 2);
}

/*
 * Upgrades and transfers take active paid subscriptions only (R8.1, R10);
 * NC003 otherwise, with the caller's hint.
 */
void
csp_check_active_paid(const SubscriptionRow *sub, const char *action, const char *hint)
{
	if (sub->is_trial || strcmp(sub->status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is %s", action,
						csp_uuid_to_cstring(sub->subscription_id),
						sub->is_trial ? "a trial" : sub->status),
				 errhint("%s", sub->is_trial ? "Convert the trial with csp.convert_trial first." : hint)));
}

/*
 * An existing subscription that receives seats from a conversion or an
 * upgrade (R8.4, R9.3): the same customer, the given SKU, active and not a
 * trial, ending on or after the source.  Locked; NC008 otherwise.
 */
void
csp_load_target(Datum target_id, const SubscriptionRow *source, const char *sku_id,
				SubscriptionRow *target)
{
	const char *why = NULL;

	csp_lock_for_action(target_id, target, true);
	if (!DatumGetBool(DirectFunctionCall2(uuid_eq, target->customer_id, source->customer_id)))
		why = "it belongs to another customer";
	else if (strcmp(target->sku_id, sku_id) != 0)
		why = psprintf("it is a subscription of %s, not %s", target->sku_id, sku_id);
	else if (strcmp(target->status, "active") != 0 || target->is_trial)
		why = psprintf("it is %s", target->is_trial ? "a trial" : target->status);
	else if (target->term_end < source->term_end)
		why = psprintf("it ends on %s, before the source's end %s",
					   csp_date_to_cstring(target->term_end), csp_date_to_cstring(source->term_end));
	else if (target->term_end < csp_today())
		why = "its renewal is pending";
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("subscription %s cannot receive the seats: %s",
						csp_uuid_to_cstring(target_id), why),
				 errdetail("A target must be an active subscription of the same customer and SKU that ends on or after the source (R8.4, R9.3)."),
				 errhint("Leave the target NULL to create a new co-terminous subscription.")));
}

/*
 * A new seat lot with its 168-hour reduction window (R5.2); lots that come
 * from an upgrade or a transfer are not reducible (R8.2), so they pass
 * reducible_until = now.
 */
int64
csp_insert_seat_lot_until(const SubscriptionRow *sub, const char *source, int32 quantity,
						  TimestampTz reducible_until)
{
	static CspPlan plan = {
		"INSERT INTO csp.seat_lot (billing_account_id, subscription_id, term_start, source,"
		"  added_at, reducible_until, quantity_added, quantity)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING lot_id",
		7, {INT8OID, UUIDOID, DATEOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID}, NULL, 0
	};
	Datum		values[7];
	bool		isnull;
	TimestampTz now = csp_now();

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(sub->term_start);
	values[3] = CStringGetTextDatum(source);
	values[4] = TimestampTzGetDatum(now);
	values[5] = TimestampTzGetDatum(reducible_until);
	values[6] = Int32GetDatum(quantity);
	csp_spi_run(&plan, values, NULL, false, 0);
	return DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
}

int64
csp_insert_seat_lot(const SubscriptionRow *sub, const char *source, int32 quantity)
{
	return csp_insert_seat_lot_until(sub, source, quantity, csp_now() + CSP_WINDOW_USECS);
}

/*
 * R4.6/R4.7: for every add-on SKU of the customer that counts "sku_id" as
 * a base (or is sku_id itself), the add-on's live seats must respect its
 * ratios to the customer's live base seats across all compatible base
 * subscriptions, whatever partner sold them, including those bought in
 * the same transaction.  NC007 otherwise.
 *
 * When a base changes (addon_changed false) only the maximum is checked:
 * base licenses can be increased at any time (R5.1), and a larger base
 * never breaks a minimum that held when the add-on was bought.
 * base_delta counts seats of sku_id that are about to change (a reduction
 * scheduled for the renewal) as if they had.
 */
void
csp_check_addon_rules(Datum customer_id, const char *sku_id, bool addon_changed)
{
	csp_check_addon_rules_after(customer_id, sku_id, addon_changed, 0);
}

void
csp_check_addon_rules_after(Datum customer_id, const char *sku_id, bool addon_changed,
							int64 base_delta)
{
	static CspPlan plan = {
		"SELECT a.sku_id, a.addon_min_ratio, a.addon_max_ratio,"
		"       (SELECT coalesce(sum(s.quantity), 0)::bigint FROM csp.subscription s"
		"         WHERE s.customer_id = $1 AND s.sku_id = a.sku_id"
		"           AND s.status IN ('active', 'suspended')) AS addon_seats,"
		"       b.seats AS base_seats,"
		"       ceil(a.addon_min_ratio * b.seats)::bigint AS min_seats,"
		"       floor(a.addon_max_ratio * b.seats)::bigint AS max_seats"
		"  FROM csp.product a,"
		"  LATERAL (SELECT (coalesce(sum(s.quantity), 0)"
		"                   + CASE WHEN $2 = ANY (a.addon_of) THEN $3 ELSE 0 END)::bigint AS seats"
		"             FROM csp.subscription s"
		"            WHERE s.customer_id = $1 AND s.sku_id = ANY (a.addon_of)"
		"              AND s.status IN ('active', 'suspended')) b"
		" WHERE a.addon_of IS NOT NULL AND (a.sku_id = $2 OR $2 = ANY (a.addon_of))",
		3, {UUIDOID, TEXTOID, INT8OID}, NULL, 0
	};
	Datum		values[3];
	uint64		i;

	/* serialised on the customer (a no-op when the caller holds it already) */
	csp_lock_customer(customer_id);
	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	values[2] = Int64GetDatum(base_delta);
	csp_spi_run_latest(&plan, values, NULL, 0);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		min_null,
					max_null,
					isnull;
		int64		addon_seats = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
		int64		base_seats = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull));
		int64		min_seats = DatumGetInt64(SPI_getbinval(t, d, 6, &min_null));
		int64		max_seats = DatumGetInt64(SPI_getbinval(t, d, 7, &max_null));
		char	   *addon = SPI_getvalue(t, d, 1);

		if (addon_seats == 0)
			continue;
		if (base_seats == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs a base subscription", addon),
					 errdetail("The customer has no live subscription of a base SKU of %s (R4.8).", addon),
					 errhint("Buy a base subscription first, in the same transaction if you like.")));
		if (addon_changed && strcmp(addon, sku_id) != 0)
			continue;
		if (!min_null && addon_seats < min_seats && addon_changed)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs at least " INT64_FORMAT " seats, not " INT64_FORMAT,
							addon, min_seats, addon_seats),
					 errdetail("The minimum is %s of the customer's " INT64_FORMAT " base licenses (R4.6).",
							   SPI_getvalue(t, d, 2), base_seats),
					 errhint("Use at least " INT64_FORMAT " seats.", min_seats)));
		if (!max_null && addon_seats > max_seats)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s allows at most " INT64_FORMAT " seats, not " INT64_FORMAT,
							addon, max_seats, addon_seats),
					 errdetail("The maximum is %s times the customer's " INT64_FORMAT " base licenses, across all partners (R4.7).",
							   SPI_getvalue(t, d, 3), base_seats),
					 errhint("Use at most " INT64_FORMAT " seats, or add base licenses first.", max_seats)));
	}
}

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
	kind = csp_spi_getcstring(0, 1);
	its_provider = csp_spi_getcstring(0, 2);
	if (strcmp(kind, "indirect_reseller") != 0 ||
		its_provider == NULL || strcmp(its_provider, provider_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s is not an indirect reseller of %s", reseller_id, provider_id),
				 errhint("Attach an indirect reseller that works through %s (R2.3).", provider_id)));
}

/*
 * The customer facts purchase needs.  The customer is locked FOR UPDATE
 * (csp_lock_customer says why), its partner FOR SHARE (a concurrent
 * relink of the partner's billing waits for the purchase).
 */
typedef struct CustomerFacts
{
	char	   *partner_id;
	char	   *country;
	char	   *verification_status;
	bool		mca_attested;
	char	   *partner_kind;
	bool		linked;
	int64		billing_account_id;
	int64		billing_profile_id;
	char	   *currency;
} CustomerFacts;

static void
LoadCustomerFacts(Datum customer_id, CustomerFacts *facts)
{
	static CspPlan plan = {
		"SELECT c.partner_id, c.country, c.verification_status, c.mca_attested, p.kind::text,"
		"       p.billing_account_id, p.billing_profile_id, bp.currency"
		"  FROM csp.customer c"
		"  JOIN csp.partner p ON p.partner_id = c.partner_id"
		"  LEFT JOIN csp.billing_profile bp"
		"    ON bp.billing_account_id = p.billing_account_id AND bp.billing_profile_id = p.billing_profile_id"
		" WHERE c.customer_id = $1 FOR UPDATE OF c FOR SHARE OF p",
		1, {UUIDOID}, NULL, 0
	};
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	csp_spi_run(&plan, &customer_id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	facts->partner_id = SPI_getvalue(t, d, 1);
	facts->country = SPI_getvalue(t, d, 2);
	facts->verification_status = SPI_getvalue(t, d, 3);
	facts->mca_attested = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
	facts->partner_kind = SPI_getvalue(t, d, 5);
	facts->billing_account_id = DatumGetInt64(SPI_getbinval(t, d, 6, &isnull));
	facts->linked = !isnull;
	facts->billing_profile_id = DatumGetInt64(SPI_getbinval(t, d, 7, &isnull));
	facts->currency = SPI_getvalue(t, d, 8);
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
	Datum		id = CStringGetTextDatum(sku_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, true, 1);
	if (SPI_processed == 0)
		csp_report_not_found("product", sku_id);
	facts->billing_type = csp_spi_getcstring(0, 1);
	facts->trial_of = csp_spi_getcstring(0, 2);
	facts->one_per_customer = DatumGetBool(csp_spi_getdatum(0, 3, &isnull));
	facts->is_addon = DatumGetBool(csp_spi_getdatum(0, 4, &isnull));
	facts->publisher = csp_spi_getcstring(0, 5);
}

/*
 * R4.2, R4.11: one-per-customer offers (and one trial of a SKU per
 * customer).  A suspended existing subscription is to be reactivated,
 * not bought again.
 */
static void
CheckOnePerCustomer(Datum customer_id, const char *sku_id, bool is_trial)
{
	static CspPlan plan = {
		"SELECT subscription_id, status, term_end FROM csp.subscription"
		" WHERE customer_id = $1 AND sku_id = $2 AND status IN ('active', 'suspended')"
		" ORDER BY status LIMIT 1",
		2, {UUIDOID, TEXTOID}, NULL, 0
	};
	Datum		values[2];
	char	   *existing;
	char	   *status;
	bool		isnull;

	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	csp_spi_run_latest(&plan, values, NULL, 1);
	if (SPI_processed == 0)
		return;
	existing = csp_spi_getcstring(0, 1);
	status = csp_spi_getcstring(0, 2);
	/* its renewal (or expiry, or conversion) decides whether it still counts */
	csp_check_no_pending_renewal(existing, DatumGetDateADT(csp_spi_getdatum(0, 3, &isnull)),
								 "this purchase");
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
	static CspPlan plan = {
		"SELECT s.subscription_id, s.term_end FROM csp.subscription s, csp.product a"
		" WHERE a.sku_id = $2 AND s.customer_id = $1 AND s.sku_id = ANY (a.addon_of)"
		"   AND s.status = 'active' AND ($3::uuid IS NULL OR s.subscription_id = $3)"
		" ORDER BY (s.term_end BETWEEN $4 AND $5) DESC, s.term_end DESC, s.purchased_at LIMIT 1",
		5, {UUIDOID, TEXTOID, UUIDOID, DATEOID, DATEOID}, NULL, 0
	};
	Datum		values[5];
	char		nulls[5] = "     ";
	bool		isnull;

	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	values[2] = target;
	nulls[2] = has_target ? ' ' : 'n';
	values[3] = DateADTGetDatum(start);
	values[4] = DateADTGetDatum(natural_end);
	csp_spi_run(&plan, values, nulls, false, 1);
	if (SPI_processed == 0)
		return false;
	*base_id = SPI_datumTransfer(csp_spi_getdatum(0, 1, &isnull), false, UUID_LEN);
	*base_end = DatumGetDateADT(csp_spi_getdatum(0, 2, &isnull));
	return true;
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
	return DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
}

/*
 * Inserts a subscription with its first seat lot and, when
 * first_charge_type is set, its first charge (the first billing cycle,
 * prorated from the start).  Shared by purchase, trial conversion, partial
 * upgrades and transfers.  Leaves the new row locked in *sub.
 */
void
csp_create_subscription(const NewSubscription *ns, SubscriptionRow *sub)
{
	static CspPlan insert = {
		"INSERT INTO csp.subscription (billing_account_id, billing_profile_id, invoice_section_id,"
		"  customer_id, partner_id, sku_id, friendly_name, quantity, status, is_trial, auto_renew,"
		"  term, billing_frequency, term_start, term_end, term_started_at, cancellation_allowed_until,"
		"  unit_price, currency, pricing_currency, parent_subscription_id, reseller_id,"
		"  additional_resellers, purchased_at, next_charge_date)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, $13, $14, $15, $16,"
		"  $17, $18, $19, $20, $21, coalesce($22, '{}'), $15, $23)"
		" RETURNING subscription_id",
		23, {INT8OID, INT8OID, INT8OID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BOOLOID,
			BOOLOID, TEXTOID, TEXTOID, DATEOID, DATEOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		NUMERICOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID, TEXTARRAYOID, DATEOID}, NULL, 0
	};
	Datum		values[23];
	char		nulls[23];
	bool		isnull;
	DateADT		next_charge = 0;
	bool		has_next_charge;
	int64		lot_id;

	has_next_charge = ns->first_charge_type != NULL &&
		csp_next_cycle_start(ns->start, ns->end, ns->term, ns->frequency, ns->start, &next_charge);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(ns->billing_account_id);
	values[1] = Int64GetDatum(ns->billing_profile_id);
	values[2] = Int64GetDatum(ns->invoice_section_id);
	values[3] = ns->customer_id;
	values[4] = CStringGetTextDatum(ns->partner_id);
	values[5] = CStringGetTextDatum(ns->sku_id);
	values[6] = CSP_TEXT(ns->friendly_name);
	nulls[6] = ns->friendly_name ? ' ' : 'n';
	values[7] = Int32GetDatum(ns->quantity);
	values[8] = BoolGetDatum(ns->is_trial);
	values[9] = BoolGetDatum(ns->auto_renew);
	values[10] = CStringGetTextDatum(terms_term_name(ns->term));
	values[11] = CStringGetTextDatum(terms_frequency_name(ns->frequency));
	values[12] = DateADTGetDatum(ns->start);
	values[13] = DateADTGetDatum(ns->end);
	values[14] = TimestampTzGetDatum(csp_now());
	values[15] = TimestampTzGetDatum(ns->cancellation_allowed_until);
	values[16] = NumericGetDatum(ns->unit_price);
	values[17] = CStringGetTextDatum(ns->currency);
	values[18] = CStringGetTextDatum(ns->pricing_currency);
	values[19] = ns->parent_subscription_id;
	nulls[19] = ns->has_parent ? ' ' : 'n';
	values[20] = CSP_TEXT(ns->reseller_id);
	nulls[20] = ns->reseller_id ? ' ' : 'n';
	values[21] = PointerGetDatum(ns->additional_resellers);
	nulls[21] = ns->additional_resellers ? ' ' : 'n';
	values[22] = DateADTGetDatum(next_charge);
	nulls[22] = has_next_charge ? ' ' : 'n';
	csp_spi_run(&insert, values, nulls, false, 0);

	csp_lock_subscription(SPI_datumTransfer(csp_spi_getdatum(0, 1, &isnull), false, UUID_LEN), sub);
	lot_id = csp_insert_seat_lot_until(sub, ns->lot_source, ns->quantity, ns->reducible_until);
	if (ns->first_charge_type != NULL)
		csp_charge_period(sub, ns->first_charge_type, ns->start, ns->quantity, lot_id,
						  ns->reference_id);
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
	static const char *const args[] = {"customer_id", "sku_id", "quantity", "term",
		"billing_frequency", "auto_renew", NULL, NULL, "align_to_calendar_month", NULL,
	"additional_resellers", NULL};
	Datum		customer_id;
	char	   *sku_id;
	int32		quantity;
	TermCode	term;
	BillingFrequency freq;
	bool		auto_renew;
	bool		align;
	char	   *reseller_id;
	ArrayType  *additional;
	int			nadditional;
	CustomerFacts cust;
	ProductFacts prod;
	bool		is_trial;
	bool		is_usage;
	TimestampTz now = csp_now();
	DateADT		start = terms_utc_date(now);
	DateADT		end;
	Numeric		unit_price;
	char	   *pricing_currency;
	bool		has_parent = false;
	Datum		parent_id = (Datum) 0;
	TimestampTz cancel_until;
	int64		section_id;
	NewSubscription ns;
	SubscriptionRow sub;

	csp_require_args(fcinfo, args, lengthof(args));
	customer_id = PG_GETARG_DATUM(0);
	sku_id = csp_arg_cstring(fcinfo, 1);
	quantity = PG_GETARG_INT32(2);
	term = csp_check_term(csp_arg_cstring(fcinfo, 3));
	freq = csp_check_frequency(csp_arg_cstring(fcinfo, 4));
	auto_renew = PG_GETARG_BOOL(5);
	align = PG_GETARG_BOOL(8);
	reseller_id = csp_arg_cstring_or_null(fcinfo, 9);
	additional = PG_GETARG_ARRAYTYPE_P(10);
	nadditional = ArrayGetNItems(ARR_NDIM(additional), ARR_DIMS(additional));
	if (!PG_ARGISNULL(11))
		csp_check_nonblank(csp_arg_cstring(fcinfo, 11), "friendly_name");
	if (!PG_ARGISNULL(7) && align)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a purchase is either co-terminated or aligned to the calendar month, not both"),
				 errhint("Pass coterminate_with or align_to_calendar_month => true (R4.5).")));

	csp_enter(fcinfo, "purchase", true);

	LoadCustomerFacts(customer_id, &cust);
	/* a profile-limited caller buys only under its own profiles (item 3) */
	if (cust.linked)
		csp_check_profile_scope(cust.billing_profile_id, true, "customer",
								csp_uuid_to_cstring(customer_id), "purchase");
	else if (csp_caller_profile_limited())
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
	LoadProductFacts(sku_id, &prod);
	is_trial = prod.trial_of != NULL;
	is_usage = strcmp(prod.billing_type, "usage") == 0;

	/* R2.1: the customer's partner sells, through its current billing link (R1.5) */
	if (strcmp(cust.partner_kind, "indirect_reseller") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("indirect reseller %s cannot sell subscriptions", cust.partner_id),
				 errhint("The indirect provider sells; attach the reseller with reseller_id (R2.1).")));
	if (!cust.linked)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s has no billing profile", cust.partner_id),
				 errdetail("Purchases are billed to the partner's linked billing profile (R1.5)."),
				 errhint("Link one with csp.link_partner_billing.")));
	if (strcmp(cust.verification_status, "approved") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_CUSTOMER_NOT_APPROVED),
				 errmsg("the customer cannot buy: its verification is %s", cust.verification_status),
				 errdetail("New purchases are blocked until the customer is approved (R3.4)."),
				 errhint("Wait for the verification (csp.set_customer_verification).")));
	if (!cust.mca_attested)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_MCA_NOT_ACCEPTED),
				 errmsg("the customer's acceptance of the Microsoft Customer Agreement is not attested"),
				 errdetail("The partner must attest the customer accepted the MCA before ordering (R3.3)."),
				 errhint("Attest it with csp.attest_mca.")));

	/* R9.1: a trial is 25 seats for P1M, free, auto-renewing into its paid SKU */
	if (is_trial)
	{
		quantity = 25;
		term = TERM_P1M;
		freq = FREQ_MONTHLY;
		auto_renew = true;
	}
	else if (is_usage)
	{
		if (quantity != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a usage-based subscription is bought with quantity 1"),
					 errdetail("%s is charged through its usage (R11.3).", sku_id),
					 errhint("Pass quantity => 1.")));
		term = TERM_P1M;
		freq = FREQ_MONTHLY;
	}
	else if (quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", quantity),
				 errhint("Buy at least one license.")));
	csp_check_term_frequency(term, freq);

	if (prod.one_per_customer || is_trial)
		CheckOnePerCustomer(customer_id, sku_id, is_trial);

	/* R2.3: resellers; up to five more in EU/EEA transactions, the first chosen first */
	if (reseller_id != NULL)
		CheckReseller(cust.partner_kind, cust.partner_id, reseller_id);
	if (nadditional > 0)
	{
		Datum	   *elems;
		bool	   *elem_nulls;
		int			n,
					i;

		if (reseller_id == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_NOT_PERMITTED),
					 errmsg("additional resellers need a first reseller"),
					 errhint("Choose reseller_id before additional_resellers (R2.3).")));
		if (nadditional > 5)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_NOT_PERMITTED),
					 errmsg("at most five additional resellers may be declared, not %d", nadditional),
					 errhint("Declare five or fewer (R2.3).")));
		if (!InEuropeanEconomicArea(cust.country))
			ereport(ERROR,
					(errcode(ERRCODE_CSP_NOT_PERMITTED),
					 errmsg("additional resellers are declared only in EU/EEA transactions"),
					 errdetail("The customer is in %s (R2.3).", cust.country),
					 errhint("Leave additional_resellers empty.")));
		deconstruct_array(additional, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
		for (i = 0; i < n; i++)
		{
			if (elem_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("additional_resellers contains a NULL"),
						 errhint("List partner ids only.")));
			CheckReseller(cust.partner_kind, cust.partner_id, TextDatumGetCString(elems[i]));
		}
	}

	/* R4.5, R4.8: the term's end */
	if (prod.is_addon)
	{
		DateADT		base_end;

		if (!FindAddonBase(customer_id, sku_id, !PG_ARGISNULL(7), PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7),
						   start, terms_natural_end(start, term), &parent_id, &base_end))
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs a base subscription of the customer", sku_id),
					 errdetail("An add-on attaches to an active subscription of one of its base SKUs (R4.8)."),
					 errhint("Buy the base first%s.", PG_ARGISNULL(7) ? "" : ", or name a compatible base in coterminate_with")));
		has_parent = true;
		end = base_end;
	}
	else if (!PG_ARGISNULL(7))
		end = CoterminationEnd(customer_id, PG_GETARG_DATUM(7));
	else if (align)
		end = terms_calendar_aligned_end(start, term);
	else
		end = terms_natural_end(start, term);
	/* a base or target whose term ended before today is waiting for its renewal */
	if ((prod.is_addon || !PG_ARGISNULL(7)) && end < start)
		csp_check_no_pending_renewal(csp_uuid_to_cstring(prod.is_addon ? parent_id : PG_GETARG_DATUM(7)),
									 end, "this purchase");
	if (!terms_coterminous_end_ok(start, term, end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s term starting %s cannot end on %s", terms_term_name(term),
						csp_date_to_cstring(start), csp_date_to_cstring(end)),
				 errdetail("A co-terminous end must lie between the start and the natural end %s (R4.5).",
						   csp_date_to_cstring(terms_natural_end(start, term))),
				 errhint("Co-terminate with a subscription that ends within the term.")));

	/* R4.3: the price is fixed for the term (trials and usage have none) */
	if (is_trial || is_usage)
	{
		unit_price = int64_to_numeric(0);
		pricing_currency = is_usage ? "USD" : cust.currency;
	}
	else
		csp_require_price(sku_id, term, freq, cust.currency, start, &unit_price, &pricing_currency);

	section_id = ResolveSection(cust.billing_account_id, cust.billing_profile_id,
								!PG_ARGISNULL(6), PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6));

	cancel_until = csp_cancellation_deadline(prod.publisher, freq, now);

	memset(&ns, 0, sizeof(ns));
	ns.billing_account_id = cust.billing_account_id;
	ns.billing_profile_id = cust.billing_profile_id;
	ns.invoice_section_id = section_id;
	ns.customer_id = customer_id;
	ns.partner_id = cust.partner_id;
	ns.sku_id = sku_id;
	ns.friendly_name = csp_arg_cstring_or_null(fcinfo, 11);
	ns.quantity = quantity;
	ns.is_trial = is_trial;
	ns.auto_renew = auto_renew;
	ns.term = term;
	ns.frequency = freq;
	ns.start = start;
	ns.end = end;
	ns.cancellation_allowed_until = cancel_until;
	ns.unit_price = unit_price;
	ns.currency = cust.currency;
	ns.pricing_currency = pricing_currency;
	ns.has_parent = has_parent;
	ns.parent_subscription_id = parent_id;
	ns.reseller_id = reseller_id;
	ns.additional_resellers = additional;
	ns.lot_source = "purchase";
	ns.reducible_until = now + CSP_WINDOW_USECS;
	/* R11.1/R11.2: billed in advance, the first cycle prorated from today */
	ns.first_charge_type = (is_trial || is_usage) ? NULL : "new";
	ns.reference_id = csp_new_uuid();
	csp_create_subscription(&ns, &sub);

	if (prod.is_addon)
		csp_check_addon_rules(customer_id, sku_id, true);

	customer_id = SPI_datumTransfer(sub.subscription_id, false, UUID_LEN);
	csp_finish();
	PG_RETURN_DATUM(customer_id);
}
