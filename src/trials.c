/*-------------------------------------------------------------------------
 *
 * trials.c
 *	  R9.3 converting a trial, any time, to a new paid subscription (at
 *	  least 25 licenses, term and frequency of choice) or into an existing
 *	  one (25 licenses added, its term and frequency kept).  The trial ends.
 *	  No promotion applies (R9.5).  Conversion at trial end is the renewal's
 *	  job (renewals.c), with the quantity scheduled by csp.schedule_change.
 *
 * src/trials.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_convert_trial);

#define TRIAL_SEATS 25

/*
 * csp.convert_trial(subscription_id, quantity, term, billing_frequency,
 *                   target_subscription_id) → uuid
 */
Datum
csp_convert_trial(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "quantity", "term", "billing_frequency", NULL};
	SubscriptionRow trial;
	SubscriptionRow paid;
	char	   *paid_sku;
	int32		quantity;
	TermCode	term;
	BillingFrequency freq;
	DateADT		today = csp_today();
	Datum		result;

	csp_require_args(fcinfo, args, lengthof(args));
	quantity = PG_GETARG_INT32(1);
	term = csp_check_term(csp_arg_cstring(fcinfo, 2));
	freq = csp_check_frequency(csp_arg_cstring(fcinfo, 3));
	csp_check_term_frequency(term, freq);

	csp_enter(fcinfo, "convert_trial", true);
	/* the customer first: the add-on ratios below are decided on it */
	csp_lock_customer_of_subscription(PG_GETARG_DATUM(0));
	csp_lock_for_action(PG_GETARG_DATUM(0), &trial, false);
	csp_check_manageable(&trial, "convert");
	if (!trial.is_trial || strcmp(trial.status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("subscription %s is not an active trial",
						csp_uuid_to_cstring(trial.subscription_id)),
				 errhint("Upgrade paid subscriptions with csp.upgrade.")));
	csp_lock_product(trial.sku_id, &paid_sku);

	if (!PG_ARGISNULL(4))
	{
		/* into an existing subscription: 25 licenses, its term kept (R9.3) */
		csp_load_target(PG_GETARG_DATUM(4), &trial, paid_sku, &paid);
		csp_move_seats_in(&paid, "conversion", TRIAL_SEATS, csp_now() + CSP_WINDOW_USECS);
		csp_charge_period(&paid, "addQuantity", today, TRIAL_SEATS,
						  0, csp_new_uuid());
	}
	else
	{
		NewSubscription ns;
		Numeric		price;
		char	   *pricing_currency;

		if (quantity < TRIAL_SEATS)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
					 errmsg("a trial converts to at least %d licenses, not %d", TRIAL_SEATS, quantity),
					 errdetail("A mid-term conversion cannot go below %d; a conversion scheduled for the trial's end can (R9.3, R9.4).",
							   TRIAL_SEATS),
					 errhint("Convert with quantity => %d or more, or schedule it with csp.schedule_change.",
							 TRIAL_SEATS)));
		csp_require_price(paid_sku, term, freq, trial.currency, today, &price, &pricing_currency);
		memset(&ns, 0, sizeof(ns));
		ns.billing_account_id = trial.billing_account_id;
		ns.billing_profile_id = trial.billing_profile_id;
		ns.invoice_section_id = trial.invoice_section_id;
		ns.customer_id = trial.customer_id;
		ns.partner_id = trial.partner_id;
		ns.sku_id = paid_sku;
		ns.quantity = quantity;
		ns.auto_renew = true;
		ns.term = term;
		ns.frequency = freq;
		ns.start = today;
		ns.end = terms_natural_end(today, term);
		ns.cancellation_allowed_until = csp_now() + CSP_WINDOW_USECS;
		ns.unit_price = price;
		ns.currency = trial.currency;
		ns.pricing_currency = pricing_currency;
		ns.lot_source = "conversion";
		ns.reducible_until = csp_now() + CSP_WINDOW_USECS;
		ns.first_charge_type = "new";
		ns.reference_id = csp_new_uuid();
		csp_create_subscription(&ns, &paid);
	}

	/* the trial ends; its scheduled change goes with it (R7.3) */
	csp_set_subscription_status(&trial, "expired");
	csp_check_addon_rules(trial.customer_id, paid_sku, false);
	result = SPI_datumTransfer(paid.subscription_id, false, UUID_LEN);
	csp_finish();
	PG_RETURN_DATUM(result);
}
