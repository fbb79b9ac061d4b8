/*-------------------------------------------------------------------------
 *
 * jobs.h
 *	  The one job runner (jobs.c), shared by csp.run_renewals,
 *	  csp.run_cycle_charges and csp.run_invoicing.
 *
 * A job is described by a CspJob: the statement that finds its due items
 * (in keyset order, locked FOR UPDATE SKIP LOCKED), and the work done on
 * each batch of them -- set-based, per item, or both.  The runner owns
 * what every job must get right the same way: the batches, the keyset
 * position that makes a failed item not come back in the same run, the
 * subtransaction around each piece of work, bounded memory, the job's
 * instant, and the progress line.  What the work does is the rule files'
 * business; the runner knows nothing of subscriptions or invoices.
 *
 * src/jobs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_JOBS_H
#define CSP_JOBS_H

#include "fmgr.h"
#include "utils/timestamp.h"

struct CspPlan;

#define CSP_JOB_MAX_KEYS 2
#define CSP_JOB_BATCH_SIZE 1000		/* due subscriptions taken at once */
#define CSP_JOB_PROGRESS_EVERY 10000	/* items between progress NOTICEs */

/*
 * One batch of due items, in the batch's memory: keys[k][i] is key column
 * k + 1 of item i, and items = keys[item_key].  A batch work sets done[i]
 * for each item it handled; the per-item work takes the others.
 */
typedef struct CspJobBatch
{
	int			n;
	Datum	   *keys[CSP_JOB_MAX_KEYS];
	Datum	   *items;
	bool	   *done;
} CspJobBatch;

/* Set-based work on a batch: returns how many items it handled (done[i] set). */
typedef int (*CspJobBatchWork) (CspJobBatch *batch, void *arg);

/* The work on one item the batch work did not handle. */
typedef void (*CspJobItemWork) (Datum item, void *arg);

typedef struct CspJob
{
	const char *action;			/* the audited action; names the progress line */
	const char *item_name;		/* "subscription": names an item in warnings */
	const char *items_name;		/* "subscriptions": in the progress line */

	/*
	 * Finds the next batch: takes $1 the job's UTC date, $2 the batch size
	 * and $3.. the keyset position (one parameter per key, in order), and
	 * returns the keys of the due items in that order, ordered by them,
	 * FOR UPDATE (or FOR NO KEY UPDATE) SKIP LOCKED so that a second runner
	 * takes other items.
	 */
	struct CspPlan *(*due) (void);
	int			nkeys;
	const char *first_key[CSP_JOB_MAX_KEYS];	/* below every key, as text */
	int			item_key;		/* 0-based: which key identifies an item */
	int			batch_size;
	int			progress_every; /* items between two progress NOTICEs */

	/*
	 * The work.  batch_work (may be NULL) runs first on each batch.  When
	 * batch_isolated, it runs in a subtransaction of its own and a failure
	 * rolls it back and leaves every item to item_work; otherwise it runs
	 * in an SPI connection of its own and a failure ends the job.
	 * item_work (may be NULL) then runs on each item not done, each in a
	 * subtransaction of its own: a failure undoes that item only, is
	 * reported as a WARNING whose detail is "failure", and the job goes on.
	 */
	CspJobBatchWork batch_work;
	bool		batch_isolated;
	const bool *batch_enabled;	/* a setting that turns batch_work off; NULL: on */
	CspJobItemWork item_work;
	const char *failure;
} CspJob;

/* The as_of argument of a job: a finite instant in the supported range. */
extern TimestampTz csp_job_instant_arg(FunctionCallInfo fcinfo);

/*
 * Runs a job as of "as_of", inside csp_enter/csp_finish of the caller:
 * returns how many items succeeded.  "arg" is handed to every work.
 */
extern int64 csp_run_job(const CspJob *job, TimestampTz as_of, void *arg);

#endif							/* CSP_JOBS_H */
