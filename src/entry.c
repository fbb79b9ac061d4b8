/*-------------------------------------------------------------------------
 *
 * entry.c
 *	  Entering and leaving an API call: who the caller is, whether it may
 *	  write now, and the switch to the extension's own rights.
 *
 * The caller is whoever PostgreSQL says is executing when the call starts:
 * GetUserId() at entry.  The API functions are therefore not SECURITY
 * DEFINER (that would make GetUserId() the extension's owner before our
 * code runs, and the session's outer user is not who called: an index
 * expression evaluated by a superuser's ANALYZE runs as the table's owner).
 * Each entry point captures the caller first, refuses what must never run,
 * and only then switches to the owner of the function for table access,
 * exactly as fmgr's SECURITY DEFINER switch would (SECURITY_LOCAL_USERID_
 * CHANGE).  The switch is undone by csp_finish(), and by (sub)transaction
 * abort, which restores the user id that was current when it began.
 *
 * csp_enter and csp_finish are the one pair that opens and closes an API
 * call's work: csp_enter connects to SPI and begins the audit action (for
 * a writing call), csp_finish ends that action and finishes SPI, in the
 * reverse order.  No other code begins or ends an action.  An error between
 * the two needs no csp_finish: the (sub)transaction's abort finishes SPI
 * (AtEOSubXact_SPI) and ForgetCallOnAbort gives the action back.
 *
 * A write is refused (42501):
 *	- inside a security-restricted operation (ANALYZE, VACUUM, autovacuum,
 *	  CREATE INDEX, REFRESH MATERIALIZED VIEW evaluate expressions as the
 *	  table's owner: such code must not move money), and inside a SECURITY
 *	  DEFINER context, where the identity is borrowed;
 *	- under a pinned clock (csp.clock, or an explicit instant such as
 *	  received_at or as_of) further than CSP_CLOCK_TOLERANCE from the real
 *	  transaction time, unless the caller is a superuser or a member of
 *	  csp_time_admin.  However the setting got there (SET, ALTER ROLE,
 *	  PGOPTIONS, a superuser's SET before SET ROLE) the check is made on the
 *	  value and on the current caller.
 *
 * src/entry.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/*
 * The calls under way, innermost last.  A call made while another runs (a
 * nested API call) keeps the outer caller and switches nothing.
 */
typedef struct CspCall
{
	Oid			caller;			/* GetUserId() at the outermost entry */
	Oid			owner;			/* whose rights the call runs with */
	bool		switched;		/* this entry switched the user id */
	Oid			saved_userid;	/* restored by csp_finish when switched */
	int			saved_sec_context;
	int			nest_level;		/* transaction nest level at entry */
	CspInstant	instant;		/* the engine's now at entry, restored on abort */
	bool		began_action;	/* a writing call: it named the audit action */
	const char *outer_action;	/* the action it replaced, given back at the end */
} CspCall;

#define CSP_MAX_CALL_DEPTH 16
static CspCall calls[CSP_MAX_CALL_DEPTH];
static int	ncalls = 0;

/*
 * Forgets the innermost calls down to "depth" calls, giving the audit back
 * the action that was under way before the outermost of them began one.
 */
static void
ForgetCalls(int depth)
{
	while (ncalls > depth)
	{
		CspCall    *call = &calls[--ncalls];

		if (call->began_action)
			csp_restore_action(call->outer_action);
	}
}

/*
 * A subtransaction that aborts takes the calls it started with it: the
 * user id is restored by xact.c, and the calls must be forgotten too, or a
 * later call in the same transaction would look nested.
 */
static void
ForgetCallOnAbort(SubXactEvent event, SubTransactionId mySubid,
				  SubTransactionId parentSubid, void *arg)
{
	(void) mySubid;
	(void) parentSubid;
	(void) arg;
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (ncalls > 0 && calls[ncalls - 1].nest_level >= GetCurrentTransactionNestLevel())
	{
		/* an item's instant (csp_enter_instant) must not outlive the call */
		csp_leave_instant(calls[ncalls - 1].instant);
		ForgetCalls(ncalls - 1);
	}
}

static void
ForgetCallAtEnd(XactEvent event, void *arg)
{
	(void) arg;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		ncalls = 0;
		csp_clear_job_instant();
	}
}

void
csp_entry_init(void)
{
	RegisterXactCallback(ForgetCallAtEnd, NULL);
	RegisterSubXactCallback(ForgetCallOnAbort, NULL);
}

/*
 * The identity the engine checks and audits: the caller captured at entry.
 * Outside an API call (a trigger fired by direct SQL, say) it is the
 * current user, as PostgreSQL would check it.
 */
Oid
csp_caller(void)
{
	return ncalls > 0 ? calls[0].caller : GetUserId();
}

/* True while an API call runs with the rights it switched to. */
static bool
InCall(void)
{
	return ncalls > 0 && GetUserId() == calls[ncalls - 1].owner;
}

/* The owner of the function called: whose rights the call switches to. */
static Oid
FunctionOwner(FunctionCallInfo fcinfo)
{
	HeapTuple	tuple;
	Oid			owner;

	if (fcinfo->flinfo == NULL || !OidIsValid(fcinfo->flinfo->fn_oid))
		elog(ERROR, "csp_billing: API function called without its catalog entry");
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(tuple))->proowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * This module works on the schema of its own version: 0.3.0 added columns
 * its statements use (last_event_at, written_at).  A module installed over
 * an older schema says so instead of failing on a missing column.
 */
static void
CheckSchemaVersion(void)
{
	Oid			schema = get_namespace_oid("csp", true);
	Oid			subscription = OidIsValid(schema) ? get_relname_relid("subscription", schema) : InvalidOid;

	if (!OidIsValid(subscription) ||
		get_attnum(subscription, "last_event_at") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the csp_billing schema is older than its module"),
				 errdetail("The module installed is version %s; the database's extension objects are of an earlier version.",
						   CSP_MODULE_VERSION),
				 errhint("Run ALTER EXTENSION csp_billing UPDATE.")));
}

/* Members of csp_time_admin, and superusers, may write under a pinned clock. */
bool
csp_is_time_admin(Oid role)
{
	Oid			time_admin;

	if (superuser_arg(role))
		return true;
	time_admin = get_role_oid(CSP_TIME_ADMIN_ROLE, true);
	return OidIsValid(time_admin) && has_privs_of_role(role, time_admin);
}

/*
 * Refuses a write at "instant" (what "what" names: the pinned clock, or an
 * argument) when it lies further than CSP_CLOCK_TOLERANCE from the real
 * transaction time and the caller is no time admin.
 */
void
csp_check_write_instant(TimestampTz instant, const char *what)
{
	TimestampTz real = GetCurrentTransactionStartTimestamp();
	Oid			caller = csp_caller();
	int64		drift = instant > real ? instant - real : real - instant;

	if (drift <= CSP_CLOCK_TOLERANCE || csp_is_time_admin(caller))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("writes under a pinned clock need the role %s", CSP_TIME_ADMIN_ROLE),
			 errdetail("%s is %s, %s the real time %s; role \"%s\" may write only within %d minutes of real time.",
					   what, pstrdup(timestamptz_to_str(instant)),
					   instant > real ? "ahead of" : "behind",
					   pstrdup(timestamptz_to_str(real)),
					   GetUserNameFromId(caller, false),
					   (int) (CSP_CLOCK_TOLERANCE / USECS_PER_MINUTE)),
			 errhint("RESET csp.clock (SET csp.clock = '' where a role or database default pins it) and pass no explicit instant to act at real time, or ask for membership in %s to back-fill.",
					 CSP_TIME_ADMIN_ROLE)));
}

/*
 * Starts an API call: captures the caller, makes the checks, connects to
 * SPI, switches to the function owner's rights and names the audit action.
 * "writes" false is for reading functions, which only capture and switch.
 * Every csp_enter is paired with csp_finish().
 */
void
csp_enter(FunctionCallInfo fcinfo, const char *action, bool writes)
{
	CspCall    *call;

	if (ncalls >= CSP_MAX_CALL_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("billing functions nested more than %d deep", CSP_MAX_CALL_DEPTH)));
	if (ncalls > 0 && !InCall())
		ForgetCalls(0);			/* stale: the caller's rights are back */

	call = &calls[ncalls];
	call->nest_level = GetCurrentTransactionNestLevel();
	call->began_action = false;
	call->outer_action = NULL;
	call->instant = csp_enter_instant(csp_now());
	csp_leave_instant(call->instant);
	if (ncalls > 0)
	{
		/* nested: the outer call's caller, checks and rights hold */
		call->caller = calls[0].caller;
		call->owner = calls[ncalls - 1].owner;
		call->switched = false;
		ncalls++;
	}
	else
	{
		CheckSchemaVersion();
		call->owner = FunctionOwner(fcinfo);
		call->caller = GetUserId();

		if (writes && (InSecurityRestrictedOperation() || InLocalUserIdChange()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("csp.%s cannot run inside a security-restricted operation or a SECURITY DEFINER function",
							action),
					 errdetail("Code run by ANALYZE, VACUUM, CREATE INDEX, REFRESH MATERIALIZED VIEW, an index expression or a SECURITY DEFINER function acts under a borrowed identity, and billing functions do not move money under one."),
					 errhint("Call csp.%s directly, as the role that is to be checked and audited.", action)));
		GetUserIdAndSecContext(&call->saved_userid, &call->saved_sec_context);
		call->switched = true;
		ncalls++;
		if (writes)
			csp_check_write_instant(csp_now(), "csp.clock");
		SetUserIdAndSecContext(call->owner,
							   call->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (writes)
	{
		call->outer_action = csp_begin_action(action);
		call->began_action = true;
	}
}

/*
 * Ends an API call's work, undoing csp_enter in reverse: the audit action
 * it began ends (later row changes in the same transaction are not the
 * action's; a nested call's outer action is back), SPI is finished and the
 * caller's rights are back.
 */
void
csp_finish(void)
{
	CspCall    *call = ncalls > 0 ? &calls[ncalls - 1] : NULL;

	if (call != NULL && call->began_action)
		csp_end_action(call->outer_action);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	if (call != NULL)
	{
		ncalls--;
		if (call->switched)
			SetUserIdAndSecContext(call->saved_userid, call->saved_sec_context);
	}
}
