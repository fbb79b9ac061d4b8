/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  Registering the billing jobs with pg_cron.
 *
 * Two jobs call the idempotent job functions: renewals and cycle charges
 * shortly after 00:00 UTC every day (R6.6: renewal happens the day after
 * the term end), invoicing on the 1st of each month (R13.1).  pg_cron's
 * schedules are in GMT unless cron.timezone says otherwise.  The functions
 * run with the caller's rights, so the jobs run as the caller, who needs
 * pg_cron's own privileges.
 *
 * src/cron.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_schedule_jobs);
PG_FUNCTION_INFO_V1(csp_unschedule_jobs);

typedef struct BillingJob
{
	const char *name;
	const char *schedule;
	const char *command;
} BillingJob;

static const BillingJob billing_jobs[] = {
	{"csp_billing_daily", "5 0 * * *",
	"SELECT csp.run_renewals(); SELECT csp.run_cycle_charges();"},
	{"csp_billing_invoicing", "30 0 1 * *",
	"SELECT csp.run_renewals(); SELECT csp.run_cycle_charges(); SELECT csp.run_invoicing();"},
};

static void
RequirePgCron(void)
{
	static CspPlan plan = {
		"SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron'", 0, {InvalidOid}, NULL, 0
	};

	csp_spi_run(&plan, NULL, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_cron is not installed in this database"),
				 errdetail("csp.schedule_jobs registers its jobs with pg_cron."),
				 errhint("Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and run CREATE EXTENSION pg_cron; or call csp.tick() from your own scheduler.")));
}

/* csp.schedule_jobs(): registers (or updates) the billing jobs */
Datum
csp_schedule_jobs(PG_FUNCTION_ARGS)
{
	static CspPlan schedule = {
		"SELECT cron.schedule($1, $2, $3)", 3, {TEXTOID, TEXTOID, TEXTOID}, NULL, 0
	};
	int			i;

	SPI_connect();
	RequirePgCron();
	for (i = 0; i < (int) lengthof(billing_jobs); i++)
	{
		Datum		values[3];

		values[0] = CStringGetTextDatum(billing_jobs[i].name);
		values[1] = CStringGetTextDatum(billing_jobs[i].schedule);
		values[2] = CStringGetTextDatum(billing_jobs[i].command);
		csp_spi_run(&schedule, values, NULL, false, 0);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/* csp.unschedule_jobs(): removes the billing jobs that exist */
Datum
csp_unschedule_jobs(PG_FUNCTION_ARGS)
{
	static CspPlan unschedule = {
		"SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1", 1, {TEXTOID}, NULL, 0
	};
	int			i;

	SPI_connect();
	RequirePgCron();
	for (i = 0; i < (int) lengthof(billing_jobs); i++)
	{
		Datum		name = CStringGetTextDatum(billing_jobs[i].name);

		csp_spi_run(&unschedule, &name, NULL, false, 0);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
