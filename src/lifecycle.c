/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  R6 the subscription state machine, and the calls that move a
 *	  subscription through it: suspend, reactivate, cancel, auto-renew,
 *	  rename.
 *
 * The trigger csp.subscription_lifecycle_trigger holds the whole
 * transition table; no code path, the engine's own included, can move a
 * subscription along an edge that is not in it.  It also applies the side
 * effects that belong to a transition wherever it comes from: suspending
 * switches auto-renew off (R6.2), ending a subscription stamps ended_at,
 * and the mid-term changes of R7.3 drop a scheduled change.
 *
 *     active ──suspend──▶ suspended ──reactivate──▶ active
 *       │                    │
 *       ├──cancel / expire───┴──▶ cancelled | expired   (final)
 *
 * src/lifecycle.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(csp_subscription_lifecycle_trigger);
PG_FUNCTION_INFO_V1(csp_suspend);
PG_FUNCTION_INFO_V1(csp_reactivate);
PG_FUNCTION_INFO_V1(csp_cancel);
PG_FUNCTION_INFO_V1(csp_set_auto_renew);
PG_FUNCTION_INFO_V1(csp_rename);

typedef struct Transition
{
	const char *from;
	const char *to;
} Transition;

/* R6.1: every allowed status change.  Cancelled and expired are final. */
static const Transition transitions[] = {
	{"active", "suspended"},
	{"active", "cancelled"},
	{"active", "expired"},
	{"suspended", "active"},
	{"suspended", "cancelled"},
	{"suspended", "expired"},
};

static bool
TransitionAllowed(const char *from, const char *to)
{
	int			i;

	for (i = 0; i < (int) lengthof(transitions); i++)
		if (strcmp(transitions[i].from, from) == 0 && strcmp(transitions[i].to, to) == 0)
			return true;
	return false;
}

static bool
IsFinal(const char *status)
{
	return strcmp(status, "cancelled") == 0 || strcmp(status, "expired") == 0;
}

/*
 * BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW on csp.subscription.
 */
Datum
csp_subscription_lifecycle_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	char	   *old_status;
	char	   *new_status;
	int			cols[4];
	Datum		vals[4];
	bool		nulls[4] = {false, false, false, false};
	int			nchanged = 0;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.subscription_lifecycle_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "csp.subscription_lifecycle_trigger: must be fired BEFORE ... FOR EACH ROW");

	desc = RelationGetDescr(trigdata->tg_relation);

	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("subscriptions are never deleted"),
				 errdetail("A subscription ends as cancelled or expired and stays for the record (R6.1)."),
				 errhint("Cancel it with csp.cancel, or let it expire.")));

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && csp_loading_dump())
		return PointerGetDatum(trigdata->tg_trigtuple);	/* restored as it was */

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		new_status = SPI_getvalue(trigdata->tg_trigtuple, desc, SPI_fnumber(desc, "status"));
		if (strcmp(new_status, "active") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_WRONG_STATE),
					 errmsg("a subscription starts active, not %s", new_status)));
		return PointerGetDatum(trigdata->tg_trigtuple);
	}

	oldtup = trigdata->tg_trigtuple;
	newtup = trigdata->tg_newtuple;
	old_status = SPI_getvalue(oldtup, desc, SPI_fnumber(desc, "status"));
	new_status = SPI_getvalue(newtup, desc, SPI_fnumber(desc, "status"));

	if (strcmp(old_status, new_status) != 0)
	{
		if (!TransitionAllowed(old_status, new_status))
			ereport(ERROR,
					(errcode(ERRCODE_CSP_WRONG_STATE),
					 errmsg("a subscription cannot go from %s to %s", old_status, new_status),
					 errdetail("%s", IsFinal(old_status) ?
							   "Cancelled and expired subscriptions are final (R6.1)." :
							   "Allowed: active to suspended, cancelled or expired; suspended to active, cancelled or expired (R6.1)."),
					 errhint("See the lifecycle diagram in the README.")));

		if (strcmp(new_status, "suspended") == 0)
		{
			/* R6.2: suspending switches auto-renew off and records when */
			cols[nchanged] = SPI_fnumber(desc, "auto_renew");
			vals[nchanged++] = BoolGetDatum(false);
			cols[nchanged] = SPI_fnumber(desc, "suspended_at");
			vals[nchanged++] = TimestampTzGetDatum(csp_now());
		}
		else if (IsFinal(new_status))
		{
			cols[nchanged] = SPI_fnumber(desc, "auto_renew");
			vals[nchanged++] = BoolGetDatum(false);
			cols[nchanged] = SPI_fnumber(desc, "ended_at");
			vals[nchanged++] = TimestampTzGetDatum(csp_now());
		}
	}
	else if (IsFinal(old_status))
	{
		/* a final subscription's record does not change, but for attaching nothing */
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("subscription is %s and can no longer change", old_status),
				 errhint("Buy a new subscription instead.")));
	}

	/*
	 * R7.3: cancelling, switching auto-renew off or changing the quantity
	 * mid-term deletes a scheduled change.  (A renewal sets a new term
	 * start, and applies the scheduled change itself.)
	 */
	{
		bool		isnull;
		bool		new_auto = DatumGetBool(SPI_getbinval(newtup, desc, SPI_fnumber(desc, "auto_renew"), &isnull));
		bool		ends_or_suspends = strcmp(new_status, old_status) != 0 &&
			(strcmp(new_status, "suspended") == 0 || IsFinal(new_status));
		int32		old_qty = DatumGetInt32(SPI_getbinval(oldtup, desc, SPI_fnumber(desc, "quantity"), &isnull));
		int32		new_qty = DatumGetInt32(SPI_getbinval(newtup, desc, SPI_fnumber(desc, "quantity"), &isnull));
		DateADT		old_start = DatumGetDateADT(SPI_getbinval(oldtup, desc, SPI_fnumber(desc, "term_start"), &isnull));
		DateADT		new_start = DatumGetDateADT(SPI_getbinval(newtup, desc, SPI_fnumber(desc, "term_start"), &isnull));
		bool		scheduled_null;

		SPI_getbinval(newtup, desc, SPI_fnumber(desc, "scheduled_change"), &scheduled_null);
		/* this trigger itself switches auto-renew off on suspend and end */
		if (ends_or_suspends)
			new_auto = false;
		if (!scheduled_null && old_start == new_start &&
			(!new_auto || old_qty != new_qty || IsFinal(new_status)))
		{
			cols[nchanged] = SPI_fnumber(desc, "scheduled_change");
			nulls[nchanged] = true;
			vals[nchanged++] = (Datum) 0;
		}
	}

	if (nchanged > 0)
		newtup = heap_modify_tuple_by_cols(newtup, desc, nchanged, cols, vals, nulls);
	return PointerGetDatum(newtup);
}


/* csp.suspend(subscription_id): R6.2 */
Datum
csp_suspend(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	SubscriptionRow sub;

	csp_require_args(fcinfo, args, lengthof(args));
	csp_enter(fcinfo, "suspend", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "suspend");
	csp_check_not_trial(&sub, "suspend");
	if (strcmp(sub.status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("subscription %s is already %s", csp_uuid_to_cstring(sub.subscription_id), sub.status),
				 errhint("Only an active subscription can be suspended.")));
	csp_count_update(&sub);
	csp_set_subscription_status(&sub, "suspended");
	/* R4.8: suspending a base suspends its add-ons */
	csp_store_set_addon_status(&sub, "active", "suspended");
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.reactivate(subscription_id): R6.2, within the term; auto-renew stays off */
Datum
csp_reactivate(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	SubscriptionRow sub;

	csp_require_args(fcinfo, args, lengthof(args));
	csp_enter(fcinfo, "reactivate", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "reactivate");
	if (strcmp(sub.status, "suspended") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("subscription %s is %s, not suspended", csp_uuid_to_cstring(sub.subscription_id), sub.status),
				 errhint("Only a suspended subscription can be reactivated.")));
	if (sub.has_parent)
	{
		SubscriptionRow base;

		if (csp_load_subscription(sub.parent_subscription_id, &base, false) &&
			strcmp(base.status, "active") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_WRONG_STATE),
					 errmsg("cannot reactivate add-on %s: its base subscription is %s",
							csp_uuid_to_cstring(sub.subscription_id), base.status),
					 errhint("Reactivate the base subscription %s; its add-ons follow.",
							 csp_uuid_to_cstring(base.subscription_id))));
	}
	csp_count_update(&sub);
	csp_set_subscription_status(&sub, "active");
	csp_store_set_addon_status(&sub, "suspended", "active");
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * csp.cancel(subscription_id)
 * R6.3 license-based: only within 168 hours of the term's start, refunding
 * what was charged after the whole days used (all of it within 24 hours).
 * R6.4 marketplace SaaS: full credit within 24 hours (monthly) or 14 days
 * (annual); later the cancellation is scheduled for the term end.
 */
Datum
csp_cancel(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id"};
	SubscriptionRow sub;
	TimestampTz now = csp_now();
	bool		marketplace;
	DateADT		refund_from;

	csp_require_args(fcinfo, args, lengthof(args));
	csp_enter(fcinfo, "cancel", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, true);
	csp_check_manageable(&sub, "cancel");
	csp_check_not_trial(&sub, "cancel");
	marketplace = strcmp(sub.publisher, "microsoft") != 0;

	/* the window's end is exclusive, like a seat lot's (R5.2, R6.3) */
	if (now >= sub.cancellation_allowed_until)
	{
		if (marketplace)
		{
			csp_store_set_auto_renew(&sub, false);
			ereport(NOTICE,
					(errmsg("cancellation of %s is scheduled for the end of its term on %s",
							csp_uuid_to_cstring(sub.subscription_id), csp_date_to_cstring(sub.term_end)),
					 errdetail("Marketplace SaaS cancelled after the full-credit window ends at renewal (R6.4).")));
			csp_finish();
			PG_RETURN_VOID();
		}
		ereport(ERROR,
				(errcode(ERRCODE_CSP_CANCEL_WINDOW_CLOSED),
				 errmsg("cannot cancel subscription %s: the cancellation window closed at %s",
						csp_uuid_to_cstring(sub.subscription_id),
						timestamptz_to_str(sub.cancellation_allowed_until)),
				 errdetail("License-based subscriptions can be cancelled only within 7 days (168 hours) of the term's start; after that the whole term is paid (R6.3)."),
				 errhint("Switch auto-renew off with csp.set_auto_renew to end it on %s.",
						 csp_date_to_cstring(sub.term_end))));
	}

	if (csp_live_addons(&sub) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot cancel subscription %s: it has live add-ons",
						csp_uuid_to_cstring(sub.subscription_id)),
				 errdetail("An add-on needs its base subscription (R4.8)."),
				 errhint("Cancel its add-ons first (csp.subscriptions where parent_subscription_id is this one).")));

	/* R6.3: whole days used are paid for; marketplace credit is full (R6.4) */
	refund_from = sub.term_start;
	if (!marketplace)
		refund_from += (int32) terms_whole_days_between(sub.term_started_at, now);
	csp_refund_charges(&sub, "cancelImmediate", 0, 0, 0, refund_from, csp_new_uuid());
	csp_set_subscription_status(&sub, "cancelled");
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.set_auto_renew(subscription_id, enabled): R6.5 */
Datum
csp_set_auto_renew(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "enabled"};
	SubscriptionRow sub;
	bool		enabled;

	csp_require_args(fcinfo, args, lengthof(args));
	enabled = PG_GETARG_BOOL(1);
	csp_enter(fcinfo, "set_auto_renew", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "change auto-renew of");
	if (enabled && strcmp(sub.status, "suspended") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot switch auto-renew on for suspended subscription %s",
						csp_uuid_to_cstring(sub.subscription_id)),
				 errdetail("A suspended subscription does not renew (R6.2)."),
				 errhint("Reactivate it first, then switch auto-renew on.")));
	if (enabled != sub.auto_renew)
	{
		csp_count_update(&sub);
		csp_store_set_auto_renew(&sub, enabled);
	}
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.rename(subscription_id, friendly_name) */
Datum
csp_rename(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "friendly_name"};
	SubscriptionRow sub;
	char	   *name;

	csp_require_args(fcinfo, args, lengthof(args));
	name = csp_arg_cstring(fcinfo, 1);
	csp_check_nonblank(name, "friendly_name");
	csp_enter(fcinfo, "rename", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &sub, false);
	csp_check_manageable(&sub, "rename");
	csp_count_update(&sub);
	csp_store_set_friendly_name(&sub, name);
	csp_finish();
	PG_RETURN_VOID();
}
