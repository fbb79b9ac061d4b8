/*-------------------------------------------------------------------------
 *
 * usage.c
 *	  R11.3 pay-as-you-go: csp.record_usage posts a usage line to the
 *	  charge ledger.
 *
 * A usage line charges one day (charge_start = charge_end = usage_date,
 * days 1/1) for a metered quantity, which may be fractional, at the unit
 * price of the meter in its own currency (USD for Azure, R12.2), converted
 * to the billing currency at the rate of usage_date's month (R12.3) and
 * rounded once to the billing currency's minor unit.  It is posted at
 * csp.now(), so usage recorded after its period was invoiced lands on the
 * next invoice (R11.5).
 *
 * The line is posted straight to the ledger (csp_ledger_post) rather than
 * through csp_post_charge, whose quantity is a whole number of seats and
 * whose pricing currency is the subscription's; a usage line carries its
 * own of both, and its meter.
 *
 * src/usage.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_record_usage);

#define MAX_METER_ID_LENGTH CSP_MAX_METER_ID_CHARS
#define USAGE_QUANTITY_SCALE 10

#define NUMD(n) NumericGetDatum(n)

static void
CheckNotNegative(Numeric value, const char *what)
{
	if (csp_numeric_is_negative(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", what),
				 errhint("Usage is recorded as a quantity and a price of zero or more; corrections are credits.")));
}

/*
 * csp.record_usage(subscription_id, usage_date, meter_id, quantity,
 *     unit_price, currency) → void
 */
Datum
csp_record_usage(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"subscription_id", "usage_date", "meter_id", "quantity",
	"unit_price", "currency"};
	static CspPlan purchased = {
		"SELECT csp.utc_date(purchased_at) FROM csp.subscription"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		2, {INT8OID, UUIDOID}, NULL, 0
	};
#define Anum_purchased_first_day 1
	Datum		subscription_id;
	DateADT		usage_date;
	char	   *meter_id;
	Numeric		quantity;
	Numeric		unit_price;
	char	   *currency;
	SubscriptionRow sub;
	DateADT		first_day;
	Numeric		rate;
	Datum		amount;
	Datum		values[2];
	bool		isnull;
	LedgerLine	line;

	csp_require_args(fcinfo, args, lengthof(args));
	subscription_id = PG_GETARG_DATUM(0);
	usage_date = PG_GETARG_DATEADT(1);
	csp_check_date_in_range(usage_date, "usage_date");
	meter_id = csp_arg_cstring(fcinfo, 2);
	csp_check_nonblank(meter_id, "meter_id");
	if (strlen(meter_id) > MAX_METER_ID_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("meter_id is longer than %d bytes", MAX_METER_ID_LENGTH),
				 errhint("Pass the meter's id, not its description.")));
	quantity = PG_GETARG_NUMERIC(3);
	csp_check_amount(quantity, "quantity", USAGE_QUANTITY_SCALE);
	CheckNotNegative(quantity, "quantity");
	unit_price = PG_GETARG_NUMERIC(4);
	csp_check_amount(unit_price, "unit_price", CSP_PRICE_SCALE);
	CheckNotNegative(unit_price, "unit_price");
	currency = csp_check_currency(csp_arg_cstring(fcinfo, 5));
	if (usage_date > csp_today())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("usage_date %s is in the future", csp_date_to_cstring(usage_date)),
				 errhint("Record usage on or after the day it happened (today is %s).",
						 csp_date_to_cstring(csp_today()))));

	csp_enter(fcinfo, "record_usage", true);
	csp_lock_for_action(subscription_id, &sub, false);

	if (strcmp(sub.billing_type, "usage") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("subscription %s is not usage-based", csp_uuid_to_cstring(sub.subscription_id)),
				 errdetail("%s is license-based: it is charged per seat and billing cycle (R11.1).", sub.sku_id),
				 errhint("Record usage on a subscription of a usage-based SKU, such as an Azure plan (R11.3).")));
	if (strcmp(sub.status, "active") != 0 && strcmp(sub.status, "suspended") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot record usage on subscription %s: it is %s",
						csp_uuid_to_cstring(sub.subscription_id), sub.status),
				 errdetail("Usage is charged only while a subscription is active or suspended (R6.1)."),
				 errhint("Record it on the customer's live subscription.")));

	values[0] = Int64GetDatum(sub.billing_account_id);
	values[1] = sub.subscription_id;
	csp_spi_run(&purchased, values, NULL, true, 1);
	if (SPI_processed != 1)
		elog(ERROR, "subscription %s vanished", csp_uuid_to_cstring(sub.subscription_id));
	first_day = DatumGetDateADT(csp_spi_getdatum(0, Anum_purchased_first_day, &isnull));
	if (usage_date < first_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("usage_date %s is before subscription %s began on %s",
						csp_date_to_cstring(usage_date), csp_uuid_to_cstring(sub.subscription_id),
						csp_date_to_cstring(first_day)),
				 errhint("Record usage of days from %s on.", csp_date_to_cstring(first_day))));

	/* R12.2/R12.3: priced in "currency", converted at the rate of the usage month */
	rate = csp_fx_rate(currency, sub.currency, usage_date);
	amount = DirectFunctionCall2(numeric_mul, NUMD(unit_price), NUMD(rate));
	amount = DirectFunctionCall2(numeric_mul, amount, NUMD(quantity));
	amount = NUMD(csp_round_money(DatumGetNumeric(amount), csp_currency_exponent(sub.currency)));
	csp_check_amount(DatumGetNumeric(amount), "the usage amount", csp_currency_exponent(sub.currency));

	/* one day, days 1/1, at the meter's price in its own currency */
	csp_ledger_line_of(&sub, &line);
	line.charge_type = "usage";
	line.charge_start = usage_date;
	line.charge_end = usage_date;
	line.cycle_start = usage_date;
	line.quantity = quantity;
	line.unit_price = unit_price;
	line.days_charged = 1;
	line.days_in_cycle = 1;
	line.amount = DatumGetNumeric(amount);
	line.pricing_currency = currency;
	line.fx_rate = rate;
	line.reference_id = csp_new_uuid();
	line.meter_id = meter_id;
	csp_ledger_post(&line, false);
	csp_finish();
	PG_RETURN_VOID();
}
