/*-------------------------------------------------------------------------
 *
 * subscription_lock.c
 *	  Locking a subscription for a change: the customer first, then the
 *	  subscription (the lock order of customers.c), the profile scope, the
 *	  NC016 check of the action's instant, and, for changes that move
 *	  money mid-cycle, the catch-up that posts the cycles already due.
 *
 * src/subscription_lock.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/builtins.h"
#include "utils/uuid.h"

/* Locks a subscription for a change; NC404 when unknown. */
void
csp_lock_subscription(Datum subscription_id, SubscriptionRow *sub)
{
	if (!csp_load_subscription(subscription_id, sub, true))
		csp_report_not_found("subscription", csp_uuid_to_cstring(subscription_id));

	/*
	 * Issue 12 item 3: changing a subscription posts lines on its profile's
	 * ledger, so a profile-limited caller changes only its own profiles'.
	 */
	csp_check_profile_scope(sub->billing_profile_id, true, "subscription",
							csp_uuid_to_cstring(subscription_id), "change a subscription");
}

/*
 * Posts (a ledger write) any billing cycle of a locked subscription that
 * has started but not been charged yet, and reads the subscription again:
 * credits and additions are computed against the cycle's charge, so that
 * charge must exist first, at the quantity and price it had.
 */
static void
CatchUp(Datum subscription_id, SubscriptionRow *sub)
{
	if (sub->has_next_charge && sub->next_charge_date <= csp_today() &&
		(strcmp(sub->status, "active") == 0 || strcmp(sub->status, "suspended") == 0) &&
		sub->term_end >= csp_today())
	{
		csp_charge_due_cycles(sub, csp_today());
		csp_lock_subscription(subscription_id, sub);
	}
}

/* Locks a subscription (its customer first) for a change that moves money mid-cycle. */
void
csp_lock_and_catch_up(Datum subscription_id, SubscriptionRow *sub)
{
	csp_lock_customer_of_subscription(subscription_id);
	csp_lock_subscription(subscription_id, sub);
	CatchUp(subscription_id, sub);
}

/*
 * Locks a subscription for a caller's action at csp.now(), without yet
 * recording the action as its latest event: NC404 when unknown, NC016 when
 * now is before its latest event.  "catch_up": the action moves money
 * mid-cycle, so the customer is locked first (the lock order), and due
 * cycles are charged first.  The subscription is read once, after its
 * customer's lock, unless a catch-up changed it.
 */
static void
LockForAction(Datum subscription_id, SubscriptionRow *sub, bool catch_up, TimestampTz now)
{
	if (catch_up)
		csp_lock_customer_of_subscription(subscription_id);
	csp_lock_subscription(subscription_id, sub);
	csp_check_not_before(now, sub->last_event_at, "subscription", csp_uuid_to_cstring(subscription_id));
	if (catch_up)
		CatchUp(subscription_id, sub);
}

/*
 * Locks a subscription for a caller's action at csp.now() (LockForAction),
 * and records now as its latest event.
 */
void
csp_lock_for_action(Datum subscription_id, SubscriptionRow *sub, bool catch_up)
{
	TimestampTz now = csp_now();

	LockForAction(subscription_id, sub, catch_up, now);
	/* a cancelled or expired subscription records nothing more: its action fails NC003 */
	if (strcmp(sub->status, "cancelled") != 0 && strcmp(sub->status, "expired") != 0)
	{
		csp_store_record_event(sub, now);
		sub->last_event_at = now;
	}
}

/*
 * csp_lock_for_action with the catch-up, for an action that writes the
 * subscription row anyway (csp.change_quantity): the caller records now as
 * the latest event in its own UPDATE (csp_store_change_quantity), or with
 * csp_store_record_event when it changes nothing.  Updating the row once
 * instead of twice saves a row version, its index entries, and the
 * foreign-key checks PostgreSQL makes again on a row its own transaction
 * has already updated.
 */
void
csp_lock_for_change(Datum subscription_id, SubscriptionRow *sub)
{
	LockForAction(subscription_id, sub, true, csp_now());
}

/*
 * An existing subscription that receives seats from a conversion or an
 * upgrade (R8.4, R9.3): the same customer, the given SKU, active and not a
 * trial, ending on or after the source.  Locked; NC008 otherwise.
 */
void
csp_load_target(Datum target_id, const SubscriptionRow *source, const char *sku_id,
				SubscriptionRow *target)
{
	const char *why = NULL;

	csp_lock_for_action(target_id, target, true);
	if (!DatumGetBool(DirectFunctionCall2(uuid_eq, target->customer_id, source->customer_id)))
		why = "it belongs to another customer";
	else if (strcmp(target->sku_id, sku_id) != 0)
		why = psprintf("it is a subscription of %s, not %s", target->sku_id, sku_id);
	else if (strcmp(target->status, "active") != 0 || target->is_trial)
		why = psprintf("it is %s", target->is_trial ? "a trial" : target->status);
	else if (target->term_end < source->term_end)
		why = psprintf("it ends on %s, before the source's end %s",
					   csp_date_to_cstring(target->term_end), csp_date_to_cstring(source->term_end));
	else if (target->term_end < csp_today())
		why = "its renewal is pending";
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("subscription %s cannot receive the seats: %s",
						csp_uuid_to_cstring(target_id), why),
				 errdetail("A target must be an active subscription of the same customer and SKU that ends on or after the source (R8.4, R9.3)."),
				 errhint("Leave the target NULL to create a new co-terminous subscription.")));
}
