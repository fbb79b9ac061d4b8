/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  Prepare-once SPI plans, run with their result checked.
 *
 * Every query the engine runs is a static CspPlan at its call site (spi.h):
 * the SQL text (schema-qualified, parameterised, never built from input)
 * and its argument types.  The plan is prepared on first use and kept for
 * the life of the backend; the plan cache re-analyses it by itself when the
 * tables change, including after DROP/CREATE EXTENSION.
 *
 * Plans are generic unless a CspPlan asks for CURSOR_OPT_CUSTOM_PLAN: the
 * engine's queries are key lookups and key-driven joins whose best plan
 * does not depend on the values, and the plan cache would otherwise keep
 * re-planning some of them on every call (measured: a third of an OLTP
 * call's time), because a custom plan's estimate looks cheaper.
 *
 * At prepare the analysed statement tells two things that every later run
 * is held to:
 *
 *	- the result code a successful run returns (SPI_OK_SELECT for a SELECT,
 *	  also one FOR UPDATE; SPI_OK_INSERT or SPI_OK_INSERT_RETURNING, and the
 *	  same for UPDATE and DELETE; SPI_OK_UTILITY for a utility statement),
 *	  derived as _SPI_pquery derives it.  A run that returns anything else
 *	  is an internal error, as in ri_triggers.c: the statement is not the
 *	  one the caller wrote (a rule rewrote it), and whatever SPI_processed
 *	  and SPI_tuptable say would be misread;
 *
 *	- whether it is a plain read: a SELECT, its subqueries included, with
 *	  no FOR UPDATE/SHARE, no data-modifying WITH and no VOLATILE function
 *	  (a function that may write: SELECT cron.schedule(...) is no read;
 *	  STABLE and IMMUTABLE functions cannot modify data).
 *
 * "read_only" of csp_spi_run is a checked promise, not SPI's read-only
 * mode: a caller passes true for a plain read, and a plan that is not one
 * is refused on its first run (a programming error, which the test suites
 * would hit, since they run every plan).  false promises nothing; a plain
 * read run with false is harmless.  SPI's own read_only cannot be passed
 * through: it makes SPI run on the calling statement's snapshot without a
 * CommandCounterIncrement, and that snapshot predates every row the call
 * (and a call nested in the same statement, as in
 * create_billing_profile(create_billing_account(...))) has written: the
 * read would not see the account it is about.  The engine's functions are
 * VOLATILE, so every statement takes a fresh snapshot, as PL/pgSQL does in
 * a VOLATILE function.
 *
 * src/spi.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"

/* What a CspPlan learns at prepare: kept in TopMemoryContext with its plan. */
typedef struct CspPrepared
{
	SPIPlanPtr	plan;			/* kept (SPI_keepplan) */
	int			expected_rc;	/* what a successful run returns */
	bool		plain_read;		/* a SELECT that neither writes nor locks */
} CspPrepared;

/*
 * The result code SPI gives a run of "query", a statement whose result is
 * reported (canSetTag, so a SELECT's rows go to SPI's tuple table), as
 * _SPI_pquery and _SPI_execute_plan in PostgreSQL 15's spi.c derive it.
 * A SELECT ... FOR UPDATE is a SELECT; SELECT INTO is a utility statement.
 */
static int
ResultCodeOf(const Query *query)
{
	switch (query->commandType)
	{
		case CMD_SELECT:
			return SPI_OK_SELECT;
		case CMD_INSERT:
			return query->returningList ? SPI_OK_INSERT_RETURNING : SPI_OK_INSERT;
		case CMD_UPDATE:
			return query->returningList ? SPI_OK_UPDATE_RETURNING : SPI_OK_UPDATE;
		case CMD_DELETE:
			return query->returningList ? SPI_OK_DELETE_RETURNING : SPI_OK_DELETE;
		case CMD_MERGE:
			return SPI_OK_MERGE;
		case CMD_UTILITY:
			if (IsA(query->utilityStmt, CreateTableAsStmt) &&
				((CreateTableAsStmt *) query->utilityStmt)->is_select_into)
				return SPI_OK_SELINTO;
			return SPI_OK_UTILITY;
		default:
			elog(ERROR, "unrecognized commandType: %d", (int) query->commandType);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * True when "node" writes or locks rows: a query that is no SELECT (in a
 * WITH, too), a FOR UPDATE/SHARE at any level, a data-modifying WITH.
 * A VOLATILE function, which may write too, is contain_volatile_functions'.
 */
static bool
WritesOrLocks(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;

		if (query->commandType != CMD_SELECT || query->rowMarks != NIL ||
			query->hasModifyingCTE)
			return true;
		return query_tree_walker(query, WritesOrLocks, context, 0);
	}
	return expression_tree_walker(node, WritesOrLocks, context);
}

/*
 * Reads the analysed statements of a freshly prepared plan.  The run's
 * result code is that of the last statement whose result is reported
 * (canSetTag); when a rule left none (DO INSTEAD NOTHING, say),
 * _SPI_execute_plan returns SPI_OK_REWRITTEN.
 */
static void
InspectPlan(SPIPlanPtr spiplan, CspPrepared *prepared)
{
	List	   *sources = SPI_plan_get_plan_sources(spiplan);
	ListCell   *lc;
	int			reported = SPI_OK_REWRITTEN;
	bool		plain_read = false;
	bool		writes = false;

	foreach(lc, sources)
	{
		CachedPlanSource *source = (CachedPlanSource *) lfirst(lc);
		ListCell   *lq;

		foreach(lq, source->query_list)
		{
			Query	   *query = lfirst_node(Query, lq);

			if (query->canSetTag)
				reported = ResultCodeOf(query);
			if (WritesOrLocks((Node *) query, NULL) ||
				contain_volatile_functions((Node *) query))
				writes = true;
			else
				plain_read = true;
		}
	}
	prepared->expected_rc = reported;
	prepared->plain_read = plain_read && !writes;
}

/*
 * The kept plan of a CspPlan, prepared on first use: for csp_spi_run, and
 * for callers that open a cursor on it.
 */
SPIPlanPtr
csp_spi_plan(CspPlan *plan)
{
	if (plan->prepared == NULL)
	{
		SPIPlanPtr	spiplan = SPI_prepare_cursor(plan->sql, plan->nargs, plan->argtypes,
												 plan->cursor_options ? plan->cursor_options :
												 CURSOR_OPT_GENERIC_PLAN);
		CspPrepared *prepared;

		if (spiplan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s",
				 plan->sql, SPI_result_code_string(SPI_result));
		prepared = MemoryContextAllocZero(TopMemoryContext, sizeof(CspPrepared));
		InspectPlan(spiplan, prepared);
		if (SPI_keepplan(spiplan) != 0)
		{
			pfree(prepared);
			elog(ERROR, "could not keep the plan of \"%s\"", plan->sql);
		}
		prepared->plan = spiplan;
		plan->prepared = prepared;
	}
	return plan->prepared->plan;
}

/*
 * Holds a run to what its statement promised: an SPI failure, or a result
 * code other than the one derived at prepare, is an internal error.
 */
static void
CheckResult(const CspPlan *plan, int rc)
{
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", plan->sql, SPI_result_code_string(rc));
	if (rc != plan->prepared->expected_rc)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("\"%s\" returned %s, expected %s", plan->sql,
						pstrdup(SPI_result_code_string(rc)),
						pstrdup(SPI_result_code_string(plan->prepared->expected_rc))),
				 errhint("This is most likely due to a rule having rewritten the query.")));
}

/*
 * Runs a kept plan.  "read_only" true promises a plain read and is checked
 * (see the file header); the run itself is always read-write for SPI, so
 * that it sees what the call wrote before it.
 */
int
csp_spi_run(CspPlan *plan, Datum *values, const char *nulls,
			bool read_only, long count)
{
	SPIPlanPtr	spiplan = csp_spi_plan(plan);
	int			rc;

	if (read_only && !plan->prepared->plain_read)
		elog(ERROR, "\"%s\" is run as a plain read, but it writes, locks rows or calls a VOLATILE function",
			 plan->sql);
	rc = SPI_execute_plan(spiplan, values, nulls, false, count);
	CheckResult(plan, rc);
	return rc;
}

/*
 * Runs a kept plan on the latest snapshot: for the rule checks that read
 * other rows to decide (one per customer, add-on ratios), run after the
 * row that owns the decision is locked.  Under READ COMMITTED this is what
 * csp_spi_run sees anyway; under REPEATABLE READ and SERIALIZABLE the
 * transaction's snapshot predates the lock and would miss the purchase that
 * the lock waited for, so both would pass.
 */
int
csp_spi_run_latest(CspPlan *plan, Datum *values, const char *nulls, long count)
{
	SPIPlanPtr	spiplan = csp_spi_plan(plan);
	int			rc;

	rc = SPI_execute_snapshot(spiplan, values, nulls, GetLatestSnapshot(),
							  InvalidSnapshot, false, true, count);
	CheckResult(plan, rc);
	return rc;
}

/* Column "col" (1-based) of result row "row" (0-based) of the last query. */
static void
CheckCell(int row, int col)
{
	if (SPI_tuptable == NULL || row < 0 || (uint64) row >= SPI_processed ||
		col < 1 || col > SPI_tuptable->tupdesc->natts)
		elog(ERROR, "no result cell (%d, %d): the query returned " UINT64_FORMAT " rows",
			 row, col, SPI_processed);
}

Datum
csp_spi_getdatum(int row, int col, bool *isnull)
{
	CheckCell(row, col);
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/* The same as a C string in the current memory context, or NULL. */
char *
csp_spi_getcstring(int row, int col)
{
	CheckCell(row, col);
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * A one-dimensional array of n elements of "type" (nulls may be NULL), in
 * the current memory context: what the array-driven statements take.
 */
Datum
csp_array_of(Datum *elems, bool *nulls, int n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1];

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	dims[0] = n;
	lbs[0] = 1;
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  type, typlen, typbyval, typalign));
}
