/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  Prepare-once SPI plans.
 *
 * Every query the engine runs is a static CspPlan at its call site: the SQL
 * text (schema-qualified, parameterised, never built from input) and its
 * argument types.  The plan is prepared on first use and kept for the life
 * of the backend; the plan cache re-analyses it by itself when the tables
 * change, including after DROP/CREATE EXTENSION.
 *
 * Plans are generic unless a CspPlan asks for CURSOR_OPT_CUSTOM_PLAN: the
 * engine's queries are key lookups and key-driven joins whose best plan
 * does not depend on the values, and the plan cache would otherwise keep
 * re-planning some of them on every call (measured: a third of an OLTP
 * call's time), because a custom plan's estimate looks cheaper.
 *
 * src/spi.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

/*
 * The kept plan of a CspPlan, prepared on first use: for csp_spi_run, and
 * for callers that open a cursor on it.
 */
SPIPlanPtr
csp_spi_plan(CspPlan *plan)
{
	if (plan->plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare_cursor(plan->sql, plan->nargs, plan->argtypes,
												  plan->cursor_options ? plan->cursor_options :
												  CURSOR_OPT_GENERIC_PLAN);

		if (prepared == NULL)
			elog(ERROR, "could not prepare \"%s\": %s",
				 plan->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(prepared) != 0)
			elog(ERROR, "could not keep the plan of \"%s\"", plan->sql);
		plan->plan = prepared;
	}
	return plan->plan;
}

/*
 * Runs a kept plan.  "read_only" is accepted for documentation but every
 * query runs in read-write mode: the engine's functions are VOLATILE, and
 * SPI's read-only mode reuses the calling statement's snapshot, which does
 * not see rows written earlier in the same statement (a nested call such
 * as create_billing_profile(create_billing_account(...))).
 */
int
csp_spi_run(CspPlan *plan, Datum *values, const char *nulls,
			bool read_only, long count)
{
	int			rc;

	(void) read_only;
	rc = SPI_execute_plan(csp_spi_plan(plan), values, nulls, false, count);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", plan->sql, SPI_result_code_string(rc));
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
	int			rc;

	rc = SPI_execute_snapshot(csp_spi_plan(plan), values, nulls, GetLatestSnapshot(),
							  InvalidSnapshot, false, true, count);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", plan->sql, SPI_result_code_string(rc));
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
