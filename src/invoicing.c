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

#include "invoice_store.h"
#include "jobs.h"
#include "ledger.h"
#include "payment_store.h"

PG_FUNCTION_INFO_V1(csp_run_invoicing);
PG_FUNCTION_INFO_V1(csp_void_and_rebill);

#define INVOICING_BATCH_SIZE 500
#define INVOICING_PROGRESS_EVERY 1000
#define ATTACH_CHUNK 10000

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

		SPI_cursor_fetch(portal, true, ATTACH_CHUNK);
		lines = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		MemoryContextSwitchTo(chunk_cxt);
		for (i = 0; i < n; i++)
		{
			bool		isnull;

			accounts[i] = SPI_getbinval(lines->vals[i], lines->tupdesc,
										Anum_billable_billing_account_id, &isnull);
			ids[i] = SPI_getbinval(lines->vals[i], lines->tupdesc, Anum_billable_charge_id, &isnull);
			numbers[i] = SPI_getbinval(lines->vals[i], lines->tupdesc,
									   Anum_billable_invoice_number, &isnull);
		}
		csp_ledger_attach_lines(csp_array_of(accounts, NULL, (int) n, INT8OID),
								csp_array_of(ids, NULL, (int) n, INT8OID),
								csp_array_of(numbers, NULL, (int) n, TEXTOID));

		MemoryContextSwitchTo(accumulated);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			char	   *number = csp_spi_getcstring((int) i, Anum_attached_invoice_number);
			int			k = FindInvoice(inv, number);
			int64		count = DatumGetInt64(csp_spi_getdatum((int) i, Anum_attached_lines, &isnull));

			if (k < 0)
				elog(ERROR, "attached lines to invoice %s, which this run did not make", number);
			inv->totals[k] = DatumGetNumeric(DirectFunctionCall2(numeric_add,
																 NumericGetDatum(inv->totals[k]),
																 csp_spi_getdatum((int) i, Anum_attached_amount,
																				  &isnull)));
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
 * Invoices every closed period of a batch of billing profiles (locked by
 * the job runner), in an SPI connection of the runner's that goes with the
 * batch; returns the number of invoices made.  Three steps, each
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

	nmap = (int) csp_invoice_make_for_batch(accounts, profiles, today, csp_now());
	if (nmap == 0)
		return 0;

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
		char	   *number = csp_spi_getcstring(i, Anum_made_invoice_number);
		bool		isnull;

		map_accounts[i] = Int64GetDatum(DatumGetInt64(csp_spi_getdatum(i, Anum_made_billing_account_id, &isnull)));
		map_profiles[i] = Int64GetDatum(DatumGetInt64(csp_spi_getdatum(i, Anum_made_billing_profile_id, &isnull)));
		currencies[i] = CStringGetTextDatum(csp_spi_getcstring(i, Anum_made_currency));
		starts[i] = DateADTGetDatum(DatumGetDateADT(csp_spi_getdatum(i, Anum_made_natural_start, &isnull)));
		numbers[i] = CStringGetTextDatum(number);
		AddInvoice(&inv, map_accounts[i], number);
	}
	SPI_freetuptable(SPI_tuptable);

	values[0] = accounts;
	values[1] = profiles;
	values[2] = DateADTGetDatum(today);
	values[3] = csp_array_of(map_accounts, NULL, nmap, INT8OID);
	values[4] = csp_array_of(map_profiles, NULL, nmap, INT8OID);
	values[5] = csp_array_of(currencies, NULL, nmap, TEXTOID);
	values[6] = csp_array_of(starts, NULL, nmap, DATEOID);
	values[7] = csp_array_of(numbers, NULL, nmap, TEXTOID);
	AttachLines(csp_invoice_billable_lines(), values, &inv);

	/* R13: every invoice's total is the sum of the lines attached to it */
	for (i = 0; i < inv.n; i++)
		if (inv.lines[i] == 0)
			elog(ERROR, "invoice %s was made without lines", TextDatumGetCString(inv.numbers[i]));
	csp_invoice_settle_totals(csp_array_of(inv.accounts, NULL, inv.n, INT8OID),
							  csp_array_of(inv.numbers, NULL, inv.n, TEXTOID),
							  csp_array_of((Datum *) inv.totals, NULL, inv.n, NUMERICOID));
	return inv.n;
}

/* What one run of csp.run_invoicing works with. */
typedef struct InvoicingRun
{
	DateADT		today;			/* the job's UTC date */
	int64		made;			/* invoices made so far */
} InvoicingRun;

/* A batch of profiles (keys: account, profile), invoiced set-based. */
static int
InvoiceBatch(CspJobBatch *batch, void *arg)
{
	InvoicingRun *run = (InvoicingRun *) arg;

	run->made += InvoiceProfiles(csp_array_of(batch->keys[0], NULL, batch->n, INT8OID),
								 csp_array_of(batch->keys[1], NULL, batch->n, INT8OID),
								 run->today);
	memset(batch->done, true, sizeof(bool) * batch->n);
	return batch->n;
}

/*
 * The batches are billing profiles with unbilled lines posted before their
 * current period, locked FOR NO KEY UPDATE SKIP LOCKED (accounts.c).  A
 * batch is invoiced in one piece: an error ends the run (the invoices of
 * a batch are drawn in one statement, and half of them would be wrong).
 */
static const CspJob invoicing_job = {
	.action = "run_invoicing",
	.item_name = "billing profile",
	.items_name = "billing profiles",
	.due = csp_profiles_due_for_invoicing,
	.nkeys = 2,
	.first_key = {"-9223372036854775808", "-9223372036854775808"},
	.item_key = 1,
	.batch_size = INVOICING_BATCH_SIZE,
	.progress_every = INVOICING_PROGRESS_EVERY,
	.batch_work = InvoiceBatch,
	.batch_isolated = false,
	.batch_enabled = NULL,
	.item_work = NULL,
	.failure = NULL,
};

/* R11.5: tells what a run left unbilled, and why. */
static void
ReportLeftUnbilled(DateADT today)
{
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
#define Anum_left_count 1
	Datum		day = DateADTGetDatum(today);
	bool		isnull;
	int64		remaining;

	csp_spi_run(&left, &day, NULL, true, 1);
	remaining = DatumGetInt64(csp_spi_getdatum(0, Anum_left_count, &isnull));
	if (remaining > 0)
		ereport(NOTICE,
				(errmsg_plural("run_invoicing: " INT64_FORMAT " billing profile still has unbilled lines posted before its current period",
							   "run_invoicing: " INT64_FORMAT " billing profiles still have unbilled lines posted before their current period",
							   (unsigned long) remaining, remaining),
				 errdetail("Another transaction holds them, or their lines wait for a period without an invoice to close (R11.5)."),
				 errhint("A later run bills them.")));
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
	TimestampTz as_of = csp_job_instant_arg(fcinfo);
	InvoicingRun run;

	run.today = terms_utc_date(as_of);
	run.made = 0;
	csp_enter(fcinfo, "run_invoicing", true);
	csp_run_job(&invoicing_job, as_of, &run);
	ReportLeftUnbilled(run.today);
	csp_finish();
	PG_RETURN_INT32((int32) run.made);
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
	char	   *number;
	char	   *po_number = NULL;
	Jsonb	   *bill_to = NULL;
	InvoiceToVoid original;
	char	   *rebill_number;
	Datum		result;
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

	if (!csp_invoice_lock_to_void(number, &original))
		csp_report_not_found("invoice", number);

	if (strcmp(original.document_type, "void_note") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot void %s: it is a void note", number),
				 errdetail("A void note only cancels the document it replaces (R13.4)."),
				 errhint("Void and rebill the current invoice of the period instead.")));
	if (original.replaced_by != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot void %s: it is already void", number),
				 errdetail("It was replaced by %s; only the latest document of a period counts (R13.4).",
						   original.replaced_by),
				 errhint("Void and rebill %s instead.", original.replaced_by)));
	if (csp_numeric_cmp(original.total, original.lines_total) != 0)
		elog(ERROR, "invoice %s: total %s differs from the sum %s of its lines",
			 number, csp_numeric_to_cstring(original.total),
			 csp_numeric_to_cstring(original.lines_total));

	csp_invoice_insert_void_note(original.billing_account_id, number, today, now);
	rebill_number = csp_invoice_insert_rebill(original.billing_account_id, number, today, now,
											  po_number, bill_to);
	/* R13.4: payments made on the original apply to the rebill */
	csp_payment_move_allocations(original.billing_account_id, number, rebill_number);
	csp_invoice_mark_replaced(original.billing_account_id, number, rebill_number, now);

	/* the result must outlive SPI's memory */
	result = SPI_datumTransfer(CStringGetTextDatum(rebill_number), false, -1);
	csp_finish();
	PG_RETURN_DATUM(result);
}
