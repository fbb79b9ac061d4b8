/*-------------------------------------------------------------------------
 *
 * invoice_store.c
 *	  The store of invoice documents: the one place with SQL text that
 *	  writes or locks csp.invoice.
 *
 * The rules that decide when a document is made, voided or paid live in
 * invoicing.c and payments.c; this file only knows how the rows are
 * written.  Document numbers come from one sequence that never cycles
 * (NEXT_INVOICE_NUMBER), drawn in the statement that inserts the
 * document, so a number is never repeated or skipped by a rollback of
 * the caller's choosing.
 *
 * src/invoice_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "invoice_store.h"

/* The next document number: G and nine digits, from a sequence that never cycles. */
#define NEXT_INVOICE_NUMBER \
	"'G' || pg_catalog.lpad(pg_catalog.nextval('csp.invoice_number_seq')::text, 9, '0')"


/*
 * Month close for a batch of billing profiles (locked by the job runner):
 * every open period of theirs that has closed -- it starts before the
 * period containing "today" -- becomes one invoice per profile, currency
 * and period, with the total of its lines, read once through
 * charge_by_period; the periods are no longer open.  A line's period was
 * decided when it was posted (R11.5, ledger.h), so no line is rewritten.
 * Numbers are drawn in (account, profile, currency, period) order, the
 * order in which profile-by-profile invoicing would draw them.  Returns
 * the number of invoices made.
 */
uint64
csp_invoice_make_for_batch(Datum accounts, Datum profiles, DateADT today, TimestampTz now)
{
	/* $1 accounts, $2 profiles, $3 today, $4 now */
	static CspPlan make = {
		"WITH batch AS MATERIALIZED ("
		"  SELECT p.billing_account_id, p.billing_profile_id, p.anniversary_day, p.po_number, p.bill_to,"
		"         (csp.invoice_period($3, p.anniversary_day)).period_start AS open_start"
		"    FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::bigint[]))"
		"         AS k (billing_account_id, billing_profile_id)"
		"    JOIN csp.billing_profile p"
		"      ON p.billing_account_id = k.billing_account_id AND p.billing_profile_id = k.billing_profile_id"
		"), closing AS ("
		"  DELETE FROM csp.open_period o USING batch b"
		"   WHERE o.billing_account_id = b.billing_account_id"
		"     AND o.billing_profile_id = b.billing_profile_id"
		"     AND o.period_start < b.open_start"
		"  RETURNING o.billing_account_id, o.billing_profile_id, o.currency, o.period_start"
		"), totals AS MATERIALIZED ("
		"  SELECT o.billing_account_id, o.billing_profile_id, o.currency, o.period_start,"
		"         t.total, t.lines"
		"    FROM closing o"
		"   CROSS JOIN LATERAL (SELECT sum(c.amount) AS total, count(*) AS lines FROM csp.charge c"
		"                        WHERE c.billing_account_id = o.billing_account_id"
		"                          AND c.billing_profile_id = o.billing_profile_id"
		"                          AND c.currency = o.currency"
		"                          AND c.billing_period_start = o.period_start) t"
		"), docs AS ("
		"  INSERT INTO csp.invoice (billing_account_id, invoice_number, billing_profile_id,"
		"         document_type, lines_invoice_number, period_start, period_end, invoice_date,"
		"         published_on, due_date, currency, total, po_number, bill_to, created_at)"
		"  SELECT n.billing_account_id, n.number, n.billing_profile_id, 'invoice', n.number,"
		"         ip.period_start, ip.period_end, ip.invoice_date, ip.published_on, ip.due_date,"
		"         n.currency, n.total, b.po_number, b.bill_to, $4"
		"    FROM (SELECT s.*, " NEXT_INVOICE_NUMBER " AS number"
		"            FROM (SELECT * FROM totals WHERE lines > 0"
		"                   ORDER BY billing_account_id, billing_profile_id, currency, period_start) s) n"
		"    JOIN batch b"
		"      ON b.billing_account_id = n.billing_account_id"
		"     AND b.billing_profile_id = n.billing_profile_id"
		"   CROSS JOIN LATERAL csp.invoice_period(n.period_start, b.anniversary_day) ip"
		"  RETURNING 1"
		")"
		" SELECT (SELECT count(*) FROM docs), (SELECT count(*) FROM totals WHERE lines = 0)",
		4, {INT8ARRAYOID, INT8ARRAYOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_made_invoices		1
#define Anum_made_empty_periods	2
	Datum		values[4];
	bool		isnull;

	values[0] = accounts;
	values[1] = profiles;
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&make, values, NULL, false, 1);
	/* a period is opened by the line that is billed in it: never empty */
	if (DatumGetInt64(csp_spi_getdatum(0, Anum_made_empty_periods, &isnull)) != 0)
		elog(ERROR, "an open billing period has no lines");
	return (uint64) DatumGetInt64(csp_spi_getdatum(0, Anum_made_invoices, &isnull));
}

/*
 * Locks a document for void and rebill and loads it, with the sum of the
 * ledger lines it bills; false when there is none of that number.
 */
bool
csp_invoice_lock_to_void(const char *number, InvoiceToVoid *inv)
{
	static CspPlan lock = {
		"SELECT billing_account_id, document_type, replaced_by, total,"
		"       (SELECT coalesce(sum(c.amount), 0) FROM csp.charge c"
		"         WHERE c.billing_account_id = i.billing_account_id"
		"           AND c.billing_profile_id = i.billing_profile_id AND c.currency = i.currency"
		"           AND c.billing_period_start = i.period_start)"
		"         * CASE WHEN i.document_type = 'void_note' THEN -1 ELSE 1 END"
		"  FROM csp.invoice i WHERE invoice_number = $1 FOR UPDATE OF i",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_to_void_billing_account_id	1
#define Anum_to_void_document_type		2
#define Anum_to_void_replaced_by		3
#define Anum_to_void_total				4
#define Anum_to_void_lines_total		5
	Datum		value = CStringGetTextDatum(number);
	bool		isnull;

	csp_spi_run(&lock, &value, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	inv->billing_account_id = DatumGetInt64(csp_spi_getdatum(0, Anum_to_void_billing_account_id, &isnull));
	inv->document_type = csp_spi_getcstring(0, Anum_to_void_document_type);
	inv->replaced_by = csp_spi_getcstring(0, Anum_to_void_replaced_by);
	inv->total = DatumGetNumeric(csp_spi_getdatum(0, Anum_to_void_total, &isnull));
	inv->lines_total = DatumGetNumeric(csp_spi_getdatum(0, Anum_to_void_lines_total, &isnull));
	return true;
}

/*
 * Both new documents of a void and rebill take their totals from the
 * original's ledger lines in the statement that makes them: Σ lines =
 * total by construction.
 */
#define DOCUMENT_LINES_TOTAL \
	"(SELECT coalesce(sum(c.amount), 0) FROM csp.charge c" \
	"  WHERE c.billing_account_id = o.billing_account_id" \
	"    AND c.billing_profile_id = o.billing_profile_id AND c.currency = o.currency" \
	"    AND c.billing_period_start = o.period_start)"

/* R13.4: the void note of a document, dated today (never before the original); returns its number. */
char *
csp_invoice_insert_void_note(int64 billing_account_id, const char *number,
							 DateADT today, TimestampTz now)
{
	static CspPlan void_note = {
		"INSERT INTO csp.invoice (billing_account_id, invoice_number, billing_profile_id,"
		"       document_type, replaces_invoice_number, lines_invoice_number, period_start,"
		"       period_end, invoice_date, published_on, due_date, currency, total, po_number,"
		"       bill_to, created_at)"
		" SELECT o.billing_account_id, " NEXT_INVOICE_NUMBER ", o.billing_profile_id, 'void_note',"
		"       o.invoice_number, o.lines_invoice_number, o.period_start, o.period_end,"
		"       GREATEST($3, o.invoice_date), GREATEST($3, o.invoice_date), NULL,"
		"       o.currency, -" DOCUMENT_LINES_TOTAL ", o.po_number, o.bill_to, $4"
		"  FROM csp.invoice o WHERE o.billing_account_id = $1 AND o.invoice_number = $2"
		" RETURNING invoice_number",
		4, {INT8OID, TEXTOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_new_document_invoice_number 1
	Datum		values[4];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(number);
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&void_note, values, NULL, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "could not make the void note of %s", number);
	return csp_spi_getcstring(0, Anum_new_document_invoice_number);
}

/*
 * R13.4, R13.3: the rebill of a document, with a corrected PO number and
 * bill-to (NULL: the original's), due 60 days after today; returns its
 * number.
 */
char *
csp_invoice_insert_rebill(int64 billing_account_id, const char *number, DateADT today,
						  TimestampTz now, const char *po_number, Jsonb *bill_to)
{
	static CspPlan rebill = {
		"INSERT INTO csp.invoice (billing_account_id, invoice_number, billing_profile_id,"
		"       document_type, replaces_invoice_number, lines_invoice_number, period_start,"
		"       period_end, invoice_date, published_on, due_date, currency, total, paid, po_number,"
		"       bill_to, created_at)"
		" SELECT o.billing_account_id, " NEXT_INVOICE_NUMBER ", o.billing_profile_id, 'rebill',"
		"       o.invoice_number, o.lines_invoice_number, o.period_start, o.period_end,"
		"       GREATEST($3, o.invoice_date), GREATEST($3, o.invoice_date),"
		"       GREATEST($3, o.invoice_date) + " CppAsString2(TERMS_PAYMENT_TERM_DAYS) ","
		"       o.currency, " DOCUMENT_LINES_TOTAL ","
		"       o.paid, coalesce($5, o.po_number), coalesce($6, o.bill_to), $4"
		"  FROM csp.invoice o WHERE o.billing_account_id = $1 AND o.invoice_number = $2"
		" RETURNING invoice_number",
		6, {INT8OID, TEXTOID, DATEOID, TIMESTAMPTZOID, TEXTOID, JSONBOID}, NULL, 0
	};
	Datum		values[6];
	char		nulls[6];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(number);
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(now);
	values[4] = CSP_TEXT(po_number);
	nulls[4] = po_number ? ' ' : 'n';
	values[5] = bill_to ? JsonbPGetDatum(bill_to) : (Datum) 0;
	nulls[5] = bill_to ? ' ' : 'n';
	csp_spi_run(&rebill, values, nulls, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "could not rebill %s", number);
	return csp_spi_getcstring(0, Anum_new_document_invoice_number);
}

/* R13.4: the original is void, replaced by "replaced_by"; nothing is paid on it any more. */
void
csp_invoice_mark_replaced(int64 billing_account_id, const char *number,
						  const char *replaced_by, TimestampTz now)
{
	static CspPlan replace = {
		"UPDATE csp.invoice SET replaced_by = $3, voided_at = $4, paid = 0"
		" WHERE billing_account_id = $1 AND invoice_number = $2",
		4, {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[4];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(number);
	values[2] = CStringGetTextDatum(replaced_by);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&replace, values, NULL, false, 0);
}

/*
 * Locks the named invoices in number order, so that concurrent callers
 * cannot deadlock (R14: one payment's remittance names several).
 */
void
csp_invoice_lock_numbers(char **numbers, int n)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.invoice WHERE invoice_number = ANY ($1)"
		" ORDER BY invoice_number FOR UPDATE",
		1, {TEXTARRAYOID}, NULL, 0
	};
	Datum	   *texts;
	Datum		array;
	int			i;

	if (n == 0)
		return;
	texts = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		texts[i] = CStringGetTextDatum(numbers[i]);
	array = csp_array_of(texts, NULL, n, TEXTOID);
	csp_spi_run(&plan, &array, NULL, false, 0);
	SPI_freetuptable(SPI_tuptable);
}

/* Locks an invoice FOR UPDATE and loads what allocation needs; false when unknown. */
bool
csp_invoice_lock_to_pay(const char *number, InvoiceToPay *inv)
{
	static CspPlan lock = {
		"SELECT billing_account_id, billing_profile_id, document_type, replaced_by, currency,"
		"       GREATEST(total - paid, 0)"
		"  FROM csp.invoice WHERE invoice_number = $1 FOR UPDATE",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_invoice_to_pay_billing_account_id	1
#define Anum_invoice_to_pay_billing_profile_id	2
#define Anum_invoice_to_pay_document_type		3
#define Anum_invoice_to_pay_replaced_by			4
#define Anum_invoice_to_pay_currency			5
#define Anum_invoice_to_pay_due					6
	Datum		value = CStringGetTextDatum(number);
	bool		isnull;

	csp_spi_run(&lock, &value, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	inv->billing_account_id =
		DatumGetInt64(csp_spi_getdatum(0, Anum_invoice_to_pay_billing_account_id, &isnull));
	inv->billing_profile_id =
		DatumGetInt64(csp_spi_getdatum(0, Anum_invoice_to_pay_billing_profile_id, &isnull));
	inv->document_type = csp_spi_getcstring(0, Anum_invoice_to_pay_document_type);
	inv->replaced_by = csp_spi_getcstring(0, Anum_invoice_to_pay_replaced_by);
	inv->currency = csp_spi_getcstring(0, Anum_invoice_to_pay_currency);
	inv->due = DatumGetNumeric(csp_spi_getdatum(0, Anum_invoice_to_pay_due, &isnull));
	return true;
}

/* Adds what was allocated to the invoice's paid (CHECK: paid <= total). */
void
csp_invoice_add_paid(int64 billing_account_id, const char *number, Numeric amount)
{
	static CspPlan plan = {
		"UPDATE csp.invoice SET paid = paid + $3"
		" WHERE billing_account_id = $1 AND invoice_number = $2",
		3, {INT8OID, TEXTOID, NUMERICOID}, NULL, 0
	};
	Datum		values[3];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(number);
	values[2] = NumericGetDatum(amount);
	csp_spi_run(&plan, values, NULL, false, 0);
}

/*
 * R14.7: the invoices of a profile and currency that still have an amount
 * due, locked in number order (no deadlock with csp_invoice_lock_numbers),
 * then returned most recent first: what a credit note pays without
 * allocations.  *n is set to their number.
 */
char **
csp_invoice_lock_open(int64 billing_account_id, int64 billing_profile_id,
					  const char *currency, int *n)
{
#define OPEN_INVOICES \
	"  FROM csp.invoice" \
	" WHERE billing_account_id = $1 AND billing_profile_id = $2 AND currency = $3" \
	"   AND document_type IN ('invoice', 'rebill') AND replaced_by IS NULL AND paid < total"
	static CspPlan lock = {
		"SELECT 1" OPEN_INVOICES " ORDER BY invoice_number FOR UPDATE",
		3, {INT8OID, INT8OID, TEXTOID}, NULL, 0
	};
	static CspPlan recent = {
		"SELECT invoice_number" OPEN_INVOICES " ORDER BY invoice_date DESC, invoice_number DESC",
		3, {INT8OID, INT8OID, TEXTOID}, NULL, 0
	};
#define Anum_open_invoice_number 1
	Datum		values[3];
	char	  **numbers;
	uint64		i;

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = CStringGetTextDatum(currency);
	csp_spi_run(&lock, values, NULL, false, 0);
	SPI_freetuptable(SPI_tuptable);
	csp_spi_run(&recent, values, NULL, true, 0);
	numbers = palloc(sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
		numbers[i] = csp_spi_getcstring((int) i, Anum_open_invoice_number);
	*n = (int) SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return numbers;
}
