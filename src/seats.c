/*-------------------------------------------------------------------------
 *
 * seats.c
 *	  R5 seats: increases at any time, decreases only out of lots still
 *	  inside their 168-hour window, and csp.reducible_licenses.
 *
 * Every increase of seats is a lot with its own window (purchase, renewal,
 * mid-term increase).  A decrease takes seats from the reducible lots,
 * newest first, and refunds for each lot what was charged for its seats
 * after the whole 24-hour periods already used (R5.3).
 *
 * src/seats.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_change_quantity);
PG_FUNCTION_INFO_V1(csp_reducible_licenses);

/*
 * Removes "seats" seats out of the reducible lots, newest first, with
 * their refunds; NC002 naming what is reducible when there are too few.
 */
static void
ReduceSeats(SubscriptionRow *sub, int32 seats)
{
	CspSeatLot *lots;
	int			nlots;
	int			i;
	int64		reducible = 0;
	TimestampTz now = csp_now();
	Datum		reference_id = csp_new_uuid();
	int32		left = seats;

	nlots = csp_store_reducible_lots(sub, now, true, &lots);
	for (i = 0; i < nlots; i++)
		reducible += lots[i].quantity;

	if (reducible < seats)
	{
		if (reducible == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_SEATS_NOT_REDUCIBLE),
					 errmsg("cannot remove %d licenses from subscription %s: none is reducible",
							seats, csp_uuid_to_cstring(sub->subscription_id)),
					 errdetail("Licenses can be reduced only within 7 days (168 hours) of being added (R5.2)."),
					 errhint("Reduce in the cancellation window after the renewal on %s, or schedule the reduction with csp.schedule_change.",
							 csp_date_to_cstring(sub->term_end + 1))));
		{
			TimestampTz until = lots[0].reducible_until;

			ereport(ERROR,
					(errcode(ERRCODE_CSP_SEATS_NOT_REDUCIBLE),
					 errmsg("cannot remove %d licenses from subscription %s: only " INT64_FORMAT " are reducible",
							seats, csp_uuid_to_cstring(sub->subscription_id), reducible),
					 errdetail("Licenses can be reduced only within 7 days (168 hours) of being added (R5.2)."),
					 errhint("Reduce by at most " INT64_FORMAT " (the newest until %s); csp.reducible_licenses lists each lot.",
							 reducible, timestamptz_to_str(until))));
		}
	}

	for (i = 0; i < nlots && left > 0; i++)
	{
		int64		lot_id = lots[i].lot_id;
		int32		in_lot = lots[i].quantity;
		TimestampTz added_at = lots[i].added_at;
		int32		take = Min(in_lot, left);
		int64		days_used = terms_whole_days_between(added_at, now);

		/* R5.3: the whole 24-hour periods since the lot was added are paid for */
		csp_refund_charges(sub, "removeQuantity", lot_id, added_at, take,
						   terms_utc_date(added_at) + (int32) days_used, reference_id);
		csp_store_take_from_lot(sub->billing_account_id, lot_id, take);
		left -= take;
	}
}

/* csp.change_quantity(subscription_id, quantity) */
Datum
csp_change_quantity(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "quantity"};
	SubscriptionRow sub;
	int32		quantity;
	TimestampTz now;

	csp_require_args(fcinfo, args, lengthof(args));
	quantity = PG_GETARG_INT32(1);
	if (quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", quantity),
				 errhint("To stop paying, cancel within the window or switch auto-renew off.")));

	csp_enter(fcinfo, "change_quantity", true);
	now = csp_now();
	/* the call's instant is recorded by the quantity's own UPDATE, below */
	csp_lock_for_change(PG_GETARG_DATUM(0), &sub);
	csp_check_manageable(&sub, "change the quantity of");
	csp_check_not_trial(&sub, "change the quantity of");
	if (strcmp(sub.status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot change the quantity of subscription %s: it is %s",
						csp_uuid_to_cstring(sub.subscription_id), sub.status),
				 errhint("Reactivate it first with csp.reactivate.")));
	if (strcmp(sub.billing_type, "usage") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("a usage-based subscription has no seats to change"),
				 errhint("Usage is recorded with csp.record_usage.")));

	if (quantity != sub.quantity)
	{
		csp_check_update_limit(&sub);
		if (quantity > sub.quantity)
		{
			/* R5.1: increases at any time, charged to the end of the current cycle */
			int32		added = quantity - sub.quantity;
			int64		lot_id = csp_insert_seat_lot(&sub, "increase", added);

			csp_charge_period(&sub, "addQuantity", csp_today(), added, lot_id, csp_new_uuid());
		}
		else
			ReduceSeats(&sub, sub.quantity - quantity);
		csp_store_change_quantity(&sub, quantity, now);
		sub.update_count++;
		csp_check_addon_rules(sub.customer_id, sub.sku_id, sub.has_parent);
	}
	else
		csp_store_record_event(&sub, now);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * csp.reducible_licenses(subscription_id)
 *   → TABLE(quantity int, reducible_until timestamptz)
 * R5.4: the seats still reducible, lot by lot, soonest deadline first.
 */
Datum
csp_reducible_licenses(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SubscriptionRow sub;
	CspSeatLot *lots;
	int			nlots;
	int			i;

	csp_require_args(fcinfo, args, lengthof(args));
	SetSingleFuncCall(fcinfo, 0);

	csp_enter(fcinfo, "reducible_licenses", false);
	if (!csp_load_subscription(PG_GETARG_DATUM(0), &sub, false))
		csp_report_not_found("subscription", csp_uuid_to_cstring(PG_GETARG_DATUM(0)));
	/* issue 12 item 3: a profile-limited caller reads only its profiles' seats */
	csp_check_profile_scope(sub.billing_profile_id, false, "subscription",
							csp_uuid_to_cstring(sub.subscription_id), "read the seats of a subscription");

	if (strcmp(sub.status, "active") == 0 && !sub.is_trial)
	{
		nlots = csp_store_reducible_lots(&sub, csp_now(), false, &lots);
		for (i = 0; i < nlots; i++)
		{
			Datum		row[2];
			bool		nulls[2] = {false, false};

			row[0] = Int32GetDatum(lots[i].quantity);
			row[1] = TimestampTzGetDatum(lots[i].reducible_until);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
		}
	}
	csp_finish();
	return (Datum) 0;
}

/*
 * Moves "seats" seats out of a subscription's current lots, newest first,
 * whatever their windows, without refunds: the caller credits them (an
 * upgrade's or a transfer's own lines).  Updates the quantity; a
 * subscription left with no seats is not the caller's business here.
 */
void
csp_move_seats_out(SubscriptionRow *sub, int32 seats)
{
	CspSeatLot *lots;
	int			n,
				i;
	int32		left = seats;

	n = csp_store_current_lots(sub, &lots);
	for (i = 0; i < n && left > 0; i++)
	{
		int32		take = Min(lots[i].quantity, left);

		csp_store_take_from_lot(sub->billing_account_id, lots[i].lot_id, take);
		left -= take;
	}
	if (left > 0)
		elog(ERROR, "subscription %s has fewer seats in its lots than its quantity",
			 csp_uuid_to_cstring(sub->subscription_id));
	csp_store_set_quantity(sub, sub->quantity - seats);
	sub->quantity -= seats;
}

/* Adds seats to a subscription as a new lot; returns the lot. */
int64
csp_move_seats_in(SubscriptionRow *sub, const char *source, int32 seats, TimestampTz reducible_until)
{
	int64		lot_id = csp_insert_seat_lot_until(sub, source, seats, reducible_until);

	csp_store_set_quantity(sub, sub->quantity + seats);
	sub->quantity += seats;
	return lot_id;
}
