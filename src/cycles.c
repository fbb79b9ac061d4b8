/*-------------------------------------------------------------------------
 *
 * cycles.c
 *	  The billing cycles of a term: when the next one starts, posting the
 *	  ones that are due, and csp.run_cycle_charges.
 *
 * R11.1: monthly, annual and triennial billing charge each cycle in
 * advance, at its start.  A cycle's charge is posted at the cycle's start
 * with the rate of that day, however late the job (or the mid-cycle change
 * that catches it up, csp_lock_and_catch_up) runs, so the same history
 * gives the same ledger whatever the schedule.  The unique key of
 * csp.charge (one full-cycle charge per subscription and cycle) turns a
 * repeated run into a no-op.
 *
 * src/cycles.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "jobs.h"

PG_FUNCTION_INFO_V1(csp_run_cycle_charges);

/*
 * The start of the first billing cycle that begins after "day" inside the
 * term, or false when the term has none (one_time, or the last cycle).
 */
bool
csp_next_cycle_start(DateADT term_start, DateADT term_end, TermCode term,
					 BillingFrequency freq, DateADT day, DateADT *next)
{
	TermsCycle	cycle;

	if (freq == FREQ_ONE_TIME ||
		!terms_cycle_containing(term_start, term_end, term, freq, day, &cycle) ||
		cycle.end >= term_end)
		return false;
	*next = cycle.end + 1;
	return true;
}


static void
SetNextChargeDate(const SubscriptionRow *sub, bool has_next, DateADT next,
				  bool charged, DateADT last_charged)
{
	/* the latest cycle charged is an event of the subscription (NC016) */
	csp_store_set_next_charge_date(sub, has_next, next, charged, csp_start_of_day(last_charged));
}

/*
 * Posts the full charge of one cycle at the cycle's start, with the rate
 * of that day, however late the job (or the change that catches it up)
 * runs: the same history gives the same ledger whatever the schedule.
 * False when there was nothing to post (no seats, or already posted).
 */
static bool
PostCycleCharge(SubscriptionRow *sub, const TermsCycle *cycle, DateADT cycle_start)
{
	CspInstant	previous = csp_enter_instant(csp_start_of_day(cycle_start));
	bool		posted = false;

	PG_TRY();
	{
		ChargeLine	line;

		csp_cycle_line(sub, "cycleCharge", cycle, sub->quantity, &line);
		line.fx_rate = csp_fx_rate(sub->pricing_currency, sub->currency, cycle_start);
		line.reference_id = csp_new_uuid();
		posted = sub->quantity > 0 && csp_post_charge(sub, &line, true);
	}
	PG_FINALLY();
	{
		csp_leave_instant(previous);
	}
	PG_END_TRY();
	return posted;
}

/*
 * Posts every due cycle of one subscription, up to "today"; returns the
 * number of lines posted.  Also called before mid-cycle changes
 * (csp_lock_and_catch_up), so a cycle is charged at the quantity it started
 * with.
 */
int
csp_charge_due_cycles(SubscriptionRow *sub, DateADT today)
{
	int			posted = 0;
	DateADT		next = sub->next_charge_date;
	bool		has_next = sub->has_next_charge;
	bool		charged = false;
	DateADT		last_charged = 0;

	while (has_next && next <= today && next <= sub->term_end)
	{
		TermsCycle	cycle;

		if (!terms_cycle_containing(sub->term_start, sub->term_end, sub->term,
									sub->frequency, next, &cycle))
		{
			has_next = false;
			break;
		}

		if (PostCycleCharge(sub, &cycle, next))
			posted++;
		charged = true;
		last_charged = next;
		has_next = csp_next_cycle_start(sub->term_start, sub->term_end, sub->term,
										sub->frequency, next, &next);
	}
	/* a date past the term would keep the row "due" for ever */
	if (has_next && next > sub->term_end)
		has_next = false;
	if (charged)
	{
		/* the date moves with the last cycle charged, at its instant (as the batch path) */
		CspInstant	previous = csp_enter_instant(csp_start_of_day(last_charged));

		SetNextChargeDate(sub, has_next, next, charged, last_charged);
		csp_leave_instant(previous);
	}
	else
		SetNextChargeDate(sub, has_next, next, charged, last_charged);
	return posted;
}

static void
ChargeWork(Datum id, void *arg)
{
	CspCycleChargeRun *run = (CspCycleChargeRun *) arg;
	SubscriptionRow sub;

	if (csp_load_subscription(id, &sub, true))
		run->posted += csp_charge_due_cycles(&sub, run->today);
}

static int
ChargeBatch(CspJobBatch *batch, void *arg)
{
	return csp_charge_batch(batch->items, batch->n, batch->done, (CspCycleChargeRun *) arg);
}

static const CspJob cycle_charge_job = {
	.action = "run_cycle_charges",
	.item_name = "subscription",
	.items_name = "subscriptions",
	.due = csp_store_cycle_charges_due,
	.nkeys = 2,
	.first_key = {"-infinity", "00000000-0000-0000-0000-000000000000"},
	.item_key = 1,
	.batch_size = CSP_JOB_BATCH_SIZE,
	.progress_every = CSP_JOB_PROGRESS_EVERY,
	.batch_work = ChargeBatch,
	.batch_isolated = true,
	.batch_enabled = &csp_set_based_jobs,
	.item_work = ChargeWork,
	.failure = "Its cycle was not charged; the next run retries it.",
};

/*
 * csp.run_cycle_charges(as_of timestamptz) → int
 * R11.1: monthly, annual and triennial billing charge each cycle in
 * advance at its start; suspended subscriptions are still billed (R6.2).
 * Returns the number of cycle charges posted.
 */
Datum
csp_run_cycle_charges(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	CspCycleChargeRun run;

	run.today = terms_utc_date(as_of);
	run.posted = 0;
	csp_enter(fcinfo, "run_cycle_charges", true);
	csp_run_job(&cycle_charge_job, as_of, &run);
	csp_finish();
	PG_RETURN_INT32((int32) run.posted);
}
