/*-------------------------------------------------------------------------
 *
 * addons.c
 *	  R4.6 to R4.8 add-ons: the ratios of an add-on's seats to the
 *	  customer's base seats, across partners, and the live add-ons of a
 *	  base.
 *
 * src/addons.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

/* The number of active or suspended add-ons attached to a base. */
int64
csp_live_addons(const SubscriptionRow *base)
{
	return csp_store_live_addons(base);
}

/*
 * R4.6/R4.7: for every add-on SKU of the customer that counts "sku_id" as
 * a base (or is sku_id itself), the add-on's live seats must respect its
 * ratios to the customer's live base seats across all compatible base
 * subscriptions, whatever partner sold them, including those bought in
 * the same transaction.  NC007 otherwise.
 *
 * When a base changes (addon_changed false) only the maximum is checked:
 * base licenses can be increased at any time (R5.1), and a larger base
 * never breaks a minimum that held when the add-on was bought.
 * base_delta counts seats of sku_id that are about to change (a reduction
 * scheduled for the renewal) as if they had.
 */
void
csp_check_addon_rules(Datum customer_id, const char *sku_id, bool addon_changed)
{
	csp_check_addon_rules_after(customer_id, sku_id, addon_changed, 0);
}

void
csp_check_addon_rules_after(Datum customer_id, const char *sku_id, bool addon_changed,
							int64 base_delta)
{
	CspAddonRatio *ratios;
	int			n;
	int			i;

	/* serialised on the customer (a no-op when the caller holds it already) */
	csp_lock_customer(customer_id);
	n = csp_store_addon_ratios(customer_id, sku_id, base_delta, &ratios);

	for (i = 0; i < n; i++)
	{
		const char *addon = ratios[i].addon_sku;
		int64		addon_seats = ratios[i].addon_seats;
		int64		base_seats = ratios[i].base_seats;
		int64		min_seats = ratios[i].min_seats;
		int64		max_seats = ratios[i].max_seats;

		if (addon_seats == 0)
			continue;
		if (base_seats == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs a base subscription", addon),
					 errdetail("The customer has no live subscription of a base SKU of %s (R4.8).", addon),
					 errhint("Buy a base subscription first, in the same transaction if you like.")));
		if (addon_changed && strcmp(addon, sku_id) != 0)
			continue;
		if (ratios[i].has_min && addon_seats < min_seats && addon_changed)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s needs at least " INT64_FORMAT " seats, not " INT64_FORMAT,
							addon, min_seats, addon_seats),
					 errdetail("The minimum is %s of the customer's " INT64_FORMAT " base licenses (R4.6).",
							   ratios[i].min_ratio, base_seats),
					 errhint("Use at least " INT64_FORMAT " seats.", min_seats)));
		if (ratios[i].has_max && addon_seats > max_seats)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ADDON_RULE),
					 errmsg("add-on %s allows at most " INT64_FORMAT " seats, not " INT64_FORMAT,
							addon, max_seats, addon_seats),
					 errdetail("The maximum is %s times the customer's " INT64_FORMAT " base licenses, across all partners (R4.7).",
							   ratios[i].max_ratio, base_seats),
					 errhint("Use at most " INT64_FORMAT " seats, or add base licenses first.", max_seats)));
	}
}

