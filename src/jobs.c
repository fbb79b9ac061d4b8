/*-------------------------------------------------------------------------
 *
 * jobs.c
 *	  The one job runner: batches of due items in keyset order, locked
 *	  SKIP LOCKED, each piece of work in a subtransaction of its own,
 *	  bounded memory, progress NOTICEs.
 *
 * csp.run_renewals, csp.run_cycle_charges and csp.run_invoicing are each
 * a CspJob (jobs.h) handed to csp_run_job.  Why the loop has this shape:
 *
 * - Batches of job->batch_size items, found by one statement that locks
 *   them FOR UPDATE SKIP LOCKED: a second runner takes other items instead
 *   of waiting for these or doing them twice.
 * - A keyset position (the keys of the last item taken) rather than
 *   "whatever is still due": an item whose work failed stays due, and must
 *   not be taken again and again in the same run.
 * - Set-based work first (one subtransaction per batch), then per-item
 *   work on what it left (one subtransaction per item): one item's error
 *   (no price, no exchange rate) undoes that item alone, and the job goes
 *   on with the others.
 * - Everything a batch allocates lives in a context reset per batch, and
 *   each piece of work has an SPI connection of its own: memory does not
 *   grow with the number of items.
 * - Before the first batch, every table of the schema big enough to matter
 *   that has no statistics is analyzed (AnalyzeNeverAnalyzed): pg_restore
 *   and pg_upgrade leave none, and the kept generic plans built without
 *   them chose joins and indexes that made the jobs twice as slow or worse
 *   until autovacuum came by (issue 15, "cliff: tick before ANALYZE").
 *
 * src/jobs.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "storage/lockdefs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "jobs.h"

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

/*
 * Runs body(arg) in a subtransaction and an SPI connection of its own: the
 * result tables of its queries and what it pallocs go with them.  On
 * error, everything the body did is rolled back and the error is returned
 * in *error (allocated in job_context); returns whether it succeeded.
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

/* What RunItem and RunBatch hand through RunInSubtransaction. */
typedef struct JobStep
{
	const CspJob *job;
	CspJobBatch *batch;
	Datum		item;
	void	   *arg;
	int			handled;
} JobStep;

static void
RunItem(void *arg)
{
	JobStep    *step = (JobStep *) arg;

	step->job->item_work(step->item, step->arg);
}

static void
RunBatch(void *arg)
{
	JobStep    *step = (JobStep *) arg;

	step->handled = step->job->batch_work(step->batch, step->arg);
}

/* An item as text, for a warning: its type's output function. */
static char *
ItemText(Datum item, Oid type)
{
	Oid			output;
	bool		varlena;

	getTypeOutputInfo(type, &output, &varlena);
	return OidOutputFunctionCall(output, item);
}

/*
 * One item's work in a subtransaction of its own: a WARNING names the item
 * when it fails, and "failure" says what happens next.
 */
static bool
WorkOnItem(const CspJob *job, Datum item, Oid item_type, void *arg,
		   MemoryContext batch_context)
{
	JobStep		step = {job, NULL, item, arg, 0};
	ErrorData  *edata;

	if (RunInSubtransaction(RunItem, &step, batch_context, &edata))
		return true;
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("%s %s: %s", job->item_name, ItemText(item, item_type), edata->message),
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 errdetail("%s", job->failure)));
	FreeErrorData(edata);
	return false;
}

/*
 * The set-based work on a batch; returns how many items it handled.  An
 * isolated batch that fails is rolled back whole and nothing is marked
 * done: the per-item work then takes every item and reports the error
 * against the one it belongs to.
 */
static int
WorkOnBatch(const CspJob *job, CspJobBatch *batch, void *arg, MemoryContext batch_context)
{
	JobStep		step = {job, batch, (Datum) 0, arg, 0};
	ErrorData  *edata;

	if (!job->batch_isolated)
	{
		/* a connection of its own: what the batch allocates goes with it */
		SPI_connect();
		step.handled = job->batch_work(batch, arg);
		SPI_finish();
		MemoryContextSwitchTo(batch_context);
		return step.handled;
	}
	if (RunInSubtransaction(RunBatch, &step, batch_context, &edata))
		return step.handled;
	ereport(LOG,
			(errmsg("%s: set-based batch of %d %s rolled back, each is taken one at a time: %s",
					job->action, batch->n, job->items_name, edata->message)));
	FreeErrorData(edata);
	memset(batch->done, 0, sizeof(bool) * batch->n);
	return 0;
}

/* The due statement's parameters after $1 and $2: the keyset position. */
static void
FirstKeys(const CspJob *job, CspPlan *due, Datum *keys)
{
	int			k;

	for (k = 0; k < job->nkeys; k++)
	{
		Oid			input;
		Oid			ioparam;

		getTypeInputInfo(due->argtypes[2 + k], &input, &ioparam);
		keys[k] = OidInputFunctionCall(input, unconstify(char *, job->first_key[k]), ioparam, -1);
	}
}

/*
 * Copies the keys of one batch into the current memory context, in
 * batch->keys; returns the type of each key in types.
 */
static void
TakeBatch(const CspJob *job, SPITupleTable *rows, uint64 n, CspJobBatch *batch, Oid *types)
{
	int			k;
	uint64		i;

	batch->n = (int) n;
	for (k = 0; k < job->nkeys; k++)
	{
		Form_pg_attribute attr = TupleDescAttr(rows->tupdesc, k);

		types[k] = attr->atttypid;
		for (i = 0; i < n; i++)
		{
			bool		isnull;
			Datum		value = SPI_getbinval(rows->vals[i], rows->tupdesc, k + 1, &isnull);

			if (isnull)
				elog(ERROR, "%s: a due item has a null key", job->action);
			batch->keys[k][i] = datumCopy(value, attr->attbyval, attr->attlen);
		}
	}
	batch->items = batch->keys[job->item_key];
	memset(batch->done, 0, sizeof(bool) * n);
}

/*
 * Tables smaller than this are left to autovacuum: below a megabyte the
 * planner's estimates from the table's size alone choose the same plans,
 * and the regression suites' tables stay out of it.
 */
#define CSP_ANALYZE_MIN_BYTES (1024 * 1024)

/* columns of the candidate statement in AnalyzeNeverAnalyzed */
#define Anum_candidate_oid		1
#define Anum_candidate_name		2

/*
 * ANALYZEs the tables of the schema that have never been analyzed and hold
 * at least CSP_ANALYZE_MIN_BYTES, with a NOTICE for each; not csp.audit_log,
 * which the jobs only append to (no plan of theirs reads it).  "Never analyzed"
 * is "no pg_statistic row for its first column" (the key every table leads
 * with): pg_restore and pg_upgrade bring no statistics, while CREATE INDEX
 * has already set reltuples, so reltuples < 0 would not tell.  The
 * syscache is read directly, since pg_statistic is not readable by every
 * job owner.
 *
 * ANALYZE takes SHARE UPDATE EXCLUSIVE on the table until the job's
 * transaction ends.  The lock is tried first: a table that a second runner,
 * autovacuum or a VACUUM holds is skipped rather than waited for (the
 * runners would otherwise take turns for the whole job, and whoever holds
 * it is already gathering its statistics).  Analyzing within the job's
 * transaction makes the new statistics visible to it at once, and the
 * pg_class update invalidates this backend's kept plans on the table, so
 * they are planned again with them.
 */
static void
AnalyzeNeverAnalyzed(const CspJob *job)
{
	static CspPlan candidates = {
		"SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
		"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = 'csp' AND c.relkind = 'r' AND c.relname <> 'audit_log'"
		"   AND pg_catalog.pg_relation_size(c.oid) >= $1"
		" ORDER BY c.relname",
		1, {INT8OID}, NULL, 0
	};
	Datum		min_bytes = Int64GetDatum(CSP_ANALYZE_MIN_BYTES);
	SPITupleTable *rows;
	uint64		n,
				i;

	/* not a plain read: pg_relation_size is VOLATILE */
	csp_spi_run(&candidates, &min_bytes, NULL, false, 0);
	rows = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(rows->vals[i], rows->tupdesc,
														   Anum_candidate_oid, &isnull));
		char	   *name = SPI_getvalue(rows->vals[i], rows->tupdesc, Anum_candidate_name);
		StringInfoData sql;

		if (SearchSysCacheExists3(STATRELATTINH, ObjectIdGetDatum(relid),
								  Int16GetDatum(1), BoolGetDatum(false)))
			continue;
		if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
			continue;
		/* a utility statement, run once: not worth a kept plan */
		initStringInfo(&sql);
		appendStringInfo(&sql, "ANALYZE %s", name);
		if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not run \"%s\"", sql.data);
		ereport(NOTICE,
				(errmsg("%s: analyzed %s (never analyzed)", job->action, name),
				 errdetail("A table without statistics (after pg_restore or pg_upgrade) gets plans that can make the job twice as slow or more.")));
		pfree(sql.data);
	}
	SPI_freetuptable(rows);
}

int64
csp_run_job(const CspJob *job, TimestampTz as_of, void *arg)
{
	CspPlan    *due = job->due();
	int64		succeeded = 0;
	int64		failed = 0;
	int64		next_notice = job->progress_every;
	Datum		position[2 + CSP_JOB_MAX_KEYS];
	Oid			types[CSP_JOB_MAX_KEYS];
	CspJobBatch batch;
	MemoryContext job_context = CurrentMemoryContext;
	MemoryContext batch_context;
	int			k;

	Assert(job->nkeys >= 1 && job->nkeys <= CSP_JOB_MAX_KEYS && due->nargs == 2 + job->nkeys);
	batch_context = AllocSetContextCreate(job_context, "csp job batch", ALLOCSET_DEFAULT_SIZES);
	for (k = 0; k < job->nkeys; k++)
		batch.keys[k] = palloc(sizeof(Datum) * job->batch_size);
	batch.done = palloc(sizeof(bool) * job->batch_size);
	position[0] = DateADTGetDatum(terms_utc_date(as_of));
	position[1] = Int32GetDatum(job->batch_size);
	FirstKeys(job, due, position + 2);

	AnalyzeNeverAnalyzed(job);
	csp_set_job_instant(as_of);
	PG_TRY();
	{
		for (;;)
		{
			SPITupleTable *rows;
			uint64		n,
						i;

			csp_spi_run(due, position, NULL, false, 0);
			rows = SPI_tuptable;
			n = SPI_processed;
			if (n == 0)
				break;
			MemoryContextReset(batch_context);
			MemoryContextSwitchTo(batch_context);
			TakeBatch(job, rows, n, &batch, types);
			SPI_freetuptable(rows);

			if (job->batch_work != NULL && (job->batch_enabled == NULL || *job->batch_enabled))
				succeeded += WorkOnBatch(job, &batch, arg, batch_context);
			for (i = 0; i < n; i++)
			{
				if (batch.done[i])
					continue;
				if (job->item_work == NULL)
					elog(ERROR, "%s: the batch work left an item undone", job->action);
				if (WorkOnItem(job, batch.items[i], types[job->item_key], arg, batch_context))
					succeeded++;
				else
					failed++;
			}

			/* the keyset position outlives the batch's memory */
			MemoryContextSwitchTo(job_context);
			for (k = 0; k < job->nkeys; k++)
			{
				int16		typlen;
				bool		typbyval;

				get_typlenbyval(types[k], &typlen, &typbyval);
				position[2 + k] = datumCopy(batch.keys[k][n - 1], typbyval, typlen);
			}
			if (succeeded + failed >= next_notice)
			{
				ereport(NOTICE,
						(errmsg("%s: " INT64_FORMAT " %s done, " INT64_FORMAT " failed so far",
								job->action, succeeded, job->items_name, failed)));
				next_notice = succeeded + failed + job->progress_every;
			}
		}
	}
	PG_FINALLY();
	{
		csp_clear_job_instant();
	}
	PG_END_TRY();
	MemoryContextDelete(batch_context);
	return succeeded;
}
