/*-------------------------------------------------------------------------
 *
 * upgrades.c
 *	  R8 upgrades: to a higher SKU along a supported path, from an active
 *	  subscription; all licenses in place, some into a new co-terminous
 *	  subscription, or into an existing eligible one.
 *
 * An upgrade cannot be undone (R8.2): the moved seats lose their
 * reduction windows and an in-place upgrade closes the cancellation
 * window.  Money moves as two `convert` lines sharing a reference_id: a
 * credit of the old SKU and a charge of the new, both prorated from today
 * to the end of the current billing cycle.
 *
 * src/upgrades.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_upgrade);

/* R8.1: along a supported path only, and never down one. */
static void
CheckUpgradePath(const char *from_sku, const char *to_sku)
{
	static CspPlan plan = {
		"SELECT EXISTS (SELECT 1 FROM csp.upgrade_path WHERE from_sku = $1 AND to_sku = $2),"
		"       EXISTS (SELECT 1 FROM csp.upgrade_path WHERE from_sku = $2 AND to_sku = $1)",
		2, {TEXTOID, TEXTOID}, NULL, 0
	};
#define Anum_upgrade_path_exists	1
#define Anum_downgrade_path_exists	2
	Datum		values[2];
	bool		isnull;

	csp_lock_product(to_sku, NULL);
	values[0] = CStringGetTextDatum(from_sku);
	values[1] = CStringGetTextDatum(to_sku);
	csp_spi_run(&plan, values, NULL, true, 1);
	if (DatumGetBool(csp_spi_getdatum(0, Anum_upgrade_path_exists, &isnull)))
		return;
	if (DatumGetBool(csp_spi_getdatum(0, Anum_downgrade_path_exists, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("%s to %s is a downgrade", from_sku, to_sku),
				 errdetail("Downgrades are not supported (R8.1)."),
				 errhint("Buy a subscription of %s and let this one end instead.", to_sku)));
	ereport(ERROR,
			(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
			 errmsg("there is no upgrade path from %s to %s", from_sku, to_sku),
			 errdetail("Upgrades follow the supported conversion paths only (R8.1)."),
			 errhint("See csp.upgrade_path for the paths from %s.", from_sku)));
}

/* In place: the subscription keeps its id and takes the new SKU and price. */
static void
ReplaceSku(SubscriptionRow *sub, const char *to_sku, Numeric price, const char *pricing_currency)
{
	Datum		id = sub->subscription_id;

	csp_store_replace_sku(sub, to_sku, price, pricing_currency, csp_now());
	csp_store_close_lot_windows(sub, csp_now());
	csp_lock_subscription(id, sub);
}

/*
 * csp.upgrade(subscription_id, to_sku, quantity, target_subscription_id) → uuid
 * Returns the subscription holding the upgraded seats.
 */
Datum
csp_upgrade(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "to_sku", NULL, NULL};
	SubscriptionRow source;
	SubscriptionRow holder;
	char	   *to_sku;
	int32		seats;
	Numeric		price;
	char	   *pricing_currency;
	DateADT		today = csp_today();
	Datum		reference_id = csp_new_uuid();
	Datum		result;

	csp_require_args(fcinfo, args, lengthof(args));
	to_sku = csp_arg_cstring(fcinfo, 1);

	csp_enter(fcinfo, "upgrade", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &source, true);
	csp_check_manageable(&source, "upgrade");
	csp_check_active_paid(&source, "upgrade", "Only active subscriptions are upgraded (R8.1): reactivate it first.");
	CheckUpgradePath(source.sku_id, to_sku);

	seats = PG_ARGISNULL(2) ? source.quantity : PG_GETARG_INT32(2);
	if (seats <= 0 || seats > source.quantity)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot upgrade %d of the %d licenses", seats, source.quantity),
				 errhint("Upgrade between 1 and %d licenses; NULL upgrades all.", source.quantity)));

	csp_count_update(&source);
	/* R8.5: a mid-term upgrade removes a scheduled one (R7.3) */
	csp_store_drop_scheduled_change(&source);

	/* the old SKU's seats are credited for the rest of the cycle */
	csp_charge_period(&source, "convert", today, -(int64) seats, 0, reference_id);

	if (!PG_ARGISNULL(3))
	{
		/* R8.4: into an existing subscription, which only gains licenses */
		csp_load_target(PG_GETARG_DATUM(3), &source, to_sku, &holder);
		if (csp_now() < holder.cancellation_allowed_until)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
					 errmsg("subscription %s is still in its cancellation window",
							csp_uuid_to_cstring(holder.subscription_id)),
					 errdetail("A target inside its cancellation window cannot receive an upgrade (R8.4)."),
					 errhint("Retry after %s.", timestamptz_to_str(holder.cancellation_allowed_until))));
		if (holder.term != source.term)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
					 errmsg("subscription %s has a %s term, the source %s",
							csp_uuid_to_cstring(holder.subscription_id),
							terms_term_name(holder.term), terms_term_name(source.term)),
					 errdetail("The target's term duration must equal the source's (R8.4)."),
					 errhint("Pick a target with a %s term, or leave it NULL.", terms_term_name(source.term))));
		csp_move_seats_out(&source, seats);
		csp_move_seats_in(&holder, "upgrade", seats, csp_now());
		csp_charge_period(&holder, "convert", today, seats, 0, reference_id);
		if (source.quantity == 0)
			csp_set_subscription_status(&source, "cancelled");
	}
	else if (seats == source.quantity)
	{
		/* R8.3: a full upgrade happens in place */
		csp_require_price(to_sku, source.term, source.frequency, source.currency, today,
						  &price, &pricing_currency);
		ReplaceSku(&source, to_sku, price, pricing_currency);
		csp_charge_period(&source, "convert", today, seats, 0, reference_id);
		holder = source;
	}
	else
	{
		/* R8.3: a partial upgrade opens a co-terminous subscription */
		NewSubscription ns;

		csp_require_price(to_sku, source.term, source.frequency, source.currency, today,
						  &price, &pricing_currency);
		csp_move_seats_out(&source, seats);
		memset(&ns, 0, sizeof(ns));
		ns.billing_account_id = source.billing_account_id;
		ns.billing_profile_id = source.billing_profile_id;
		ns.invoice_section_id = source.invoice_section_id;
		ns.customer_id = source.customer_id;
		ns.partner_id = source.partner_id;
		ns.sku_id = to_sku;
		ns.quantity = seats;
		ns.auto_renew = source.auto_renew;
		ns.term = source.term;
		ns.frequency = source.frequency;
		ns.start = today;
		ns.end = source.term_end;
		ns.cancellation_allowed_until = csp_now();	/* R8.2 */
		ns.unit_price = price;
		ns.currency = source.currency;
		ns.pricing_currency = pricing_currency;
		ns.lot_source = "upgrade";
		ns.reducible_until = csp_now();
		ns.first_charge_type = "convert";
		ns.reference_id = reference_id;
		csp_create_subscription(&ns, &holder);
	}

	csp_check_addon_rules(source.customer_id, source.sku_id, source.has_parent);
	csp_check_addon_rules(source.customer_id, to_sku, source.has_parent);
	result = SPI_datumTransfer(holder.subscription_id, false, UUID_LEN);
	csp_finish();
	PG_RETURN_DATUM(result);
}
