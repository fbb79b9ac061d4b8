/*-------------------------------------------------------------------------
 *
 * renewals.c
 *	  The term jobs: csp.run_cycle_charges posts the full charge of every
 *	  billing cycle that has started.
 *
 * Jobs are set-based and idempotent.  Each takes its work in batches with
 * FOR UPDATE SKIP LOCKED, so two runners never take the same subscription,
 * and the unique key of csp.charge (one full-cycle charge per subscription
 * and cycle) turns a repeated run into a no-op.  They act "as of" the
 * instant they are given: everything they post carries it.
 *
 * src/renewals.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_run_cycle_charges);

#define JOB_BATCH_SIZE 1000
#define JOB_PROGRESS_EVERY 10000

static TimestampTz
JobInstant(FunctionCallInfo fcinfo)
{
	static const char *const args[] = {"as_of"};
	TimestampTz as_of;

	csp_require_args(fcinfo, args, lengthof(args));
	as_of = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(as_of) || !terms_day_in_range(terms_utc_date(as_of)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of is outside the supported range"),
				 errhint("Pass an instant between %d-01-01 and %d-12-31.", TERMS_MIN_YEAR, TERMS_MAX_YEAR)));
	return as_of;
}

static void
SetNextChargeDate(const SubscriptionRow *sub, bool has_next, DateADT next)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET next_charge_date = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, DATEOID}
	};
	Datum		values[3];
	char		nulls[3] = "   ";

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(next);
	nulls[2] = has_next ? ' ' : 'n';
	csp_spi_run(&plan, values, nulls, false, 0);
}

/*
 * Posts every due cycle of one subscription, up to as_of's date; returns
 * the number of lines posted.
 */
static int
ChargeDueCycles(SubscriptionRow *sub, DateADT today)
{
	int			posted = 0;
	DateADT		next = sub->next_charge_date;
	bool		has_next = sub->has_next_charge;

	while (has_next && next <= today && next <= sub->term_end)
	{
		TermsCycle	cycle;
		ChargeLine	line;

		if (!terms_cycle_containing(sub->term_start, sub->term_end, sub->term,
									sub->frequency, next, &cycle))
		{
			has_next = false;
			break;
		}
		line.charge_type = "cycleCharge";
		line.charge_start = cycle.start;
		line.charge_end = Min(cycle.end, sub->term_end);
		line.cycle_start = cycle.full_start;
		line.days_in_cycle = TERMS_CYCLE_DAYS(&cycle);
		line.quantity = sub->quantity;
		line.unit_price = sub->unit_price;
		line.fx_rate = csp_fx_rate(sub->pricing_currency, sub->currency, today);
		line.reference_id = csp_new_uuid();
		line.lot_id = 0;
		line.refunds_charge_id = 0;
		if (sub->quantity > 0 && csp_post_charge(sub, &line, true))
			posted++;
		has_next = csp_next_cycle_start(sub->term_start, sub->term_end, sub->term,
										sub->frequency, next, &next);
	}
	/* a date past the term would keep the row "due" for ever */
	if (has_next && next > sub->term_end)
		has_next = false;
	SetNextChargeDate(sub, has_next, next);
	return posted;
}

/*
 * csp.run_cycle_charges(as_of timestamptz) → int
 * R11.1: monthly, annual and triennial billing charge each cycle in
 * advance at its start; suspended subscriptions are still billed (R6.2).
 * Returns the number of cycle charges posted.
 */
Datum
csp_run_cycle_charges(PG_FUNCTION_ARGS)
{
	static CspPlan due = {
		"SELECT subscription_id FROM csp.subscription"
		" WHERE next_charge_date <= $1 AND status IN ('active', 'suspended')"
		" ORDER BY next_charge_date LIMIT $2 FOR UPDATE SKIP LOCKED",
		2, {DATEOID, INT4OID}
	};
	TimestampTz as_of = JobInstant(fcinfo);
	DateADT		today = terms_utc_date(as_of);
	int64		posted = 0;
	int64		seen = 0;

	SPI_connect();
	csp_begin_action("run_cycle_charges");
	csp_set_job_instant(as_of);
	PG_TRY();
	{
		for (;;)
		{
			Datum		values[2];
			SPITupleTable *batch;
			uint64		n,
						i;

			values[0] = DateADTGetDatum(today);
			values[1] = Int32GetDatum(JOB_BATCH_SIZE);
			csp_spi_run(&due, values, NULL, false, 0);
			batch = SPI_tuptable;
			n = SPI_processed;
			if (n == 0)
				break;
			for (i = 0; i < n; i++)
			{
				SubscriptionRow sub;
				bool		isnull;

				if (csp_load_subscription(SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull), &sub, true))
					posted += ChargeDueCycles(&sub, today);
				if (++seen % JOB_PROGRESS_EVERY == 0)
					ereport(NOTICE,
							(errmsg("run_cycle_charges: " INT64_FORMAT " subscriptions, " INT64_FORMAT " charges so far",
									seen, posted)));
			}
			SPI_freetuptable(batch);
		}
	}
	PG_FINALLY();
	{
		csp_clear_job_instant();
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT32((int32) posted);
}
