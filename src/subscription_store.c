/*-------------------------------------------------------------------------
 *
 * subscription_store.c
 *	  The store of the subscription aggregate: the only file with SQL on
 *	  csp.subscription and csp.seat_lot.
 *
 * Callers work on CspSubscription and the typed rows of
 * subscription_store.h; every statement on the two tables is here, next
 * to the Anum_ / parameter names its results and arguments are read and
 * passed by.  A new column means one edit here, and one in
 * subscription_store.h when it is read.  The set-based job paths keep
 * their bulk statements in job_batch.c, a declared room of their own, and
 * read rows with CSP_SUBSCRIPTION_COLUMNS and csp_subscription_from_tuple.
 *
 * Every statement on one subscription takes its key (billing_account_id,
 * subscription_id) as $1 and $2 (RunOnSubscription).  Lock order: the
 * customer (customers.c), then its subscriptions, then their lots and
 * charges.
 *
 * src/subscription_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#define SUBSCRIPTION_SELECT \
	"SELECT " CSP_SUBSCRIPTION_COLUMNS CSP_SUBSCRIPTION_FROM " WHERE s.subscription_id = $1"

/* A row of CSP_SUBSCRIPTION_COLUMNS (the first CSP_SUBSCRIPTION_NCOLUMNS columns of t). */
void
csp_subscription_from_tuple(HeapTuple t, TupleDesc d, CspSubscription *sub)
{
	bool		isnull;

	sub->billing_account_id = DatumGetInt64(SPI_getbinval(t, d, Anum_subscription_billing_account_id, &isnull));
	sub->subscription_id = SPI_getbinval(t, d, Anum_subscription_subscription_id, &isnull);
	sub->billing_profile_id = DatumGetInt64(SPI_getbinval(t, d, Anum_subscription_billing_profile_id, &isnull));
	sub->invoice_section_id = DatumGetInt64(SPI_getbinval(t, d, Anum_subscription_invoice_section_id, &isnull));
	sub->customer_id = SPI_getbinval(t, d, Anum_subscription_customer_id, &isnull);
	sub->partner_id = SPI_getvalue(t, d, Anum_subscription_partner_id);
	sub->sku_id = SPI_getvalue(t, d, Anum_subscription_sku_id);
	sub->quantity = DatumGetInt32(SPI_getbinval(t, d, Anum_subscription_quantity, &isnull));
	sub->status = SPI_getvalue(t, d, Anum_subscription_status);
	sub->is_trial = DatumGetBool(SPI_getbinval(t, d, Anum_subscription_is_trial, &isnull));
	sub->auto_renew = DatumGetBool(SPI_getbinval(t, d, Anum_subscription_auto_renew, &isnull));
	sub->term = terms_parse_term(SPI_getvalue(t, d, Anum_subscription_term));
	sub->frequency = terms_parse_frequency(SPI_getvalue(t, d, Anum_subscription_billing_frequency));
	sub->term_start = DatumGetDateADT(SPI_getbinval(t, d, Anum_subscription_term_start, &isnull));
	sub->term_end = DatumGetDateADT(SPI_getbinval(t, d, Anum_subscription_term_end, &isnull));
	sub->term_started_at = DatumGetTimestampTz(SPI_getbinval(t, d, Anum_subscription_term_started_at, &isnull));
	sub->cancellation_allowed_until =
		DatumGetTimestampTz(SPI_getbinval(t, d, Anum_subscription_cancellation_allowed_until, &isnull));
	sub->unit_price = DatumGetNumeric(SPI_getbinval(t, d, Anum_subscription_unit_price, &isnull));
	sub->currency = SPI_getvalue(t, d, Anum_subscription_currency);
	sub->pricing_currency = SPI_getvalue(t, d, Anum_subscription_pricing_currency);
	sub->parent_subscription_id = SPI_getbinval(t, d, Anum_subscription_parent_subscription_id, &isnull);
	sub->has_parent = !isnull;
	sub->update_count = DatumGetInt32(SPI_getbinval(t, d, Anum_subscription_update_count, &isnull));
	sub->publisher = SPI_getvalue(t, d, Anum_subscription_publisher);
	sub->billing_type = SPI_getvalue(t, d, Anum_subscription_billing_type);
	sub->verification_status = SPI_getvalue(t, d, Anum_subscription_verification_status);
	sub->next_charge_date = DatumGetDateADT(SPI_getbinval(t, d, Anum_subscription_next_charge_date, &isnull));
	sub->has_next_charge = !isnull;
	sub->last_event_at = DatumGetTimestampTz(SPI_getbinval(t, d, Anum_subscription_last_event_at, &isnull));
}

/* Loads a subscription (optionally locking it); false when unknown. */
bool
csp_load_subscription(Datum subscription_id, CspSubscription *sub, bool for_update)
{
	static CspPlan plain = {SUBSCRIPTION_SELECT, 1, {UUIDOID}, NULL, 0
	};
	static CspPlan locking = {SUBSCRIPTION_SELECT " FOR UPDATE OF s", 1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(for_update ? &locking : &plain, &subscription_id, NULL, !for_update, 1);
	if (SPI_processed == 0)
		return false;
	csp_subscription_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, sub);
	return true;
}

/*
 * Runs a statement about one subscription: $1 and $2 are its key
 * (billing_account_id, subscription_id), $3.. the "nargs" values given.
 */
static void
RunOnSubscription(CspPlan *plan, const CspSubscription *sub,
				  const Datum *args, const char *arg_nulls, int nargs)
{
	Datum		values[CSP_PLAN_MAX_ARGS];
	char		nulls[CSP_PLAN_MAX_ARGS];
	int			i;

	Assert(nargs + 2 <= CSP_PLAN_MAX_ARGS && plan->nargs == nargs + 2);
	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	nulls[0] = nulls[1] = ' ';
	for (i = 0; i < nargs; i++)
	{
		values[i + 2] = args[i];
		nulls[i + 2] = arg_nulls ? arg_nulls[i] : ' ';
	}
	csp_spi_run(plan, values, nulls, false, 0);
}

/* The change scheduled for the renewal (R7), or NULL. */
Jsonb *
csp_store_scheduled_change(const CspSubscription *sub)
{
	static CspPlan plan = {
		"SELECT scheduled_change FROM csp.subscription"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		2, {INT8OID, UUIDOID}, NULL, 0
	};
#define Anum_scheduled_change 1
	Datum		values[2];
	bool		isnull;
	Datum		change;

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	csp_spi_run(&plan, values, NULL, true, 1);
	change = csp_spi_getdatum(0, Anum_scheduled_change, &isnull);
	return isnull ? NULL : DatumGetJsonbP(change);
}

/* The number of active or suspended add-ons attached to a base. */
int64
csp_store_live_addons(const CspSubscription *base)
{
	static CspPlan plan = {
		"SELECT count(*) FROM csp.subscription"
		" WHERE billing_account_id = $1 AND parent_subscription_id = $2"
		"   AND status IN ('active', 'suspended')",
		2, {INT8OID, UUIDOID}, NULL, 0
	};
#define Anum_live_addons_count 1
	Datum		values[2];
	bool		isnull;

	values[0] = Int64GetDatum(base->billing_account_id);
	values[1] = base->subscription_id;
	csp_spi_run(&plan, values, NULL, true, 1);
	return DatumGetInt64(csp_spi_getdatum(0, Anum_live_addons_count, &isnull));
}

/* The UTC day the subscription was bought (R11.3: usage is recorded from it). */
DateADT
csp_store_purchase_day(const CspSubscription *sub)
{
	static CspPlan plan = {
		"SELECT csp.utc_date(purchased_at) FROM csp.subscription"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		2, {INT8OID, UUIDOID}, NULL, 0
	};
#define Anum_purchase_day 1
	Datum		values[2];
	bool		isnull;

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	csp_spi_run(&plan, values, NULL, true, 1);
	return DatumGetDateADT(csp_spi_getdatum(0, Anum_purchase_day, &isnull));
}

/*
 * Inserts a subscription, active; returns its id.  The 23 parameters are
 * named by InsertParam, in the order of the VALUES list.
 */
typedef enum InsertParam
{
	InsertParam_billing_account_id,
	InsertParam_billing_profile_id,
	InsertParam_invoice_section_id,
	InsertParam_customer_id,
	InsertParam_partner_id,
	InsertParam_sku_id,
	InsertParam_friendly_name,
	InsertParam_quantity,
	InsertParam_is_trial,
	InsertParam_auto_renew,
	InsertParam_term,
	InsertParam_billing_frequency,
	InsertParam_term_start,
	InsertParam_term_end,
	InsertParam_term_started_at,	/* also purchased_at */
	InsertParam_cancellation_allowed_until,
	InsertParam_unit_price,
	InsertParam_currency,
	InsertParam_pricing_currency,
	InsertParam_parent_subscription_id,
	InsertParam_reseller_id,
	InsertParam_additional_resellers,
	InsertParam_next_charge_date,
	InsertParam_count
} InsertParam;

Datum
csp_store_insert_subscription(const NewSubscription *ns, bool has_next_charge, DateADT next_charge)
{
	static CspPlan insert = {
		"INSERT INTO csp.subscription (billing_account_id, billing_profile_id, invoice_section_id,"
		"  customer_id, partner_id, sku_id, friendly_name, quantity, status, is_trial, auto_renew,"
		"  term, billing_frequency, term_start, term_end, term_started_at, cancellation_allowed_until,"
		"  unit_price, currency, pricing_currency, parent_subscription_id, reseller_id,"
		"  additional_resellers, purchased_at, next_charge_date)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $12, $13, $14, $15, $16,"
		"  $17, $18, $19, $20, $21, coalesce($22, '{}'), $15, $23)"
		" RETURNING subscription_id",
		InsertParam_count,
		{INT8OID, INT8OID, INT8OID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BOOLOID,
			BOOLOID, TEXTOID, TEXTOID, DATEOID, DATEOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		NUMERICOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID, TEXTARRAYOID, DATEOID}, NULL, 0
	};
#define Anum_insert_subscription_id 1
	Datum		v[InsertParam_count];
	char		n[InsertParam_count];
	bool		isnull;

	memset(n, ' ', sizeof(n));
	v[InsertParam_billing_account_id] = Int64GetDatum(ns->billing_account_id);
	v[InsertParam_billing_profile_id] = Int64GetDatum(ns->billing_profile_id);
	v[InsertParam_invoice_section_id] = Int64GetDatum(ns->invoice_section_id);
	v[InsertParam_customer_id] = ns->customer_id;
	v[InsertParam_partner_id] = CStringGetTextDatum(ns->partner_id);
	v[InsertParam_sku_id] = CStringGetTextDatum(ns->sku_id);
	v[InsertParam_friendly_name] = CSP_TEXT(ns->friendly_name);
	n[InsertParam_friendly_name] = ns->friendly_name ? ' ' : 'n';
	v[InsertParam_quantity] = Int32GetDatum(ns->quantity);
	v[InsertParam_is_trial] = BoolGetDatum(ns->is_trial);
	v[InsertParam_auto_renew] = BoolGetDatum(ns->auto_renew);
	v[InsertParam_term] = CStringGetTextDatum(terms_term_name(ns->term));
	v[InsertParam_billing_frequency] = CStringGetTextDatum(terms_frequency_name(ns->frequency));
	v[InsertParam_term_start] = DateADTGetDatum(ns->start);
	v[InsertParam_term_end] = DateADTGetDatum(ns->end);
	v[InsertParam_term_started_at] = TimestampTzGetDatum(csp_now());
	v[InsertParam_cancellation_allowed_until] = TimestampTzGetDatum(ns->cancellation_allowed_until);
	v[InsertParam_unit_price] = NumericGetDatum(ns->unit_price);
	v[InsertParam_currency] = CStringGetTextDatum(ns->currency);
	v[InsertParam_pricing_currency] = CStringGetTextDatum(ns->pricing_currency);
	v[InsertParam_parent_subscription_id] = ns->parent_subscription_id;
	n[InsertParam_parent_subscription_id] = ns->has_parent ? ' ' : 'n';
	v[InsertParam_reseller_id] = CSP_TEXT(ns->reseller_id);
	n[InsertParam_reseller_id] = ns->reseller_id ? ' ' : 'n';
	v[InsertParam_additional_resellers] = PointerGetDatum(ns->additional_resellers);
	n[InsertParam_additional_resellers] = ns->additional_resellers ? ' ' : 'n';
	v[InsertParam_next_charge_date] = DateADTGetDatum(next_charge);
	n[InsertParam_next_charge_date] = has_next_charge ? ' ' : 'n';
	csp_spi_run(&insert, v, n, false, 0);
	return SPI_datumTransfer(csp_spi_getdatum(0, Anum_insert_subscription_id, &isnull), false, UUID_LEN);
}

/* Counts one update (R4.9); the caller checked the limit. */
void
csp_store_count_update(const CspSubscription *sub)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET update_count = update_count + 1"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		2, {INT8OID, UUIDOID}, NULL, 0
	};

	RunOnSubscription(&plan, sub, NULL, NULL, 0);
}

/* The new quantity (seats moved by an upgrade or a transfer; not counted, R4.9). */
void
csp_store_set_quantity(const CspSubscription *sub, int32 quantity)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET quantity = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, INT4OID}, NULL, 0
	};
	Datum		arg = Int32GetDatum(quantity);

	RunOnSubscription(&plan, sub, &arg, NULL, 1);
}

/*
 * A csp.change_quantity call in one UPDATE (csp_lock_for_change): the new
 * quantity, one update counted (R4.9) and "event" as the latest event
 * (NC016).  Its audit row is what the two UPDATEs it replaces wrote: the
 * event clock is not audited on its own (audit.c, OnlyEventClockMoved), so
 * it does not show among the changed columns either.
 */
void
csp_store_change_quantity(const CspSubscription *sub, int32 quantity, TimestampTz event)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET quantity = $3, update_count = update_count + 1,"
		"       last_event_at = GREATEST(last_event_at, $4)"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		4, {INT8OID, UUIDOID, INT4OID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[2];

	args[0] = Int32GetDatum(quantity);
	args[1] = TimestampTzGetDatum(event);
	csp_audit_event_clock_as_recorded(true);
	RunOnSubscription(&plan, sub, args, NULL, 2);
	csp_audit_event_clock_as_recorded(false);
}

/* Moves the latest event of a subscription forward to "instant" (NC016). */
void
csp_store_record_event(const CspSubscription *sub, TimestampTz instant)
{
	static CspPlan record = {
		"UPDATE csp.subscription SET last_event_at = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND last_event_at < $3",
		3, {INT8OID, UUIDOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		arg = TimestampTzGetDatum(instant);

	RunOnSubscription(&record, sub, &arg, NULL, 1);
}

/* Moves a subscription along the state machine (the trigger checks the edge). */
void
csp_set_subscription_status(const CspSubscription *sub, const char *status)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET status = $3, last_event_at = GREATEST(last_event_at, $4)"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		4, {INT8OID, UUIDOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[2];

	args[0] = CStringGetTextDatum(status);
	args[1] = TimestampTzGetDatum(csp_now());
	RunOnSubscription(&plan, sub, args, NULL, 2);
}

/* Moves the add-ons of a base from one status to another (R4.8). */
void
csp_store_set_addon_status(const CspSubscription *base, const char *from, const char *to)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET status = $4"
		" WHERE billing_account_id = $1 AND parent_subscription_id = $2 AND status = $3",
		4, {INT8OID, UUIDOID, TEXTOID, TEXTOID}, NULL, 0
	};
	Datum		args[2];

	args[0] = CStringGetTextDatum(from);
	args[1] = CStringGetTextDatum(to);
	RunOnSubscription(&plan, base, args, NULL, 2);
}

void
csp_store_set_auto_renew(const CspSubscription *sub, bool enabled)
{
	static CspPlan set = {
		"UPDATE csp.subscription SET auto_renew = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, BOOLOID}, NULL, 0
	};
	Datum		arg = BoolGetDatum(enabled);

	RunOnSubscription(&set, sub, &arg, NULL, 1);
}

void
csp_store_set_friendly_name(const CspSubscription *sub, const char *name)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET friendly_name = $3"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		3, {INT8OID, UUIDOID, TEXTOID}, NULL, 0
	};
	Datum		arg = CStringGetTextDatum(name);

	RunOnSubscription(&plan, sub, &arg, NULL, 1);
}

/* Saves a scheduled change (R7.4), as one jsonb object of its present parts. */
void
csp_store_save_scheduled_change(const CspSubscription *sub, const CspScheduledChange *change)
{
	static CspPlan save = {
		"UPDATE csp.subscription SET scheduled_change = pg_catalog.jsonb_strip_nulls("
		"  pg_catalog.jsonb_build_object('sku_id', $3, 'quantity', $4, 'term', $5,"
		"    'billing_frequency', $6, 'coterm_end', $7))"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		7, {INT8OID, UUIDOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, DATEOID}, NULL, 0
	};
	Datum		args[5];
	char		nulls[5];

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CSP_TEXT(change->sku_id);
	nulls[0] = change->sku_id ? ' ' : 'n';
	args[1] = Int32GetDatum(change->quantity);
	nulls[1] = change->has_quantity ? ' ' : 'n';
	args[2] = CStringGetTextDatum(terms_term_name(change->term));
	args[3] = CStringGetTextDatum(terms_frequency_name(change->frequency));
	args[4] = DateADTGetDatum(change->coterm_end);
	nulls[4] = change->has_coterm_end ? ' ' : 'n';
	RunOnSubscription(&save, sub, args, nulls, 5);
}

/* Drops a scheduled change, if any (R7.3, R7.4, R8.5). */
void
csp_store_drop_scheduled_change(const CspSubscription *sub)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET scheduled_change = NULL"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND scheduled_change IS NOT NULL",
		2, {INT8OID, UUIDOID}, NULL, 0
	};

	RunOnSubscription(&plan, sub, NULL, NULL, 0);
}

/* An in-place upgrade (R8.3): the new SKU and price; the window closes (R8.2). */
void
csp_store_replace_sku(const CspSubscription *sub, const char *sku_id, Numeric unit_price,
					  const char *pricing_currency, TimestampTz now)
{
	static CspPlan update = {
		"UPDATE csp.subscription SET sku_id = $3, unit_price = $4, pricing_currency = $5,"
		"  cancellation_allowed_until = least(cancellation_allowed_until, $6), scheduled_change = NULL"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		6, {INT8OID, UUIDOID, TEXTOID, NUMERICOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[4];

	args[0] = CStringGetTextDatum(sku_id);
	args[1] = NumericGetDatum(unit_price);
	args[2] = CStringGetTextDatum(pricing_currency);
	args[3] = TimestampTzGetDatum(now);
	RunOnSubscription(&update, sub, args, NULL, 4);
}

/*
 * The next cycle to charge (or none) and, when a cycle was charged, its
 * start as an event of the subscription (NC016).
 */
void
csp_store_set_next_charge_date(const CspSubscription *sub, bool has_next, DateADT next,
							   bool has_event, TimestampTz event)
{
	static CspPlan plan = {
		"UPDATE csp.subscription SET next_charge_date = $3,"
		"       last_event_at = GREATEST(last_event_at, $4)"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[2];
	char		nulls[2] = {has_next ? ' ' : 'n', has_event ? ' ' : 'n'};

	args[0] = DateADTGetDatum(next);
	args[1] = TimestampTzGetDatum(event);
	RunOnSubscription(&plan, sub, args, nulls, 2);
}

/* A renewal's new term (R6.6); a trial becomes paid, the scheduled change is used up. */
void
csp_store_renew_term(const CspSubscription *sub, const CspRenewedTerm *renewed)
{
	static CspPlan update = {
		"UPDATE csp.subscription SET sku_id = $3, quantity = $4, is_trial = false, term = $5,"
		"  billing_frequency = $6, term_start = $7, term_end = $8, term_started_at = $9,"
		"  cancellation_allowed_until = $10, unit_price = $11, pricing_currency = $12,"
		"  scheduled_change = NULL, next_charge_date = $13, promotion_id = NULL,"
		"  last_event_at = GREATEST(last_event_at, $9)"
		" WHERE billing_account_id = $1 AND subscription_id = $2",
		13, {INT8OID, UUIDOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, DATEOID, DATEOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, NUMERICOID, TEXTOID, DATEOID}, NULL, 0
	};
	Datum		args[11];
	char		nulls[11];

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(renewed->sku_id);
	args[1] = Int32GetDatum(renewed->quantity);
	args[2] = CStringGetTextDatum(terms_term_name(renewed->term));
	args[3] = CStringGetTextDatum(terms_frequency_name(renewed->frequency));
	args[4] = DateADTGetDatum(renewed->start);
	args[5] = DateADTGetDatum(renewed->end);
	args[6] = TimestampTzGetDatum(renewed->started_at);
	args[7] = TimestampTzGetDatum(renewed->cancellation_allowed_until);
	args[8] = NumericGetDatum(renewed->unit_price);
	args[9] = CStringGetTextDatum(renewed->pricing_currency);
	args[10] = DateADTGetDatum(renewed->next_charge_date);
	nulls[10] = renewed->has_next_charge ? ' ' : 'n';
	RunOnSubscription(&update, sub, args, nulls, 11);
}

/*
 * A new seat lot with its 168-hour reduction window (R5.2); lots that come
 * from an upgrade or a transfer are not reducible (R8.2), so they pass
 * reducible_until = now.
 */
int64
csp_insert_seat_lot_until(const CspSubscription *sub, const char *source, int32 quantity,
						  TimestampTz reducible_until)
{
	static CspPlan plan = {
		"INSERT INTO csp.seat_lot (billing_account_id, subscription_id, term_start, source,"
		"  added_at, reducible_until, quantity_added, quantity)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING lot_id",
		7, {INT8OID, UUIDOID, DATEOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID}, NULL, 0
	};
#define Anum_insert_lot_id 1
	Datum		args[5];
	bool		isnull;

	args[0] = DateADTGetDatum(sub->term_start);
	args[1] = CStringGetTextDatum(source);
	args[2] = TimestampTzGetDatum(csp_now());
	args[3] = TimestampTzGetDatum(reducible_until);
	args[4] = Int32GetDatum(quantity);
	RunOnSubscription(&plan, sub, args, NULL, 5);
	return DatumGetInt64(csp_spi_getdatum(0, Anum_insert_lot_id, &isnull));
}

int64
csp_insert_seat_lot(const CspSubscription *sub, const char *source, int32 quantity)
{
	return csp_insert_seat_lot_until(sub, source, quantity, csp_now() + CSP_WINDOW_USECS);
}

/* The columns of a CspSeatLot, in this order. */
#define SEAT_LOT_COLUMNS "lot_id, quantity, added_at, reducible_until"
#define Anum_seat_lot_lot_id			1
#define Anum_seat_lot_quantity			2
#define Anum_seat_lot_added_at			3
#define Anum_seat_lot_reducible_until	4

#define REDUCIBLE_LOTS \
	"SELECT " SEAT_LOT_COLUMNS " FROM csp.seat_lot" \
	" WHERE billing_account_id = $1 AND subscription_id = $2 AND term_start = $3" \
	"   AND quantity > 0 AND reducible_until > $4"

/* The last query's rows as seat lots (palloc'd: they outlive the next query). */
static int
SeatLotsFromResult(CspSeatLot **lots)
{
	uint64		n = SPI_processed;
	uint64		i;
	CspSeatLot *out = palloc0(sizeof(CspSeatLot) * (n > 0 ? n : 1));

	for (i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		out[i].lot_id = DatumGetInt64(SPI_getbinval(t, d, Anum_seat_lot_lot_id, &isnull));
		out[i].quantity = DatumGetInt32(SPI_getbinval(t, d, Anum_seat_lot_quantity, &isnull));
		out[i].added_at = DatumGetTimestampTz(SPI_getbinval(t, d, Anum_seat_lot_added_at, &isnull));
		out[i].reducible_until =
			DatumGetTimestampTz(SPI_getbinval(t, d, Anum_seat_lot_reducible_until, &isnull));
	}
	*lots = out;
	return (int) n;
}

/*
 * The lots of the current term still reducible at "now" (R5.2).
 * "for_reduction": locked, newest first, the order seats are taken in;
 * otherwise soonest deadline first, as csp.reducible_licenses lists them.
 */
int
csp_store_reducible_lots(const CspSubscription *sub, TimestampTz now, bool for_reduction,
						 CspSeatLot **lots)
{
	static CspPlan reduce = {
		REDUCIBLE_LOTS " ORDER BY added_at DESC, lot_id DESC FOR UPDATE",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	static CspPlan list = {
		REDUCIBLE_LOTS " ORDER BY reducible_until, lot_id",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[4];

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(sub->term_start);
	values[3] = TimestampTzGetDatum(now);
	csp_spi_run(for_reduction ? &reduce : &list, values, NULL, !for_reduction, 0);
	return SeatLotsFromResult(lots);
}

/* Every lot of the current term with seats left, locked, newest first. */
int
csp_store_current_lots(const CspSubscription *sub, CspSeatLot **lots)
{
	static CspPlan plan = {
		"SELECT " SEAT_LOT_COLUMNS " FROM csp.seat_lot"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND term_start = $3 AND quantity > 0"
		" ORDER BY added_at DESC, lot_id DESC FOR UPDATE",
		3, {INT8OID, UUIDOID, DATEOID}, NULL, 0
	};
	Datum		values[3];

	values[0] = Int64GetDatum(sub->billing_account_id);
	values[1] = sub->subscription_id;
	values[2] = DateADTGetDatum(sub->term_start);
	csp_spi_run(&plan, values, NULL, false, 0);
	return SeatLotsFromResult(lots);
}

void
csp_store_take_from_lot(int64 billing_account_id, int64 lot_id, int32 seats)
{
	static CspPlan plan = {
		"UPDATE csp.seat_lot SET quantity = quantity - $3"
		" WHERE billing_account_id = $1 AND lot_id = $2",
		3, {INT8OID, INT8OID, INT4OID}, NULL, 0
	};
	Datum		values[3];

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(lot_id);
	values[2] = Int32GetDatum(seats);
	csp_spi_run(&plan, values, NULL, false, 0);
}

/* Closes the reduction windows of the current term's lots at "until" (R8.2). */
void
csp_store_close_lot_windows(const CspSubscription *sub, TimestampTz until)
{
	static CspPlan close_lots = {
		"UPDATE csp.seat_lot SET reducible_until = least(reducible_until, $4)"
		" WHERE billing_account_id = $1 AND subscription_id = $2 AND term_start = $3",
		4, {INT8OID, UUIDOID, DATEOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		args[2];

	args[0] = DateADTGetDatum(sub->term_start);
	args[1] = TimestampTzGetDatum(until);
	RunOnSubscription(&close_lots, sub, args, NULL, 2);
}

/*
 * For every add-on SKU that counts "sku_id" as a base (or is sku_id
 * itself): its live seats and the customer's live base seats, base_delta
 * added to the seats of sku_id, with the bounds its ratios give (R4.6,
 * R4.7).  On the latest snapshot: the caller holds the customer's lock.
 */
int
csp_store_addon_ratios(Datum customer_id, const char *sku_id, int64 base_delta,
					   CspAddonRatio **ratios)
{
	static CspPlan plan = {
		"SELECT a.sku_id, a.addon_min_ratio, a.addon_max_ratio,"
		"       (SELECT coalesce(sum(s.quantity), 0)::bigint FROM csp.subscription s"
		"         WHERE s.customer_id = $1 AND s.sku_id = a.sku_id"
		"           AND s.status IN ('active', 'suspended')) AS addon_seats,"
		"       b.seats AS base_seats,"
		"       ceil(a.addon_min_ratio * b.seats)::bigint AS min_seats,"
		"       floor(a.addon_max_ratio * b.seats)::bigint AS max_seats"
		"  FROM csp.product a,"
		"  LATERAL (SELECT (coalesce(sum(s.quantity), 0)"
		"                   + CASE WHEN $2 = ANY (a.addon_of) THEN $3 ELSE 0 END)::bigint AS seats"
		"             FROM csp.subscription s"
		"            WHERE s.customer_id = $1 AND s.sku_id = ANY (a.addon_of)"
		"              AND s.status IN ('active', 'suspended')) b"
		" WHERE a.addon_of IS NOT NULL AND (a.sku_id = $2 OR $2 = ANY (a.addon_of))",
		3, {UUIDOID, TEXTOID, INT8OID}, NULL, 0
	};
#define Anum_addon_ratio_sku_id			1
#define Anum_addon_ratio_min_ratio		2
#define Anum_addon_ratio_max_ratio		3
#define Anum_addon_ratio_addon_seats	4
#define Anum_addon_ratio_base_seats		5
#define Anum_addon_ratio_min_seats		6
#define Anum_addon_ratio_max_seats		7
	/*
	 * Most SKUs are neither an add-on nor a base of one: a probe of the
	 * catalog says so at a fraction of the cost of starting the statement
	 * above, with its aggregates, on every seat change.
	 */
	static CspPlan involved = {
		"SELECT 1 FROM csp.product a"
		" WHERE a.addon_of IS NOT NULL AND (a.sku_id = $1 OR $1 = ANY (a.addon_of)) LIMIT 1",
		1, {TEXTOID}, NULL, 0
	};
	Datum		values[3];
	CspAddonRatio *out;
	uint64		i;

	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	values[2] = Int64GetDatum(base_delta);
	csp_spi_run_latest(&involved, &values[1], NULL, 1);
	if (SPI_processed == 0)
	{
		*ratios = palloc0(sizeof(CspAddonRatio));
		return 0;
	}
	csp_spi_run_latest(&plan, values, NULL, 0);

	out = palloc0(sizeof(CspAddonRatio) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		out[i].addon_sku = SPI_getvalue(t, d, Anum_addon_ratio_sku_id);
		out[i].min_ratio = SPI_getvalue(t, d, Anum_addon_ratio_min_ratio);
		out[i].max_ratio = SPI_getvalue(t, d, Anum_addon_ratio_max_ratio);
		out[i].addon_seats = DatumGetInt64(SPI_getbinval(t, d, Anum_addon_ratio_addon_seats, &isnull));
		out[i].base_seats = DatumGetInt64(SPI_getbinval(t, d, Anum_addon_ratio_base_seats, &isnull));
		out[i].min_seats = DatumGetInt64(SPI_getbinval(t, d, Anum_addon_ratio_min_seats, &isnull));
		out[i].has_min = !isnull;
		out[i].max_seats = DatumGetInt64(SPI_getbinval(t, d, Anum_addon_ratio_max_seats, &isnull));
		out[i].has_max = !isnull;
	}
	*ratios = out;
	return (int) SPI_processed;
}

/*
 * The customer's live subscription of a SKU, the active one first
 * (R4.2, R4.11); on the latest snapshot, under the customer's lock.
 */
bool
csp_store_live_of_sku(Datum customer_id, const char *sku_id, CspLiveSubscription *found)
{
	static CspPlan plan = {
		"SELECT subscription_id, status, term_end FROM csp.subscription"
		" WHERE customer_id = $1 AND sku_id = $2 AND status IN ('active', 'suspended')"
		" ORDER BY status LIMIT 1",
		2, {UUIDOID, TEXTOID}, NULL, 0
	};
#define Anum_live_of_sku_subscription_id	1
#define Anum_live_of_sku_status				2
#define Anum_live_of_sku_term_end			3
	Datum		values[2];
	bool		isnull;

	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	csp_spi_run_latest(&plan, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	found->subscription_id = csp_spi_getcstring(0, Anum_live_of_sku_subscription_id);
	found->status = csp_spi_getcstring(0, Anum_live_of_sku_status);
	found->term_end = DatumGetDateADT(csp_spi_getdatum(0, Anum_live_of_sku_term_end, &isnull));
	return true;
}

/*
 * The base an add-on aligns with (purchase.c, FindAddonBase, says which):
 * an active compatible base of the customer (the target when given), those
 * ending between start and natural_end first, then the latest ending.
 */
bool
csp_store_find_addon_base(Datum customer_id, const char *sku_id, bool has_target, Datum target,
						  DateADT start, DateADT natural_end, Datum *base_id, DateADT *base_end)
{
	static CspPlan plan = {
		"SELECT s.subscription_id, s.term_end FROM csp.subscription s, csp.product a"
		" WHERE a.sku_id = $2 AND s.customer_id = $1 AND s.sku_id = ANY (a.addon_of)"
		"   AND s.status = 'active' AND ($3::uuid IS NULL OR s.subscription_id = $3)"
		" ORDER BY (s.term_end BETWEEN $4 AND $5) DESC, s.term_end DESC, s.purchased_at LIMIT 1",
		5, {UUIDOID, TEXTOID, UUIDOID, DATEOID, DATEOID}, NULL, 0
	};
#define Anum_addon_base_subscription_id	1
#define Anum_addon_base_term_end		2
	Datum		values[5];
	char		nulls[5] = "     ";
	bool		isnull;

	values[0] = customer_id;
	values[1] = CStringGetTextDatum(sku_id);
	values[2] = target;
	nulls[2] = has_target ? ' ' : 'n';
	values[3] = DateADTGetDatum(start);
	values[4] = DateADTGetDatum(natural_end);
	csp_spi_run(&plan, values, nulls, true, 1);
	if (SPI_processed == 0)
		return false;
	*base_id = SPI_datumTransfer(csp_spi_getdatum(0, Anum_addon_base_subscription_id, &isnull),
								 false, UUID_LEN);
	*base_end = DatumGetDateADT(csp_spi_getdatum(0, Anum_addon_base_term_end, &isnull));
	return true;
}

/*
 * The due queries of csp.run_renewals and csp.run_cycle_charges, as the
 * job runner takes them (jobs.h): $1 the job's date, $2 the batch size,
 * $3/$4 the keyset position; they return the keys (due date, id), locked
 * FOR UPDATE SKIP LOCKED so a second runner takes others.  The keyset over (due date, id) means a failed one is not
 * retried in the same run.
 */
CspPlan *
csp_store_renewals_due(void)
{
	static CspPlan due = {
		"SELECT term_end, subscription_id FROM csp.subscription"
		" WHERE term_end < $1 AND status IN ('active', 'suspended')"
		"   AND (term_end, subscription_id) > ($3, $4)"
		" ORDER BY term_end, subscription_id LIMIT $2 FOR UPDATE SKIP LOCKED",
		4, {DATEOID, INT4OID, DATEOID, UUIDOID}, NULL, 0
	};

	return &due;
}

CspPlan *
csp_store_cycle_charges_due(void)
{
	static CspPlan due = {
		"SELECT next_charge_date, subscription_id FROM csp.subscription"
		" WHERE next_charge_date <= $1 AND status IN ('active', 'suspended')"
		"   AND (next_charge_date, subscription_id) > ($3, $4)"
		" ORDER BY next_charge_date, subscription_id LIMIT $2 FOR UPDATE SKIP LOCKED",
		4, {DATEOID, INT4OID, DATEOID, UUIDOID}, NULL, 0
	};

	return &due;
}
