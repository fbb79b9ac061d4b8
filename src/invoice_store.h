/*-------------------------------------------------------------------------
 *
 * invoice_store.h
 *	  The store of invoice documents (invoice_store.c): the one place with
 *	  SQL text that writes or locks csp.invoice.
 *
 * Callers are the rules on documents: invoicing.c (month close, void and
 * rebill) and payments.c (allocation).  Each statement of the month close
 * returns its rows in SPI_tuptable, read by the Anum_ names below.
 *
 * src/invoice_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_INVOICE_STORE_H
#define CSP_INVOICE_STORE_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

struct CspPlan;

/* An invoice as an allocation to it needs it, locked (payments.c). */
typedef struct InvoiceToPay
{
	int64		billing_account_id;
	int64		billing_profile_id;
	char	   *document_type;
	char	   *replaced_by;	/* NULL: not void */
	char	   *currency;
	Numeric		due;			/* what it still owes, never negative */
} InvoiceToPay;

/* A document as void and rebill needs it, locked (invoicing.c). */
typedef struct InvoiceToVoid
{
	int64		billing_account_id;
	char	   *document_type;
	char	   *replaced_by;	/* NULL: not void */
	Numeric		total;
	Numeric		lines_total;	/* Σ of the lines it bills, signed as the document */
} InvoiceToVoid;

/* allocation (R14) */
extern void csp_invoice_lock_numbers(char **numbers, int n);
extern bool csp_invoice_lock_to_pay(const char *number, InvoiceToPay *inv);
extern void csp_invoice_add_paid(int64 billing_account_id, const char *number, Numeric amount);
extern char **csp_invoice_lock_open(int64 billing_account_id, int64 billing_profile_id,
									const char *currency, int *n);

/* void and rebill (R13.4) */
extern bool csp_invoice_lock_to_void(const char *number, InvoiceToVoid *inv);
extern char *csp_invoice_insert_void_note(int64 billing_account_id, const char *number,
										  DateADT today, TimestampTz now);
extern char *csp_invoice_insert_rebill(int64 billing_account_id, const char *number,
									   DateADT today, TimestampTz now,
									   const char *po_number, Jsonb *bill_to);
extern void csp_invoice_mark_replaced(int64 billing_account_id, const char *number,
									  const char *replaced_by, TimestampTz now);

/* The month close (R13.1, R11.5) of a batch of profiles: returns the invoices made. */
extern uint64 csp_invoice_make_for_batch(Datum accounts, Datum profiles, DateADT today,
										 TimestampTz now);

#endif							/* CSP_INVOICE_STORE_H */
