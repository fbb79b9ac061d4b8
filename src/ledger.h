/*-------------------------------------------------------------------------
 *
 * ledger.h
 *	  The charge ledger's store (ledger.c): the one place with SQL text on
 *	  csp.charge, and the typed rows it takes and returns.
 *
 * src/ledger.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_LEDGER_H
#define CSP_LEDGER_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

struct CspPlan;

/*
 * The columns every ledger line is inserted with, in this order: the one
 * list the per-row insert (ledger.c) and the set-based inserts of
 * job_batch.c share, so a new column is added in one place.  Optional
 * columns (lot_id, refunds_charge_id, meter_id) follow it where used.
 */
#define CSP_CHARGE_COLUMNS \
	"billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id," \
	" subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at," \
	" quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency," \
	" fx_rate, reference_id"

/*
 * R11.5: the billing period a line of (account, profile, currency) whose
 * instant lies in the natural period starting "natural" is billed in: that
 * period, unless it already has its invoice; then the first later one that
 * has none (the successor of an invoiced period starts the day after its
 * end).  Decided when the line is posted, with the profile locked against
 * invoicing (csp_lock_profile_for_posting), so it never changes.  The
 * arguments are SQL expressions.
 */
#define CSP_BILLING_PERIOD_OF(account, profile, currency, natural) \
	"(SELECT min(x.start) FROM (SELECT " natural " AS start" \
	"   UNION ALL SELECT i.period_end + 1 FROM csp.invoice i" \
	"    WHERE i.billing_account_id = " account " AND i.billing_profile_id = " profile \
	"      AND i.currency = " currency " AND i.document_type = 'invoice'" \
	"      AND i.period_start >= " natural ") x" \
	"  WHERE NOT EXISTS (SELECT 1 FROM csp.invoice j" \
	"                     WHERE j.billing_account_id = " account \
	"                       AND j.billing_profile_id = " profile \
	"                       AND j.currency = " currency " AND j.period_start = x.start" \
	"                       AND j.document_type = 'invoice'))"

/*
 * The join condition of a document d's ledger lines c: those of its
 * profile, currency and billing period (a void note and a rebill have the
 * period of the invoice they replace).  The arguments are aliases.
 */
#define CSP_LINES_OF_DOCUMENT(d, c) \
	c ".billing_account_id = " d ".billing_account_id" \
	" AND " c ".billing_profile_id = " d ".billing_profile_id" \
	" AND " c ".currency = " d ".currency" \
	" AND " c ".billing_period_start = " d ".period_start"

/* The condition that line c is not yet on an invoice (its period has none). */
#define CSP_LINE_UNBILLED(c) \
	"NOT EXISTS (SELECT 1 FROM csp.invoice i_" \
	"             WHERE i_.billing_account_id = " c ".billing_account_id" \
	"               AND i_.billing_profile_id = " c ".billing_profile_id" \
	"               AND i_.currency = " c ".currency" \
	"               AND i_.period_start = " c ".billing_period_start" \
	"               AND i_.document_type = 'invoice')"

/*
 * A statement that inserts lines as "lines" (RETURNING billing_account_id,
 * billing_profile_id, currency, billing_period_start) ends with this: their
 * periods become open (csp.open_period) and it returns how many lines.
 */
#define CSP_CHARGE_OPEN_PERIODS \
	", opened AS (INSERT INTO csp.open_period (billing_account_id, billing_profile_id, currency," \
	"                                          period_start)" \
	"    SELECT DISTINCT billing_account_id, billing_profile_id, currency, billing_period_start" \
	"      FROM lines ON CONFLICT DO NOTHING)" \
	" SELECT count(*) FROM lines"
#define CSP_CHARGE_RETURNING_PERIODS \
	" RETURNING billing_account_id, billing_profile_id, currency, billing_period_start"
#define Anum_posted_lines 1

/*
 * One full-cycle line (new, renew, cycleCharge) per subscription and cycle
 * (unique index charge_one_per_cycle): an insert that ends with this skips
 * a line the cycle already has, which is what makes the jobs idempotent.
 */
#define CSP_CHARGE_SKIP_CYCLE_DUPLICATE \
	" ON CONFLICT (billing_account_id, subscription_id, cycle_start)" \
	" WHERE charge_type IN ('new', 'renew', 'cycleCharge') DO NOTHING"

/*
 * A row of csp.charge to insert, every factor of its amount kept (R12).
 * posted_at is csp_now() at posting.  Pointers and Datums are the caller's.
 */
typedef struct LedgerLine
{
	int64		billing_account_id;
	int64		billing_profile_id;
	int64		invoice_section_id;
	const char *partner_id;
	Datum		customer_id;	/* uuid */
	Datum		subscription_id;	/* uuid */
	const char *sku_id;
	const char *charge_type;
	DateADT		charge_start;
	DateADT		charge_end;
	DateADT		cycle_start;
	Numeric		quantity;		/* seats, or a metered quantity */
	Numeric		unit_price;		/* in pricing_currency */
	int32		days_charged;
	int32		days_in_cycle;
	Numeric		amount;			/* in currency, rounded to its minor unit */
	const char *currency;
	const char *pricing_currency;
	Numeric		fx_rate;		/* pricing_currency → currency */
	Datum		reference_id;	/* uuid */
	int64		lot_id;			/* 0: none */
	int64		refunds_charge_id;	/* 0: none */
	const char *meter_id;		/* NULL: none */
} LedgerLine;

/*
 * A line that a refund may give back from, with what its refunds have
 * taken so far.  Numerics point to SPI memory (until SPI_finish).
 */
typedef struct LedgerRefundable
{
	int64		charge_id;
	DateADT		charge_start;
	DateADT		charge_end;
	DateADT		cycle_start;
	int32		days_in_cycle;
	Numeric		unit_price;
	Numeric		fx_rate;
	int64		quantity;
	Numeric		amount;
	Numeric		refunded_amount;	/* sum of the refunds' amounts (<= 0) */
	int64		refunded_seat_days; /* sum of the refunds' seat-days (<= 0) */
	int64		refunded_seat_days_from;	/* the same, of the days from refund_from */
} LedgerRefundable;

extern bool csp_ledger_post(const LedgerLine *line, bool skip_cycle_duplicate);
extern int64 csp_ledger_insert_lines(struct CspPlan *plan, Datum *values, const char *nulls);
extern int	csp_ledger_refundable(int64 billing_account_id, Datum subscription_id,
								  DateADT term_start, DateADT refund_from, int64 lot_id,
								  TimestampTz lot_added_at, LedgerRefundable **lines);

#endif							/* CSP_LEDGER_H */
