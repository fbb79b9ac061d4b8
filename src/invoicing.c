/*-------------------------------------------------------------------------
 *
 * invoicing.c
 *	  R13 invoices: csp.run_invoicing closes billing periods into invoices,
 *	  csp.void_and_rebill replaces one with a void note and a rebill.
 *
 * An invoice is one row of csp.invoice per billing profile, currency and
 * billing period; its lines are the ledger lines whose invoice_number
 * names it.  Invoicing is set-based, per batch of INVOICING_BATCH_SIZE
 * billing profiles: one statement groups the unbilled lines of every
 * closed period of every profile in the batch and inserts the invoices;
 * the lines are then attached chunk by chunk from a cursor; and one last
 * statement sets each invoice's total to the sum of the lines actually
 * attached to it.  So a month close runs a handful of statements per
 * batch, not per profile.  Memory does not grow with the charges: the
 * executor spills the grouped sets to disk, and a chunk is at most
 * ATTACH_CHUNK line ids.
 *
 * Which period a line is billed in (R11.5): the period containing its
 * posted_at date, unless that period already has its invoice; then the
 * first later closed period that has none, so an adjustment posted late
 * lands on the next invoice.  A line whose periods are all invoiced waits
 * for the current period to close.
 *
 * Idempotency and concurrency: the unique key (account, profile, currency,
 * period_start) of invoice documents makes a second invoice for a period
 * impossible, and only unbilled lines are ever attached, so a repeated run
 * finds nothing to do.  A runner takes its billing profiles in batches,
 * locked FOR NO KEY UPDATE SKIP LOCKED, so a second runner skips the
 * profiles the first is invoicing instead of waiting or doubling them;
 * row locks, unlike advisory locks, need no lock-table entry however many
 * profiles one run holds.
 *
 * Void and rebill (R13.4): the charge ledger is append-only, so the lines
 * stay attached to the original invoice; every document records, in
 * lines_invoice_number, the invoice whose lines it bills (a void note
 * negated), and its total is computed from those lines when it is made.
 * csp.invoice_lines shows every document's lines, and Σ lines = total
 * holds for each.
 *
 * src/invoicing.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(csp_run_invoicing);
PG_FUNCTION_INFO_V1(csp_void_and_rebill);

#define INVOICING_BATCH_SIZE 500
#define INVOICING_PROGRESS_EVERY 1000
#define ATTACH_CHUNK 10000

/* The next document number: G and nine digits, from a sequence that never cycles. */
#define NEXT_INVOICE_NUMBER \
	"'G' || pg_catalog.lpad(pg_catalog.nextval('csp.invoice_number_seq')::text, 9, '0')"


/*
 * The invoices one run makes for a batch of profiles, with what was
 * attached to each: found by number through a hash table, since a batch
 * makes hundreds of them.
 */
typedef struct NewInvoice
{
	char		number[NAMEDATALEN];	/* hash key */
	int			index;
} NewInvoice;

typedef struct NewInvoices
{
	int			n;
	HTAB	   *by_number;
	Datum	   *accounts;		/* int8 */
	Datum	   *numbers;		/* text */
	Numeric    *totals;			/* sum of the attached lines */
	int64	   *lines;			/* number of attached lines */
} NewInvoices;

static int
FindInvoice(const NewInvoices *inv, const char *number)
{
	NewInvoice *found;

	if (strlen(number) >= NAMEDATALEN)
		return -1;
	found = hash_search(inv->by_number, number, HASH_FIND, NULL);
	return found ? found->index : -1;
}

static void
AddInvoice(NewInvoices *inv, Datum account, const char *number)
{
	NewInvoice *entry;
	bool		found;

	if (strlen(number) >= NAMEDATALEN)
		elog(ERROR, "invoice number \"%s\" is too long", number);
	entry = hash_search(inv->by_number, number, HASH_ENTER, &found);
	if (found)
		return;
	entry->index = inv->n;
	inv->accounts[inv->n] = account;
	inv->numbers[inv->n] = CStringGetTextDatum(number);
	inv->totals[inv->n] = int64_to_numeric(0);
	inv->lines[inv->n] = 0;
	inv->n++;
}

/*
 * Attaches the lines "billable" finds to their invoices, ATTACH_CHUNK at a
 * time: a cursor (one snapshot) hands out (account, charge_id,
 * invoice_number), and each chunk is one UPDATE that returns, per invoice,
 * the sum and count of the lines it attached.  So memory stays bounded
 * however many lines a batch has (PostgreSQL keeps a little executor
 * memory per row updated in a table with row triggers, and one foreign-key
 * event per row, until the statement ends), and each invoice's total is
 * computed from exactly the lines attached to it.
 */
static void
AttachLines(CspPlan *billable, Datum *values, NewInvoices *inv)
{
	static CspPlan attach = {
		"WITH attached AS ("
		"  UPDATE csp.charge c SET invoice_number = x.invoice_number"
		"    FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::bigint[]),"
		"                    pg_catalog.unnest($3::text[]))"
		"         AS x (billing_account_id, charge_id, invoice_number)"
		"   WHERE c.billing_account_id = x.billing_account_id AND c.charge_id = x.charge_id"
		"     AND c.invoice_number IS NULL"
		"  RETURNING c.invoice_number, c.amount"
		")"
		" SELECT invoice_number, sum(amount), count(*) FROM attached GROUP BY invoice_number",
		3, {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID}, NULL, CURSOR_OPT_GENERIC_PLAN
	};
	Portal		portal;
	Datum	   *accounts = palloc(sizeof(Datum) * ATTACH_CHUNK);
	Datum	   *ids = palloc(sizeof(Datum) * ATTACH_CHUNK);
	Datum	   *numbers = palloc(sizeof(Datum) * ATTACH_CHUNK);
	MemoryContext accumulated = CurrentMemoryContext;
	MemoryContext chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "csp attach chunk",
													ALLOCSET_DEFAULT_SIZES);

	portal = SPI_cursor_open(NULL, csp_spi_plan(billable), values, NULL, false);
	for (;;)
	{
		SPITupleTable *lines;
		uint64		n,
					i;
		int64		attached = 0;
		Datum		args[3];

		SPI_cursor_fetch(portal, true, ATTACH_CHUNK);
		lines = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		MemoryContextSwitchTo(chunk_cxt);
		for (i = 0; i < n; i++)
		{
			bool		isnull;

			accounts[i] = SPI_getbinval(lines->vals[i], lines->tupdesc, 1, &isnull);
			ids[i] = SPI_getbinval(lines->vals[i], lines->tupdesc, 2, &isnull);
			numbers[i] = SPI_getbinval(lines->vals[i], lines->tupdesc, 3, &isnull);
		}
		args[0] = PointerGetDatum(construct_array(accounts, (int) n, INT8OID, sizeof(int64),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = PointerGetDatum(construct_array(ids, (int) n, INT8OID, sizeof(int64),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[2] = PointerGetDatum(construct_array(numbers, (int) n, TEXTOID, -1, false, TYPALIGN_INT));
		csp_spi_run(&attach, args, NULL, false, 0);

		MemoryContextSwitchTo(accumulated);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			char	   *number = csp_spi_getcstring((int) i, 1);
			int			k = FindInvoice(inv, number);
			int64		count = DatumGetInt64(csp_spi_getdatum((int) i, 3, &isnull));

			if (k < 0)
				elog(ERROR, "attached lines to invoice %s, which this run did not make", number);
			inv->totals[k] = DatumGetNumeric(DirectFunctionCall2(numeric_add,
																 NumericGetDatum(inv->totals[k]),
																 csp_spi_getdatum((int) i, 2, &isnull)));
			inv->lines[k] += count;
			attached += count;
		}
		if ((uint64) attached != n)
			elog(ERROR, "attached " INT64_FORMAT " of " UINT64_FORMAT " lines", attached, n);
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(chunk_cxt);
		SPI_freetuptable(lines);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_cursor_close(portal);
	MemoryContextDelete(chunk_cxt);
}

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
 * Invoices every closed period of a batch of billing profiles (locked by
 * the caller); returns the number of invoices made.  Three steps, each
 * set-based over the whole batch:
 *
 * 1. one statement decides the period each unbilled line is billed in and
 *    inserts the invoices, returning which natural period of which profile
 *    goes to which invoice;
 * 2. the lines are attached in chunks of ATTACH_CHUNK, so that no single
 *    statement's memory grows with the number of lines (the executor keeps
 *    a little per updated row of a table with row triggers, and the
 *    foreign-key checks queue one event per row until the statement ends);
 * 3. one statement sets every new invoice's total to the sum of the lines
 *    the attaching statements returned for it (R13: an invoice total is
 *    exactly the sum of its lines).
 *
 * Invoice numbers are drawn in (account, profile, currency, period) order,
 * the order in which profile-by-profile invoicing would draw them.
 */
static int
InvoiceProfiles(Datum accounts, Datum profiles, DateADT today)
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
	/* $1..$3 as above; $4..$8: the natural periods of each profile and their invoices */
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
	/* R13: every invoice's total is the sum of the lines attached to it */
	static CspPlan settle = {
		"UPDATE csp.invoice d SET total = x.total"
		"  FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]),"
		"                  pg_catalog.unnest($3::numeric[]))"
		"       AS x (billing_account_id, invoice_number, total)"
		" WHERE d.billing_account_id = x.billing_account_id AND d.invoice_number = x.invoice_number"
		"   AND d.total <> x.total",
		3, {INT8ARRAYOID, TEXTARRAYOID, NUMERICARRAYOID}, NULL, CURSOR_OPT_GENERIC_PLAN
	};
	Datum		values[8];
	Datum	   *map_accounts;
	Datum	   *map_profiles;
	Datum	   *currencies;
	Datum	   *starts;
	Datum	   *numbers;
	NewInvoices inv;
	HASHCTL		ctl;
	int			nmap;
	int			i;

	/* a connection of its own: what one batch allocates goes with it */
	SPI_connect();
	values[0] = accounts;
	values[1] = profiles;
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&make, values, NULL, false, 0);
	nmap = (int) SPI_processed;
	if (nmap == 0)
	{
		SPI_finish();
		return 0;
	}

	/* the mapping natural period -> invoice, and the distinct invoices */
	map_accounts = palloc(sizeof(Datum) * nmap);
	map_profiles = palloc(sizeof(Datum) * nmap);
	currencies = palloc(sizeof(Datum) * nmap);
	starts = palloc(sizeof(Datum) * nmap);
	numbers = palloc(sizeof(Datum) * nmap);
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NewInvoice);
	ctl.hcxt = CurrentMemoryContext;
	inv.by_number = hash_create("csp new invoices", nmap, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	inv.n = 0;
	inv.accounts = palloc(sizeof(Datum) * nmap);
	inv.numbers = palloc(sizeof(Datum) * nmap);
	inv.totals = palloc(sizeof(Numeric) * nmap);
	inv.lines = palloc0(sizeof(int64) * nmap);
	for (i = 0; i < nmap; i++)
	{
		char	   *number = csp_spi_getcstring(i, 5);
		bool		isnull;

		map_accounts[i] = Int64GetDatum(DatumGetInt64(csp_spi_getdatum(i, 1, &isnull)));
		map_profiles[i] = Int64GetDatum(DatumGetInt64(csp_spi_getdatum(i, 2, &isnull)));
		currencies[i] = CStringGetTextDatum(csp_spi_getcstring(i, 3));
		starts[i] = DateADTGetDatum(DatumGetDateADT(csp_spi_getdatum(i, 4, &isnull)));
		numbers[i] = CStringGetTextDatum(number);
		AddInvoice(&inv, map_accounts[i], number);
	}
	SPI_freetuptable(SPI_tuptable);

	values[3] = PointerGetDatum(construct_array(map_accounts, nmap, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_array(map_profiles, nmap, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[5] = PointerGetDatum(construct_array(currencies, nmap, TEXTOID, -1, false, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_array(starts, nmap, DATEOID, sizeof(DateADT), true, TYPALIGN_INT));
	values[7] = PointerGetDatum(construct_array(numbers, nmap, TEXTOID, -1, false, TYPALIGN_INT));
	AttachLines(&billable, values, &inv);

	/* R13: every invoice's total is the sum of the lines attached to it */
	for (i = 0; i < inv.n; i++)
		if (inv.lines[i] == 0)
			elog(ERROR, "invoice %s was made without lines", TextDatumGetCString(inv.numbers[i]));
	values[0] = PointerGetDatum(construct_array(inv.accounts, inv.n, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(inv.numbers, inv.n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array((Datum *) inv.totals, inv.n, NUMERICOID, -1, false, TYPALIGN_INT));
	csp_spi_run(&settle, values, NULL, false, 0);
	SPI_finish();
	return inv.n;
}

/*
 * csp.run_invoicing(as_of timestamptz) → int
 * R13.1: closes every billing period that ended before as_of's UTC date
 * (NCE: calendar months; legacy: anniversary cycles) into one invoice per
 * billing profile, currency and period; returns the invoices made.
 */
Datum
csp_run_invoicing(PG_FUNCTION_ARGS)
{
	/*
	 * Profiles with unbilled lines posted before their current period,
	 * locked so that a second runner skips them.  FOR NO KEY UPDATE leaves
	 * foreign-key checks (new subscriptions, invoices) free to proceed.
	 */
	static CspPlan due = {
		"SELECT p.billing_account_id, p.billing_profile_id"
		"  FROM csp.billing_profile p"
		" WHERE (p.billing_account_id, p.billing_profile_id) > ($2, $3)"
		"   AND EXISTS (SELECT 1 FROM csp.charge c"
		"                WHERE c.billing_account_id = p.billing_account_id"
		"                  AND c.billing_profile_id = p.billing_profile_id"
		"                  AND c.invoice_number IS NULL"
		"                  AND c.posted_at < ((csp.invoice_period($1, p.anniversary_day)).period_start::timestamp"
		"                                     AT TIME ZONE 'UTC'))"
		" ORDER BY p.billing_account_id, p.billing_profile_id"
		" LIMIT $4"
		" FOR NO KEY UPDATE OF p SKIP LOCKED",
		4, {DATEOID, INT8OID, INT8OID, INT4OID}, NULL, 0
	};
	/* what is left: profiles another transaction holds, or late lines waiting (R11.5) */
	static CspPlan left = {
		"SELECT count(*) FROM csp.billing_profile p"
		" WHERE EXISTS (SELECT 1 FROM csp.charge c"
		"                WHERE c.billing_account_id = p.billing_account_id"
		"                  AND c.billing_profile_id = p.billing_profile_id"
		"                  AND c.invoice_number IS NULL"
		"                  AND c.posted_at < ((csp.invoice_period($1, p.anniversary_day)).period_start::timestamp"
		"                                     AT TIME ZONE 'UTC'))",
		1, {DATEOID}, NULL, 0
	};
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	DateADT		today = terms_utc_date(as_of);
	int64		remaining;
	int64		last_account = PG_INT64_MIN;
	int64		last_profile = PG_INT64_MIN;
	int64		profiles = 0;
	int64		made = 0;
	int64		next_notice = INVOICING_PROGRESS_EVERY;

	csp_enter(fcinfo, "run_invoicing", true);
	csp_set_job_instant(as_of);
	PG_TRY();
	{
		for (;;)
		{
			Datum		values[4];
			SPITupleTable *batch;
			uint64		n,
						i;
			Datum	   *accounts;
			Datum	   *profile_ids;

			values[0] = DateADTGetDatum(today);
			values[1] = Int64GetDatum(last_account);
			values[2] = Int64GetDatum(last_profile);
			values[3] = Int32GetDatum(INVOICING_BATCH_SIZE);
			csp_spi_run(&due, values, NULL, false, 0);
			batch = SPI_tuptable;
			n = SPI_processed;
			if (n == 0)
				break;
			accounts = palloc(sizeof(Datum) * n);
			profile_ids = palloc(sizeof(Datum) * n);
			for (i = 0; i < n; i++)
			{
				bool		isnull;

				last_account = DatumGetInt64(SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull));
				last_profile = DatumGetInt64(SPI_getbinval(batch->vals[i], batch->tupdesc, 2, &isnull));
				accounts[i] = Int64GetDatum(last_account);
				profile_ids[i] = Int64GetDatum(last_profile);
			}
			made += InvoiceProfiles(PointerGetDatum(construct_array(accounts, (int) n, INT8OID, sizeof(int64),
																	FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
									PointerGetDatum(construct_array(profile_ids, (int) n, INT8OID, sizeof(int64),
																	FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
									today);
			profiles += n;
			pfree(accounts);
			pfree(profile_ids);
			if (made >= next_notice)
			{
				ereport(NOTICE,
						(errmsg("run_invoicing: " INT64_FORMAT " profiles, " INT64_FORMAT " invoices so far",
								profiles, made)));
				next_notice = made + INVOICING_PROGRESS_EVERY;
			}
			SPI_freetuptable(batch);
		}

		{
			Datum		day = DateADTGetDatum(today);
			bool		isnull;

			csp_spi_run(&left, &day, NULL, true, 1);
			remaining = DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
		}
		if (remaining > 0)
			ereport(NOTICE,
					(errmsg_plural("run_invoicing: " INT64_FORMAT " billing profile still has unbilled lines posted before its current period",
								   "run_invoicing: " INT64_FORMAT " billing profiles still have unbilled lines posted before their current period",
								   (unsigned long) remaining, remaining),
					 errdetail("Another transaction holds them, or their lines wait for a period without an invoice to close (R11.5)."),
					 errhint("A later run bills them.")));
	}
	PG_FINALLY();
	{
		csp_clear_job_instant();
	}
	PG_END_TRY();
	csp_finish();
	PG_RETURN_INT32((int32) made);
}

/*
 * csp.void_and_rebill(invoice_number, po_number, bill_to) → text
 * R13.4: a void note carrying the negative of the document, and a rebill
 * replacing it (same period and lines, corrected PO number and bill-to
 * address); the payments allocated to the original move to the rebill.
 * Both are dated today (never before the original's invoice date), and
 * the rebill is due 60 days later (R13.3).  Returns the rebill's number.
 */
Datum
csp_void_and_rebill(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"invoice_number", NULL, NULL};
	static CspPlan lock = {
		"SELECT billing_account_id, document_type, replaced_by, total,"
		"       (SELECT coalesce(sum(c.amount), 0) FROM csp.charge c"
		"         WHERE c.billing_account_id = i.billing_account_id"
		"           AND c.invoice_number = i.lines_invoice_number)"
		"         * CASE WHEN i.document_type = 'void_note' THEN -1 ELSE 1 END"
		"  FROM csp.invoice i WHERE invoice_number = $1 FOR UPDATE OF i",
		1, {TEXTOID}, NULL, 0
	};
	/*
	 * Both new documents take their totals from the original's ledger lines
	 * in the statement that makes them: Σ lines = total by construction.
	 */
#define DOCUMENT_LINES_TOTAL \
	"(SELECT coalesce(sum(c.amount), 0) FROM csp.charge c" \
	"  WHERE c.billing_account_id = o.billing_account_id" \
	"    AND c.invoice_number = o.lines_invoice_number)"
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
	/* R13.4: payments made on the original apply to the rebill */
	static CspPlan carry = {
		"UPDATE csp.payment_allocation SET invoice_number = $3"
		" WHERE billing_account_id = $1 AND invoice_number = $2",
		3, {INT8OID, TEXTOID, TEXTOID}, NULL, 0
	};
	static CspPlan replace = {
		"UPDATE csp.invoice SET replaced_by = $3, voided_at = $4, paid = 0"
		" WHERE billing_account_id = $1 AND invoice_number = $2",
		4, {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *number;
	char	   *po_number = NULL;
	Jsonb	   *bill_to = NULL;
	int64		billing_account_id;
	char	   *document_type;
	char	   *replaced_by;
	Datum		values[6];
	char		nulls[6];
	bool		isnull;
	char	   *rebill_number;
	TimestampTz now = csp_now();
	DateADT		today = terms_utc_date(now);

	csp_require_args(fcinfo, args, lengthof(args));
	number = csp_arg_cstring(fcinfo, 0);
	if (!PG_ARGISNULL(1))
	{
		po_number = csp_arg_cstring(fcinfo, 1);
		csp_check_nonblank(po_number, "po_number");
	}
	if (!PG_ARGISNULL(2))
	{
		bill_to = PG_GETARG_JSONB_P(2);
		csp_check_jsonb_object(bill_to, "bill_to");
	}

	csp_enter(fcinfo, "void_and_rebill", true);
	{
		/* a document never changes profile: checked before the lock */
		int64		profile = csp_invoice_profile(number);

		if (profile >= 0)
		{
			csp_check_profile_rights(profile, "void and rebill an invoice", false);
			/* R13.4 happens at now: not before the profile's latest event (NC016) */
			csp_record_profile_event(csp_profile_account(profile), profile, now);
		}
	}

	values[0] = CStringGetTextDatum(number);
	csp_spi_run(&lock, values, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("invoice", number);
	billing_account_id = DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
	document_type = csp_spi_getcstring(0, 2);
	replaced_by = csp_spi_getcstring(0, 3);

	if (strcmp(document_type, "void_note") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot void %s: it is a void note", number),
				 errdetail("A void note only cancels the document it replaces (R13.4)."),
				 errhint("Void and rebill the current invoice of the period instead.")));
	if (replaced_by != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot void %s: it is already void", number),
				 errdetail("It was replaced by %s; only the latest document of a period counts (R13.4).",
						   replaced_by),
				 errhint("Void and rebill %s instead.", replaced_by)));
	if (csp_numeric_cmp(DatumGetNumeric(csp_spi_getdatum(0, 4, &isnull)),
						DatumGetNumeric(csp_spi_getdatum(0, 5, &isnull))) != 0)
		elog(ERROR, "invoice %s: total %s differs from the sum %s of its lines",
			 number, csp_spi_getcstring(0, 4), csp_spi_getcstring(0, 5));

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(number);
	values[2] = DateADTGetDatum(today);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&void_note, values, nulls, false, 0);

	values[4] = CSP_TEXT(po_number);
	nulls[4] = po_number ? ' ' : 'n';
	values[5] = bill_to ? JsonbPGetDatum(bill_to) : (Datum) 0;
	nulls[5] = bill_to ? ' ' : 'n';
	csp_spi_run(&rebill, values, nulls, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "could not rebill %s", number);
	rebill_number = csp_spi_getcstring(0, 1);

	values[2] = CStringGetTextDatum(rebill_number);
	csp_spi_run(&carry, values, NULL, false, 0);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(&replace, values, NULL, false, 0);

	/* the result must outlive SPI's memory */
	values[0] = SPI_datumTransfer(CStringGetTextDatum(rebill_number), false, -1);
	csp_finish();
	PG_RETURN_DATUM(values[0]);
}
