/*-------------------------------------------------------------------------
 *
 * terms.h
 *	  Pure calendar arithmetic for subscription terms and billing cycles.
 *
 * Nothing here includes a PostgreSQL header: the functions take and return
 * day numbers and plain integers, so they can be linked into a libFuzzer
 * harness or a unit test without a backend.  A day number counts days from
 * 2000-01-01 (day 0), the epoch of PostgreSQL's DateADT, so a DateADT can be
 * passed straight in; an instant is microseconds since 2000-01-01 00:00 UTC,
 * the representation of TimestampTz.
 *
 * Month arithmetic follows PostgreSQL's "date + interval 'N months'": the
 * day of month is kept, and clamped to the last day of a shorter month.
 *
 * src/terms.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CSP_TERMS_H
#define CSP_TERMS_H

#include <stdbool.h>
#include <stdint.h>

/* The date range the engine accepts: 1900-01-01 .. 9999-12-31. */
#define TERMS_MIN_YEAR 1900
#define TERMS_MAX_YEAR 9999

/* A term duration or a billing frequency, as a number of months. */
typedef enum TermCode
{
	TERM_INVALID = 0,
	TERM_P1M = 1,
	TERM_P1Y = 12,
	TERM_P3Y = 36
} TermCode;

typedef enum BillingFrequency
{
	FREQ_INVALID = -1,
	FREQ_ONE_TIME = 0,			/* a single cycle spanning the natural term */
	FREQ_MONTHLY = 1,
	FREQ_ANNUAL = 12,
	FREQ_TRIENNIAL = 36
} BillingFrequency;

/*
 * One billing cycle, both ends inclusive.  "start" is clipped at the term
 * start; "full_start" is where the cycle would start unclipped, so
 * end - full_start + 1 is the divisor of daily proration.
 */
typedef struct TermsCycle
{
	int32_t		start;
	int32_t		end;
	int32_t		full_start;
} TermsCycle;

#define TERMS_CYCLE_DAYS(c) ((c)->end - (c)->full_start + 1)

extern int32_t terms_days_from_civil(int year, int month, int day);
extern void terms_civil_from_days(int32_t days, int *year, int *month, int *day);
extern bool terms_day_in_range(int32_t day);
extern int	terms_days_in_month(int year, int month);
extern int	terms_weekday(int32_t day);	/* 0 = Monday .. 6 = Sunday */

extern int32_t terms_add_months(int32_t day, int months);
extern bool terms_is_last_day_of_month(int32_t day);
extern int32_t terms_first_of_month(int32_t day);
extern int32_t terms_last_of_month(int32_t day);

extern TermCode terms_parse_term(const char *text);
extern const char *terms_term_name(TermCode term);
extern BillingFrequency terms_parse_frequency(const char *text);
extern const char *terms_frequency_name(BillingFrequency freq);
extern bool terms_frequency_fits_term(TermCode term, BillingFrequency freq);

extern int32_t terms_natural_end(int32_t start, TermCode term);
extern int32_t terms_calendar_aligned_end(int32_t start, TermCode term);
extern bool terms_coterminous_end_ok(int32_t start, TermCode term, int32_t end);

extern bool terms_cycle_containing(int32_t term_start, int32_t term_end,
								   TermCode term, BillingFrequency freq,
								   int32_t day, TermsCycle *cycle);

extern int32_t terms_utc_date(int64_t instant_usec);
extern int64_t terms_whole_days_between(int64_t from_usec, int64_t to_usec);

extern int32_t terms_fx_rate_date(int32_t month_first);

/*
 * A billing period and its document dates.  anniversary_day 0 means NCE
 * (calendar month, published on the 8th); 1..28 is a legacy cycle running
 * from that day to the day before it next month (published two days after
 * the invoice date).  Both are due 60 days after the invoice date.
 */
typedef struct TermsInvoicePeriod
{
	int32_t		period_start;
	int32_t		period_end;
	int32_t		invoice_date;
	int32_t		published_on;
	int32_t		due_date;
} TermsInvoicePeriod;

#define TERMS_MAX_ANNIVERSARY_DAY 28
#define TERMS_PAYMENT_TERM_DAYS 60

extern bool terms_invoice_period(int32_t day, int anniversary_day,
								 TermsInvoicePeriod *period);

#endif							/* CSP_TERMS_H */
