/*-------------------------------------------------------------------------
 *
 * spi.h
 *	  Prepare-once SPI plans and the helpers that run them (spi.c).
 *
 * A CspPlan is a static at its call site: the SQL text and its argument
 * types, written as a positional initializer
 *
 *		static CspPlan plan = {"SELECT ... WHERE id = $1", 1, {INT8OID}, NULL, 0};
 *
 * Everything spi.c learns when it prepares the statement (the kept plan,
 * the result code a successful run returns, whether it is a plain read)
 * lives behind "prepared", which is NULL until the first run, so the
 * initializers name every field and stay warning-free.
 *
 * src/spi.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_SPI_H
#define CSP_SPI_H

#include "postgres.h"

#include "executor/spi.h"

#define CSP_PLAN_MAX_ARGS 32

/* What spi.c keeps of a prepared CspPlan; private to spi.c. */
struct CspPrepared;

typedef struct CspPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[CSP_PLAN_MAX_ARGS];
	struct CspPrepared *prepared;	/* NULL until first use */

	/*
	 * 0 means CURSOR_OPT_GENERIC_PLAN (see spi.c).  Statements driven by
	 * arrays of keys must stay generic: a custom plan sees thousands of
	 * keys and may hash-join a scan of the whole table, where one index
	 * probe per key is what the work needs.  CURSOR_OPT_CUSTOM_PLAN where
	 * the sizes of the arrays should choose the join.
	 */
	int			cursor_options;
} CspPlan;

extern SPIPlanPtr csp_spi_plan(CspPlan *plan);
extern int	csp_spi_run(CspPlan *plan, Datum *values, const char *nulls,
						bool read_only, long count);
extern int	csp_spi_run_latest(CspPlan *plan, Datum *values, const char *nulls, long count);
extern Datum csp_spi_getdatum(int row, int col, bool *isnull);
extern char *csp_spi_getcstring(int row, int col);
extern Datum csp_array_of(Datum *elems, bool *nulls, int n, Oid type);

#endif							/* CSP_SPI_H */
