/*-------------------------------------------------------------------------
 *
 * subscription_store.h
 *	  The subscription aggregate as the engine works on it (a subscription
 *	  and its seat lots), and the store that alone reads and writes
 *	  csp.subscription and csp.seat_lot (subscription_store.c).
 *
 * src/subscription_store.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SUBSCRIPTION_STORE_H
#define SUBSCRIPTION_STORE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "terms.h"

/*
 * A subscription as the engine works on it: the row, locked FOR UPDATE,
 * with what the rules need from its product and customer.  Pointers refer
 * to SPI memory and live until SPI_finish.
 */
typedef struct CspSubscription
{
	int64		billing_account_id;
	Datum		subscription_id;	/* uuid */
	int64		billing_profile_id;
	int64		invoice_section_id;
	Datum		customer_id;	/* uuid */
	char	   *partner_id;
	char	   *sku_id;
	int32		quantity;
	char	   *status;
	bool		is_trial;
	bool		auto_renew;
	TermCode	term;
	BillingFrequency frequency;
	DateADT		term_start;
	DateADT		term_end;
	TimestampTz term_started_at;
	TimestampTz cancellation_allowed_until;
	Numeric		unit_price;
	char	   *currency;
	char	   *pricing_currency;
	bool		has_parent;
	Datum		parent_subscription_id;
	int32		update_count;
	char	   *publisher;
	char	   *billing_type;
	char	   *verification_status;
	bool		has_next_charge;
	DateADT		next_charge_date;
	TimestampTz last_event_at;	/* nothing may be posted before it (NC016) */
} CspSubscription;

/* The older name, kept so the ledger and job rooms need not change. */
typedef CspSubscription SubscriptionRow;

/*
 * What csp_subscription_from_tuple reads, in this order: a select list for
 * queries over CSP_SUBSCRIPTION_FROM.  The bulk job room (job_batch.c)
 * reads its batches with the same list and appends its own columns after
 * CSP_SUBSCRIPTION_NCOLUMNS.
 */
#define CSP_SUBSCRIPTION_COLUMNS \
	"s.billing_account_id, s.subscription_id, s.billing_profile_id, s.invoice_section_id," \
	" s.customer_id, s.partner_id, s.sku_id, s.quantity, s.status, s.is_trial, s.auto_renew," \
	" s.term, s.billing_frequency, s.term_start, s.term_end, s.term_started_at," \
	" s.cancellation_allowed_until, s.unit_price, s.currency, s.pricing_currency," \
	" s.parent_subscription_id, s.update_count, p.publisher, p.billing_type," \
	" c.verification_status, s.next_charge_date, s.last_event_at"
#define Anum_subscription_billing_account_id		1
#define Anum_subscription_subscription_id			2
#define Anum_subscription_billing_profile_id		3
#define Anum_subscription_invoice_section_id		4
#define Anum_subscription_customer_id				5
#define Anum_subscription_partner_id				6
#define Anum_subscription_sku_id					7
#define Anum_subscription_quantity					8
#define Anum_subscription_status					9
#define Anum_subscription_is_trial					10
#define Anum_subscription_auto_renew				11
#define Anum_subscription_term						12
#define Anum_subscription_billing_frequency			13
#define Anum_subscription_term_start				14
#define Anum_subscription_term_end					15
#define Anum_subscription_term_started_at			16
#define Anum_subscription_cancellation_allowed_until 17
#define Anum_subscription_unit_price				18
#define Anum_subscription_currency					19
#define Anum_subscription_pricing_currency			20
#define Anum_subscription_parent_subscription_id	21
#define Anum_subscription_update_count				22
#define Anum_subscription_publisher					23	/* of csp.product */
#define Anum_subscription_billing_type				24	/* of csp.product */
#define Anum_subscription_verification_status		25	/* of csp.customer */
#define Anum_subscription_next_charge_date			26
#define Anum_subscription_last_event_at				27
#define CSP_SUBSCRIPTION_NCOLUMNS					27
#define CSP_SUBSCRIPTION_FROM \
	" FROM csp.subscription s" \
	" JOIN csp.product p ON p.sku_id = s.sku_id" \
	" JOIN csp.customer c ON c.customer_id = s.customer_id"

/* What csp_create_subscription needs to open a subscription. */
typedef struct NewSubscription
{
	int64		billing_account_id;
	int64		billing_profile_id;
	int64		invoice_section_id;
	Datum		customer_id;
	const char *partner_id;
	const char *sku_id;
	const char *friendly_name;
	int32		quantity;
	bool		is_trial;
	bool		auto_renew;
	TermCode	term;
	BillingFrequency frequency;
	DateADT		start;
	DateADT		end;
	TimestampTz cancellation_allowed_until;
	Numeric		unit_price;
	const char *currency;
	const char *pricing_currency;
	bool		has_parent;
	Datum		parent_subscription_id;
	const char *reseller_id;
	ArrayType  *additional_resellers;	/* NULL: none */
	const char *lot_source;
	TimestampTz reducible_until;
	const char *first_charge_type;	/* NULL: no charge */
	Datum		reference_id;
} NewSubscription;

/* The new term a renewal writes (R6.6, R7, R9.1). */
typedef struct CspRenewedTerm
{
	const char *sku_id;
	int32		quantity;
	TermCode	term;
	BillingFrequency frequency;
	DateADT		start;
	DateADT		end;
	TimestampTz started_at;
	TimestampTz cancellation_allowed_until;
	Numeric		unit_price;
	const char *pricing_currency;
	bool		has_next_charge;
	DateADT		next_charge_date;
} CspRenewedTerm;

/* A change scheduled for the renewal (R7): absent parts keep what is. */
typedef struct CspScheduledChange
{
	const char *sku_id;			/* NULL: none */
	bool		has_quantity;
	int32		quantity;
	TermCode	term;
	BillingFrequency frequency;
	bool		has_coterm_end;
	DateADT		coterm_end;
} CspScheduledChange;

/* A seat lot with seats left (R5.2). */
typedef struct CspSeatLot
{
	int64		lot_id;
	int32		quantity;
	TimestampTz added_at;
	TimestampTz reducible_until;
} CspSeatLot;

/* One add-on SKU's ratios against the customer's live seats (R4.6, R4.7). */
typedef struct CspAddonRatio
{
	char	   *addon_sku;
	char	   *min_ratio;		/* as text, for messages; NULL: none */
	char	   *max_ratio;
	int64		addon_seats;
	int64		base_seats;
	bool		has_min;
	int64		min_seats;
	bool		has_max;
	int64		max_seats;
} CspAddonRatio;

/* A live subscription of a customer's SKU (R4.2, R4.11). */
typedef struct CspLiveSubscription
{
	char	   *subscription_id;
	char	   *status;
	DateADT		term_end;
} CspLiveSubscription;

struct CspPlan;

/* loading */
extern void csp_subscription_from_tuple(HeapTuple t, TupleDesc d, CspSubscription *sub);
extern bool csp_load_subscription(Datum subscription_id, CspSubscription *sub, bool for_update);
extern Jsonb *csp_store_scheduled_change(const CspSubscription *sub);
extern int64 csp_store_live_addons(const CspSubscription *base);
extern DateADT csp_store_purchase_day(const CspSubscription *sub);

/* writing a subscription */
extern Datum csp_store_insert_subscription(const NewSubscription *ns, bool has_next_charge,
										   DateADT next_charge);
extern void csp_store_count_update(const CspSubscription *sub);
extern void csp_store_set_quantity(const CspSubscription *sub, int32 quantity);
extern void csp_store_change_quantity(const CspSubscription *sub, int32 quantity, TimestampTz event);
extern void csp_store_record_event(const CspSubscription *sub, TimestampTz instant);
extern void csp_set_subscription_status(const CspSubscription *sub, const char *status);
extern void csp_store_set_addon_status(const CspSubscription *base, const char *from,
									   const char *to);
extern void csp_store_set_auto_renew(const CspSubscription *sub, bool enabled);
extern void csp_store_set_friendly_name(const CspSubscription *sub, const char *name);
extern void csp_store_save_scheduled_change(const CspSubscription *sub,
											const CspScheduledChange *change);
extern void csp_store_drop_scheduled_change(const CspSubscription *sub);
extern void csp_store_replace_sku(const CspSubscription *sub, const char *sku_id,
								  Numeric unit_price, const char *pricing_currency,
								  TimestampTz now);
extern void csp_store_set_next_charge_date(const CspSubscription *sub, bool has_next,
										   DateADT next, bool has_event, TimestampTz event);
extern void csp_store_renew_term(const CspSubscription *sub, const CspRenewedTerm *renewed);

/* seat lots */
extern int64 csp_insert_seat_lot_until(const CspSubscription *sub, const char *source,
									   int32 quantity, TimestampTz reducible_until);
extern int64 csp_insert_seat_lot(const CspSubscription *sub, const char *source, int32 quantity);
extern int	csp_store_reducible_lots(const CspSubscription *sub, TimestampTz now,
									 bool for_reduction, CspSeatLot **lots);
extern int	csp_store_current_lots(const CspSubscription *sub, CspSeatLot **lots);
extern void csp_store_take_from_lot(int64 billing_account_id, int64 lot_id, int32 seats);
extern void csp_store_close_lot_windows(const CspSubscription *sub, TimestampTz until);

/* the reads of purchase and the add-on rules, on the latest snapshot */
extern int	csp_store_addon_ratios(Datum customer_id, const char *sku_id, int64 base_delta,
								   CspAddonRatio **ratios);
extern bool csp_store_live_of_sku(Datum customer_id, const char *sku_id,
								  CspLiveSubscription *found);
extern bool csp_store_find_addon_base(Datum customer_id, const char *sku_id, bool has_target,
									  Datum target, DateADT start, DateADT natural_end,
									  Datum *base_id, DateADT *base_end);

/* the jobs' due queries: (id, due date) in keyset batches, FOR UPDATE SKIP LOCKED */
#define Anum_due_subscription_id	1
#define Anum_due_date				2
extern struct CspPlan *csp_store_renewals_due(void);
extern struct CspPlan *csp_store_cycle_charges_due(void);

#endif							/* SUBSCRIPTION_STORE_H */
