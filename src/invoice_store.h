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

/*
 * The month close (R13.1, R11.5), set-based over a batch of profiles given
 * as arrays of (account, profile).  csp_invoice_make_for_batch inserts the
 * invoices of every closed period and returns, per natural period of each
 * profile, the invoice its lines go to:
 */
#define Anum_made_billing_account_id	1
#define Anum_made_billing_profile_id	2
#define Anum_made_currency				3
#define Anum_made_natural_start			4
#define Anum_made_invoice_number		5
extern uint64 csp_invoice_make_for_batch(Datum accounts, Datum profiles, DateADT today,
										 TimestampTz now);

/*
 * The lines to attach: a plan for a cursor, taking $1..$3 as the make
 * statement and $4..$8 the arrays of its result (account, profile,
 * currency, natural start, invoice number); it returns:
 */
#define Anum_billable_billing_account_id	1
#define Anum_billable_charge_id				2
#define Anum_billable_invoice_number		3
extern struct CspPlan *csp_invoice_billable_lines(void);

/* R13: each new invoice's total set to the sum of the lines attached to it */
extern void csp_invoice_settle_totals(Datum accounts, Datum numbers, Datum totals);

#endif							/* CSP_INVOICE_STORE_H */
