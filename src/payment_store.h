/*-------------------------------------------------------------------------
 *
 * payment_store.h
 *	  The store of payments, credit notes and their allocations
 *	  (payment_store.c): the one place with SQL text on csp.payment and
 *	  csp.payment_allocation.
 *
 * src/payment_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_PAYMENT_STORE_H
#define CSP_PAYMENT_STORE_H

#include "postgres.h"

#include "utils/numeric.h"
#include "utils/timestamp.h"

/* A payment (or credit note, R14.7) as allocation works on it, locked. */
typedef struct PaymentRow
{
	int64		billing_account_id;
	int64		payment_id;
	int64		billing_profile_id;
	char	   *currency;
	Numeric		amount;
	Numeric		allocated;		/* sum of its allocations */
} PaymentRow;

/* What csp_payment_insert records. */
typedef struct NewPayment
{
	int64		billing_account_id;
	int64		billing_profile_id;
	const char *kind;			/* payment, credit_note */
	const char *method;			/* wire_transfer, bank_transfer, credit_note */
	const char *reference;		/* NULL: none */
	const char *currency;
	Numeric		amount;
	TimestampTz received_at;
} NewPayment;

extern int64 csp_payment_insert(const NewPayment *payment);
extern bool csp_payment_lock(int64 payment_id, PaymentRow *pay);
extern void csp_payment_allocate(const PaymentRow *pay, const char *invoice_number,
								 Numeric amount);
extern void csp_payment_move_allocations(int64 billing_account_id, const char *from_invoice,
										 const char *to_invoice);

#endif							/* CSP_PAYMENT_STORE_H */
