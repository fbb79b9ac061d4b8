/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The charge ledger's store: the one place with SQL text on csp.charge.
 *
 * Callers compute a line (charges.c: what a line costs; usage.c: a metered
 * day) and hand it over as a LedgerLine; refunds read the lines they may
 * give back from as LedgerRefundable rows.  The bulk paths of job_batch.c
 * insert with the same column list, CSP_CHARGE_COLUMNS (ledger.h).
 *
 * The ledger is append-only (csp.charge_ledger_trigger, here): a line is
 * never changed.  Its billing period is decided when it is posted (R11.5,
 * CSP_BILLING_PERIOD_OF), and its invoice is that period's: month close
 * writes the invoices, not the lines.
 *
 * src/ledger.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(csp_charge_ledger_trigger);

/* Parameters of the insert: CSP_CHARGE_COLUMNS, then the optional columns. */
#define Param_charge_billing_account_id	0
#define Param_charge_billing_profile_id	1
#define Param_charge_invoice_section_id	2
#define Param_charge_partner_id			3
#define Param_charge_customer_id		4
#define Param_charge_subscription_id	5
#define Param_charge_sku_id				6
#define Param_charge_charge_type		7
#define Param_charge_charge_start		8
#define Param_charge_charge_end			9
#define Param_charge_cycle_start		10
#define Param_charge_posted_at			11
#define Param_charge_quantity			12
#define Param_charge_unit_price			13
#define Param_charge_days_charged		14
#define Param_charge_days_in_cycle		15
#define Param_charge_amount				16
#define Param_charge_currency			17
#define Param_charge_pricing_currency	18
#define Param_charge_fx_rate			19
#define Param_charge_reference_id		20
#define Param_charge_lot_id				21
#define Param_charge_refunds_charge_id	22
#define Param_charge_meter_id			23

#define Param_charge_natural_period		24
#define Natts_charge_insert				25

/*
 * The line, with its billing period decided (R11.5) from $25, the natural
 * period of its instant; its period becomes open.
 */
#define CHARGE_INSERT(on_conflict) \
	"WITH lines AS (" \
	" INSERT INTO csp.charge (" CSP_CHARGE_COLUMNS ", lot_id, refunds_charge_id, meter_id," \
	"                         billing_period_start)" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17," \
	"  $18, $19, $20, $21, $22, $23, $24," \
	CSP_BILLING_PERIOD_OF("$1", "$2", "$18", "$25::date") ")" \
	on_conflict CSP_CHARGE_RETURNING_PERIODS ")" \
	CSP_CHARGE_OPEN_PERIODS
#define CHARGE_INSERT_TYPES {INT8OID, INT8OID, INT8OID, TEXTOID, UUIDOID, UUIDOID, TEXTOID, \
	TEXTOID, DATEOID, DATEOID, DATEOID, TIMESTAMPTZOID, NUMERICOID, NUMERICOID, INT4OID, \
	INT4OID, NUMERICOID, TEXTOID, TEXTOID, NUMERICOID, UUIDOID, INT8OID, INT8OID, TEXTOID, \
	DATEOID}

/*
 * Runs a statement that inserts lines and opens their periods
 * (CSP_CHARGE_OPEN_PERIODS); returns how many lines it inserted.  Their
 * billing periods are decided by what invoices exist: with a transaction
 * snapshot (REPEATABLE READ, SERIALIZABLE) the statement reads the latest
 * one, which sees the invoices of a run_invoicing that the profile lock
 * waited for.
 */
int64
csp_ledger_insert_lines(CspPlan *plan, Datum *values, const char *nulls)
{
	bool		isnull;

	if (IsolationUsesXactSnapshot())
		csp_spi_run_latest(plan, values, nulls, 0);
	else
		csp_spi_run(plan, values, nulls, false, 0);
	return DatumGetInt64(csp_spi_getdatum(0, Anum_posted_lines, &isnull));
}

/*
 * Inserts the line, posted now.  With skip_cycle_duplicate, a full-cycle
 * line (new, renew, cycleCharge) that the cycle already has is skipped.
 * Returns whether a line was inserted.
 */
bool
csp_ledger_post(const LedgerLine *line, bool skip_cycle_duplicate)
{
	static CspPlan plain = {CHARGE_INSERT(""), Natts_charge_insert, CHARGE_INSERT_TYPES, NULL, 0};
	static CspPlan skipping = {
		CHARGE_INSERT(CSP_CHARGE_SKIP_CYCLE_DUPLICATE),
		Natts_charge_insert, CHARGE_INSERT_TYPES, NULL, 0
	};
	Datum		values[Natts_charge_insert];
	char		nulls[Natts_charge_insert];
	TimestampTz now = csp_now();
	TermsInvoicePeriod natural;
	int			anniversary_day;

	/* R11.5: no invoice of the profile is made while the line is decided */
	anniversary_day = csp_lock_profile_for_posting(line->billing_account_id,
												   line->billing_profile_id);
	if (!terms_invoice_period(terms_utc_date(now), anniversary_day, &natural))
		elog(ERROR, "billing profile " INT64_FORMAT " has anniversary day %d",
			 line->billing_profile_id, anniversary_day);

	memset(nulls, ' ', sizeof(nulls));
	values[Param_charge_billing_account_id] = Int64GetDatum(line->billing_account_id);
	values[Param_charge_billing_profile_id] = Int64GetDatum(line->billing_profile_id);
	values[Param_charge_invoice_section_id] = Int64GetDatum(line->invoice_section_id);
	values[Param_charge_partner_id] = CStringGetTextDatum(line->partner_id);
	values[Param_charge_customer_id] = line->customer_id;
	values[Param_charge_subscription_id] = line->subscription_id;
	values[Param_charge_sku_id] = CStringGetTextDatum(line->sku_id);
	values[Param_charge_charge_type] = CStringGetTextDatum(line->charge_type);
	values[Param_charge_charge_start] = DateADTGetDatum(line->charge_start);
	values[Param_charge_charge_end] = DateADTGetDatum(line->charge_end);
	values[Param_charge_cycle_start] = DateADTGetDatum(line->cycle_start);
	values[Param_charge_posted_at] = TimestampTzGetDatum(now);
	values[Param_charge_quantity] = NumericGetDatum(line->quantity);
	values[Param_charge_unit_price] = NumericGetDatum(line->unit_price);
	values[Param_charge_days_charged] = Int32GetDatum(line->days_charged);
	values[Param_charge_days_in_cycle] = Int32GetDatum(line->days_in_cycle);
	values[Param_charge_amount] = NumericGetDatum(line->amount);
	values[Param_charge_currency] = CStringGetTextDatum(line->currency);
	values[Param_charge_pricing_currency] = CStringGetTextDatum(line->pricing_currency);
	values[Param_charge_fx_rate] = NumericGetDatum(line->fx_rate);
	values[Param_charge_reference_id] = line->reference_id;
	values[Param_charge_lot_id] = Int64GetDatum(line->lot_id);
	nulls[Param_charge_lot_id] = line->lot_id ? ' ' : 'n';
	values[Param_charge_refunds_charge_id] = Int64GetDatum(line->refunds_charge_id);
	nulls[Param_charge_refunds_charge_id] = line->refunds_charge_id ? ' ' : 'n';
	values[Param_charge_meter_id] = CSP_TEXT(line->meter_id);
	nulls[Param_charge_meter_id] = line->meter_id ? ' ' : 'n';
	values[Param_charge_natural_period] = DateADTGetDatum(natural.period_start);

	return csp_ledger_insert_lines(skip_cycle_duplicate ? &skipping : &plain, values, nulls) > 0;
}

/*
 * The select list of both refund reads: the line, and over the refunds
 * already posted against it, the sum of their amounts, of their (negative)
 * seat-days, and of their seat-days on or after $3 (refund_from).
 */
#define REFUNDABLE_SELECT \
	"SELECT c.charge_id, c.charge_start, c.charge_end, c.cycle_start, c.days_in_cycle," \
	"       c.unit_price, c.fx_rate, c.quantity, c.amount, coalesce(r.amount, 0)," \
	"       coalesce(r.seat_days, 0), coalesce(r.seat_days_from, 0)" \
	"  FROM csp.charge c" \
	"  LEFT JOIN LATERAL (SELECT sum(x.amount) AS amount," \
	"                            sum(x.quantity * x.days_charged) AS seat_days," \
	"                            sum(x.quantity * GREATEST(x.charge_end - GREATEST(x.charge_start, $3) + 1, 0))" \
	"                              AS seat_days_from" \
	"                       FROM csp.charge x" \
	"                      WHERE x.billing_account_id = c.billing_account_id" \
	"                        AND x.subscription_id = c.subscription_id" \
	"                        AND x.refunds_charge_id = c.charge_id) r ON true"
#define Anum_refundable_charge_id		1
#define Anum_refundable_charge_start	2
#define Anum_refundable_charge_end		3
#define Anum_refundable_cycle_start		4
#define Anum_refundable_days_in_cycle	5
#define Anum_refundable_unit_price		6
#define Anum_refundable_fx_rate			7
#define Anum_refundable_quantity		8
#define Anum_refundable_amount			9
#define Anum_refundable_refunded_amount	10
#define Anum_refundable_refunded_seat_days 11
#define Anum_refundable_refunded_seat_days_from 12

/*
 * The lines of the subscription's current term (from term_start) that a
 * refund from refund_from may give back from, in charge order:
 * - for a seat reduction (lot_id != 0), the lines that charged that lot:
 *   its own new/renew/addQuantity line and every cycleCharge posted since
 *   the lot was added (lot_added_at);
 * - for a cancellation (lot_id == 0), every line but usage.
 * Refund lines themselves are never refunded again.  Returns the number of
 * lines, in *lines (palloc'd).
 */
int
csp_ledger_refundable(int64 billing_account_id, Datum subscription_id, DateADT term_start,
					  DateADT refund_from, int64 lot_id, TimestampTz lot_added_at,
					  LedgerRefundable **lines)
{
	static CspPlan lot_lines = {
		REFUNDABLE_SELECT
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
		REFUNDABLE_SELECT
		" WHERE c.billing_account_id = $1 AND c.subscription_id = $2 AND c.charge_end >= $3"
		"   AND c.charge_start >= $4 AND c.charge_type <> 'usage' AND c.refunds_charge_id IS NULL"
		" ORDER BY c.charge_id",
		4, {INT8OID, UUIDOID, DATEOID, DATEOID}, NULL, 0
	};
	Datum		values[6];
	SPITupleTable *rows;
	LedgerRefundable *out;
	uint64		n;
	uint64		i;

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = subscription_id;
	values[2] = DateADTGetDatum(refund_from);
	if (lot_id != 0)
	{
		values[3] = Int64GetDatum(lot_id);
		values[4] = TimestampTzGetDatum(lot_added_at);
		values[5] = DateADTGetDatum(term_start);
		csp_spi_run(&lot_lines, values, NULL, true, 0);
	}
	else
	{
		values[3] = DateADTGetDatum(term_start);
		csp_spi_run(&term_lines, values, NULL, true, 0);
	}
	rows = SPI_tuptable;
	n = SPI_processed;
	out = palloc0(sizeof(LedgerRefundable) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	t = rows->vals[i];
		TupleDesc	d = rows->tupdesc;
		LedgerRefundable *l = &out[i];
		bool		isnull;

#define COL(anum) SPI_getbinval(t, d, (anum), &isnull)
		l->charge_id = DatumGetInt64(COL(Anum_refundable_charge_id));
		l->charge_start = DatumGetDateADT(COL(Anum_refundable_charge_start));
		l->charge_end = DatumGetDateADT(COL(Anum_refundable_charge_end));
		l->cycle_start = DatumGetDateADT(COL(Anum_refundable_cycle_start));
		l->days_in_cycle = DatumGetInt32(COL(Anum_refundable_days_in_cycle));
		l->unit_price = DatumGetNumeric(COL(Anum_refundable_unit_price));
		l->fx_rate = DatumGetNumeric(COL(Anum_refundable_fx_rate));
		l->quantity = csp_numeric_to_int64(DatumGetNumeric(COL(Anum_refundable_quantity)));
		l->amount = DatumGetNumeric(COL(Anum_refundable_amount));
		l->refunded_amount = DatumGetNumeric(COL(Anum_refundable_refunded_amount));
		l->refunded_seat_days =
			csp_numeric_to_int64(DatumGetNumeric(COL(Anum_refundable_refunded_seat_days)));
		l->refunded_seat_days_from =
			csp_numeric_to_int64(DatumGetNumeric(COL(Anum_refundable_refunded_seat_days_from)));
#undef COL
	}
	*lines = out;
	return (int) n;
}

/*
 * BEFORE UPDATE OR DELETE ON csp.charge: the ledger is append-only.  A
 * line is never changed: its invoice is derived from its billing period,
 * decided when it was posted.
 */
Datum
csp_charge_ledger_trigger(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.charge_ledger_trigger: not called by trigger manager");
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the charge ledger is append-only"),
			 errdetail("A charge line is never changed or deleted; its invoice is the one of its billing period."),
			 errhint("Post a correcting line (a credit or a refund) instead.")));
	PG_RETURN_NULL();
}
