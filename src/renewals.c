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
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

PG_FUNCTION_INFO_V1(csp_run_cycle_charges);
PG_FUNCTION_INFO_V1(csp_run_renewals);

static void RenewWork(Datum id, void *arg);
static void ChargeWork(Datum id, void *arg);
static bool RenewTerm(SubscriptionRow *sub, DateADT today);

#define JOB_BATCH_SIZE 1000
#define RENEWAL_CATCH_UP_TERMS 120
#define JOB_PROGRESS_EVERY 10000

/* The as_of argument of a job: a finite instant in the supported range. */
TimestampTz
csp_job_instant_arg(FunctionCallInfo fcinfo)
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
	/* a job far from real time is a back-fill: csp_time_admin only */
	csp_check_write_instant(as_of, "as_of");
	return as_of;
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

/*
 * The shape every subscription job shares: take the due subscriptions in
 * batches of JOB_BATCH_SIZE, locked FOR UPDATE SKIP LOCKED so a second
 * runner takes others, walking a keyset over (due date, id) so one that
 * fails is not retried in the same run; hand the batch to "batch_work"
 * (if any) in one subtransaction, then run "work" for each subscription
 * it did not take, each in its own subtransaction; report progress.
 * "due" takes $1 the job's date, $2 the batch size, $3/$4 the keyset
 * position, and returns (id, due date).  Returns how many succeeded.
 */
static int64
RunJob(FunctionCallInfo fcinfo, CspPlan *due, const char *job, TimestampTz as_of,
	   CspBatchWork batch_work, CspIsolatedWork work, void *work_arg, const char *failure)
{
	DateADT		today = terms_utc_date(as_of);
	int64		succeeded = 0;
	int64		failed = 0;
	int64		next_notice = JOB_PROGRESS_EVERY;
	DateADT		last_date = DATEVAL_NOBEGIN;
	Datum		last_id = DirectFunctionCall1(uuid_in, CStringGetDatum("00000000-0000-0000-0000-000000000000"));
	Datum	   *ids = palloc(sizeof(Datum) * JOB_BATCH_SIZE);
	bool	   *done = palloc(sizeof(bool) * JOB_BATCH_SIZE);
	MemoryContext job_context;
	MemoryContext batch_context;

	csp_enter(fcinfo, job, true);
	job_context = CurrentMemoryContext;
	batch_context = AllocSetContextCreate(job_context, "csp job batch", ALLOCSET_DEFAULT_SIZES);
	csp_set_job_instant(as_of);
	PG_TRY();
	{
		for (;;)
		{
			Datum		values[4];
			SPITupleTable *batch;
			uint64		n,
						i;

			values[0] = DateADTGetDatum(today);
			values[1] = Int32GetDatum(JOB_BATCH_SIZE);
			values[2] = DateADTGetDatum(last_date);
			values[3] = last_id;
			csp_spi_run(due, values, NULL, false, 0);
			batch = SPI_tuptable;
			n = SPI_processed;
			if (n == 0)
				break;
			MemoryContextReset(batch_context);
			MemoryContextSwitchTo(batch_context);
			for (i = 0; i < n; i++)
			{
				bool		isnull;

				ids[i] = datumCopy(SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull),
								   false, UUID_LEN);
				done[i] = false;
			}
			if (batch_work != NULL && csp_set_based_jobs)
				succeeded += csp_run_isolated_batch(batch_work, ids, (int) n, done, work_arg,
													batch_context);
			for (i = 0; i < n; i++)
			{
				bool		isnull;

				last_date = DatumGetDateADT(SPI_getbinval(batch->vals[i], batch->tupdesc, 2, &isnull));
				last_id = ids[i];
				if (done[i])
					continue;
				if (csp_run_isolated(work, ids[i], work_arg, batch_context, failure))
					succeeded++;
				else
					failed++;
			}
			/* the keyset position outlives the batch's memory */
			MemoryContextSwitchTo(job_context);
			last_id = datumCopy(last_id, false, UUID_LEN);
			SPI_freetuptable(batch);
			if (succeeded + failed >= next_notice)
			{
				ereport(NOTICE,
						(errmsg("%s: " INT64_FORMAT " subscriptions done, " INT64_FORMAT " failed so far",
								job, succeeded, failed)));
				next_notice = succeeded + failed + JOB_PROGRESS_EVERY;
			}
		}
	}
	PG_FINALLY();
	{
		csp_clear_job_instant();
	}
	PG_END_TRY();
	csp_finish();
	return succeeded;
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
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	DateADT		today = terms_utc_date(as_of);
	int64		posted = 0;
	void	   *work_arg[2];

	work_arg[0] = &today;
	work_arg[1] = &posted;
	RunJob(fcinfo, csp_store_cycle_charges_due(), "run_cycle_charges", as_of, csp_charge_batch, ChargeWork, work_arg,
		   "Its cycle was not charged; the next run retries it.");
	PG_RETURN_INT32((int32) posted);
}

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

/*
 * Runs body(arg) in a subtransaction and an SPI connection of its own: the
 * result tables of its queries and what it pallocs go with them, so a
 * job's memory does not grow with the number of subscriptions it handles.
 * On error, everything the body did is rolled back and the error is
 * returned in *error (allocated in job_context); returns whether it
 * succeeded.
 */
static bool
RunInSubtransaction(void (*body) (void *), void *arg, MemoryContext job_context,
					ErrorData **error)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;
	/* the body may move the engine's now to its items' instants: restored either way */
	CspInstant	instant = csp_enter_instant(csp_now());

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(job_context);
	PG_TRY();
	{
		SPI_connect();
		body(arg);
		SPI_finish();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(job_context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(job_context);
		*error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(job_context);
		CurrentResourceOwner = owner;
		ok = false;
	}
	PG_END_TRY();
	csp_leave_instant(instant);
	return ok;
}

typedef struct OneWork
{
	CspIsolatedWork work;
	Datum		id;
	void	   *arg;
} OneWork;

static void
RunOneWork(void *arg)
{
	OneWork    *one = (OneWork *) arg;

	one->work(one->id, one->arg);
}

/*
 * Runs work(id, arg) in a subtransaction of its own, so that one
 * subscription's failure (no price, no exchange rate) undoes only its own
 * changes: a WARNING names it and "failure" says what happens next, and
 * the job goes on with the others.  Returns whether the work succeeded.
 */
bool
csp_run_isolated(CspIsolatedWork work, Datum id, void *arg,
				 MemoryContext job_context, const char *failure)
{
	OneWork		one;
	ErrorData  *edata;

	one.work = work;
	one.id = id;
	one.arg = arg;
	if (RunInSubtransaction(RunOneWork, &one, job_context, &edata))
		return true;
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("subscription %s: %s", csp_uuid_to_cstring(id), edata->message),
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 errdetail("%s", failure)));
	FreeErrorData(edata);
	return false;
}

typedef struct BatchWork
{
	CspBatchWork work;
	const Datum *ids;
	int			n;
	bool	   *done;
	void	   *arg;
	int			handled;
} BatchWork;

static void
RunBatchWork(void *arg)
{
	BatchWork  *batch = (BatchWork *) arg;

	batch->handled = batch->work(batch->ids, batch->n, batch->done, batch->arg);
}

/*
 * Runs a set-based batch work in one subtransaction; returns how many
 * subscriptions it handled (done[i] set).  If it fails, all of it is
 * rolled back and nothing is marked done: the per-row path then takes
 * every subscription and reports the error against the one it belongs to.
 */
int
csp_run_isolated_batch(CspBatchWork work, const Datum *ids, int n, bool *done,
					   void *arg, MemoryContext job_context)
{
	BatchWork	batch;
	ErrorData  *edata;

	batch.work = work;
	batch.ids = ids;
	batch.n = n;
	batch.done = done;
	batch.arg = arg;
	batch.handled = 0;
	if (RunInSubtransaction(RunBatchWork, &batch, job_context, &edata))
		return batch.handled;
	ereport(LOG,
			(errmsg("set-based batch of %d subscriptions rolled back, each is taken one at a time: %s",
					n, edata->message)));
	FreeErrorData(edata);
	memset(done, 0, sizeof(bool) * n);
	return 0;
}

static void
RenewWork(Datum id, void *arg)
{
	SubscriptionRow sub;

	if (csp_load_subscription(id, &sub, true))
		RenewOne(&sub, *(DateADT *) arg);
}

static void
ChargeWork(Datum id, void *arg)
{
	SubscriptionRow sub;
	int64	   *posted = (int64 *) ((void **) arg)[1];

	if (csp_load_subscription(id, &sub, true))
		*posted += csp_charge_due_cycles(&sub, *(DateADT *) ((void **) arg)[0]);
}

/*
 * csp.run_renewals(as_of timestamptz) → int
 * Every subscription whose inclusive end date is before as_of's date is
 * renewed, expired or converted.  Each subscription runs in its own
 * subtransaction: one that cannot renew (say, no price for its new term)
 * is reported in a WARNING and stays pending, and the others go on.
 * Returns the number processed.
 */
Datum
csp_run_renewals(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	DateADT		today = terms_utc_date(as_of);

	PG_RETURN_INT32((int32) RunJob(fcinfo, csp_store_renewals_due(), "run_renewals", as_of, csp_renew_batch, RenewWork, &today,
								   "It was not renewed; it stays pending and the next run retries it."));
}
