/*-------------------------------------------------------------------------
 *
 * subscriptions.c
 *	  The checks every management call shares (R3.4, R4.9, R6.1, R6.7,
 *	  R8.1, R9.2, NC016), and opening a subscription with its first lot
 *	  and charge.  The rows themselves are read and written by
 *	  subscription_store.c; locking is subscription_lock.c, add-on rules
 *	  addons.c, csp.purchase purchase.c.
 *
 * src/subscriptions.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/builtins.h"

/*
 * What every partner-initiated change needs (R3.4, R6.1, R6.7):
 * a live subscription, an approved customer, and no renewal pending.
 */
void
csp_check_manageable(const SubscriptionRow *sub, const char *action)
{
	if (strcmp(sub->status, "cancelled") == 0 || strcmp(sub->status, "expired") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is %s", action,
						csp_uuid_to_cstring(sub->subscription_id), sub->status),
				 errdetail("Cancelled and expired subscriptions are final (R6.1)."),
				 errhint("Buy a new subscription instead.")));

	if (strcmp(sub->verification_status, "approved") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_CUSTOMER_NOT_APPROVED),
				 errmsg("cannot %s subscription %s: the customer's verification is %s",
						action, csp_uuid_to_cstring(sub->subscription_id), sub->verification_status),
				 errdetail("Management and cancellation are blocked until the customer is approved; renewals continue (R3.4)."),
				 errhint("Wait for the verification, or correct the customer's billing data.")));

	if (sub->term_end < csp_today())
		ereport(ERROR,
				(errcode(ERRCODE_CSP_RENEWAL_PENDING),
				 errmsg("cannot %s subscription %s: its renewal is pending",
						action, csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("The term ended on %s and the renewal has not been processed yet (R6.7).",
						   csp_date_to_cstring(sub->term_end)),
				 errhint("Retry after the renewal run (csp.run_renewals), in two minutes or more.")));
}

/*
 * NC409 (R6.7) when a subscription that another call depends on (a base, a
 * co-termination target, an existing one-per-customer subscription) ended
 * before today and its renewal has not been processed: what it will be
 * after the renewal decides, so the call is retried after the run, and the
 * answer does not depend on when the jobs ran.
 */
void
csp_check_no_pending_renewal(const char *subscription_id, DateADT term_end, const char *caller)
{
	if (term_end < csp_today())
		ereport(ERROR,
				(errcode(ERRCODE_CSP_RENEWAL_PENDING),
				 errmsg("subscription %s, which %s depends on, has its renewal pending",
						subscription_id, caller),
				 errdetail("Its term ended on %s and the renewal has not been processed yet (R6.7).",
						   csp_date_to_cstring(term_end)),
				 errhint("Retry after the renewal run (csp.run_renewals), in two minutes or more.")));
}

/* R9.2: a trial's quantity and status do not change. */
void
csp_check_not_trial(const SubscriptionRow *sub, const char *action)
{
	if (sub->is_trial)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is a trial",
						action, csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("During a trial the quantity and status do not change (R9.2)."),
				 errhint("Convert it with csp.convert_trial, or switch auto-renew off to let it end on %s.",
						 csp_date_to_cstring(sub->term_end))));
}

/*
 * R4.9: a subscription can be updated at most 1,200 times.  Counts one
 * update; callers that write the subscription row anyway check with
 * csp_check_update_limit and count in their own UPDATE.
 */
void
csp_count_update(SubscriptionRow *sub)
{
	csp_check_update_limit(sub);
	csp_store_count_update(sub);
	sub->update_count++;
}

/* NC010 when the subscription has used its 1,200 updates (R4.9). */
void
csp_check_update_limit(const SubscriptionRow *sub)
{
	if (sub->update_count >= 1200)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPDATE_LIMIT),
				 errmsg("subscription %s has reached its limit of 1,200 updates",
						csp_uuid_to_cstring(sub->subscription_id)),
				 errdetail("A subscription can be updated at most 1,200 times (R4.9)."),
				 errhint("Buy a second subscription of %s for further changes.", sub->sku_id)));
}

/*
 * Upgrades and transfers take active paid subscriptions only (R8.1, R10);
 * NC003 otherwise, with the caller's hint.
 */
void
csp_check_active_paid(const SubscriptionRow *sub, const char *action, const char *hint)
{
	if (sub->is_trial || strcmp(sub->status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot %s subscription %s: it is %s", action,
						csp_uuid_to_cstring(sub->subscription_id),
						sub->is_trial ? "a trial" : sub->status),
				 errhint("%s", sub->is_trial ? "Convert the trial with csp.convert_trial first." : hint)));
}

/*
 * Inserts a subscription with its first seat lot and, when
 * first_charge_type is set, its first charge (the first billing cycle,
 * prorated from the start).  Shared by purchase, trial conversion, partial
 * upgrades and transfers.  Leaves the new row locked in *sub.
 */
void
csp_create_subscription(const NewSubscription *ns, SubscriptionRow *sub)
{
	DateADT		next_charge = 0;
	bool		has_next_charge;
	int64		lot_id;

	has_next_charge = ns->first_charge_type != NULL &&
		csp_next_cycle_start(ns->start, ns->end, ns->term, ns->frequency, ns->start, &next_charge);

	csp_lock_subscription(csp_store_insert_subscription(ns, has_next_charge, next_charge), sub);
	lot_id = csp_insert_seat_lot_until(sub, ns->lot_source, ns->quantity, ns->reducible_until);
	if (ns->first_charge_type != NULL)
		csp_charge_period(sub, ns->first_charge_type, ns->start, ns->quantity, lot_id,
						  ns->reference_id);
}
