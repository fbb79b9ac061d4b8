/*-------------------------------------------------------------------------
 *
 * subscriptions.h
 *	  The subscription rooms above the store: the checks every management
 *	  call shares, locking, add-on rules and seats.  Each declaration is
 *	  labelled with the file that defines it.
 *
 * src/subscriptions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SUBSCRIPTIONS_H
#define SUBSCRIPTIONS_H

#include "subscription_store.h"

/* subscriptions.c: the shared checks, and opening a subscription */
extern void csp_check_manageable(const CspSubscription *sub, const char *action);
extern void csp_check_not_trial(const CspSubscription *sub, const char *action);
extern void csp_check_active_paid(const CspSubscription *sub, const char *action, const char *hint);
extern void csp_check_no_pending_renewal(const char *subscription_id, DateADT term_end,
										 const char *caller);
extern void csp_check_update_limit(const CspSubscription *sub);
extern void csp_count_update(CspSubscription *sub);
extern void csp_create_subscription(const NewSubscription *ns, CspSubscription *sub);

/* subscription_lock.c: locking a subscription for a change */
extern void csp_lock_subscription(Datum subscription_id, CspSubscription *sub);
extern void csp_lock_and_catch_up(Datum subscription_id, CspSubscription *sub);
extern void csp_lock_for_action(Datum subscription_id, CspSubscription *sub, bool catch_up);
extern void csp_lock_for_change(Datum subscription_id, CspSubscription *sub);
extern void csp_load_target(Datum target_id, const CspSubscription *source,
							const char *sku_id, CspSubscription *target);

/* addons.c: the add-on rules (R4.6 to R4.8) */
extern void csp_check_addon_rules(Datum customer_id, const char *sku_id, bool addon_changed);
extern void csp_check_addon_rules_after(Datum customer_id, const char *sku_id, bool addon_changed,
										int64 base_delta);
extern int64 csp_live_addons(const CspSubscription *base);

/* seats.c */
extern void csp_move_seats_out(CspSubscription *sub, int32 seats);
extern int64 csp_move_seats_in(CspSubscription *sub, const char *source, int32 seats,
							   TimestampTz reducible_until);

#endif							/* SUBSCRIPTIONS_H */
