/*-------------------------------------------------------------------------
 *
 * transfers.c
 *	  R10 transfers between partners: a new subscription on the target
 *	  partner's billing account and profile with the original end date, the
 *	  old one cancelled under the source's account.
 *
 * The money moves as two `moveQuantity` lines sharing a reference_id: a
 * credit to the source for the rest of its current billing cycle and a
 * charge to the target for the same days.
 *
 * src/transfers.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_transfer);

/* csp.transfer(subscription_id, to_partner_id) → uuid */
Datum
csp_transfer(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "to_partner_id"};
	SubscriptionRow source;
	SubscriptionRow moved;
	PartnerBilling target;
	char	   *to_partner;
	NewSubscription ns;
	Numeric		price;
	char	   *pricing_currency;
	DateADT		today = csp_today();
	Datum		reference_id = csp_new_uuid();
	Datum		result;

	csp_require_args(fcinfo, args, lengthof(args));
	to_partner = csp_arg_cstring(fcinfo, 1);

	csp_enter(fcinfo, "transfer", true);
	csp_lock_for_action(PG_GETARG_DATUM(0), &source, true);
	csp_check_manageable(&source, "transfer");
	csp_check_active_paid(&source, "transfer", "Only active subscriptions are transferred: reactivate it first.");
	if (strcmp(source.partner_id, to_partner) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subscription %s already belongs to partner %s",
						csp_uuid_to_cstring(source.subscription_id), to_partner),
				 errhint("Name the partner that takes the subscription over.")));

	csp_lock_partner_billing(to_partner, &target);
	if (strcmp(target.kind, "indirect_reseller") == 0 || strcmp(target.status, "active") != 0 ||
		!target.linked)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s cannot take subscriptions over", to_partner),
				 errdetail("It is %s %s%s.", target.status, target.kind,
						   target.linked ? "" : " without a billing profile"),
				 errhint("The target must be an active direct-bill partner or indirect provider linked to a billing profile (R1.5, R2.1).")));
	/* the new subscription posts on the target's ledger: a profile-limited caller needs it too */
	if (target.linked)
		csp_check_profile_scope(target.billing_profile_id, true, "partner", to_partner,
								"transfer a subscription");

	/*
	 * R4.3: the price is fixed for the term, so the target keeps it when it
	 * bills in the same currency; otherwise its own list price applies.
	 */
	if (strcmp(target.currency, source.currency) == 0)
	{
		price = source.unit_price;
		pricing_currency = source.pricing_currency;
	}
	else
		csp_require_price(source.sku_id, source.term, source.frequency, target.currency, today,
						  &price, &pricing_currency);

	/* the source is credited for the rest of its current cycle */
	csp_charge_period(&source, "moveQuantity", today, -(int64) source.quantity, 0, reference_id);
	csp_set_subscription_status(&source, "cancelled");

	/* R10.1, R10.2: the target's subscription keeps the original end date */
	memset(&ns, 0, sizeof(ns));
	ns.billing_account_id = target.billing_account_id;
	ns.billing_profile_id = target.billing_profile_id;
	ns.invoice_section_id = target.section_id;
	ns.customer_id = source.customer_id;
	ns.partner_id = to_partner;
	ns.sku_id = source.sku_id;
	ns.quantity = source.quantity;
	ns.auto_renew = source.auto_renew;
	ns.term = source.term;
	ns.frequency = source.frequency;
	ns.start = today;
	ns.end = source.term_end;
	ns.cancellation_allowed_until = csp_now();
	ns.unit_price = price;
	ns.currency = target.currency;
	ns.pricing_currency = pricing_currency;
	ns.lot_source = "transfer";
	ns.reducible_until = csp_now();
	ns.first_charge_type = "moveQuantity";
	ns.reference_id = reference_id;
	csp_create_subscription(&ns, &moved);

	result = SPI_datumTransfer(moved.subscription_id, false, UUID_LEN);
	csp_finish();
	PG_RETURN_DATUM(result);
}
