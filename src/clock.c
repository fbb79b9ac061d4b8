/*-------------------------------------------------------------------------
 *
 * clock.c
 *	  The engine's notion of "now": csp.clock and csp.now().
 *
 * Every function that needs an instant takes it from csp_now(), so a whole
 * billing history can be replayed by setting csp.clock.  The setting is
 * parsed once, when it is set (in the session's TimeZone, like any
 * timestamptz literal), and a bad value is refused at SET time rather than
 * at the first purchase.  Empty means real time: the transaction's start,
 * like now(), so one transaction sees one instant.
 *
 * src/clock.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/guc.h"

PG_FUNCTION_INFO_V1(csp_now_sql);

char	   *csp_clock_setting = NULL;

/* The parsed value of csp.clock; valid while csp_clock_is_set. */
static bool csp_clock_is_set = false;
static TimestampTz csp_clock_value = 0;

/*
 * Parse a timestamptz literal without throwing: GUC check hooks must report
 * problems through GUC_check_errdetail and return false.
 */
/*
 * Words PostgreSQL resolves at parse time ('now', 'today', ...) would
 * freeze the clock at the moment of the SET: they are refused.
 */
static bool
HasRelativeWord(const char *text)
{
	static const char *const relative[] = {
		"now", "today", "tomorrow", "yesterday", "epoch", "allballs", "infinity"
	};
	char	   *lower = asc_tolower(text, strlen(text));
	bool		found = false;
	int			i;

	for (i = 0; i < (int) lengthof(relative) && !found; i++)
		found = strstr(lower, relative[i]) != NULL;
	pfree(lower);
	return found;
}

static bool
ParseClockValue(const char *text, TimestampTz *result)
{
	char		workbuf[MAXDATELEN + 1];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	fsec_t		fsec;
	struct pg_tm tt,
			   *tm = &tt;

	if (HasRelativeWord(text))
		return false;
	if (ParseDateTime(text, workbuf, sizeof(workbuf),
					  field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, tm, &fsec, &tz) != 0)
		return false;
	if (dtype != DTK_DATE)
		return false;
	if (tm2timestamp(tm, fsec, &tz, result) != 0)
		return false;
	/* the engine's dates live in 1900..9999 (terms.h) */
	return IS_VALID_TIMESTAMP(*result) && terms_day_in_range(terms_utc_date(*result));
}

static bool
CheckClock(char **newval, void **extra, GucSource source)
{
	TimestampTz parsed;
	TimestampTz *saved;

	(void) source;
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;

	if (!ParseClockValue(*newval, &parsed))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("\"%s\" is not a timestamp with time zone.", *newval);
		GUC_check_errhint("Use an ISO timestamp such as '2025-01-15 10:00+00', or an empty string for real time.");
		return false;
	}

	/* GUC frees "extra" with free(), so it must come from malloc */
	saved = (TimestampTz *) malloc(sizeof(TimestampTz));
	if (saved == NULL)
		return false;
	*saved = parsed;
	*extra = saved;
	return true;
}

static void
AssignClock(const char *newval, void *extra)
{
	(void) newval;				/* the parsed value is in extra */
	if (extra == NULL)
	{
		csp_clock_is_set = false;
		return;
	}
	csp_clock_is_set = true;
	csp_clock_value = *(TimestampTz *) extra;
}

void
csp_define_clock_guc(void)
{
	DefineCustomStringVariable("csp.clock",
							   "Pins the billing engine's current time (empty: real time).",
							   "Used to replay histories, back-fill and test; "
							   "every csp function that takes an instant defaults to it.",
							   &csp_clock_setting,
							   "",
							   PGC_USERSET,
							   0,
							   CheckClock,
							   AssignClock,
							   NULL);
}

/*
 * Jobs run "as of" an instant they are given: while one runs, that instant
 * is the engine's now, so everything it posts carries it.
 */
static bool csp_job_instant_is_set = false;
static TimestampTz csp_job_instant = 0;

void
csp_set_job_instant(TimestampTz instant)
{
	csp_job_instant = instant;
	csp_job_instant_is_set = true;
}

void
csp_clear_job_instant(void)
{
	csp_job_instant_is_set = false;
}

/*
 * Due items are posted at the instant they fell due, whenever the job
 * runs: csp_enter_instant makes "instant" the engine's now for the work of
 * one item and returns what to restore with csp_leave_instant.  Callers
 * restore it on error too (PG_FINALLY), since a caller's exception block
 * may go on after the item failed.
 */
CspInstant
csp_enter_instant(TimestampTz instant)
{
	CspInstant	previous;

	previous.is_set = csp_job_instant_is_set;
	previous.value = csp_job_instant;
	csp_job_instant = instant;
	csp_job_instant_is_set = true;
	return previous;
}

void
csp_leave_instant(CspInstant previous)
{
	csp_job_instant_is_set = previous.is_set;
	csp_job_instant = previous.value;
}

/* 00:00 UTC of a date: the instant a cycle, renewal or expiry falls due. */
TimestampTz
csp_start_of_day(DateADT day)
{
	return (TimestampTz) day * USECS_PER_DAY;
}

TimestampTz
csp_now(void)
{
	if (csp_job_instant_is_set)
		return csp_job_instant;
	if (csp_clock_is_set)
		return csp_clock_value;
	return GetCurrentTransactionStartTimestamp();
}

/* csp.now() → timestamptz */
Datum
csp_now_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(csp_now());
}

/* The engine's today: the UTC date of csp_now(). */
DateADT
csp_today(void)
{
	return terms_utc_date(csp_now());
}

/*
 * NC016: history only moves forward.  An action whose instant (csp.now())
 * is earlier than the latest event recorded for its object is refused, for
 * everyone: a back-fill replays forward, it never rewrites.
 */
void
csp_check_not_before(TimestampTz now, TimestampTz latest, const char *object, const char *id)
{
	if (now < latest)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_INSTANT_BEFORE_EVENT),
				 errmsg("instant %s is before the latest recorded event of %s %s",
						pstrdup(timestamptz_to_str(now)), object, id),
				 errdetail("Its latest event was recorded at %s; nothing is posted before it.",
						   pstrdup(timestamptz_to_str(latest))),
				 errhint("Act at %s or later: a back-fill replays history forward.",
						 timestamptz_to_str(latest))));
}
