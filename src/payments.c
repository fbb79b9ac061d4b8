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
 * The rows of csp.payment and csp.payment_allocation are written by their
 * store, payment_store.c; the invoice's side (locking the invoices, adding
 * to paid) is written by the invoice store, invoice_store.c.
 *
 * src/payments.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "invoice_store.h"
#include "payment_store.h"

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

/* Records a payment or credit note; returns its id. */
static int64
InsertPayment(int64 billing_account_id, int64 billing_profile_id, const char *kind,
			  const char *method, const char *reference, const char *currency,
			  Numeric amount, TimestampTz received_at)
{
	NewPayment	payment;

	payment.billing_account_id = billing_account_id;
	payment.billing_profile_id = billing_profile_id;
	payment.kind = kind;
	payment.method = method;
	payment.reference = reference;
	payment.currency = currency;
	payment.amount = amount;
	payment.received_at = received_at;
	return csp_payment_insert(&payment);
}

/* Locks a payment row; NC404 when unknown. */
static void
LockPayment(int64 payment_id, PaymentRow *pay)
{
	if (!csp_payment_lock(payment_id, pay))
		csp_report_not_found("payment", psprintf(INT64_FORMAT, payment_id));
}

/* Locks the named invoices in number order, so that concurrent callers cannot deadlock. */
static void
LockInvoicesInOrder(RemittanceEntry *entries, int n)
{
	char	  **numbers = palloc(sizeof(char *) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		numbers[i] = entries[i].invoice_number;
	csp_invoice_lock_numbers(numbers, n);
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
#define Anum_visible_profile_visible 1
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
		visible = DatumGetBool(csp_spi_getdatum(0, Anum_visible_profile_visible, &isnull)) && !isnull;
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	return visible;
}

/* Locks the invoice FOR UPDATE and loads it; NC404 when unknown. */
static void
LockInvoiceToPay(const char *number, InvoiceToPay *inv)
{
	if (!csp_invoice_lock_to_pay(number, inv))
		csp_report_not_found("invoice", number);
}

/*
 * May the payment pay the invoice?  Refuses, in this order: an invoice of
 * a profile the caller may not see (NC404, so that a profile-limited role
 * cannot learn that it exists), another profile's invoice (NC015), a void
 * note or a replaced invoice (NC003), another currency (NC015).
 */
static void
CheckAllocatable(const PaymentRow *pay, const char *number, const InvoiceToPay *inv)
{
	bool		other_profile = inv->billing_account_id != pay->billing_account_id ||
		inv->billing_profile_id != pay->billing_profile_id;

	if (other_profile && !CallerSeesProfile(inv->billing_profile_id))
		csp_report_not_found("invoice", number);
	if (other_profile)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
				 errmsg("invoice %s is not billed to billing profile " INT64_FORMAT, number,
						pay->billing_profile_id),
				 errdetail("Payment " INT64_FORMAT " belongs to billing profile " INT64_FORMAT
						   "; a payment to the wrong account must be identified and re-applied (R14.6).",
						   pay->payment_id, pay->billing_profile_id),
				 errhint("Allocate it to an invoice of billing profile " INT64_FORMAT ".",
						 pay->billing_profile_id)));
	if (strcmp(inv->document_type, "void_note") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot allocate a payment to %s: it is a void note", number),
				 errdetail("A void note only cancels the invoice it replaces (R13.4)."),
				 errhint("Allocate to the rebilled invoice of the period.")));
	if (inv->replaced_by != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_WRONG_STATE),
				 errmsg("cannot allocate a payment to %s: it is void", number),
				 errdetail("It was replaced by %s (R13.4).", inv->replaced_by),
				 errhint("Allocate to %s instead.", inv->replaced_by)));
	if (strcmp(inv->currency, pay->currency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
				 errmsg("payment " INT64_FORMAT " is in %s, invoice %s in %s",
						pay->payment_id, pay->currency, number, inv->currency),
				 errdetail("A payment in the wrong currency is not applied to an invoice (R14.6)."),
				 errhint("Record the payment in %s, or allocate it to an invoice in %s.",
						 inv->currency, pay->currency)));
}

/*
 * How much to allocate: "amount", or with NULL as much as both allow.
 * Refuses more than the payment's unallocated amount or the invoice's
 * amount due (NC015).
 */
static Numeric
AmountToTake(const PaymentRow *pay, const char *number, const InvoiceToPay *inv,
			 Numeric amount)
{
	Numeric		unallocated = NumSub(pay->amount, pay->allocated);
	Numeric		take;

	if (amount == NULL)
		take = csp_numeric_cmp(inv->due, unallocated) < 0 ? inv->due : unallocated;
	else
	{
		if (csp_numeric_cmp(amount, unallocated) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
					 errmsg("cannot allocate %s of payment " INT64_FORMAT ": only %s %s is unallocated",
							csp_numeric_to_cstring(amount),
							pay->payment_id,
							csp_numeric_to_cstring(unallocated),
							pay->currency),
					 errdetail("Allocations never exceed the payment's amount (R14.3, R14.4)."),
					 errhint("Allocate at most %s.",
							 csp_numeric_to_cstring(unallocated))));
		if (csp_numeric_cmp(amount, inv->due) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_ALLOCATION_INVALID),
					 errmsg("cannot allocate %s to invoice %s: its amount due is %s %s",
							csp_numeric_to_cstring(amount), number,
							csp_numeric_to_cstring(inv->due), inv->currency),
					 errdetail("Allocations never exceed what an invoice still owes (R14.4)."),
					 errhint("Allocate at most %s; the rest of the payment stays unallocated.",
							 csp_numeric_to_cstring(inv->due))));
		take = amount;
	}
	return take;
}

/*
 * Allocates "amount" of the payment to the invoice (NULL: as much as both
 * allow) and returns what was allocated.  Refuses, in this order: an
 * unknown invoice (NC404), then what CheckAllocatable and AmountToTake
 * refuse.  The payment's side is written first, then the invoice's: the
 * order of their audit rows since 0.1.0.
 */
static Numeric
AllocateToInvoice(PaymentRow *pay, const char *number, Numeric amount)
{
	InvoiceToPay inv;
	Numeric		take;

	LockInvoiceToPay(number, &inv);
	CheckAllocatable(pay, number, &inv);
	take = AmountToTake(pay, number, &inv, amount);
	if (amount == NULL && !NumIsPositive(take))
		return int64_to_numeric(0);
	csp_payment_allocate(pay, number, take);
	csp_invoice_add_paid(pay->billing_account_id, number, take);
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
	int			n;
	int			i;
	char	  **open = csp_invoice_lock_open(pay->billing_account_id, pay->billing_profile_id,
											 pay->currency, &n);

	for (i = 0; i < n && NumIsPositive(NumSub(pay->amount, pay->allocated)); i++)
		AllocateToInvoice(pay, open[i], NULL);
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
