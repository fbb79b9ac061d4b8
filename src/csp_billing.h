/*-------------------------------------------------------------------------
 *
 * csp_billing.h
 *	  Shared declarations of the csp_billing extension: SQLSTATEs, the
 *	  clock, money helpers, argument checks; the prepared-plan helpers are
 *	  in spi.h, included here.
 *
 * src/csp_billing.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_BILLING_H
#define CSP_BILLING_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/date.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "spi.h"
#include "terms.h"

/*
 * SQLSTATEs of the public contract (API.md "Errors").  Class NC is ours;
 * PostgreSQL's own classes are used for malformed input (22023) and
 * privileges (42501).
 */
#define ERRCODE_CSP_CANCEL_WINDOW_CLOSED	MAKE_SQLSTATE('N','C','0','0','1')
#define ERRCODE_CSP_SEATS_NOT_REDUCIBLE		MAKE_SQLSTATE('N','C','0','0','2')
#define ERRCODE_CSP_WRONG_STATE				MAKE_SQLSTATE('N','C','0','0','3')
#define ERRCODE_CSP_CUSTOMER_NOT_APPROVED	MAKE_SQLSTATE('N','C','0','0','4')
#define ERRCODE_CSP_MCA_NOT_ACCEPTED		MAKE_SQLSTATE('N','C','0','0','5')
#define ERRCODE_CSP_ONE_PER_CUSTOMER		MAKE_SQLSTATE('N','C','0','0','6')
#define ERRCODE_CSP_ADDON_RULE				MAKE_SQLSTATE('N','C','0','0','7')
#define ERRCODE_CSP_UPGRADE_NOT_ALLOWED		MAKE_SQLSTATE('N','C','0','0','8')
#define ERRCODE_CSP_UPDATE_LIMIT			MAKE_SQLSTATE('N','C','0','0','9')
#define ERRCODE_CSP_REGISTRATION_REQUIRED	MAKE_SQLSTATE('N','C','0','1','0')
#define ERRCODE_CSP_NOT_PERMITTED			MAKE_SQLSTATE('N','C','0','1','1')
#define ERRCODE_CSP_SCHEDULE_NOT_ALLOWED	MAKE_SQLSTATE('N','C','0','1','2')
#define ERRCODE_CSP_NO_PRICE				MAKE_SQLSTATE('N','C','0','1','3')
#define ERRCODE_CSP_NO_FX_RATE				MAKE_SQLSTATE('N','C','0','1','4')
#define ERRCODE_CSP_ALLOCATION_INVALID		MAKE_SQLSTATE('N','C','0','1','5')
#define ERRCODE_CSP_INSTANT_BEFORE_EVENT	MAKE_SQLSTATE('N','C','0','1','6')
#define ERRCODE_CSP_NOT_FOUND				MAKE_SQLSTATE('N','C','4','0','4')
#define ERRCODE_CSP_RENEWAL_PENDING			MAKE_SQLSTATE('N','C','4','0','9')

/* clock.c */
extern char *csp_clock_setting;
extern void csp_define_clock_guc(void);
extern TimestampTz csp_now(void);
extern void csp_set_job_instant(TimestampTz instant);
extern void csp_clear_job_instant(void);
typedef struct CspInstant
{
	bool		is_set;
	TimestampTz value;
} CspInstant;
extern CspInstant csp_enter_instant(TimestampTz instant);
extern void csp_leave_instant(CspInstant previous);
extern TimestampTz csp_start_of_day(DateADT day);
extern DateADT csp_today(void);
extern void csp_check_not_before(TimestampTz now, TimestampTz latest, const char *object,
								 const char *id);

/*
 * args.c: argument checks shared by every SQL-callable function.
 *
 * Input bounds (README "Limits"): every text, text[] and jsonb argument of
 * the API is bounded, by its name, before any work (csp_require_args), and
 * refused with 22023 naming the limit.  Characters for text, bytes for
 * jsonb and arrays.  A value that large is a mistake or an attack; without
 * a bound it is written again into every audit row of every change.
 */
#define CSP_MAX_NAME_CHARS			200		/* name, legal_name, friendly_name */
#define CSP_MAX_ID_CHARS			100		/* sku, partner, invoice, meter ids; codes */
#define CSP_MAX_METER_ID_CHARS		200
#define CSP_MAX_EMAIL_CHARS			254		/* RFC 5321 */
#define CSP_MAX_PHONE_CHARS			50
#define CSP_MAX_TEXT_CHARS			1000	/* reference, po_number, any other text */
#define CSP_MAX_JSONB_BYTES			8192	/* address, bill_to */
#define CSP_MAX_ARRAY_BYTES			8192	/* additional_resellers */
#define CSP_MAX_REMITTANCE_ENTRIES	1000	/* remittance, allocations */
#define CSP_MAX_REMITTANCE_BYTES	(128 * 1024)

extern void csp_require_args(FunctionCallInfo fcinfo, const char *const *names, int nnames);
extern void csp_check_arg_bounds(FunctionCallInfo fcinfo);
extern char *csp_arg_cstring(FunctionCallInfo fcinfo, int argno);
extern char *csp_arg_cstring_or_null(FunctionCallInfo fcinfo, int argno);
extern char *csp_check_currency(const char *code);
extern char *csp_check_country(const char *code);
extern bool csp_is_blank(const char *value);
extern void csp_check_nonblank(const char *value, const char *what);
extern void csp_check_date_in_range(DateADT day, const char *what);
extern void csp_check_jsonb_object(Jsonb *value, const char *what);
extern char *csp_jsonb_field(Jsonb *object, const char *key);
extern TermCode csp_check_term(const char *text);
extern BillingFrequency csp_check_frequency(const char *text);
extern void csp_check_term_frequency(TermCode term, BillingFrequency freq);
extern int	csp_check_currency_exponent(const char *code);
extern void csp_report_not_found(const char *what, const char *id) pg_attribute_noreturn();
extern char *csp_date_to_cstring(DateADT day);
extern char *csp_uuid_to_cstring(Datum uuid);
extern Datum csp_new_uuid(void);

/* accounts.c */
extern int64 csp_profile_account(int64 billing_profile_id);
extern void csp_record_profile_event(int64 billing_account_id, int64 billing_profile_id,
									 TimestampTz instant);
extern int	csp_lock_profile_for_posting(int64 billing_account_id, int64 billing_profile_id);
extern struct CspPlan *csp_profiles_due_for_invoicing(void);
extern bool csp_account_mca_accepted(int64 billing_account_id);
extern void csp_accept_account_mca(int64 billing_account_id);

/* customers.c */
extern void csp_lock_customer(Datum customer_id);
extern void csp_lock_customer_of_subscription(Datum subscription_id);
/* what a purchase needs of its customer and the customer's partner */
typedef struct CustomerFacts
{
	char	   *partner_id;
	char	   *country;
	char	   *verification_status;
	bool		mca_attested;
	char	   *partner_kind;
	bool		linked;			/* the partner has a billing profile (R1.5) */
	int64		billing_account_id;
	int64		billing_profile_id;
	char	   *currency;		/* the profile's invoice currency */
} CustomerFacts;
extern void csp_lock_customer_facts(Datum customer_id, CustomerFacts *facts);

/* catalog.c */
extern char *csp_lock_product(const char *sku_id, char **trial_of);

/* partners.c */
extern char *csp_lock_partner(const char *partner_id, char **status, bool for_update);
typedef struct PartnerBilling
{
	char	   *kind;
	char	   *status;
	bool		linked;			/* has a billing account and profile (R1.5) */
	int64		billing_account_id;
	int64		billing_profile_id;
	int64		section_id;		/* the profile's Default invoice section */
	char	   *currency;		/* the profile's invoice currency */
} PartnerBilling;
extern void csp_lock_partner_billing(const char *partner_id, PartnerBilling *partner);

/* roles.c */
extern void csp_check_account_access(int64 billing_account_id, bool owner_only, bool for_update);
extern void csp_grant_account_role(int64 billing_account_id, Oid member, const char *account_role);

/* profile_roles.c */
extern void csp_check_profile_rights(int64 billing_profile_id, const char *action, bool invoice_manager);
extern int64 csp_invoice_profile(const char *invoice_number);
extern bool csp_caller_profile_limited(void);
extern void csp_check_customer_scope(Datum customer_id, const char *action);
extern void csp_check_profile_scope(int64 billing_profile_id, bool write, const char *what,
									const char *id, const char *action);

/* recon.c */
extern bool csp_caller_sees_profile(int64 billing_profile_id);

/* codes.c: the ISO 4217 currencies and ISO 3166 countries */
extern int	csp_currency_exponent(const char *code);
extern bool csp_country_known(const char *code);

/* money.c */
extern Numeric csp_round_money(Numeric amount, int exponent);
extern Numeric csp_prorate(Numeric unit_price, int64 quantity, int32 days,
						   int32 days_in_cycle, int exponent);
extern Numeric csp_numeric_from_int64(int64 value);
extern int	csp_numeric_cmp(Numeric a, Numeric b);
extern bool csp_numeric_is_finite(Numeric value);
extern bool csp_numeric_is_negative(Numeric value);
extern int64 csp_numeric_to_int64(Numeric value);
extern Numeric csp_numeric_negate(Numeric value);
extern char *csp_numeric_to_cstring(Numeric value);
extern void csp_check_amount(Numeric value, const char *what, int max_scale);

/* Prices and rates may have up to six decimals; invoices use the minor unit. */
#define CSP_PRICE_SCALE 6
#define CSP_RATE_SCALE 10


/* audit.c */
extern void csp_audit_init(void);
extern const char *csp_begin_action(const char *action);
extern void csp_end_action(const char *outer);
extern void csp_restore_action(const char *outer);
extern void csp_audit_event_clock_as_recorded(bool on);
extern bool csp_loading_dump(void);

/* entry.c: the caller, the write checks, the switch to the owner's rights */
#define CSP_TIME_ADMIN_ROLE "csp_time_admin"
#define CSP_MODULE_VERSION "0.3.0"
/* how far a write's instant may lie from real time without csp_time_admin */
#define CSP_CLOCK_TOLERANCE (INT64CONST(5) * USECS_PER_MINUTE)
extern void csp_entry_init(void);
extern void csp_enter(FunctionCallInfo fcinfo, const char *action, bool writes);
extern void csp_finish(void);
extern Oid	csp_caller(void);
extern bool csp_is_time_admin(Oid role);
extern void csp_check_write_instant(TimestampTz instant, const char *what);


/* the subscription aggregate and its store */
#include "subscription_store.h"

/* One ledger line to post (charges.c); amount is computed by csp_post_charge. */
typedef struct ChargeLine
{
	const char *charge_type;
	DateADT		charge_start;
	DateADT		charge_end;
	DateADT		cycle_start;	/* unclipped start of the cycle */
	int32		days_in_cycle;
	int64		quantity;		/* signed: negative for refunds */
	Numeric		unit_price;		/* in the pricing currency */
	Numeric		fx_rate;		/* pricing → billing currency */
	Datum		reference_id;	/* uuid */
	int64		lot_id;			/* 0: none */
	int64		refunds_charge_id;	/* 0: none */
} ChargeLine;

#define CSP_WINDOW_USECS (INT64CONST(168) * USECS_PER_HOUR)	/* 7 days */

/* renewals.c: what one run of csp.run_renewals works with */
typedef struct CspRenewalRun
{
	DateADT		today;			/* the job's UTC date */
} CspRenewalRun;
extern TimestampTz csp_cancellation_deadline(const char *publisher, BillingFrequency freq,
											 TimestampTz from);

/* cycles.c: the billing cycles of a term, and csp.run_cycle_charges */
typedef struct CspCycleChargeRun
{
	DateADT		today;			/* the job's UTC date */
	int64		posted;			/* cycle charges posted so far */
} CspCycleChargeRun;
extern bool csp_next_cycle_start(DateADT term_start, DateADT term_end, TermCode term,
								 BillingFrequency freq, DateADT day, DateADT *next);
extern int	csp_charge_due_cycles(SubscriptionRow *sub, DateADT today);

/* job_batch.c */
extern bool csp_set_based_jobs;	/* csp.set_based_jobs */
extern int	csp_renew_batch(const Datum *ids, int n, bool *done, const CspRenewalRun *run);
extern int	csp_charge_batch(const Datum *ids, int n, bool *done, CspCycleChargeRun *run);

/* charges.c: what a line costs; ledger.h/ledger.c store the lines */
extern bool csp_find_price(const char *sku_id, TermCode term, BillingFrequency freq,
						   const char *currency, DateADT on_date,
						   Numeric *unit_price, char **pricing_currency);
extern void csp_require_price(const char *sku_id, TermCode term, BillingFrequency freq,
							  const char *currency, DateADT on_date,
							  Numeric *unit_price, char **pricing_currency);
extern Numeric csp_fx_rate(const char *from_currency, const char *to_currency, DateADT on_date);
extern Numeric csp_find_fx_rate(const char *from_currency, const char *to_currency, DateADT on_date);
extern bool csp_post_charge(const SubscriptionRow *sub, ChargeLine *line, bool skip_duplicate);
struct LedgerLine;
extern void csp_ledger_line_of(const SubscriptionRow *sub, struct LedgerLine *row);
extern bool csp_post_charge_amount(const SubscriptionRow *sub, ChargeLine *line, Numeric amount,
								   bool skip_duplicate);
extern void csp_charge_period(const SubscriptionRow *sub, const char *charge_type,
							  DateADT from_day, int64 quantity, int64 lot_id,
							  Datum reference_id);
extern void csp_period_line(const SubscriptionRow *sub, const char *charge_type,
							DateADT from_day, int64 quantity, ChargeLine *line);
extern void csp_cycle_line(const SubscriptionRow *sub, const char *charge_type,
						   const TermsCycle *cycle, int64 quantity, ChargeLine *line);
extern Numeric csp_line_amount(const SubscriptionRow *sub, const ChargeLine *line);
extern int	csp_refund_charges(const SubscriptionRow *sub, const char *charge_type,
							   int64 lot_id, TimestampTz lot_added_at, int32 seats,
							   DateADT refund_from, Datum reference_id);

/* Convenience: pass a C string or a NULL as a text Datum. */
#define CSP_TEXT(s) ((s) ? CStringGetTextDatum(s) : (Datum) 0)

/* the subscription rooms: checks, locking, add-on rules, seats */
#include "subscriptions.h"

#endif							/* CSP_BILLING_H */
