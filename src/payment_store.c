/*-------------------------------------------------------------------------
 *
 * payment_store.c
 *	  The store of payments, credit notes and their allocations: the one
 *	  place with SQL text on csp.payment and csp.payment_allocation.
 *
 * An allocation is a row of csp.payment_allocation and, in the same
 * statement, the running sum csp.payment.allocated; the CHECK on that sum
 * (allocated <= amount) is what finally refuses an over-allocation.  The
 * invoice's side (csp.invoice.paid) is written by the invoice's owner.
 * payments.c holds the rules (R14) and calls these functions.
 *
 * src/payment_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "payment_store.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

/* Records a payment, recorded now.  Returns its payment_id. */
int64
csp_payment_insert(const NewPayment *payment)
{
	static CspPlan plan = {
		"INSERT INTO csp.payment (billing_account_id, billing_profile_id, kind, method, reference,"
		"  currency, amount, received_at, recorded_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING payment_id",
		9, {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID}, NULL, 0
	};
#define Param_payment_billing_account_id	0
#define Param_payment_billing_profile_id	1
#define Param_payment_kind					2
#define Param_payment_method				3
#define Param_payment_reference				4
#define Param_payment_currency				5
#define Param_payment_amount				6
#define Param_payment_received_at			7
#define Param_payment_recorded_at			8
#define Anum_payment_insert_payment_id		1
	Datum		values[9];
	char		nulls[9];
	bool		isnull;

	memset(nulls, ' ', sizeof(nulls));
	values[Param_payment_billing_account_id] = Int64GetDatum(payment->billing_account_id);
	values[Param_payment_billing_profile_id] = Int64GetDatum(payment->billing_profile_id);
	values[Param_payment_kind] = CStringGetTextDatum(payment->kind);
	values[Param_payment_method] = CStringGetTextDatum(payment->method);
	values[Param_payment_reference] = CSP_TEXT(payment->reference);
	nulls[Param_payment_reference] = payment->reference ? ' ' : 'n';
	values[Param_payment_currency] = CStringGetTextDatum(payment->currency);
	values[Param_payment_amount] = NumericGetDatum(payment->amount);
	values[Param_payment_received_at] = TimestampTzGetDatum(payment->received_at);
	values[Param_payment_recorded_at] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, nulls, false, 0);
	return DatumGetInt64(csp_spi_getdatum(0, Anum_payment_insert_payment_id, &isnull));
}

/*
 * Locks the payment FOR UPDATE and loads it into *pay; false if there is
 * none.  Every allocation takes this lock first, then the invoices'.
 */
bool
csp_payment_lock(int64 payment_id, PaymentRow *pay)
{
	static CspPlan plan = {
		"SELECT billing_account_id, billing_profile_id, currency, amount, allocated"
		"  FROM csp.payment WHERE payment_id = $1 FOR UPDATE",
		1, {INT8OID}, NULL, 0
	};
#define Anum_payment_lock_billing_account_id	1
#define Anum_payment_lock_billing_profile_id	2
#define Anum_payment_lock_currency				3
#define Anum_payment_lock_amount				4
#define Anum_payment_lock_allocated				5
	Datum		id = Int64GetDatum(payment_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	pay->payment_id = payment_id;
	pay->billing_account_id =
		DatumGetInt64(csp_spi_getdatum(0, Anum_payment_lock_billing_account_id, &isnull));
	pay->billing_profile_id =
		DatumGetInt64(csp_spi_getdatum(0, Anum_payment_lock_billing_profile_id, &isnull));
	pay->currency = csp_spi_getcstring(0, Anum_payment_lock_currency);
	pay->amount = DatumGetNumeric(csp_spi_getdatum(0, Anum_payment_lock_amount, &isnull));
	pay->allocated = DatumGetNumeric(csp_spi_getdatum(0, Anum_payment_lock_allocated, &isnull));
	return true;
}

/*
 * Allocates "amount" of the payment to the invoice: the allocation row and
 * the payment's running sum, in one statement.  The caller has checked the
 * amount and updates pay->allocated and the invoice's paid.
 *
 * The UPDATE is the main statement and the INSERT its CTE, so the audit
 * rows come in the order they always have: the payment's, then the
 * allocation's (the main statement runs before its CTEs).
 */
void
csp_payment_allocate(const PaymentRow *pay, const char *invoice_number, Numeric amount)
{
	static CspPlan plan = {
		"WITH a AS ("
		"  INSERT INTO csp.payment_allocation (billing_account_id, payment_id, invoice_number,"
		"         amount, allocated_at)"
		"  VALUES ($1, $2, $3, $4, $5)"
		")"
		" UPDATE csp.payment SET allocated = allocated + $4"
		"  WHERE billing_account_id = $1 AND payment_id = $2",
		5, {INT8OID, INT8OID, TEXTOID, NUMERICOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[5];

	values[0] = Int64GetDatum(pay->billing_account_id);
	values[1] = Int64GetDatum(pay->payment_id);
	values[2] = CStringGetTextDatum(invoice_number);
	values[3] = NumericGetDatum(amount);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, NULL, false, 0);
}

/*
 * R13.4: the allocations of a voided invoice move to its rebill, so the
 * payments made on the original pay the rebill.  For csp_void_and_rebill.
 */
void
csp_payment_move_allocations(int64 billing_account_id, const char *from_invoice,
							 const char *to_invoice)
{
	static CspPlan plan = {
		"UPDATE csp.payment_allocation SET invoice_number = $3"
		" WHERE billing_account_id = $1 AND invoice_number = $2",
		3, {INT8OID, TEXTOID, TEXTOID}, NULL, 0
	};
	Datum		values[3];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(from_invoice);
	values[2] = CStringGetTextDatum(to_invoice);
	csp_spi_run(&plan, values, NULL, false, 0);
}
