/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  Registering the billing jobs with pg_cron, and removing them.
 *
 * One job, csp_billing_daily, runs csp.tick() at 00:05 UTC every day: the
 * renewals and cycle charges due that day (R6.6: renewal happens the day
 * after the term end) and the invoicing of every billing period that has
 * ended, so each period is invoiced on the day after it ends, whatever its
 * anniversary day (R13.1; a single job on the 1st left legacy profiles
 * waiting).  Every job function is idempotent, so one tick that does
 * everything due is both the simplest and the safest shape.  pg_cron's
 * schedules are in GMT (pg_cron 1.4, Debian 12's, has no cron.timezone).
 *
 * How the job reaches the database.  With cron.use_background_workers on,
 * pg_cron runs a job in a background worker: no connection, no pg_hba.conf.
 * Otherwise it connects with libpq to the job's nodename and nodeport,
 * fixed when the job is scheduled from cron.host (default 'localhost', TCP).
 * On a stock Debian server TCP asks for a password that pg_cron does not
 * have, and setting cron.host later changes nothing for jobs already
 * scheduled.  So when there is no background worker and the node is not a
 * Unix socket directory, a superuser's schedule_jobs points the job at
 * this server's first Unix socket directory and port; anyone else (who
 * may neither read cron.use_background_workers nor write cron.job) gets a
 * WARNING saying what to set.
 *
 * The functions run with the caller's rights, so the jobs belong to the
 * caller.  DROP EXTENSION csp_billing removes them first (the event
 * trigger csp_billing_drop_jobs), so no job is left behind calling
 * functions that no longer exist, and the job owner can be dropped.
 *
 * src/cron.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_schedule_jobs);
PG_FUNCTION_INFO_V1(csp_unschedule_jobs);
PG_FUNCTION_INFO_V1(csp_drop_jobs_trigger);

typedef struct BillingJob
{
	const char *name;
	const char *schedule;
	const char *command;
} BillingJob;

static const BillingJob billing_jobs[] = {
	{"csp_billing_daily", "5 0 * * *", "SELECT csp.tick()"},
};

/* Jobs of earlier versions (0.1.0, 0.2.0): removed by schedule and unschedule. */
static const char *const retired_jobs[] = {"csp_billing_invoicing"};

static bool
PgCronInstalled(void)
{
	static CspPlan plan = {
		"SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron'", 0, {InvalidOid}, NULL, 0
	};

	csp_spi_run(&plan, NULL, NULL, true, 1);
	return SPI_processed > 0;
}

static void
RequirePgCron(void)
{
	if (!PgCronInstalled())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_cron is not installed in this database"),
				 errdetail("csp.schedule_jobs registers its jobs with pg_cron."),
				 errhint("Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and run CREATE EXTENSION pg_cron; or call csp.tick() from your own scheduler.")));
}

static void
Unschedule(const char *name)
{
	static CspPlan unschedule = {
		"SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1", 1, {TEXTOID}, NULL, 0
	};
	Datum		value = CStringGetTextDatum(name);

	csp_spi_run(&unschedule, &value, NULL, false, 0);
}

static void
UnscheduleAll(void)
{
	int			i;

	for (i = 0; i < (int) lengthof(billing_jobs); i++)
		Unschedule(billing_jobs[i].name);
	for (i = 0; i < (int) lengthof(retired_jobs); i++)
		Unschedule(retired_jobs[i]);
}

/*
 * Makes the job reachable without a password (see the header comment).
 * Returns quietly when pg_cron uses background workers or the node is
 * already a socket directory.
 */
static void
PointJobAtSocket(int64 jobid)
{
	/* cron.use_background_workers and the socket directories: superusers only */
	static CspPlan mode = {
		"SELECT CASE WHEN pg_catalog.current_setting('is_superuser')::boolean"
		"            THEN coalesce(current_setting('cron.use_background_workers', true), 'off') END,"
		"       nodename,"
		"       CASE WHEN pg_catalog.current_setting('is_superuser')::boolean"
		"            THEN trim(split_part(current_setting('unix_socket_directories'), ',', 1)) END,"
		"       current_setting('port')::int"
		"  FROM cron.job WHERE jobid = $1",
		1, {INT8OID}, NULL, 0
	};
#define Anum_job_mode_background_workers	1
#define Anum_job_mode_nodename				2
#define Anum_job_mode_socket_directory		3
#define Anum_job_mode_port					4
	static CspPlan point = {
		"UPDATE cron.job SET nodename = $2, nodeport = $3 WHERE jobid = $1",
		3, {INT8OID, TEXTOID, INT4OID}, NULL, 0
	};
	Datum		values[3];
	char	   *workers;
	char	   *nodename;
	char	   *socketdir;
	bool		isnull;

	values[0] = Int64GetDatum(jobid);
	csp_spi_run(&mode, values, NULL, true, 1);
	if (SPI_processed == 0)
		return;
	workers = csp_spi_getcstring(0, Anum_job_mode_background_workers);
	nodename = csp_spi_getcstring(0, Anum_job_mode_nodename);
	socketdir = csp_spi_getcstring(0, Anum_job_mode_socket_directory);
	if ((workers != NULL && strcmp(workers, "on") == 0) || (nodename != NULL && nodename[0] == '/'))
		return;
	if (workers == NULL || socketdir == NULL || socketdir[0] != '/')
	{
		ereport(WARNING,
				(errmsg("pg_cron will connect to \"%s\" over TCP to run the billing jobs unless cron.use_background_workers is on",
						nodename ? nodename : ""),
				 errdetail("pg_cron runs a job through a libpq connection to the node it was scheduled with; a pg_hba.conf that asks for a password there makes every run fail."),
				 errhint("Set cron.use_background_workers = on (and restart), or call csp.schedule_jobs() as a superuser, which points the job at the Unix socket.")));
		return;
	}
	values[1] = CStringGetTextDatum(socketdir);
	values[2] = csp_spi_getdatum(0, Anum_job_mode_port, &isnull);
	csp_spi_run(&point, values, NULL, false, 0);
}

/* csp.schedule_jobs(): registers (or updates) the billing job */
Datum
csp_schedule_jobs(PG_FUNCTION_ARGS)
{
	static CspPlan schedule = {
		"SELECT cron.schedule($1, $2, $3)", 3, {TEXTOID, TEXTOID, TEXTOID}, NULL, 0
	};
#define Anum_schedule_jobid 1
	int			i;

	SPI_connect();
	RequirePgCron();
	for (i = 0; i < (int) lengthof(retired_jobs); i++)
		Unschedule(retired_jobs[i]);
	for (i = 0; i < (int) lengthof(billing_jobs); i++)
	{
		Datum		values[3];
		bool		isnull;

		values[0] = CStringGetTextDatum(billing_jobs[i].name);
		values[1] = CStringGetTextDatum(billing_jobs[i].schedule);
		values[2] = CStringGetTextDatum(billing_jobs[i].command);
		csp_spi_run(&schedule, values, NULL, false, 0);
		PointJobAtSocket(DatumGetInt64(csp_spi_getdatum(0, Anum_schedule_jobid, &isnull)));
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/* csp.unschedule_jobs(): removes the billing jobs that exist */
Datum
csp_unschedule_jobs(PG_FUNCTION_ARGS)
{
	SPI_connect();
	RequirePgCron();
	UnscheduleAll();
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_start for DROP EXTENSION: when csp_billing
 * is among the extensions dropped and pg_cron is installed here, its jobs
 * go first.  (At sql_drop the trigger itself would already be gone.)
 */
Datum
csp_drop_jobs_trigger(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	ListCell   *lc;
	bool		ours = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "csp_drop_jobs_trigger: not called by the event trigger manager");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (trigdata->parsetree == NULL || !IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
	{
		Node	   *name = (Node *) lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "csp_billing") == 0)
			ours = true;
	}
	if (!ours)
		PG_RETURN_VOID();
	SPI_connect();
	if (PgCronInstalled())
		UnscheduleAll();
	SPI_finish();
	PG_RETURN_VOID();
}
