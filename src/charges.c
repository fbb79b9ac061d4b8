/*-------------------------------------------------------------------------
 *
 * charges.c
 *	  What a ledger line costs: price and exchange-rate lookup, prorated
 *	  lines, and refunds that give back exactly what was charged.
 *
 * A line's amount is unit_price × fx_rate × quantity × days_charged /
 * days_in_cycle, rounded once, to the billing currency's minor unit; the
 * line keeps every factor, so csp.line_items can explain each amount.
 *
 * A refund never re-prices: it walks the lines that charged the seats (or
 * the term) being given back and gives back, line by line, the part of
 * each that lies after the days used, at that line's own price and rate,
 * as the difference of cumulative rounded amounts (csp_refund_charges).
 * So the refunds of a line never exceed what it charged, and giving back
 * every seat-day of a line gives back exactly its amount.
 *
 * The lines are written and read by the ledger's store, ledger.c; this
 * file only computes them.
 *
 * src/charges.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

/*
 * The list price valid on on_date in the billing currency, or failing that
 * in USD (R12.2: some products are priced in USD only and converted).
 * Returns false when neither exists.
 */
bool
csp_find_price(const char *sku_id, TermCode term, BillingFrequency freq,
			   const char *currency, DateADT on_date,
			   Numeric *unit_price, char **pricing_currency)
{
	static CspPlan plan = {
		"SELECT unit_price, currency FROM csp.price"
		" WHERE sku_id = $1 AND term = $2 AND billing_frequency = $3"
		"   AND currency IN ($4, 'USD') AND valid_from <= $5"
		" ORDER BY (currency = $4) DESC, valid_from DESC LIMIT 1",
		5, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, DATEOID}, NULL, 0
	};
#define Anum_price_lookup_unit_price	1
#define Anum_price_lookup_currency		2
	Datum		values[5];
	bool		isnull;

	values[0] = CStringGetTextDatum(sku_id);
	values[1] = CStringGetTextDatum(terms_term_name(term));
	values[2] = CStringGetTextDatum(terms_frequency_name(freq));
	values[3] = CStringGetTextDatum(currency);
	values[4] = DateADTGetDatum(on_date);
	csp_spi_run(&plan, values, NULL, true, 1);
	if (SPI_processed == 0)
		return false;
	*unit_price = DatumGetNumeric(csp_spi_getdatum(0, Anum_price_lookup_unit_price, &isnull));
	*pricing_currency = csp_spi_getcstring(0, Anum_price_lookup_currency);
	return true;
}

/*
 * R12.3: the rate that converts from_currency into to_currency for
 * everything posted in on_date's month: the mid-rate of two business days
 * before the month's first day.  1 for the same currency; NC014 if the
 * rate was not recorded.
 */
Numeric
csp_fx_rate(const char *from_currency, const char *to_currency, DateADT on_date)
{
	Numeric		rate = csp_find_fx_rate(from_currency, to_currency, on_date);
	DateADT		rate_date = terms_fx_rate_date(on_date);

	if (rate == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NO_FX_RATE),
				 errmsg("no %s to %s exchange rate for %s",
						from_currency, to_currency, csp_date_to_cstring(rate_date)),
				 errdetail("Charges posted in the month of %s use the rate of two business days before its first day (R12.3).",
						   csp_date_to_cstring(on_date)),
				 errhint("Record it with csp.set_fx_rate('%s', '%s', '%s', <rate>).",
						 from_currency, to_currency, csp_date_to_cstring(rate_date))));
	return rate;
}

/* The rate csp_fx_rate uses, or NULL when it was not recorded. */
Numeric
csp_find_fx_rate(const char *from_currency, const char *to_currency, DateADT on_date)
{
	static CspPlan plan = {
		"SELECT rate FROM csp.fx_rate WHERE from_currency = $1 AND to_currency = $2 AND rate_date = $3",
		3, {TEXTOID, TEXTOID, DATEOID}, NULL, 0
	};
#define Anum_fx_rate_lookup_rate 1
	Datum		values[3];
	bool		isnull;

	if (strcmp(from_currency, to_currency) == 0)
		return int64_to_numeric(1);

	values[0] = CStringGetTextDatum(from_currency);
	values[1] = CStringGetTextDatum(to_currency);
	values[2] = DateADTGetDatum(terms_fx_rate_date(on_date));
	csp_spi_run(&plan, values, NULL, true, 1);
	if (SPI_processed == 0)
		return NULL;
	return DatumGetNumeric(csp_spi_getdatum(0, Anum_fx_rate_lookup_rate, &isnull));
}

/*
 * Computes the line's amount and inserts it.  With skip_duplicate, a
 * full-cycle line (new, renew, cycleCharge) that already exists for the
 * cycle is skipped, which is what makes the jobs idempotent.  Returns
 * whether a line was inserted.
 */
/*
 * Starts a ledger line billed to the subscription: its account, profile,
 * section, partner, customer, product and billing currency; the rest zero.
 * Every line of a subscription (per-row, refund, usage) starts here.
 */
void
csp_ledger_line_of(const SubscriptionRow *sub, struct LedgerLine *row)
{
	memset(row, 0, sizeof(*row));
	row->billing_account_id = sub->billing_account_id;
	row->billing_profile_id = sub->billing_profile_id;
	row->invoice_section_id = sub->invoice_section_id;
	row->partner_id = sub->partner_id;
	row->customer_id = sub->customer_id;
	row->subscription_id = sub->subscription_id;
	row->sku_id = sub->sku_id;
	row->currency = sub->currency;
}

bool
csp_post_charge(const SubscriptionRow *sub, ChargeLine *line, bool skip_duplicate)
{
	return csp_post_charge_amount(sub, line, csp_line_amount(sub, line), skip_duplicate);
}

/*
 * Posts the line with the amount given (a refund's is computed by its
 * caller), billed to the subscription's account, profile and section.
 */
bool
csp_post_charge_amount(const SubscriptionRow *sub, ChargeLine *line, Numeric amount,
					   bool skip_duplicate)
{
	LedgerLine	row;

	csp_ledger_line_of(sub, &row);
	row.charge_type = line->charge_type;
	row.charge_start = line->charge_start;
	row.charge_end = line->charge_end;
	row.cycle_start = line->cycle_start;
	row.quantity = int64_to_numeric(line->quantity);
	row.unit_price = line->unit_price;
	row.days_charged = line->charge_end - line->charge_start + 1;
	row.days_in_cycle = line->days_in_cycle;
	row.amount = amount;
	row.pricing_currency = sub->pricing_currency;
	row.fx_rate = line->fx_rate;
	row.reference_id = line->reference_id;
	row.lot_id = line->lot_id;
	row.refunds_charge_id = line->refunds_charge_id;
	return csp_ledger_post(&row, skip_duplicate);
}

/*
 * Charges "quantity" seats from from_day to the end of the billing cycle
 * containing it (never past the term end): the first charge of a term
 * (new, renew) and mid-cycle additions (addQuantity).
 */
void
csp_charge_period(const SubscriptionRow *sub, const char *charge_type,
				  DateADT from_day, int64 quantity, int64 lot_id, Datum reference_id)
{
	ChargeLine	line;

	csp_period_line(sub, charge_type, from_day, quantity, &line);
	line.fx_rate = csp_fx_rate(sub->pricing_currency, sub->currency, csp_today());
	line.reference_id = reference_id;
	line.lot_id = lot_id;
	csp_post_charge(sub, &line,
					strcmp(charge_type, "new") == 0 || strcmp(charge_type, "renew") == 0);
}

/*
 * The line that charges "quantity" seats from from_day to the end of the
 * cycle containing it (clipped to the term end), at the subscription's
 * unit price.  The caller sets fx_rate, reference_id and lot_id.
 */
void
csp_period_line(const SubscriptionRow *sub, const char *charge_type,
				DateADT from_day, int64 quantity, ChargeLine *line)
{
	TermsCycle	cycle;

	if (!terms_cycle_containing(sub->term_start, sub->term_end, sub->term,
								sub->frequency, from_day, &cycle))
		elog(ERROR, "%s is outside the term of subscription %s",
			 csp_date_to_cstring(from_day), csp_uuid_to_cstring(sub->subscription_id));
	csp_cycle_line(sub, charge_type, &cycle, quantity, line);
	line->charge_start = from_day;
}

/*
 * The line that charges "quantity" seats for a whole cycle (clipped to the
 * term end) at the subscription's unit price.  The caller sets fx_rate,
 * reference_id and lot_id.
 */
void
csp_cycle_line(const SubscriptionRow *sub, const char *charge_type,
			   const TermsCycle *cycle, int64 quantity, ChargeLine *line)
{
	line->charge_type = charge_type;
	line->charge_start = cycle->start;
	line->charge_end = Min(cycle->end, sub->term_end);
	line->cycle_start = cycle->full_start;
	line->days_in_cycle = TERMS_CYCLE_DAYS(cycle);
	line->quantity = quantity;
	line->unit_price = sub->unit_price;
	line->fx_rate = NULL;
	line->reference_id = (Datum) 0;
	line->lot_id = 0;
	line->refunds_charge_id = 0;
}

/*
 * R12: a line's amount in the billing currency: its unit price converted
 * at its rate, prorated over the days it covers and rounded to the minor
 * unit (csp_prorate).
 */
Numeric
csp_line_amount(const SubscriptionRow *sub, const ChargeLine *line)
{
	Numeric		price_in_billing_currency;

	price_in_billing_currency =
		DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(line->unit_price),
											NumericGetDatum(line->fx_rate)));
	return csp_prorate(price_in_billing_currency, line->quantity,
					   line->charge_end - line->charge_start + 1,
					   line->days_in_cycle, csp_currency_exponent(sub->currency));
}

/*
 * Refunds what was charged from refund_from onwards:
 * - for a seat reduction (lot_id != 0), "seats" seats of the lines that
 *   charged that lot: its own new/renew/addQuantity line and every
 *   cycleCharge posted since the lot was added;
 * - for a cancellation (lot_id == 0), every seat still charged on every
 *   line of the current term, so the net of each seat is what was used.
 *
 * A refund is never rounded on its own: rounding each piece would let
 * three one-seat refunds of a 25.16 line give back 3 x 8.39 = 25.17.
 * Instead every charged line keeps its seat-days (quantity x days, less
 * what its refunds took back), and a refund is the difference of two
 * rounded cumulative amounts: what the line's remaining seat-days cost
 * after this refund, minus what the line still owes now (its amount plus
 * the refunds already posted against it).  So the refunds of a line add up
 * to exactly its amount when every seat-day is given back, and can never
 * exceed it (the difference is also clamped to what is still owed, which
 * covers refunds posted before 0.3.0, when pieces were rounded alone).
 * Refund lines themselves are not refunded again.
 * Returns the number of refund lines posted.
 */
int
csp_refund_charges(const SubscriptionRow *sub, const char *charge_type,
				   int64 lot_id, TimestampTz lot_added_at, int32 seats,
				   DateADT refund_from, Datum reference_id)
{
	LedgerRefundable *lines;
	int			nlines;
	int			i;
	int			posted = 0;
	int			exponent = csp_currency_exponent(sub->currency);
	Numeric		zero = int64_to_numeric(0);

	nlines = csp_ledger_refundable(sub->billing_account_id, sub->subscription_id,
								   sub->term_start, refund_from, lot_id, lot_added_at, &lines);
	for (i = 0; i < nlines; i++)
	{
		const LedgerRefundable *charged = &lines[i];
		ChargeLine	line;
		int64		seat_days;
		int64		removed;
		int32		days;
		Numeric		owed_now;
		Numeric		owed_after;
		Numeric		refund;
		Numeric		price;

		line.charge_type = charge_type;
		line.charge_start = Max(charged->charge_start, refund_from);
		line.charge_end = charged->charge_end;
		line.cycle_start = charged->cycle_start;
		line.days_in_cycle = charged->days_in_cycle;
		line.unit_price = charged->unit_price;
		line.fx_rate = charged->fx_rate;
		owed_now = DatumGetNumeric(DirectFunctionCall2(numeric_add,
													   NumericGetDatum(charged->amount),
													   NumericGetDatum(charged->refunded_amount)));
		line.reference_id = reference_id;
		line.lot_id = lot_id;
		line.refunds_charge_id = charged->charge_id;
		if (line.charge_start > line.charge_end)
			continue;
		days = line.charge_end - line.charge_start + 1;

		/* the seat-days the line still charges, and those this refund takes */
		seat_days = charged->quantity * (int64) (line.charge_end - charged->charge_start + 1) +
			charged->refunded_seat_days;
		if (lot_id != 0)
		{
			line.quantity = -(int64) seats;
			removed = (int64) seats * days;
		}
		else
		{
			/* every seat still charged from refund_from */
			removed = charged->quantity * days + charged->refunded_seat_days_from;
			line.quantity = -(removed / days);
		}
		if (line.quantity == 0 && removed == 0)
			continue;

		price = DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(line.unit_price),
													NumericGetDatum(line.fx_rate)));
		owed_after = csp_prorate(price, seat_days - removed, 1, line.days_in_cycle, exponent);
		refund = DatumGetNumeric(DirectFunctionCall2(numeric_sub, NumericGetDatum(owed_after),
													 NumericGetDatum(owed_now)));

		/* never more than the line still owes, never the other way round */
		if (csp_numeric_cmp(owed_now, zero) >= 0)
		{
			if (csp_numeric_cmp(refund, zero) > 0)
				refund = zero;
			if (csp_numeric_cmp(refund, csp_numeric_negate(owed_now)) < 0)
				refund = csp_numeric_negate(owed_now);
		}
		else
		{
			if (csp_numeric_cmp(refund, zero) < 0)
				refund = zero;
			if (csp_numeric_cmp(refund, csp_numeric_negate(owed_now)) > 0)
				refund = csp_numeric_negate(owed_now);
		}
		csp_post_charge_amount(sub, &line, csp_round_money(refund, exponent), false);
		posted++;
	}
	return posted;
}

/* csp_find_price, or NC013 naming what is missing. */
void
csp_require_price(const char *sku_id, TermCode term, BillingFrequency freq,
				  const char *currency, DateADT on_date,
				  Numeric *unit_price, char **pricing_currency)
{
	if (!csp_find_price(sku_id, term, freq, currency, on_date, unit_price, pricing_currency))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NO_PRICE),
				 errmsg("no price for %s, %s, %s in %s", sku_id, terms_term_name(term),
						terms_frequency_name(freq), currency),
				 errdetail("No price valid on %s in %s or USD.", csp_date_to_cstring(on_date), currency),
				 errhint("Set one with csp.set_price, or choose another term or billing frequency.")));
}
