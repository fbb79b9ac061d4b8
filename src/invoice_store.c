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
 * The period of each profile that is open on "today" starts at its
 * cutoff: lines posted before it are billed now.  NCE profiles have
 * calendar months (anniversary_day NULL), legacy ones anniversary cycles.
 */
#define BATCH_PROFILES \
	"SELECT p.billing_account_id, p.billing_profile_id, p.anniversary_day, p.po_number, p.bill_to," \
	"       (csp.invoice_period($3, p.anniversary_day)).period_start::timestamp AT TIME ZONE 'UTC' AS cutoff" \
	"  FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::bigint[]))" \
	"       AS k (billing_account_id, billing_profile_id)" \
	"  JOIN csp.billing_profile p" \
	"    ON p.billing_account_id = k.billing_account_id AND p.billing_profile_id = k.billing_profile_id"

/*
 * The month close's first statement: one row per profile, currency and
 * natural period of the unbilled lines (read once), each natural period
 * mapped to the closed period it is billed in (R11.5: its own, or the
 * first later one without an invoice), and the invoices inserted with
 * numbers drawn in (account, profile, currency, period) order -- the
 * order in which profile-by-profile invoicing would draw them.  Returns
 * the number of (natural period, invoice) rows in SPI_tuptable.
 */
uint64
csp_invoice_make_for_batch(Datum accounts, Datum profiles, DateADT today, TimestampTz now)
{
	/* $1 accounts, $2 profiles, $3 today, $4 now */
	static CspPlan make = {
		"WITH batch AS MATERIALIZED (" BATCH_PROFILES
		"), unbilled AS MATERIALIZED ("
		/* one row per profile, currency and natural period: the lines are read once */
		"  SELECT b.billing_account_id, b.billing_profile_id, c.currency,"
		"         (csp.invoice_period(csp.utc_date(c.posted_at), b.anniversary_day)).period_start"
		"           AS natural_start,"
		"         sum(c.amount) AS total"
		"    FROM batch b"
		"    JOIN csp.charge c"
		"      ON c.billing_account_id = b.billing_account_id"
		"     AND c.billing_profile_id = b.billing_profile_id"
		"     AND c.invoice_number IS NULL AND c.posted_at < b.cutoff"
		"   GROUP BY 1, 2, 3, 4"
		/* each natural period, and the closed period it is billed in (R11.5) */
		"), periods AS MATERIALIZED ("
		"  SELECT n.billing_account_id, n.billing_profile_id, n.currency, n.natural_start,"
		"         n.total, t.target_start"
		"    FROM unbilled n"
		"    JOIN batch b"
		"      ON b.billing_account_id = n.billing_account_id"
		"     AND b.billing_profile_id = n.billing_profile_id"
		"   CROSS JOIN LATERAL ("
		"     SELECT g.g::date AS target_start"
		"       FROM pg_catalog.generate_series(n.natural_start::timestamp,"
		"                                       (b.cutoff AT TIME ZONE 'UTC') - interval '1 day',"
		"                                       interval '1 month') AS g (g)"
		"      WHERE NOT EXISTS (SELECT 1 FROM csp.invoice i"
		"                         WHERE i.billing_account_id = n.billing_account_id"
		"                           AND i.billing_profile_id = n.billing_profile_id"
		"                           AND i.currency = n.currency AND i.period_start = g.g::date"
		"                           AND i.document_type = 'invoice')"
		"      ORDER BY g.g LIMIT 1) t"
		"), totals AS ("
		"  SELECT billing_account_id, billing_profile_id, currency, target_start, sum(total) AS total"
		"    FROM periods"
		"   GROUP BY billing_account_id, billing_profile_id, currency, target_start"
		"), docs AS ("
		"  INSERT INTO csp.invoice (billing_account_id, invoice_number, billing_profile_id,"
		"         document_type, lines_invoice_number, period_start, period_end, invoice_date,"
		"         published_on, due_date, currency, total, po_number, bill_to, created_at)"
		"  SELECT n.billing_account_id, n.number, n.billing_profile_id, 'invoice', n.number,"
		"         ip.period_start, ip.period_end, ip.invoice_date, ip.published_on, ip.due_date,"
		"         n.currency, n.total, b.po_number, b.bill_to, $4"
		"    FROM (SELECT s.*, " NEXT_INVOICE_NUMBER " AS number"
		"            FROM (SELECT * FROM totals"
		"                   ORDER BY billing_account_id, billing_profile_id, currency, target_start) s) n"
		"    JOIN batch b"
		"      ON b.billing_account_id = n.billing_account_id"
		"     AND b.billing_profile_id = n.billing_profile_id"
		"   CROSS JOIN LATERAL csp.invoice_period(n.target_start, b.anniversary_day) ip"
		"      ON CONFLICT (billing_account_id, billing_profile_id, currency, period_start)"
		"         WHERE document_type = 'invoice' DO NOTHING"
		"  RETURNING billing_account_id, billing_profile_id, invoice_number, currency, period_start"
		")"
		" SELECT p.billing_account_id, p.billing_profile_id, p.currency, p.natural_start,"
		"        d.invoice_number"
		"   FROM periods p"
		"   JOIN docs d"
		"     ON d.billing_account_id = p.billing_account_id"
		"    AND d.billing_profile_id = p.billing_profile_id"
		"    AND d.currency = p.currency AND d.period_start = p.target_start",
		4, {INT8ARRAYOID, INT8ARRAYOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[4];

	values[0] = accounts;
	values[1] = profiles;
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&make, values, NULL, false, 0);
	return SPI_processed;
}

/*
 * The unbilled lines of a batch with the invoice each goes to, for a
 * cursor (invoicing.c attaches them chunk by chunk).
 */
CspPlan *
csp_invoice_billable_lines(void)
{
	/* $1..$3 as the make statement; $4..$8: the natural periods of each profile and their invoices */
	static CspPlan billable = {
		"WITH batch AS MATERIALIZED (" BATCH_PROFILES ")"
		" SELECT c.billing_account_id, c.charge_id, m.invoice_number"
		"   FROM batch b"
		"   JOIN csp.charge c"
		"     ON c.billing_account_id = b.billing_account_id"
		"    AND c.billing_profile_id = b.billing_profile_id"
		"    AND c.invoice_number IS NULL AND c.posted_at < b.cutoff"
		"   JOIN ROWS FROM (pg_catalog.unnest($4::bigint[]), pg_catalog.unnest($5::bigint[]),"
		"                   pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::date[]),"
		"                   pg_catalog.unnest($8::text[]))"
		"        AS m (billing_account_id, billing_profile_id, currency, natural_start, invoice_number)"
		"     ON m.billing_account_id = c.billing_account_id"
		"    AND m.billing_profile_id = c.billing_profile_id"
		"    AND m.currency = c.currency"
		"    AND m.natural_start = (csp.invoice_period(csp.utc_date(c.posted_at), b.anniversary_day)).period_start",
		8, {INT8ARRAYOID, INT8ARRAYOID, DATEOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
		DATEARRAYOID, TEXTARRAYOID}, NULL, CURSOR_OPT_CUSTOM_PLAN	/* hash join of lines and periods */
	};

	return &billable;
}

/* R13: every new invoice's total is the sum of the lines attached to it. */
void
csp_invoice_settle_totals(Datum accounts, Datum numbers, Datum totals)
{
	static CspPlan settle = {
		"UPDATE csp.invoice d SET total = x.total"
		"  FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]),"
		"                  pg_catalog.unnest($3::numeric[]))"
		"       AS x (billing_account_id, invoice_number, total)"
		" WHERE d.billing_account_id = x.billing_account_id AND d.invoice_number = x.invoice_number"
		"   AND d.total <> x.total",
		3, {INT8ARRAYOID, TEXTARRAYOID, NUMERICARRAYOID}, NULL, CURSOR_OPT_GENERIC_PLAN
	};
	Datum		values[3];

	values[0] = accounts;
	values[1] = numbers;
	values[2] = totals;
	csp_spi_run(&settle, values, NULL, false, 0);
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
		"           AND c.invoice_number = i.lines_invoice_number)"
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
	"    AND c.invoice_number = o.lines_invoice_number)"

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
