/*-------------------------------------------------------------------------
 *
 * renewals.c
 *	  R6.6 renewal: csp.run_renewals renews, expires or converts every
 *	  subscription whose term has ended.
 *
 * The job is a CspJob run by jobs.c: batches locked FOR UPDATE SKIP
 * LOCKED, so two runners never take the same subscription, the set-based
 * path (job_batch.c) for the ordinary cases and RenewWork for the rest,
 * each subscription in a subtransaction of its own.  It is idempotent: a
 * renewed subscription is no longer due.  Each term is renewed at the
 * instant it fell due, however late the job runs.
 *
 * src/renewals.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "jobs.h"

PG_FUNCTION_INFO_V1(csp_run_renewals);

static void RenewWork(Datum id, void *arg);
static bool RenewTerm(SubscriptionRow *sub, DateADT today);

#define RENEWAL_CATCH_UP_TERMS 120

/*
 * R6.3/R6.4: the end of the window in which a term (from "from") can be
 * cancelled with a refund: 168 hours for license-based products; for
 * marketplace SaaS the full-credit window, 24 hours when billed monthly and
 * 14 days otherwise.
 */
TimestampTz
csp_cancellation_deadline(const char *publisher, BillingFrequency freq, TimestampTz from)
{
	if (strcmp(publisher, "microsoft") != 0)
		return from + (freq == FREQ_MONTHLY ? USECS_PER_DAY : 14 * USECS_PER_DAY);
	return from + CSP_WINDOW_USECS;
}



/*
 * R4.8: an add-on lives only as long as its base.  It renews when its base
 * is active and either already renewed past "today" or about to renew (its
 * own term end has passed with auto-renew on).
 */
static bool
BaseRenews(const SubscriptionRow *addon, DateADT today)
{
	SubscriptionRow base;

	if (!addon->has_parent)
		return true;
	if (!csp_load_subscription(addon->parent_subscription_id, &base, false))
		return false;
	return strcmp(base.status, "active") == 0 &&
		(base.term_end >= today || base.auto_renew);
}

/* RenewTerm with the renewal's due instant as the engine's now. */
static bool
RenewTermAtItsInstant(SubscriptionRow *sub, DateADT today)
{
	CspInstant	previous = csp_enter_instant(csp_start_of_day(sub->term_end + 1));
	bool		renewed = false;

	PG_TRY();
	{
		renewed = RenewTerm(sub, today);
	}
	PG_FINALLY();
	{
		csp_leave_instant(previous);
	}
	PG_END_TRY();
	return renewed;
}

/*
 * Renews one subscription whose term ended, as many terms as needed to
 * reach "today", or ends it.  R6.6: the new term starts the day after the
 * end; its 168-hour windows start when the renewal completes (now).
 * R6.2: suspended subscriptions and those without auto-renew expire.
 * R9.1/R9.4: a trial converts to its paid SKU (P1Y monthly, 25 seats, or
 * what was scheduled) unless auto-renew is off.
 */
/*
 * Renews (or ends) one term of a subscription whose term ended, at the
 * instant the renewal fell due; false when the subscription has ended.
 */
static bool
RenewTerm(SubscriptionRow *sub, DateADT today)
{
	static CspPlan trial_base = {
		"SELECT trial_of FROM csp.product WHERE sku_id = $1", 1, {TEXTOID}, NULL, 0
	};
#define Anum_trial_base_trial_of 1
	Jsonb	   *change;
	char	   *sku_id = sub->sku_id;
	int32		quantity = sub->quantity;
	TermCode	term = sub->term;
	BillingFrequency freq = sub->frequency;
	char	   *field;
	DateADT		start = sub->term_end + 1;
	DateADT		end;
	Numeric		unit_price;
	char	   *pricing_currency;
	DateADT		next_charge = 0;
	bool		has_next;
	CspRenewedTerm renewed;
	bool		usage = strcmp(sub->billing_type, "usage") == 0;
	int64		lot_id;
	Datum		id = sub->subscription_id;

	/*
	 * R6.6: the renewal falls due at 00:00 UTC of the day after the end,
	 * and that is its instant however late the job runs: the new term's
	 * 168-hour windows start then, so a late job neither moves nor
	 * lengthens them, and the ledger does not depend on the schedule.
	 */
	TimestampTz now = csp_start_of_day(start);

	if (strcmp(sub->status, "suspended") == 0 || !sub->auto_renew ||
		!BaseRenews(sub, today))
	{
		csp_set_subscription_status(sub, "expired");
		return false;
	}

	change = csp_store_scheduled_change(sub);
	if (sub->is_trial)
	{
		Datum		sku = CStringGetTextDatum(sub->sku_id);

		csp_spi_run(&trial_base, &sku, NULL, true, 1);
		sku_id = csp_spi_getcstring(0, Anum_trial_base_trial_of);
		quantity = 25;
		term = TERM_P1Y;
		freq = FREQ_MONTHLY;
	}
	/* R7: the scheduled change is applied at renewal */
	if ((field = csp_jsonb_field(change, "sku_id")) != NULL)
		sku_id = field;
	if ((field = csp_jsonb_field(change, "quantity")) != NULL)
		quantity = pg_strtoint32(field);
	if ((field = csp_jsonb_field(change, "term")) != NULL)
		term = terms_parse_term(field);
	if ((field = csp_jsonb_field(change, "billing_frequency")) != NULL)
		freq = terms_parse_frequency(field);
	if ((field = csp_jsonb_field(change, "coterm_end")) != NULL)
		end = DatumGetDateADT(DirectFunctionCall1(date_in, CStringGetDatum(field)));
	else
		end = terms_natural_end(start, term);
	if (!terms_coterminous_end_ok(start, term, end))
		end = terms_natural_end(start, term);

	if (usage)
	{
		unit_price = int64_to_numeric(0);
		pricing_currency = sub->pricing_currency;
	}
	else
		csp_require_price(sku_id, term, freq, sub->currency, start, &unit_price, &pricing_currency);

	has_next = !usage && csp_next_cycle_start(start, end, term, freq, start, &next_charge);

	renewed.sku_id = sku_id;
	renewed.quantity = quantity;
	renewed.term = term;
	renewed.frequency = freq;
	renewed.start = start;
	renewed.end = end;
	renewed.started_at = now;
	renewed.cancellation_allowed_until = csp_cancellation_deadline(sub->publisher, freq, now);
	renewed.unit_price = unit_price;
	renewed.pricing_currency = pricing_currency;
	renewed.has_next_charge = has_next;
	renewed.next_charge_date = next_charge;
	csp_store_renew_term(sub, &renewed);

	csp_lock_subscription(id, sub);
	/* R5.2, R6.6: all seats are a new lot, reducible for 168 hours from the renewal */
	lot_id = csp_insert_seat_lot(sub, "renewal", quantity);
	if (!usage)
		csp_charge_period(sub, "renew", start, quantity, lot_id, csp_new_uuid());
	return true;
}

/*
 * Renews one subscription whose term ended, as many terms as needed to
 * reach "today", or ends it.  R6.2: suspended subscriptions and those
 * without auto-renew expire.  R9.1/R9.4: a trial converts to its paid SKU
 * (P1Y monthly, 25 seats, or what was scheduled) unless auto-renew is off.
 * Each term is renewed at its own due instant (RenewTerm).
 */
static void
RenewOne(SubscriptionRow *sub, DateADT today)
{
	int			terms_renewed = 0;
	bool		renewing = true;

	while (renewing && sub->term_end < today)
	{
		/* the old term's cycles are charged before it ends, however late the jobs run */
		if (sub->has_next_charge)
		{
			csp_charge_due_cycles(sub, today);
			csp_lock_subscription(sub->subscription_id, sub);
		}

		/*
		 * A run catches up a bounded number of missed terms, so an as_of far
		 * in the future cannot keep one job busy for hours; the rest stays
		 * pending for the next run.
		 */
		if (terms_renewed++ >= RENEWAL_CATCH_UP_TERMS)
		{
			ereport(NOTICE,
					(errmsg("subscription %s: %d terms renewed in this run, more are pending",
							csp_uuid_to_cstring(sub->subscription_id), RENEWAL_CATCH_UP_TERMS),
					 errhint("Run csp.run_renewals again, or with an earlier as_of.")));
			return;
		}

		renewing = RenewTermAtItsInstant(sub, today);
	}
}

static void
RenewWork(Datum id, void *arg)
{
	SubscriptionRow sub;

	if (csp_load_subscription(id, &sub, true))
		RenewOne(&sub, ((CspRenewalRun *) arg)->today);
}

/*
 * csp.run_renewals(as_of timestamptz) → int
 * Every subscription whose inclusive end date is before as_of's date is
 * renewed, expired or converted.  Each subscription runs in its own
 * subtransaction: one that cannot renew (say, no price for its new term)
 * is reported in a WARNING and stays pending, and the others go on.
 * Returns the number processed.
 */
static int
RenewBatch(CspJobBatch *batch, void *arg)
{
	return csp_renew_batch(batch->items, batch->n, batch->done, (CspRenewalRun *) arg);
}

static const CspJob renewal_job = {
	.action = "run_renewals",
	.item_name = "subscription",
	.items_name = "subscriptions",
	.due = csp_store_renewals_due,
	.nkeys = 2,
	.first_key = {"-infinity", "00000000-0000-0000-0000-000000000000"},
	.item_key = 1,
	.batch_size = CSP_JOB_BATCH_SIZE,
	.progress_every = CSP_JOB_PROGRESS_EVERY,
	.batch_work = RenewBatch,
	.batch_isolated = true,
	.batch_enabled = &csp_set_based_jobs,
	.item_work = RenewWork,
	.failure = "It was not renewed; it stays pending and the next run retries it.",
};

Datum
csp_run_renewals(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	CspRenewalRun run;
	int64		processed;

	run.today = terms_utc_date(as_of);
	csp_enter(fcinfo, "run_renewals", true);
	processed = csp_run_job(&renewal_job, as_of, &run);
	csp_finish();
	PG_RETURN_INT32((int32) processed);
}
