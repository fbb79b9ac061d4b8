/*-------------------------------------------------------------------------
 *
 * csp_billing.h
 *	  Shared declarations of the csp_billing extension: SQLSTATEs, the
 *	  clock, money helpers, argument checks and the prepared-plan helper.
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
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

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
#define ERRCODE_CSP_NOT_FOUND				MAKE_SQLSTATE('N','C','4','0','4')
#define ERRCODE_CSP_RENEWAL_PENDING			MAKE_SQLSTATE('N','C','4','0','9')

/* clock.c */
extern char *csp_clock_setting;
extern void csp_define_clock_guc(void);
extern TimestampTz csp_now(void);

/* args.c: argument checks shared by every SQL-callable function */
extern void csp_require_args(FunctionCallInfo fcinfo, const char *const *names, int nnames);
extern char *csp_arg_cstring(FunctionCallInfo fcinfo, int argno);
extern char *csp_arg_cstring_or_null(FunctionCallInfo fcinfo, int argno);
extern char *csp_check_currency(const char *code);
extern char *csp_check_country(const char *code);
extern void csp_check_nonblank(const char *value, const char *what);
extern void csp_check_date_in_range(DateADT day, const char *what);
extern void csp_check_jsonb_object(Jsonb *value, const char *what);
extern TermCode csp_check_term(const char *text);
extern BillingFrequency csp_check_frequency(const char *text);
extern void csp_check_term_frequency(TermCode term, BillingFrequency freq);
extern int	csp_check_currency_exponent(const char *code);
extern void csp_report_not_found(const char *what, const char *id) pg_attribute_noreturn();
extern char *csp_date_to_cstring(DateADT day);

/* accounts.c */
extern int64 csp_profile_account(int64 billing_profile_id);

/* catalog.c */
extern char *csp_lock_product(const char *sku_id, char **trial_of);

/* partners.c */
extern char *csp_lock_partner(const char *partner_id, char **status, bool for_update);

/* roles.c */
extern void csp_check_account_access(int64 billing_account_id, bool owner_only, bool for_update);

/* money.c */
extern int	csp_currency_exponent(const char *code);
extern bool csp_country_known(const char *code);
extern Numeric csp_round_money(Numeric amount, int exponent);
extern Numeric csp_prorate(Numeric unit_price, int64 quantity, int32 days,
						   int32 days_in_cycle, int exponent);
extern Numeric csp_numeric_from_int64(int64 value);
extern int	csp_numeric_cmp(Numeric a, Numeric b);
extern bool csp_numeric_is_finite(Numeric value);
extern bool csp_numeric_is_negative(Numeric value);
extern void csp_check_amount(Numeric value, const char *what, int max_scale);

/* Prices and rates may have up to six decimals; invoices use the minor unit. */
#define CSP_PRICE_SCALE 6
#define CSP_RATE_SCALE 10

/* spi.c: plans prepared once per backend and kept */
#define CSP_PLAN_MAX_ARGS 16
typedef struct CspPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[CSP_PLAN_MAX_ARGS];
	SPIPlanPtr	plan;
} CspPlan;

extern int	csp_spi_run(CspPlan *plan, Datum *values, const char *nulls,
						bool read_only, long count);
extern Datum csp_spi_getdatum(int row, int col, bool *isnull);
extern char *csp_spi_getcstring(int row, int col);

/* audit.c */
extern void csp_audit_init(void);
extern void csp_begin_action(const char *action);
extern Oid	csp_caller(void);


/* Convenience: pass a C string or a NULL as a text Datum. */
#define CSP_TEXT(s) ((s) ? CStringGetTextDatum(s) : (Datum) 0)

#endif							/* CSP_BILLING_H */
