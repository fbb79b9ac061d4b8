/*-------------------------------------------------------------------------
 *
 * charges.c
 *	  The charge ledger: price and exchange-rate lookup, posting prorated
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
 * The ledger is append-only (csp.charge_ledger_trigger): a line is never
 * changed, except once, to attach it to its invoice.
 *
 * src/charges.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(csp_charge_ledger_trigger);

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
	*unit_price = DatumGetNumeric(csp_spi_getdatum(0, 1, &isnull));
	*pricing_currency = csp_spi_getcstring(0, 2);
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
	return DatumGetNumeric(csp_spi_getdatum(0, 1, &isnull));
}

/*
 * Computes the line's amount and inserts it.  With skip_duplicate, a
 * full-cycle line (new, renew, cycleCharge) that already exists for the
 * cycle is skipped, which is what makes the jobs idempotent.  Returns
 * whether a line was inserted.
 */
bool
csp_post_charge(const SubscriptionRow *sub, ChargeLine *line, bool skip_duplicate)
{
	return csp_post_charge_amount(sub, line, csp_line_amount(sub, line), skip_duplicate);
}

/* Inserts the line with the amount given (a refund's is computed by its caller). */
bool
csp_post_charge_amount(const SubscriptionRow *sub, ChargeLine *line, Numeric amount,
					   bool skip_duplicate)
{
#define CHARGE_INSERT \
	"INSERT INTO csp.charge (" CSP_CHARGE_COLUMNS ", lot_id, refunds_charge_id)" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17," \
	"  $18, $19, $20, $21, $22, $23)"
#define CHARGE_TYPES {INT8OID, INT8OID, INT8OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID, TEXTOID, \
	DATEOID, DATEOID, DATEOID, TIMESTAMPTZOID, NUMERICOID, NUMERICOID, INT4OID, INT4OID, \
	NUMERICOID, TEXTOID, TEXTOID, NUMERICOID, UUIDOID, INT8OID, INT8OID}
	static CspPlan plain = {CHARGE_INSERT, 23, CHARGE_TYPES, NULL, 0
	};
	static CspPlan skipping = {
		CHARGE_INSERT " ON CONFLICT (billing_account_id, subscription_id, cycle_start)"
		" WHERE charge_type IN ('new', 'renew', 'cycleCharge') DO NOTHING",
		23, CHARGE_TYPES, NULL, 0
	};
	Datum		values[23];
	char		nulls[23];
	int32		days = line->charge_end - line->charge_start + 1;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = Int64GetDatum(sub->billing_profile_id);
	values[2] = Int64GetDatum(sub->invoice_section_id);
	values[3] = CStringGetTextDatum(sub->partner_id);
	values[4] = sub->customer_id;
	values[5] = sub->subscription_id;
	values[6] = CStringGetTextDatum(sub->sku_id);
	values[7] = CStringGetTextDatum(line->charge_type);
	values[8] = DateADTGetDatum(line->charge_start);
	values[9] = DateADTGetDatum(line->charge_end);
	values[10] = DateADTGetDatum(line->cycle_start);
	values[11] = TimestampTzGetDatum(csp_now());
	values[12] = NumericGetDatum(int64_to_numeric(line->quantity));
	values[13] = NumericGetDatum(line->unit_price);
	values[14] = Int32GetDatum(days);
	values[15] = Int32GetDatum(line->days_in_cycle);
	values[16] = NumericGetDatum(amount);
	values[17] = CStringGetTextDatum(sub->currency);
	values[18] = CStringGetTextDatum(sub->pricing_currency);
	values[19] = NumericGetDatum(line->fx_rate);
	values[20] = line->reference_id;
	values[21] = Int64GetDatum(line->lot_id);
	nulls[21] = line->lot_id ? ' ' : 'n';
	values[22] = Int64GetDatum(line->refunds_charge_id);
	nulls[22] = line->refunds_charge_id ? ' ' : 'n';

	csp_spi_run(skip_duplicate ? &skipping : &plain, values, nulls, false, 0);
	return SPI_processed > 0;
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
	/*
	 * Columns 8-11 of both: the line's quantity and amount, and over the
	 * refunds already posted against it, the sum of their amounts, of
	 * their (negative) seat-days, and of their seat-days on or after $3.
	 */
#define REFUNDED_SO_FAR \
	"       c.quantity, c.amount, coalesce(r.amount, 0), coalesce(r.seat_days, 0)," \
	"       coalesce(r.seat_days_from, 0)" \
	"  FROM csp.charge c" \
	"  LEFT JOIN LATERAL (SELECT sum(x.amount) AS amount," \
	"                            sum(x.quantity * x.days_charged) AS seat_days," \
	"                            sum(x.quantity * GREATEST(x.charge_end - GREATEST(x.charge_start, $3) + 1, 0))" \
	"                              AS seat_days_from" \
	"                       FROM csp.charge x" \
	"                      WHERE x.billing_account_id = c.billing_account_id" \
	"                        AND x.subscription_id = c.subscription_id" \
	"                        AND x.refunds_charge_id = c.charge_id) r ON true"
	static CspPlan lot_lines = {
		"SELECT c.charge_id, c.charge_start, c.charge_end, c.cycle_start, c.days_in_cycle,"
		"       c.unit_price, c.fx_rate," REFUNDED_SO_FAR
		" WHERE c.billing_account_id = $1 AND c.subscription_id = $2 AND c.charge_end >= $3"
		"   AND c.charge_start >= $6 AND c.refunds_charge_id IS NULL"
		"   AND ((c.lot_id = $4 AND c.charge_type IN ('new', 'renew', 'addQuantity'))"
		"        OR (c.charge_type = 'cycleCharge' AND (c.posted_at > $5"
		"            OR (c.posted_at = $5 AND c.charge_id > (SELECT coalesce(max(o.charge_id), 0) FROM csp.charge o"
		"                 WHERE o.billing_account_id = $1 AND o.subscription_id = $2 AND o.lot_id = $4"
		"                   AND o.charge_type IN ('new', 'renew', 'addQuantity'))))))"
		" ORDER BY c.charge_id",
		6, {INT8OID, UUIDOID, DATEOID, INT8OID, TIMESTAMPTZOID, DATEOID}, NULL, 0
	};
	static CspPlan term_lines = {
		"SELECT c.charge_id, c.charge_start, c.charge_end, c.cycle_start, c.days_in_cycle,"
		"       c.unit_price, c.fx_rate," REFUNDED_SO_FAR
		" WHERE c.billing_account_id = $1 AND c.subscription_id = $2 AND c.charge_end >= $3"
		"   AND c.charge_start >= $4 AND c.charge_type <> 'usage' AND c.refunds_charge_id IS NULL"
		" ORDER BY c.charge_id",
		4, {INT8OID, UUIDOID, DATEOID, DATEOID}, NULL, 0
	};
	Datum		values[6];
	SPITupleTable *lines;
	uint64		nlines;
	uint64		i;
	int			posted = 0;
	int			exponent = csp_currency_exponent(sub->currency);
	Numeric		zero = int64_to_numeric(0);

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(refund_from);
	if (lot_id != 0)
	{
		values[3] = Int64GetDatum(lot_id);
		values[4] = TimestampTzGetDatum(lot_added_at);
		values[5] = DateADTGetDatum(sub->term_start);
		csp_spi_run(&lot_lines, values, NULL, false, 0);
	}
	else
	{
		values[3] = DateADTGetDatum(sub->term_start);
		csp_spi_run(&term_lines, values, NULL, false, 0);
	}
	lines = SPI_tuptable;
	nlines = SPI_processed;

	for (i = 0; i < nlines; i++)
	{
		HeapTuple	tuple = lines->vals[i];
		TupleDesc	desc = lines->tupdesc;
		ChargeLine	line;
		bool		isnull;
		DateADT		start = DatumGetDateADT(SPI_getbinval(tuple, desc, 2, &isnull));
		int64		charged_quantity;
		int64		seat_days;
		int64		refunded_seat_days;
		int64		refunded_seat_days_from;
		int64		removed;
		int32		days;
		Numeric		amount;
		Numeric		owed_now;
		Numeric		owed_after;
		Numeric		refund;
		Numeric		price;

		line.charge_type = charge_type;
		line.charge_start = Max(start, refund_from);
		line.charge_end = DatumGetDateADT(SPI_getbinval(tuple, desc, 3, &isnull));
		line.cycle_start = DatumGetDateADT(SPI_getbinval(tuple, desc, 4, &isnull));
		line.days_in_cycle = DatumGetInt32(SPI_getbinval(tuple, desc, 5, &isnull));
		line.unit_price = DatumGetNumeric(SPI_getbinval(tuple, desc, 6, &isnull));
		line.fx_rate = DatumGetNumeric(SPI_getbinval(tuple, desc, 7, &isnull));
		charged_quantity = csp_numeric_to_int64(DatumGetNumeric(SPI_getbinval(tuple, desc, 8, &isnull)));
		amount = DatumGetNumeric(SPI_getbinval(tuple, desc, 9, &isnull));
		owed_now = DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(amount),
													   SPI_getbinval(tuple, desc, 10, &isnull)));
		refunded_seat_days = csp_numeric_to_int64(DatumGetNumeric(SPI_getbinval(tuple, desc, 11, &isnull)));
		refunded_seat_days_from = csp_numeric_to_int64(DatumGetNumeric(SPI_getbinval(tuple, desc, 12, &isnull)));
		line.reference_id = reference_id;
		line.lot_id = lot_id;
		line.refunds_charge_id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		if (line.charge_start > line.charge_end)
			continue;
		days = line.charge_end - line.charge_start + 1;

		/* the seat-days the line still charges, and those this refund takes */
		seat_days = charged_quantity * (int64) (line.charge_end - start + 1) + refunded_seat_days;
		if (lot_id != 0)
		{
			line.quantity = -(int64) seats;
			removed = (int64) seats * days;
		}
		else
		{
			/* every seat still charged from refund_from */
			removed = charged_quantity * days + refunded_seat_days_from;
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

/*
 * The start of the first billing cycle that begins after "day" inside the
 * term, or false when the term has none (one_time, or the last cycle).
 */
bool
csp_next_cycle_start(DateADT term_start, DateADT term_end, TermCode term,
					 BillingFrequency freq, DateADT day, DateADT *next)
{
	TermsCycle	cycle;

	if (freq == FREQ_ONE_TIME ||
		!terms_cycle_containing(term_start, term_end, term, freq, day, &cycle) ||
		cycle.end >= term_end)
		return false;
	*next = cycle.end + 1;
	return true;
}

/*
 * BEFORE UPDATE OR DELETE ON csp.charge: the ledger is append-only.  The
 * one change allowed is attaching a line to its invoice, once.
 */
Datum
csp_charge_ledger_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	int			invoice_col;
	int			col;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.charge_ledger_trigger: not called by trigger manager");

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		Datum	   *oldvals;
		Datum	   *newvals;
		bool	   *oldnulls;
		bool	   *newnulls;
		bool		allowed;

		desc = RelationGetDescr(trigdata->tg_relation);
		oldtup = trigdata->tg_trigtuple;
		newtup = trigdata->tg_newtuple;
		invoice_col = SPI_fnumber(desc, "invoice_number");

		/* both versions deformed once: month close runs this for every line */
		oldvals = palloc(sizeof(Datum) * desc->natts);
		newvals = palloc(sizeof(Datum) * desc->natts);
		oldnulls = palloc(sizeof(bool) * desc->natts);
		newnulls = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(oldtup, desc, oldvals, oldnulls);
		heap_deform_tuple(newtup, desc, newvals, newnulls);

		/* the one change allowed: an unbilled line gets its invoice number */
		allowed = invoice_col > 0 && oldnulls[invoice_col - 1];
		for (col = 1; allowed && col <= desc->natts; col++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, col - 1);

			if (att->attisdropped || col == invoice_col)
				continue;
			if (oldnulls[col - 1] != newnulls[col - 1] ||
				(!oldnulls[col - 1] &&
				 !datumIsEqual(oldvals[col - 1], newvals[col - 1], att->attbyval, att->attlen)))
				allowed = false;
		}
		pfree(oldvals);
		pfree(newvals);
		pfree(oldnulls);
		pfree(newnulls);
		if (allowed)
			return PointerGetDatum(newtup);
	}

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the charge ledger is append-only"),
			 errdetail("A charge line is never changed or deleted; it is only attached to an invoice, once."),
			 errhint("Post a correcting line (a credit or a refund) instead.")));
	PG_RETURN_NULL();
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
