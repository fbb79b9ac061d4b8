/*-------------------------------------------------------------------------
 *
 * payments.c
 *	  R14 payments and credit notes: recording them, reading remittance
 *	  advice, and allocating them to invoices.
 *
 * A payment (or a credit note, which pays invoices the same way, R14.7)
 * belongs to a billing profile and has a currency and an amount.  Its
 * allocations to invoices are rows of csp.payment_allocation; the running
 * sums are kept on both sides, csp.payment.allocated and csp.invoice.paid,
 * each under a CHECK constraint (allocated <= amount, paid <= total), so
 * the database itself refuses an over-allocation.  Every allocation locks
 * the payment and then the invoice FOR UPDATE, and several invoices are
 * always locked in invoice-number order, so two concurrent allocations
 * neither over-allocate nor deadlock.
 *
 * What is not allocated stays unallocated (R14.3): it does not reduce any
 * amount due until csp.allocate_payment places it.
 *
 * src/payments.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_record_payment);
PG_FUNCTION_INFO_V1(csp_allocate_payment);
PG_FUNCTION_INFO_V1(csp_apply_credit_note);

#define MAX_REMITTANCE_ENTRIES CSP_MAX_REMITTANCE_ENTRIES
#define MAX_REFERENCE_LENGTH CSP_MAX_TEXT_CHARS

#define NUM(d) DatumGetNumeric(d)
#define NUMD(n) NumericGetDatum(n)

/* A payment row, locked. */
typedef struct PaymentRow
{
	int64		billing_account_id;
	int64		payment_id;
	int64		billing_profile_id;
	char	   *currency;
	Numeric		amount;
	Numeric		allocated;
} PaymentRow;

/* One entry of a remittance advice or of a credit note's allocations. */
typedef struct RemittanceEntry
{
	char	   *invoice_number;
	Numeric		amount;			/* NULL: as much as is due */
} RemittanceEntry;

static Numeric
NumSub(Numeric a, Numeric b)
{
	return NUM(DirectFunctionCall2(numeric_sub, NUMD(a), NUMD(b)));
}

static bool
NumIsPositive(Numeric a)
{
	return csp_numeric_cmp(a, int64_to_numeric(0)) > 0;
}

/*
 * An amount of money in "currency": positive, in its minor unit, sane.
 * Returns it with the currency's scale (300 EUR is kept as 300.00).
 */
static Numeric
CheckPositiveAmount(Numeric amount, const char *what, const char *currency)
{
	int			exponent = csp_currency_exponent(currency);

	csp_check_amount(amount, what, exponent);
	if (!NumIsPositive(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", what),
				 errhint("Pass an amount greater than zero in %s.", currency)));
	return csp_round_money(amount, exponent);
}

/* R14.1: CSP invoices are paid by wire or bank transfer. */
static void
CheckPaymentMethod(const char *method)
{
	if (strcmp(method, "wire_transfer") == 0 || strcmp(method, "bank_transfer") == 0)
		return;
	if (strcmp(method, "credit_card") == 0 || strcmp(method, "cheque") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("CSP invoices cannot be paid by %s",
						strcmp(method, "cheque") == 0 ? "cheque" : "credit card"),
				 errdetail("Accepted methods for CSP invoices are wire transfer and bank transfer (R14.1)."),
				 errhint("Record the payment with method => 'wire_transfer' or 'bank_transfer'.")));
	if (strcmp(method, "credit_note") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a credit note is not a payment method"),
				 errhint("Apply credit notes with csp.apply_credit_note (R14.7).")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("\"%s\" is not a payment method", method),
			 errhint("Use wire_transfer or bank_transfer (R14.1).")));
}

static void
CheckReference(const char *reference)
{
	if (reference == NULL)
		return;
	csp_check_nonblank(reference, "reference");
	if (strlen(reference) > MAX_REFERENCE_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reference is longer than %d bytes", MAX_REFERENCE_LENGTH),
				 errhint("Shorten the reference.")));
}

static JsonbValue *
FindKey(JsonbContainer *object, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(object, JB_FOBJECT, &k);
}

static void ReportBadEntry(const char *what, int i, const char *problem) pg_attribute_noreturn();

static void
ReportBadEntry(const char *what, int i, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("element %d of %s %s", i + 1, what, problem),
			 errhint("Pass '[{\"invoice\": \"G000000001\", \"amount\": 100.00}, ...]' or '[\"G000000001\", ...]'.")));
}

/*
 * R14.3/R14.4: remittance advice, either invoice numbers ("fill each up to
 * its amount due, in order") or {"invoice": ..., "amount": ...} objects,
 * mixed freely.  Malformed advice is 22023, before anything is written.
 */
static RemittanceEntry *
ParseRemittance(Jsonb *doc, const char *what, const char *currency, int *nentries)
{
	RemittanceEntry *entries;
	int			n;
	int			i;

	if (!JB_ROOT_IS_ARRAY(doc) || JB_ROOT_IS_SCALAR(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON array", what),
				 errhint("Pass '[{\"invoice\": \"G000000001\", \"amount\": 100.00}, ...]' or '[\"G000000001\", ...]'.")));
	n = JB_ROOT_COUNT(doc);
	if (n > MAX_REMITTANCE_ENTRIES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s names %d invoices, more than %d", what, n, MAX_REMITTANCE_ENTRIES),
				 errhint("Split the payment's allocations over several calls of csp.allocate_payment.")));

	entries = palloc0(sizeof(RemittanceEntry) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&doc->root, i);

		if (v->type == jbvString)
			entries[i].invoice_number = pnstrdup(v->val.string.val, v->val.string.len);
		else if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
		{
			JsonbContainer *object = v->val.binary.data;
			JsonbValue *invoice = FindKey(object, "invoice");
			JsonbValue *amount = FindKey(object, "amount");
			uint32		known = (invoice != NULL) + (amount != NULL);

			if (JsonContainerSize(object) != known)
				ReportBadEntry(what, i, "has a key other than \"invoice\" and \"amount\"");
			if (invoice == NULL || invoice->type != jbvString)
				ReportBadEntry(what, i, "needs an \"invoice\" number as a string");
			entries[i].invoice_number = pnstrdup(invoice->val.string.val, invoice->val.string.len);
			if (amount != NULL && amount->type != jbvNull)
			{
				if (amount->type != jbvNumeric)
					ReportBadEntry(what, i, "has an \"amount\" that is not a number");
				entries[i].amount = CheckPositiveAmount(amount->val.numeric,
														"an allocated amount", currency);
			}
		}
		else
			ReportBadEntry(what, i, "is neither an invoice number nor an object");
	}
	*nentries = n;
	return entries;
}

static int64
InsertPayment(int64 billing_account_id, int64 billing_profile_id, const char *kind,
			  const char *method, const char *reference, const char *currency,
			  Numeric amount, TimestampTz received_at)
{
	static CspPlan plan = {
		"INSERT INTO csp.payment (billing_account_id, billing_profile_id, kind, method, reference,"
		"  currency, amount, received_at, recorded_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING payment_id",
		9, {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[9];
	char		nulls[9];
	bool		isnull;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = CStringGetTextDatum(kind);
	values[3] = CStringGetTextDatum(method);
	values[4] = CSP_TEXT(reference);
	nulls[4] = reference ? ' ' : 'n';
	values[5] = CStringGetTextDatum(currency);
	values[6] = NumericGetDatum(amount);
	values[7] = TimestampTzGetDatum(received_at);
	values[8] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, nulls, false, 0);
	return DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
}

/* Locks a payment row; NC404 when unknown. */
static void
LockPayment(int64 payment_id, PaymentRow *pay)
{
	static CspPlan plan = {
		"SELECT billing_account_id, billing_profile_id, currency, amount, allocated"
		"  FROM csp.payment WHERE payment_id = $1 FOR UPDATE",
		1, {INT8OID}, NULL, 0
	};
	Datum		id = Int64GetDatum(payment_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("payment", psprintf(INT64_FORMAT, payment_id));
	pay->payment_id = payment_id;
	pay->billing_account_id = DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
	pay->billing_profile_id = DatumGetInt64(csp_spi_getdatum(0, 2, &isnull));
	pay->currency = csp_spi_getcstring(0, 3);
	pay->amount = DatumGetNumeric(csp_spi_getdatum(0, 4, &isnull));
	pay->allocated = DatumGetNumeric(csp_spi_getdatum(0, 5, &isnull));
}

/* Locks the named invoices in number order, so that concurrent callers cannot deadlock. */
static void
LockInvoicesInOrder(RemittanceEntry *entries, int n)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.invoice WHERE invoice_number = ANY ($1)"
		" ORDER BY invoice_number FOR UPDATE",
		1, {TEXTARRAYOID}, NULL, 0
	};
	Datum	   *numbers;
	Datum		array;
	int			i;

	if (n == 0)
		return;
	numbers = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		numbers[i] = CStringGetTextDatum(entries[i].invoice_number);
	array = PointerGetDatum(construct_array(numbers, n, TEXTOID, -1, false, TYPALIGN_INT));
	csp_spi_run(&plan, &array, NULL, false, 0);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * May the caller see billing profile "profile"'s money?  Answered by the
 * row-level security rule itself, csp.visible_profile, run as the caller
 * (it tests CURRENT_USER, which inside these SECURITY DEFINER functions
 * is the owner), so the two can never disagree.
 */
static bool
CallerSeesProfile(int64 profile)
{
	static CspPlan plan = {
		"SELECT csp.visible_profile($1)", 1, {INT8OID}, NULL, 0
	};
	Oid			caller = csp_caller();
	Oid			save_userid;
	int			save_sec_context;
	Datum		value = Int64GetDatum(profile);
	bool		isnull;
	volatile bool visible = false;

	if (superuser_arg(caller))
		return true;
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(caller, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		csp_spi_run(&plan, &value, NULL, true, 1);
		visible = DatumGetBool(csp_spi_getdatum(0, 1, &isnull)) && !isnull;
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	return visible;
}

/*
 * Allocates "amount" of the payment to the invoice (NULL: as much as both
 * allow) and returns what was allocated.  Refuses, in this order: an
 * unknown invoice (NC404; also an invoice of a profile the caller may not
 * see, so that a profile-limited role cannot learn that it exists), another
 * profile's invoice (NC015), a void note
 * or a replaced invoice (NC003), another currency (NC015), more than the
 * payment's unallocated amount or the invoice's amount due (NC015).
 */
static Numeric
AllocateToInvoice(PaymentRow *pay, const char *number, Numeric amount)
{
	static CspPlan lock = {
		"SELECT billing_account_id, billing_profile_id, document_type, replaced_by, currency,"
		"       GREATEST(total - paid, 0)"
		"  FROM csp.invoice WHERE invoice_number = $1 FOR UPDATE",
		1, {TEXTOID}, NULL, 0
	};
	static CspPlan allocate = {
		"WITH a AS ("
		"  INSERT INTO csp.payment_allocation (billing_account_id, payment_id, invoice_number,"
		"         amount, allocated_at)"
		"  VALUES ($1, $2, $3, $4, $5)"
		"), p AS ("
		"  UPDATE csp.payment SET allocated = allocated + $4"
		"   WHERE billing_account_id = $1 AND payment_id = $2"
		")"
		" UPDATE csp.invoice SET paid = paid + $4"
		"  WHERE billing_account_id = $1 AND invoice_number = $3",
		5, {INT8OID, INT8OID, TEXTOID, NUMERICOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[5];
	bool		isnull;
	int64		account;
	int64		profile;
	char	   *document_type;
	char	   *replaced_by;
	char	   *currency;
	Numeric		due;
	Numeric		unallocated = NumSub(pay->amount, pay->allocated);
	Numeric		take;

	values[0] = CStringGetTextDatum(number);
	csp_spi_run(&lock, values, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("invoice", number);
	account = DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
	profile = DatumGetInt64(csp_spi_getdatum(0, 2, &isnull));
	document_type = csp_spi_getcstring(0, 3);
	replaced_by = csp_spi_getcstring(0, 4);
	currency = csp_spi_getcstring(0, 5);
	due = DatumGetNumeric(csp_spi_getdatum(0, 6, &isnull));

	if ((account != pay->billing_account_id || profile != pay->billing_profile_id) &&
		!CallerSeesProfile(profile))
		csp_report_not_found("invoice", number);
	if (account != pay->billing_account_id || profile != pay->billing_profile_id)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
				 errmsg("invoice %s is not billed to billing profile " INT64_FORMAT, number,
						pay->billing_profile_id),
				 errdetail("Payment " INT64_FORMAT " belongs to billing profile " INT64_FORMAT
						   "; a payment to the wrong account must be identified and re-applied (R14.6).",
						   pay->payment_id, pay->billing_profile_id),
				 errhint("Allocate it to an invoice of billing profile " INT64_FORMAT ".",
						 pay->billing_profile_id)));
	if (strcmp(document_type, "void_note") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot allocate a payment to %s: it is a void note", number),
				 errdetail("A void note only cancels the invoice it replaces (R13.4)."),
				 errhint("Allocate to the rebilled invoice of the period.")));
	if (replaced_by != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot allocate a payment to %s: it is void", number),
				 errdetail("It was replaced by %s (R13.4).", replaced_by),
				 errhint("Allocate to %s instead.", replaced_by)));
	if (strcmp(currency, pay->currency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
				 errmsg("payment " INT64_FORMAT " is in %s, invoice %s in %s",
						pay->payment_id, pay->currency, number, currency),
				 errdetail("A payment in the wrong currency is not applied to an invoice (R14.6)."),
				 errhint("Record the payment in %s, or allocate it to an invoice in %s.",
						 currency, pay->currency)));

	if (amount == NULL)
	{
		take = csp_numeric_cmp(due, unallocated) < 0 ? due : unallocated;
		if (!NumIsPositive(take))
			return int64_to_numeric(0);
	}
	else
	{
		if (csp_numeric_cmp(amount, unallocated) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
					 errmsg("cannot allocate %s of payment " INT64_FORMAT ": only %s %s is unallocated",
							DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(amount))),
							pay->payment_id,
							DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(unallocated))),
							pay->currency),
					 errdetail("Allocations never exceed the payment's amount (R14.3, R14.4)."),
					 errhint("Allocate at most %s.",
							 DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(unallocated))))));
		if (csp_numeric_cmp(amount, due) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
					 errmsg("cannot allocate %s to invoice %s: its amount due is %s %s",
							DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(amount))), number,
							DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(due))), currency),
					 errdetail("Allocations never exceed what an invoice still owes (R14.4)."),
					 errhint("Allocate at most %s; the rest of the payment stays unallocated.",
							 DatumGetCString(DirectFunctionCall1(numeric_out, NUMD(due))))));
		take = amount;
	}

	values[0] = Int64GetDatum(pay->billing_account_id);
	values[1] = Int64GetDatum(pay->payment_id);
	values[2] = CStringGetTextDatum(number);
	values[3] = NumericGetDatum(take);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&allocate, values, NULL, false, 0);
	pay->allocated = NUM(DirectFunctionCall2(numeric_add, NUMD(pay->allocated), NUMD(take)));
	return take;
}

/* Applies remittance entries in order. */
static void
AllocateEntries(PaymentRow *pay, RemittanceEntry *entries, int n)
{
	int			i;

	LockInvoicesInOrder(entries, n);
	for (i = 0; i < n; i++)
		AllocateToInvoice(pay, entries[i].invoice_number, entries[i].amount);
}

/* The payment just inserted, as AllocateToInvoice needs it. */
static void
NewPaymentRow(PaymentRow *pay, int64 billing_account_id, int64 billing_profile_id,
			  int64 payment_id, const char *currency, Numeric amount)
{
	pay->billing_account_id = billing_account_id;
	pay->billing_profile_id = billing_profile_id;
	pay->payment_id = payment_id;
	pay->currency = pstrdup(currency);
	pay->amount = amount;
	pay->allocated = int64_to_numeric(0);
}

/*
 * csp.record_payment(billing_profile_id, amount, currency, received_at,
 *     remittance, method, reference) → bigint
 * R14.1 wire or bank transfer only; R14.3 without remittance (or for what
 * it leaves) the payment stays unallocated; R14.4 partial payments and one
 * payment for many invoices.
 */
Datum
csp_record_payment(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "amount", "currency", "received_at",
	NULL, "method", NULL};
	int64		billing_profile_id;
	Numeric		amount;
	char	   *currency;
	TimestampTz received_at;
	char	   *method;
	char	   *reference;
	RemittanceEntry *entries = NULL;
	int			nentries = 0;
	int64		billing_account_id;
	int64		payment_id;
	PaymentRow	pay;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	amount = PG_GETARG_NUMERIC(1);
	currency = csp_check_currency(csp_arg_cstring(fcinfo, 2));
	amount = CheckPositiveAmount(amount, "amount", currency);
	received_at = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(received_at) || !terms_day_in_range(terms_utc_date(received_at)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("received_at is outside the supported range"),
				 errhint("Pass an instant between %d-01-01 and %d-12-31.", TERMS_MIN_YEAR, TERMS_MAX_YEAR)));
	if (received_at > csp_now())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("received_at is in the future"),
				 errdetail("A payment is recorded once it has been received (R14.5)."),
				 errhint("Record it when it arrives, or pass its arrival time.")));
	method = csp_arg_cstring(fcinfo, 5);
	CheckPaymentMethod(method);
	reference = csp_arg_cstring_or_null(fcinfo, 6);
	CheckReference(reference);
	if (!PG_ARGISNULL(4))
		entries = ParseRemittance(PG_GETARG_JSONB_P(4), "remittance", currency, &nentries);

	csp_enter(fcinfo, "record_payment", true);
	/* an arrival time far from real time is a back-fill: csp_time_admin only */
	csp_check_write_instant(received_at, "received_at");
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_profile_rights(billing_profile_id, "record a payment", true);
	/* the action happens when it is recorded; received_at is what the bank says */
	csp_record_profile_event(billing_account_id, billing_profile_id, csp_now());
	payment_id = InsertPayment(billing_account_id, billing_profile_id, "payment", method,
							   reference, currency, amount, received_at);
	NewPaymentRow(&pay, billing_account_id, billing_profile_id, payment_id, currency, amount);
	AllocateEntries(&pay, entries, nentries);
	csp_finish();

	PG_RETURN_INT64(payment_id);
}

/*
 * csp.allocate_payment(payment_id, invoice_number, amount) → void
 * R14.3: an unallocated payment (or credit note) is allocated on request
 * to a named invoice.
 */
Datum
csp_allocate_payment(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"payment_id", "invoice_number", "amount"};
	int64		payment_id;
	char	   *number;
	Numeric		amount;
	PaymentRow	pay;

	csp_require_args(fcinfo, args, lengthof(args));
	payment_id = PG_GETARG_INT64(0);
	number = csp_arg_cstring(fcinfo, 1);
	amount = PG_GETARG_NUMERIC(2);

	csp_enter(fcinfo, "allocate_payment", true);
	LockPayment(payment_id, &pay);
	csp_check_profile_rights(pay.billing_profile_id, "allocate a payment", true);
	csp_record_profile_event(pay.billing_account_id, pay.billing_profile_id, csp_now());
	amount = CheckPositiveAmount(amount, "amount", pay.currency);
	AllocateToInvoice(&pay, number, amount);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * Without allocations, a credit note pays the most recent invoices of its
 * profile and currency that have an amount due first (R14.7).
 */
static void
AllocateToRecentInvoices(PaymentRow *pay)
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
	Datum		values[3];
	SPITupleTable *open;
	uint64		n,
				i;

	values[0] = Int64GetDatum(pay->billing_account_id);
	values[1] = Int64GetDatum(pay->billing_profile_id);
	values[2] = CStringGetTextDatum(pay->currency);
	csp_spi_run(&lock, values, NULL, false, 0);
	SPI_freetuptable(SPI_tuptable);
	csp_spi_run(&recent, values, NULL, false, 0);
	open = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n && NumIsPositive(NumSub(pay->amount, pay->allocated)); i++)
		AllocateToInvoice(pay, SPI_getvalue(open->vals[i], open->tupdesc, 1), NULL);
	SPI_freetuptable(open);
}

/*
 * csp.apply_credit_note(billing_profile_id, amount, currency, allocations,
 *     reference) → bigint
 * R14.7: a credit note pays invoices like a payment: automatically the
 * most recent ones with an amount due, or as allocated by hand.  What it
 * does not cover stays unallocated.
 */
Datum
csp_apply_credit_note(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "amount", "currency", NULL, NULL};
	int64		billing_profile_id;
	Numeric		amount;
	char	   *currency;
	char	   *reference;
	RemittanceEntry *entries = NULL;
	int			nentries = 0;
	int64		billing_account_id;
	int64		payment_id;
	PaymentRow	pay;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	amount = PG_GETARG_NUMERIC(1);
	currency = csp_check_currency(csp_arg_cstring(fcinfo, 2));
	amount = CheckPositiveAmount(amount, "amount", currency);
	reference = csp_arg_cstring_or_null(fcinfo, 4);
	CheckReference(reference);
	if (!PG_ARGISNULL(3))
		entries = ParseRemittance(PG_GETARG_JSONB_P(3), "allocations", currency, &nentries);

	csp_enter(fcinfo, "apply_credit_note", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_profile_rights(billing_profile_id, "apply a credit note", false);
	csp_record_profile_event(billing_account_id, billing_profile_id, csp_now());
	payment_id = InsertPayment(billing_account_id, billing_profile_id, "credit_note",
							   "credit_note", reference, currency, amount, csp_now());
	NewPaymentRow(&pay, billing_account_id, billing_profile_id, payment_id, currency, amount);
	if (entries != NULL)
		AllocateEntries(&pay, entries, nentries);
	else
		AllocateToRecentInvoices(&pay);
	csp_finish();

	PG_RETURN_INT64(payment_id);
}
