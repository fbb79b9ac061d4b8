/*-------------------------------------------------------------------------
 *
 * invoicing.c
 *	  R13 invoices: csp.run_invoicing closes billing periods into invoices,
 *	  csp.void_and_rebill replaces one with a void note and a rebill.
 *
 * An invoice is one row of csp.invoice per billing profile, currency and
 * billing period; its lines are the ledger lines of that profile, currency
 * and period.  Which period a line is billed in (R11.5) is decided when it
 * is posted (ledger.h, CSP_BILLING_PERIOD_OF): the period containing its
 * posted_at date, unless that period already has its invoice; then the
 * first later one that has none, so an adjustment posted late lands on the
 * next invoice.  A posted line opens its period (csp.open_period).
 *
 * So month close writes only invoices: per batch of INVOICING_BATCH_SIZE
 * billing profiles, one statement takes their open periods that have
 * closed, sums each one's lines once and inserts its invoice
 * (invoice_store.c).  No ledger line is rewritten; Σ lines = total holds
 * by construction, since no line can enter a period once it has its
 * invoice: posting holds the profile FOR KEY SHARE, and run_invoicing
 * takes profiles FOR UPDATE SKIP LOCKED (accounts.c), skipping a profile
 * with posts in flight (a later run bills it) and making a poster that
 * comes during the run wait for its invoices.
 *
 * Idempotency and concurrency: the unique key (account, profile, currency,
 * period_start) of invoice documents makes a second invoice for a period
 * impossible, and a period stops being open with its invoice, so a
 * repeated run finds nothing to do.  A second runner skips the profiles
 * the first is invoicing instead of waiting or doubling them; row locks,
 * unlike advisory locks, need no lock-table entry however many profiles
 * one run holds.
 *
 * Void and rebill (R13.4): the charge ledger is append-only, so the lines
 * stay in their period; a void note and a rebill are documents of the same
 * period, and record in lines_invoice_number the invoice whose lines they
 * bill (a void note negated); each total is computed from the lines when
 * the document is made.
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

#include "invoice_store.h"
#include "jobs.h"
#include "payment_store.h"

PG_FUNCTION_INFO_V1(csp_run_invoicing);
PG_FUNCTION_INFO_V1(csp_void_and_rebill);

#define INVOICING_BATCH_SIZE 500
#define INVOICING_PROGRESS_EVERY 1000

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

	run->made += csp_invoice_make_for_batch(csp_array_of(batch->keys[0], NULL, batch->n, INT8OID),
											csp_array_of(batch->keys[1], NULL, batch->n, INT8OID),
											run->today, csp_now());
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
		"SELECT count(DISTINCT (o.billing_account_id, o.billing_profile_id))"
		"  FROM csp.open_period o"
		"  JOIN csp.billing_profile p"
		"    ON p.billing_account_id = o.billing_account_id AND p.billing_profile_id = o.billing_profile_id"
		" CROSS JOIN LATERAL (SELECT (csp.invoice_period($1, p.anniversary_day)).period_start AS open_start) n"
		" WHERE o.period_start < n.open_start"
		/* R11.5: a line posted before the open period, waiting in it */
		"    OR EXISTS (SELECT 1 FROM csp.charge c"
		"                WHERE c.billing_account_id = o.billing_account_id"
		"                  AND c.billing_profile_id = o.billing_profile_id"
		"                  AND c.currency = o.currency AND c.billing_period_start = o.period_start"
		"                  AND c.posted_at < n.open_start::timestamp AT TIME ZONE 'UTC')",
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
