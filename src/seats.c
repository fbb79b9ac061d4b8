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

#define REDUCIBLE_LOTS \
	"SELECT lot_id, quantity, added_at, reducible_until FROM csp.seat_lot" \
	" WHERE billing_account_id = $1 AND subscription_id = $2 AND term_start = $3" \
	"   AND quantity > 0 AND reducible_until > $4"

static void
UpdateQuantity(const SubscriptionRow *sub, int32 quantity)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET quantity = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, INT4OID}, NULL, 0
	};
	Datum		arg = Int32GetDatum(quantity);

	csp_run_on_subscription(&plan, sub, &arg, NULL, 1);
}

/* The new quantity of a change_quantity call, counted as one update (R4.9). */
static void
UpdateQuantityCounted(SubscriptionRow *sub, int32 quantity)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET quantity = $3, update_count = update_count + 1"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, INT4OID}, NULL, 0
	};
	Datum		arg = Int32GetDatum(quantity);

	csp_run_on_subscription(&plan, sub, &arg, NULL, 1);
	sub->update_count++;
}

static void
TakeFromLot(int64 billing_account_id, int64 lot_id, int32 seats)
{
	static CspPlan plan = {
		"UPDATE csp.seat_lot SET quantity = quantity - $3"
		" WHERE billing_account_id = $1 AND lot_id = $2",
		3, {INT8OID, INT8OID, INT4OID}, NULL, 0
	};
	Datum		values[3];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(lot_id);
	values[2] = Int32GetDatum(seats);
	csp_spi_run(&plan, values, NULL, false, 0);
}

/*
 * Removes "seats" seats out of the reducible lots, newest first, with
 * their refunds; NC002 naming what is reducible when there are too few.
 */
static void
ReduceSeats(SubscriptionRow *sub, int32 seats)
{
	static CspPlan lots = {
		REDUCIBLE_LOTS " ORDER BY added_at DESC, lot_id DESC FOR UPDATE",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[4];
	SPITupleTable *found;
	uint64		nlots;
	uint64		i;
	int64		reducible = 0;
	TimestampTz now = csp_now();
	Datum		reference_id = csp_new_uuid();
	int32		left = seats;

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(sub->term_start);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&lots, values, NULL, false, 0);
	found = SPI_tuptable;
	nlots = SPI_processed;

	for (i = 0; i < nlots; i++)
	{
		bool		isnull;

		reducible += DatumGetInt32(SPI_getbinval(found->vals[i], found->tupdesc, 2, &isnull));
	}

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
			bool		isnull;
			TimestampTz until = DatumGetTimestampTz(SPI_getbinval(found->vals[0], found->tupdesc, 4, &isnull));

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
		HeapTuple	t = found->vals[i];
		TupleDesc	d = found->tupdesc;
		bool		isnull;
		int64		lot_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		int32		in_lot = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		TimestampTz added_at = DatumGetTimestampTz(SPI_getbinval(t, d, 3, &isnull));
		int32		take = Min(in_lot, left);
		int64		days_used = terms_whole_days_between(added_at, now);

		/* R5.3: the whole 24-hour periods since the lot was added are paid for */
		csp_refund_charges(sub, "removeQuantity", lot_id, added_at, take,
						   terms_utc_date(added_at) + (int32) days_used, reference_id);
		TakeFromLot(sub->billing_account_id, lot_id, take);
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

	csp_require_args(fcinfo, args, lengthof(args));
	quantity = PG_GETARG_INT32(1);
	if (quantity <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quantity must be positive, not %d", quantity),
				 errhint("To stop paying, cancel within the window or switch auto-renew off.")));

	csp_enter(fcinfo, "change_quantity", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, true);
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
		UpdateQuantityCounted(&sub, quantity);
		csp_check_addon_rules(sub.customer_id, sub.sku_id, sub.has_parent);
	}
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
	static CspPlan lots = {
		REDUCIBLE_LOTS " ORDER BY reducible_until, lot_id",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SubscriptionRow sub;
	Datum		values[4];
	uint64		i;

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
		values[0] = Int64GetDatum(sub.billing_account_id);
		values[1] = sub.subscription_id;
		values[2] = DateADTGetDatum(sub.term_start);
		values[3] = TimestampTzGetDatum(csp_now());
		csp_spi_run(&lots, values, NULL, true, 0);
		for (i = 0; i < SPI_processed; i++)
		{
			Datum		row[2];
			bool		nulls[2] = {false, false};
			bool		isnull;

			row[0] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
			row[1] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull);
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
	static CspPlan lots = {
		"SELECT lot_id, quantity FROM csp.seat_lot"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND term_start = $3 AND quantity > 0"
		" ORDER BY added_at DESC, lot_id DESC FOR UPDATE",
		3, {INT8OID, UUIDOID, DATEOID}, NULL, 0
	};
	Datum		values[3];
	SPITupleTable *found;
	uint64		n,
				i;
	int32		left = seats;

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(sub->term_start);
	csp_spi_run(&lots, values, NULL, false, 0);
	found = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n && left > 0; i++)
	{
		bool		isnull;
		int64		lot_id = DatumGetInt64(SPI_getbinval(found->vals[i], found->tupdesc, 1, &isnull));
		int32		in_lot = DatumGetInt32(SPI_getbinval(found->vals[i], found->tupdesc, 2, &isnull));
		int32		take = Min(in_lot, left);

		TakeFromLot(sub->billing_account_id, lot_id, take);
		left -= take;
	}
	if (left > 0)
		elog(ERROR, "subscription %s has fewer seats in its lots than its quantity",
			 csp_uuid_to_cstring(sub->subscription_id));
	UpdateQuantity(sub, sub->quantity - seats);
	sub->quantity -= seats;
}

/* Adds seats to a subscription as a new lot; returns the lot. */
int64
csp_move_seats_in(SubscriptionRow *sub, const char *source, int32 seats, TimestampTz reducible_until)
{
	int64		lot_id = csp_insert_seat_lot_until(sub, source, seats, reducible_until);

	UpdateQuantity(sub, sub->quantity + seats);
	sub->quantity += seats;
	return lot_id;
}
