/*-------------------------------------------------------------------------
 *
 * job_batch.c
 *	  The set-based paths of the subscription jobs: a batch of plain
 *	  renewals, or of plain cycle charges, in two statements.
 *
 * Most subscriptions due on a renewal day are plain: active, auto-renewing,
 * not a trial, not an add-on, nothing scheduled for the renewal, licence
 * based, their last cycle already charged, and one term behind at most.
 * Their renewal is the same for each (R6.6): the next natural term at the
 * price valid on its first day, a "renewal" seat lot with a new 168-hour
 * window, and the "renew" charge of the new term's first cycle.  Likewise
 * most subscriptions due for a cycle charge (R11.1) owe exactly one cycle.
 * The arithmetic is the per-row path's own (terms.c, csp_period_line,
 * csp_line_amount); what is batched is the writing: an UPDATE of the
 * subscriptions and an INSERT of the lines (with their seat lots), over
 * arrays, instead of ~8 statements and a subtransaction per subscription.
 *
 * Everything else (trials, scheduled changes, add-ons, expiries, missing
 * prices or rates, several missed terms or cycles) is left to the per-row
 * path, which runs each of them in a subtransaction of its own.  If a batch
 * fails as a whole, the caller rolls it back and takes each of its
 * subscriptions by the per-row path, so an error is still reported against
 * the one subscription it belongs to.  csp.set_based_jobs = off turns the
 * batches off; the tests compare the two paths row for row.
 *
 * A declared bulk room: the one file besides the tables' owners
 * (subscription_store.c for csp.subscription and csp.seat_lot, the ledger
 * for csp.charge) allowed SQL on them, for its set-based statements only.
 * It reads subscriptions with the store's CSP_SUBSCRIPTION_COLUMNS and
 * csp_subscription_from_tuple; per-row work goes through the stores.
 *
 * src/job_batch.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"
#include "ledger.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

/* The first columns of a batch's ledger lines (CSP_CHARGE_COLUMNS, ledger.h), from the subscription s. */
#define CHARGE_SUBSCRIPTION_COLUMNS \
	"s.billing_account_id, s.billing_profile_id, s.invoice_section_id, s.partner_id," \
	" s.customer_id, s.subscription_id, s.sku_id"

/*
 * R11.5: a batch's lines are billed in the period of their instant ($1) or
 * the first later one without an invoice (CSP_BILLING_PERIOD_OF), decided
 * once per profile and currency of the batch: a CTE "periods" after the
 * CTE "u" of the batch's (billing_account_id, subscription_id), joined to
 * each line's subscription s by CHARGE_PERIOD_JOIN.
 */
#define BATCH_PERIODS \
	"), periods AS MATERIALIZED (" \
	"  SELECT k.billing_account_id, k.billing_profile_id, k.currency, " \
	CSP_BILLING_PERIOD_OF("k.billing_account_id", "k.billing_profile_id", "k.currency", \
						  "k.natural_start") " AS period_start" \
	"    FROM (SELECT DISTINCT s.billing_account_id, s.billing_profile_id, s.currency," \
	"                 (csp.invoice_period(csp.utc_date($1), p.anniversary_day)).period_start" \
	"                   AS natural_start" \
	"            FROM u JOIN csp.subscription s ON s.billing_account_id = u.billing_account_id" \
	"                                          AND s.subscription_id = u.subscription_id" \
	"            JOIN csp.billing_profile p ON p.billing_account_id = s.billing_account_id" \
	"                                      AND p.billing_profile_id = s.billing_profile_id) k"
#define CHARGE_PERIOD_JOIN \
	"   JOIN periods pe ON pe.billing_account_id = s.billing_account_id" \
	"                  AND pe.billing_profile_id = s.billing_profile_id AND pe.currency = s.currency"

/*
 * R11.5: the profiles of a batch's subscriptions ($accounts, $subscriptions
 * arrays), held FOR KEY SHARE against invoicing while their lines' billing
 * periods are decided, in key order (csp_lock_profile_for_posting, the
 * per-row path's lock, says why).
 */
static void
LockProfilesForPosting(Datum accounts, Datum subscriptions)
{
	static CspPlan lock = {
		"SELECT 1 FROM csp.billing_profile p"
		" WHERE (p.billing_account_id, p.billing_profile_id) IN"
		"       (SELECT s.billing_account_id, s.billing_profile_id"
		"          FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::uuid[]))"
		"               AS u (billing_account_id, subscription_id)"
		"          JOIN csp.subscription s ON s.billing_account_id = u.billing_account_id"
		"                                 AND s.subscription_id = u.subscription_id)"
		" ORDER BY p.billing_account_id, p.billing_profile_id FOR KEY SHARE OF p",
		2, {INT8ARRAYOID, UUIDARRAYOID}, NULL, 0
	};
	Datum		values[2];

	values[0] = accounts;
	values[1] = subscriptions;
	csp_spi_run(&lock, values, NULL, false, 0);
	SPI_freetuptable(SPI_tuptable);
}

/* Column arrays for the batch statements, one element per renewal. */
typedef struct RenewalArrays
{
	int			n;
	Datum	   *account;		/* int8 */
	Datum	   *subscription;	/* uuid */
	Datum	   *old_end;		/* date */
	Datum	   *start;			/* date: term start, and the charge's start */
	Datum	   *end;			/* date */
	Datum	   *deadline;		/* timestamptz: cancellation_allowed_until */
	Datum	   *unit_price;		/* numeric */
	Datum	   *pricing_currency;	/* text */
	Datum	   *next_charge;	/* date, or NULL */
	bool	   *next_charge_null;
	Datum	   *quantity;		/* int4 */
	Datum	   *charge_end;		/* date */
	Datum	   *cycle_start;	/* date */
	Datum	   *days_in_cycle;	/* int4 */
	Datum	   *amount;			/* numeric */
	Datum	   *fx_rate;		/* numeric */
	Datum	   *reference;		/* uuid */
} RenewalArrays;

/* Prices and rates looked up once per batch: a renewal day has few keys. */
typedef struct PriceKey
{
	const char *sku_id;
	TermCode	term;
	BillingFrequency frequency;
	const char *currency;
	DateADT		on_date;
	bool		found;
	Numeric		unit_price;
	char	   *pricing_currency;
} PriceKey;

typedef struct RateKey
{
	const char *from;
	const char *to;
	Numeric		rate;			/* NULL: not recorded */
} RateKey;

#define LOOKUP_CACHE 32

typedef struct Lookups
{
	int			nprices;
	PriceKey	prices[LOOKUP_CACHE];
	int			nrates;
	RateKey		rates[LOOKUP_CACHE];
} Lookups;

static bool
FindPrice(Lookups *cache, const SubscriptionRow *sub, DateADT start,
		  Numeric *unit_price, char **pricing_currency)
{
	PriceKey   *key = NULL;
	int			i;

	for (i = 0; i < cache->nprices; i++)
	{
		key = &cache->prices[i];
		if (key->term == sub->term && key->frequency == sub->frequency &&
			key->on_date == start && strcmp(key->sku_id, sub->sku_id) == 0 &&
			strcmp(key->currency, sub->currency) == 0)
			break;
	}
	if (i == cache->nprices)
	{
		if (cache->nprices == LOOKUP_CACHE)
			return false;		/* an unusual batch: the per-row path copes */
		key = &cache->prices[cache->nprices++];
		key->sku_id = sub->sku_id;
		key->term = sub->term;
		key->frequency = sub->frequency;
		key->currency = sub->currency;
		key->on_date = start;
		key->found = csp_find_price(sub->sku_id, sub->term, sub->frequency, sub->currency,
									start, &key->unit_price, &key->pricing_currency);
	}
	*unit_price = key->unit_price;
	*pricing_currency = key->pricing_currency;
	return key->found;
}

static Numeric
FindRate(Lookups *cache, const char *from, const char *to, DateADT today)
{
	int			i;

	for (i = 0; i < cache->nrates; i++)
		if (strcmp(cache->rates[i].from, from) == 0 && strcmp(cache->rates[i].to, to) == 0)
			return cache->rates[i].rate;
	if (cache->nrates == LOOKUP_CACHE)
		return NULL;
	cache->rates[i].from = from;
	cache->rates[i].to = to;
	cache->rates[i].rate = csp_find_fx_rate(from, to, today);
	cache->nrates++;
	return cache->rates[i].rate;
}

/*
 * Whether the per-row path would do nothing but the plain renewal for this
 * subscription (see the file header).
 */
static bool
IsPlain(const SubscriptionRow *sub, bool nothing_scheduled, DateADT today)
{
	return strcmp(sub->status, "active") == 0 && sub->auto_renew && !sub->is_trial &&
		!sub->has_parent && nothing_scheduled && sub->quantity > 0 &&
		strcmp(sub->billing_type, "usage") != 0 &&
		(!sub->has_next_charge || sub->next_charge_date > sub->term_end) &&
		sub->term_end < today &&
		terms_natural_end(sub->term_end + 1, sub->term) >= today;
}

static void
AllocateArrays(RenewalArrays *a, int capacity)
{
	a->n = 0;
	a->account = palloc(sizeof(Datum) * capacity);
	a->subscription = palloc(sizeof(Datum) * capacity);
	a->old_end = palloc(sizeof(Datum) * capacity);
	a->start = palloc(sizeof(Datum) * capacity);
	a->end = palloc(sizeof(Datum) * capacity);
	a->deadline = palloc(sizeof(Datum) * capacity);
	a->unit_price = palloc(sizeof(Datum) * capacity);
	a->pricing_currency = palloc(sizeof(Datum) * capacity);
	a->next_charge = palloc(sizeof(Datum) * capacity);
	a->next_charge_null = palloc(sizeof(bool) * capacity);
	a->quantity = palloc(sizeof(Datum) * capacity);
	a->charge_end = palloc(sizeof(Datum) * capacity);
	a->cycle_start = palloc(sizeof(Datum) * capacity);
	a->days_in_cycle = palloc(sizeof(Datum) * capacity);
	a->amount = palloc(sizeof(Datum) * capacity);
	a->fx_rate = palloc(sizeof(Datum) * capacity);
	a->reference = palloc(sizeof(Datum) * capacity);
}

/*
 * Computes one plain renewal exactly as RenewOne would, and appends it to
 * the arrays; false (nothing appended) when it needs the per-row path.
 */
static bool
AddRenewal(RenewalArrays *a, Lookups *cache, const SubscriptionRow *sub,
		   DateADT today, TimestampTz now)
{
	SubscriptionRow renewed = *sub;
	ChargeLine	line;
	Numeric		fx_rate;
	DateADT		next_charge = 0;
	int			k = a->n;

	renewed.term_start = sub->term_end + 1;
	renewed.term_end = terms_natural_end(renewed.term_start, sub->term);
	if (!FindPrice(cache, sub, renewed.term_start, &renewed.unit_price, &renewed.pricing_currency))
		return false;
	fx_rate = FindRate(cache, renewed.pricing_currency, sub->currency, today);
	if (fx_rate == NULL)
		return false;

	csp_period_line(&renewed, "renew", renewed.term_start, sub->quantity, &line);
	line.fx_rate = fx_rate;

	a->account[k] = Int64GetDatum(sub->billing_account_id);
	a->subscription[k] = sub->subscription_id;
	a->old_end[k] = DateADTGetDatum(sub->term_end);
	a->start[k] = DateADTGetDatum(renewed.term_start);
	a->end[k] = DateADTGetDatum(renewed.term_end);
	/* R6.6: the new term's windows start when the renewal completes */
	a->deadline[k] = TimestampTzGetDatum(csp_cancellation_deadline(sub->publisher, sub->frequency, now));
	a->unit_price[k] = NumericGetDatum(renewed.unit_price);
	a->pricing_currency[k] = CStringGetTextDatum(renewed.pricing_currency);
	a->next_charge_null[k] = !csp_next_cycle_start(renewed.term_start, renewed.term_end,
												   sub->term, sub->frequency,
												   renewed.term_start, &next_charge);
	a->next_charge[k] = DateADTGetDatum(next_charge);
	a->quantity[k] = Int32GetDatum(sub->quantity);
	a->charge_end[k] = DateADTGetDatum(line.charge_end);
	a->cycle_start[k] = DateADTGetDatum(line.cycle_start);
	a->days_in_cycle[k] = Int32GetDatum(line.days_in_cycle);
	a->amount[k] = NumericGetDatum(csp_line_amount(&renewed, &line));
	a->fx_rate[k] = NumericGetDatum(fx_rate);
	a->reference[k] = csp_new_uuid();
	a->n++;
	return true;
}

/* The subscriptions take their new terms; every one must be updated. */
static void
UpdateTerms(const RenewalArrays *a, TimestampTz now)
{
	static CspPlan plan = {
		"UPDATE csp.subscription s"
		"   SET is_trial = false, term_start = u.term_start, term_end = u.term_end,"
		"       term_started_at = $1, cancellation_allowed_until = u.deadline,"
		"       unit_price = u.unit_price, pricing_currency = u.pricing_currency,"
		"       scheduled_change = NULL, next_charge_date = u.next_charge_date, promotion_id = NULL,"
		"       last_event_at = GREATEST(s.last_event_at, $1)"
		"  FROM ROWS FROM (pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::uuid[]),"
		"                  pg_catalog.unnest($4::date[]), pg_catalog.unnest($5::date[]),"
		"                  pg_catalog.unnest($6::date[]), pg_catalog.unnest($7::timestamptz[]),"
		"                  pg_catalog.unnest($8::numeric[]), pg_catalog.unnest($9::text[]),"
		"                  pg_catalog.unnest($10::date[]))"
		"       AS u (billing_account_id, subscription_id, old_end, term_start, term_end,"
		"             deadline, unit_price, pricing_currency, next_charge_date)"
		" WHERE s.billing_account_id = u.billing_account_id"
		"   AND s.subscription_id = u.subscription_id AND s.term_end = u.old_end",
		10, {TIMESTAMPTZOID, INT8ARRAYOID, UUIDARRAYOID, DATEARRAYOID, DATEARRAYOID,
		DATEARRAYOID, TIMESTAMPTZARRAYOID, NUMERICARRAYOID, TEXTARRAYOID, DATEARRAYOID}, NULL,
		CURSOR_OPT_GENERIC_PLAN
	};
	Datum		values[10];

	values[0] = TimestampTzGetDatum(now);
	values[1] = csp_array_of(a->account, NULL, a->n, INT8OID);
	values[2] = csp_array_of(a->subscription, NULL, a->n, UUIDOID);
	values[3] = csp_array_of(a->old_end, NULL, a->n, DATEOID);
	values[4] = csp_array_of(a->start, NULL, a->n, DATEOID);
	values[5] = csp_array_of(a->end, NULL, a->n, DATEOID);
	values[6] = csp_array_of(a->deadline, NULL, a->n, TIMESTAMPTZOID);
	values[7] = csp_array_of(a->unit_price, NULL, a->n, NUMERICOID);
	values[8] = csp_array_of(a->pricing_currency, NULL, a->n, TEXTOID);
	values[9] = csp_array_of(a->next_charge, a->next_charge_null, a->n, DATEOID);
	csp_spi_run(&plan, values, NULL, false, 0);
	if (SPI_processed != (uint64) a->n)
		elog(ERROR, "set-based renewal updated " UINT64_FORMAT " of %d subscriptions",
			 SPI_processed, a->n);
}

/*
 * R5.2, R6.6: all seats are a new lot, reducible for 168 hours from now;
 * R11.1: the new term's first cycle is charged in advance.  One statement:
 * the charge carries its lot's id.  A renew line that already exists for
 * the cycle is skipped, as in the per-row path.
 */
static void
InsertLotsAndCharges(const RenewalArrays *a, TimestampTz now)
{
	static CspPlan plan = {
		"WITH u AS ("
		"  SELECT * FROM ROWS FROM (pg_catalog.unnest($3::bigint[]), pg_catalog.unnest($4::uuid[]),"
		"         pg_catalog.unnest($5::date[]), pg_catalog.unnest($6::int4[]),"
		"         pg_catalog.unnest($7::date[]), pg_catalog.unnest($8::date[]),"
		"         pg_catalog.unnest($9::int4[]), pg_catalog.unnest($10::numeric[]),"
		"         pg_catalog.unnest($11::numeric[]), pg_catalog.unnest($12::uuid[]))"
		"       AS u (billing_account_id, subscription_id, term_start, quantity, charge_end,"
		"             cycle_start, days_in_cycle, amount, fx_rate, reference_id)"
		"), lots AS ("
		"  INSERT INTO csp.seat_lot (billing_account_id, subscription_id, term_start, source,"
		"         added_at, reducible_until, quantity_added, quantity)"
		"  SELECT billing_account_id, subscription_id, term_start, 'renewal', $1, $2, quantity, quantity"
		"    FROM u"
		"  RETURNING billing_account_id, subscription_id, lot_id"
		BATCH_PERIODS
		"), lines AS ("
		" INSERT INTO csp.charge (" CSP_CHARGE_COLUMNS ", lot_id, billing_period_start)"
		" SELECT " CHARGE_SUBSCRIPTION_COLUMNS ", 'renew', u.term_start, u.charge_end,"
		"        u.cycle_start, $1, u.quantity, s.unit_price, u.charge_end - u.term_start + 1,"
		"        u.days_in_cycle, u.amount, s.currency, s.pricing_currency, u.fx_rate,"
		"        u.reference_id, l.lot_id, pe.period_start"
		"   FROM u"
		"   JOIN lots l ON l.billing_account_id = u.billing_account_id"
		"              AND l.subscription_id = u.subscription_id"
		"   JOIN csp.subscription s ON s.billing_account_id = u.billing_account_id"
		"                          AND s.subscription_id = u.subscription_id"
		CHARGE_PERIOD_JOIN
		CSP_CHARGE_SKIP_CYCLE_DUPLICATE CSP_CHARGE_RETURNING_PERIODS ")"
		CSP_CHARGE_OPEN_PERIODS,
		12, {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID, UUIDARRAYOID, DATEARRAYOID,
		INT4ARRAYOID, DATEARRAYOID, DATEARRAYOID, INT4ARRAYOID, NUMERICARRAYOID,
		NUMERICARRAYOID, UUIDARRAYOID}, NULL, CURSOR_OPT_GENERIC_PLAN
	};
	Datum		values[12];

	values[0] = TimestampTzGetDatum(now);
	values[1] = TimestampTzGetDatum(now + CSP_WINDOW_USECS);
	values[2] = csp_array_of(a->account, NULL, a->n, INT8OID);
	values[3] = csp_array_of(a->subscription, NULL, a->n, UUIDOID);
	values[4] = csp_array_of(a->start, NULL, a->n, DATEOID);
	values[5] = csp_array_of(a->quantity, NULL, a->n, INT4OID);
	values[6] = csp_array_of(a->charge_end, NULL, a->n, DATEOID);
	values[7] = csp_array_of(a->cycle_start, NULL, a->n, DATEOID);
	values[8] = csp_array_of(a->days_in_cycle, NULL, a->n, INT4OID);
	values[9] = csp_array_of(a->amount, NULL, a->n, NUMERICOID);
	values[10] = csp_array_of(a->fx_rate, NULL, a->n, NUMERICOID);
	values[11] = csp_array_of(a->reference, NULL, a->n, UUIDOID);
	LockProfilesForPosting(values[2], values[3]);
	csp_ledger_insert_lines(&plan, values, NULL);
}

/*
 * The subscriptions ids[0..n-1] as rows of the subscription's columns
 * (CSP_SUBSCRIPTION_COLUMNS, read by csp_subscription_from_tuple), then
 * "nothing scheduled" and the row's position in ids (1-based).
 */
#define Anum_batch_nothing_scheduled	(CSP_SUBSCRIPTION_NCOLUMNS + 1)
#define Anum_batch_position				(CSP_SUBSCRIPTION_NCOLUMNS + 2)

static SPITupleTable *
LoadBatch(const Datum *ids, int n, uint64 *nrows)
{
	static CspPlan load = {
		"SELECT " CSP_SUBSCRIPTION_COLUMNS ", s.scheduled_change IS NULL, k.position"
		" FROM pg_catalog.unnest($1::uuid[]) WITH ORDINALITY AS k (id, position)"
		" JOIN csp.subscription s ON s.subscription_id = k.id"
		" JOIN csp.product p ON p.sku_id = s.sku_id"
		" JOIN csp.customer c ON c.customer_id = s.customer_id",
		1, {UUIDARRAYOID}, NULL, CURSOR_OPT_GENERIC_PLAN
	};
	Datum		id_array = csp_array_of((Datum *) ids, NULL, n, UUIDOID);

	csp_spi_run(&load, &id_array, NULL, true, 0);
	*nrows = SPI_processed;
	return SPI_tuptable;
}

/*
 * Every item of a batch is written at the instant it fell due (R6.6: the
 * day after the term end; R11.1: the cycle's start), however late the job
 * runs.  A batch usually holds one due date; when a late job catches up
 * several, each date's items are written together, at that date's instant.
 * "due[i]" is the due date of row i, or DATEVAL_NOEND when the per-row
 * path takes it; returns the earliest date left after "after".
 */
static DateADT
NextDueDate(const DateADT *due, uint64 n, DateADT after)
{
	DateADT		next = DATEVAL_NOEND;
	uint64		i;

	for (i = 0; i < n; i++)
		if (due[i] > after && due[i] < next)
			next = due[i];
	return next;
}

/* The plain renewals among "rows" due on "day", written at its instant. */
static int
RenewDueOn(SPITupleTable *rows, uint64 nrows, const DateADT *due, DateADT day,
		   DateADT today, bool *done, int n)
{
	RenewalArrays a;
	Lookups    *cache = palloc0(sizeof(Lookups));
	int64	   *positions = palloc(sizeof(int64) * n);
	CspInstant	previous;
	TimestampTz now = csp_start_of_day(day);
	uint64		i;

	AllocateArrays(&a, n);
	for (i = 0; i < nrows; i++)
	{
		SubscriptionRow sub;
		bool		isnull;

		if (due[i] != day)
			continue;
		csp_subscription_from_tuple(rows->vals[i], rows->tupdesc, &sub);
		if (AddRenewal(&a, cache, &sub, day, now))
			positions[a.n - 1] = DatumGetInt64(SPI_getbinval(rows->vals[i], rows->tupdesc,
															 Anum_batch_position, &isnull));
	}
	(void) today;
	if (a.n == 0)
		return 0;

	/* an error leaves the batch to the caller, who rolls it back and restores nothing else */
	previous = csp_enter_instant(now);
	UpdateTerms(&a, now);
	InsertLotsAndCharges(&a, now);
	csp_leave_instant(previous);
	for (i = 0; i < (uint64) a.n; i++)
		done[positions[i] - 1] = true;
	return a.n;
}

/*
 * Renews the plain subscriptions among ids[0..n-1] (locked by the caller)
 * and sets done[i] for each one renewed; returns how many.  Runs inside a
 * subtransaction and an SPI connection of the caller's.
 */
int
csp_renew_batch(const Datum *ids, int n, bool *done, const CspRenewalRun *run)
{
	DateADT		today = run->today;
	SPITupleTable *rows;
	uint64		nrows,
				i;
	DateADT    *due;
	DateADT		day = DATEVAL_NOBEGIN;
	int			renewed = 0;

	rows = LoadBatch(ids, n, &nrows);
	due = palloc(sizeof(DateADT) * (nrows + 1));
	for (i = 0; i < nrows; i++)
	{
		SubscriptionRow sub;
		bool		isnull;
		bool		nothing_scheduled;

		csp_subscription_from_tuple(rows->vals[i], rows->tupdesc, &sub);
		nothing_scheduled = DatumGetBool(SPI_getbinval(rows->vals[i], rows->tupdesc,
													   Anum_batch_nothing_scheduled, &isnull));
		due[i] = IsPlain(&sub, nothing_scheduled, today) ? sub.term_end + 1 : DATEVAL_NOEND;
	}
	while ((day = NextDueDate(due, nrows, day)) != DATEVAL_NOEND)
		renewed += RenewDueOn(rows, nrows, due, day, today, done, n);
	return renewed;
}

/*
 * Cycle charges (R11.1): the subscriptions among ids[0..n-1] (locked by
 * the caller) that owe exactly one cycle get its charge and their next
 * charge date in two statements; done[i] is set for each one taken.  arg
 * is run_cycle_charges' (today, posted count).  Returns how many it took.
 */
typedef struct CycleArrays
{
	int			n;
	Datum	   *account;		/* int8 */
	Datum	   *subscription;	/* uuid */
	Datum	   *old_next;		/* date: the due cycle's start */
	Datum	   *next_charge;	/* date, or NULL */
	bool	   *next_charge_null;
	Datum	   *charge_start;	/* date */
	Datum	   *charge_end;		/* date */
	Datum	   *cycle_start;	/* date */
	Datum	   *days_in_cycle;	/* int4 */
	Datum	   *amount;			/* numeric */
	Datum	   *fx_rate;		/* numeric */
	Datum	   *reference;		/* uuid */
} CycleArrays;

static void
AllocateCycleArrays(CycleArrays *a, int capacity)
{
	a->n = 0;
	a->account = palloc(sizeof(Datum) * capacity);
	a->subscription = palloc(sizeof(Datum) * capacity);
	a->old_next = palloc(sizeof(Datum) * capacity);
	a->next_charge = palloc(sizeof(Datum) * capacity);
	a->next_charge_null = palloc(sizeof(bool) * capacity);
	a->charge_start = palloc(sizeof(Datum) * capacity);
	a->charge_end = palloc(sizeof(Datum) * capacity);
	a->cycle_start = palloc(sizeof(Datum) * capacity);
	a->days_in_cycle = palloc(sizeof(Datum) * capacity);
	a->amount = palloc(sizeof(Datum) * capacity);
	a->fx_rate = palloc(sizeof(Datum) * capacity);
	a->reference = palloc(sizeof(Datum) * capacity);
}

/*
 * The one cycle a subscription owes, as csp_charge_due_cycles would post
 * it; false (nothing appended) when it needs the per-row path: no cycle or
 * several due, no seats, or no exchange rate.
 */
static bool
AddCycle(CycleArrays *a, Lookups *cache, const SubscriptionRow *sub, DateADT today)
{
	TermsCycle	cycle;
	ChargeLine	line;
	DateADT		due = sub->next_charge_date;
	DateADT		next = 0;
	bool		has_next;
	Numeric		fx_rate;
	int			k = a->n;

	if (!sub->has_next_charge || due > today || due > sub->term_end || sub->quantity <= 0 ||
		(strcmp(sub->status, "active") != 0 && strcmp(sub->status, "suspended") != 0))
		return false;
	if (!terms_cycle_containing(sub->term_start, sub->term_end, sub->term, sub->frequency,
								due, &cycle))
		return false;
	has_next = csp_next_cycle_start(sub->term_start, sub->term_end, sub->term, sub->frequency,
									due, &next);
	if (has_next && next <= today && next <= sub->term_end)
		return false;			/* several cycles to catch up */
	if (has_next && next > sub->term_end)
		has_next = false;
	/* R12.3: the rate of the day the cycle falls due, as the per-row path */
	fx_rate = FindRate(cache, sub->pricing_currency, sub->currency, due);
	if (fx_rate == NULL)
		return false;

	csp_cycle_line(sub, "cycleCharge", &cycle, sub->quantity, &line);
	line.fx_rate = fx_rate;

	a->account[k] = Int64GetDatum(sub->billing_account_id);
	a->subscription[k] = sub->subscription_id;
	a->old_next[k] = DateADTGetDatum(due);
	a->next_charge[k] = DateADTGetDatum(next);
	a->next_charge_null[k] = !has_next;
	a->charge_start[k] = DateADTGetDatum(line.charge_start);
	a->charge_end[k] = DateADTGetDatum(line.charge_end);
	a->cycle_start[k] = DateADTGetDatum(line.cycle_start);
	a->days_in_cycle[k] = Int32GetDatum(line.days_in_cycle);
	a->amount[k] = NumericGetDatum(csp_line_amount(sub, &line));
	a->fx_rate[k] = NumericGetDatum(fx_rate);
	a->reference[k] = csp_new_uuid();
	a->n++;
	return true;
}

/* Every subscription taken moves its next charge date on; all must move. */
static void
MoveNextChargeDates(const CycleArrays *a)
{
	static CspPlan plan = {
		"UPDATE csp.subscription s SET next_charge_date = u.next_charge_date,"
		"       last_event_at = GREATEST(s.last_event_at, $5)"
		"  FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::uuid[]),"
		"                  pg_catalog.unnest($3::date[]), pg_catalog.unnest($4::date[]))"
		"       AS u (billing_account_id, subscription_id, old_next, next_charge_date)"
		" WHERE s.billing_account_id = u.billing_account_id"
		"   AND s.subscription_id = u.subscription_id AND s.next_charge_date = u.old_next",
		5, {INT8ARRAYOID, UUIDARRAYOID, DATEARRAYOID, DATEARRAYOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[5];

	values[0] = csp_array_of(a->account, NULL, a->n, INT8OID);
	values[1] = csp_array_of(a->subscription, NULL, a->n, UUIDOID);
	values[2] = csp_array_of(a->old_next, NULL, a->n, DATEOID);
	values[3] = csp_array_of(a->next_charge, a->next_charge_null, a->n, DATEOID);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, NULL, false, 0);
	if (SPI_processed != (uint64) a->n)
		elog(ERROR, "set-based cycle charge moved " UINT64_FORMAT " of %d subscriptions",
			 SPI_processed, a->n);
}

/*
 * One statement posts the cycle charges; a line that already exists for
 * the cycle is skipped, which keeps the job idempotent.  Returns the lines
 * posted.
 */
static int64
PostCycles(const CycleArrays *a, TimestampTz now)
{
	static CspPlan plan = {
		"WITH u AS ("
		"  SELECT * FROM ROWS FROM (pg_catalog.unnest($2::bigint[]), pg_catalog.unnest($3::uuid[]),"
		"                   pg_catalog.unnest($4::date[]), pg_catalog.unnest($5::date[]),"
		"                   pg_catalog.unnest($6::date[]), pg_catalog.unnest($7::int4[]),"
		"                   pg_catalog.unnest($8::numeric[]), pg_catalog.unnest($9::numeric[]),"
		"                   pg_catalog.unnest($10::uuid[]))"
		"        AS u (billing_account_id, subscription_id, charge_start, charge_end, cycle_start,"
		"              days_in_cycle, amount, fx_rate, reference_id)"
		BATCH_PERIODS
		"), lines AS ("
		"INSERT INTO csp.charge (" CSP_CHARGE_COLUMNS ", billing_period_start)"
		" SELECT " CHARGE_SUBSCRIPTION_COLUMNS ", 'cycleCharge', u.charge_start,"
		"        u.charge_end, u.cycle_start, $1, s.quantity, s.unit_price,"
		"        u.charge_end - u.charge_start + 1, u.days_in_cycle, u.amount, s.currency,"
		"        s.pricing_currency, u.fx_rate, u.reference_id, pe.period_start"
		"   FROM u"
		"   JOIN csp.subscription s ON s.billing_account_id = u.billing_account_id"
		"                          AND s.subscription_id = u.subscription_id"
		CHARGE_PERIOD_JOIN
		CSP_CHARGE_SKIP_CYCLE_DUPLICATE CSP_CHARGE_RETURNING_PERIODS ")"
		CSP_CHARGE_OPEN_PERIODS,
		10, {TIMESTAMPTZOID, INT8ARRAYOID, UUIDARRAYOID, DATEARRAYOID, DATEARRAYOID,
			DATEARRAYOID, INT4ARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID, UUIDARRAYOID},
		NULL, 0
	};
	Datum		values[10];

	values[0] = TimestampTzGetDatum(now);
	values[1] = csp_array_of(a->account, NULL, a->n, INT8OID);
	values[2] = csp_array_of(a->subscription, NULL, a->n, UUIDOID);
	values[3] = csp_array_of(a->charge_start, NULL, a->n, DATEOID);
	values[4] = csp_array_of(a->charge_end, NULL, a->n, DATEOID);
	values[5] = csp_array_of(a->cycle_start, NULL, a->n, DATEOID);
	values[6] = csp_array_of(a->days_in_cycle, NULL, a->n, INT4OID);
	values[7] = csp_array_of(a->amount, NULL, a->n, NUMERICOID);
	values[8] = csp_array_of(a->fx_rate, NULL, a->n, NUMERICOID);
	values[9] = csp_array_of(a->reference, NULL, a->n, UUIDOID);
	LockProfilesForPosting(values[1], values[2]);
	return csp_ledger_insert_lines(&plan, values, NULL);
}

/* The single due cycles among "rows" starting on "day", posted at its instant. */
static int
ChargeDueOn(SPITupleTable *rows, uint64 nrows, const DateADT *due, DateADT day,
			DateADT today, bool *done, int n, int64 *posted)
{
	CycleArrays a;
	Lookups    *cache = palloc0(sizeof(Lookups));
	int64	   *positions = palloc(sizeof(int64) * n);
	CspInstant	previous;
	uint64		i;

	AllocateCycleArrays(&a, n);
	for (i = 0; i < nrows; i++)
	{
		SubscriptionRow sub;
		bool		isnull;

		if (due[i] != day)
			continue;
		csp_subscription_from_tuple(rows->vals[i], rows->tupdesc, &sub);
		if (AddCycle(&a, cache, &sub, today))
			positions[a.n - 1] = DatumGetInt64(SPI_getbinval(rows->vals[i], rows->tupdesc,
															 Anum_batch_position, &isnull));
	}
	if (a.n == 0)
		return 0;

	/* the per-row path charges first and then moves the date: the same rows result */
	previous = csp_enter_instant(csp_start_of_day(day));
	*posted += PostCycles(&a, csp_now());
	MoveNextChargeDates(&a);
	csp_leave_instant(previous);
	for (i = 0; i < (uint64) a.n; i++)
		done[positions[i] - 1] = true;
	return a.n;
}

int
csp_charge_batch(const Datum *ids, int n, bool *done, CspCycleChargeRun *run)
{
	DateADT		today = run->today;
	int64	   *posted = &run->posted;
	SPITupleTable *rows;
	uint64		nrows,
				i;
	DateADT    *due;
	DateADT		day = DATEVAL_NOBEGIN;
	int			taken = 0;

	rows = LoadBatch(ids, n, &nrows);
	due = palloc(sizeof(DateADT) * (nrows + 1));
	for (i = 0; i < nrows; i++)
	{
		SubscriptionRow sub;

		csp_subscription_from_tuple(rows->vals[i], rows->tupdesc, &sub);
		due[i] = sub.has_next_charge ? sub.next_charge_date : DATEVAL_NOEND;
	}
	while ((day = NextDueDate(due, nrows, day)) != DATEVAL_NOEND)
		taken += ChargeDueOn(rows, nrows, due, day, today, done, n, posted);
	return taken;
}
