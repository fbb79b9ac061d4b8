/*-------------------------------------------------------------------------
 *
 * terms.c
 *	  Pure calendar arithmetic: term ends, calendar alignment,
 *	  co-termination, billing cycles anchored at the term end, UTC dates,
 *	  whole 24-hour periods and the FX rate date.
 *
 * The civil-date conversions are Howard Hinnant's days_from_civil /
 * civil_from_days, shifted to PostgreSQL's 2000-01-01 epoch.  No function
 * here allocates, throws or reads global state: callers validate ranges
 * (terms_day_in_range) and report errors in their own words.
 *
 * src/terms.c
 *
 *-------------------------------------------------------------------------
 */
#include "terms.h"

#include <string.h>

/* days_from_civil(2000, 1, 1) in Hinnant's 1970-based count */
#define EPOCH_2000_FROM_1970 10957
#define USECS_PER_DAY_I64 INT64_C(86400000000)

int32_t
terms_days_from_civil(int year, int month, int day)
{
	int			y = year - (month <= 2);
	int			era = (y >= 0 ? y : y - 399) / 400;
	int			yoe = y - era * 400;
	int			doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int			doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t) (era * 146097 + doe - 719468 - EPOCH_2000_FROM_1970);
}

void
terms_civil_from_days(int32_t days, int *year, int *month, int *day)
{
	int64_t		z = (int64_t) days + EPOCH_2000_FROM_1970 + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;
	int			d = (int) (doy - (153 * mp + 2) / 5 + 1);
	int			m = (int) (mp < 10 ? mp + 3 : mp - 9);

	*year = (int) (yoe + era * 400) + (m <= 2);
	*month = m;
	*day = d;
}

bool
terms_day_in_range(int32_t day)
{
	return day >= terms_days_from_civil(TERMS_MIN_YEAR, 1, 1) &&
		day <= terms_days_from_civil(TERMS_MAX_YEAR, 12, 31);
}

int
terms_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return (month == 2 && leap) ? 29 : days[month - 1];
}

int
terms_weekday(int32_t day)
{
	/* 2000-01-01 was a Saturday (5 when Monday is 0) */
	int			w = (int) ((day % 7 + 7 + 5) % 7);

	return w;
}

/*
 * date + interval 'N months' as PostgreSQL computes it: move the month,
 * keep the day, clamp it to the length of the target month.
 */
int32_t
terms_add_months(int32_t day, int months)
{
	int			y,
				m,
				d,
				total,
				dim;

	terms_civil_from_days(day, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	/* floor division, so negative month offsets work across year 0 too */
	y = total >= 0 ? total / 12 : -((-total + 11) / 12);
	m = total - y * 12 + 1;
	dim = terms_days_in_month(y, m);
	if (d > dim)
		d = dim;
	return terms_days_from_civil(y, m, d);
}

bool
terms_is_last_day_of_month(int32_t day)
{
	int			y,
				m,
				d;

	terms_civil_from_days(day, &y, &m, &d);
	return d == terms_days_in_month(y, m);
}

int32_t
terms_first_of_month(int32_t day)
{
	int			y,
				m,
				d;

	terms_civil_from_days(day, &y, &m, &d);
	return day - (d - 1);
}

int32_t
terms_last_of_month(int32_t day)
{
	int			y,
				m,
				d;

	terms_civil_from_days(day, &y, &m, &d);
	return day + (terms_days_in_month(y, m) - d);
}

TermCode
terms_parse_term(const char *text)
{
	if (text == NULL)
		return TERM_INVALID;
	if (strcmp(text, "P1M") == 0)
		return TERM_P1M;
	if (strcmp(text, "P1Y") == 0)
		return TERM_P1Y;
	if (strcmp(text, "P3Y") == 0)
		return TERM_P3Y;
	return TERM_INVALID;
}

const char *
terms_term_name(TermCode term)
{
	switch (term)
	{
		case TERM_P1M:
			return "P1M";
		case TERM_P1Y:
			return "P1Y";
		case TERM_P3Y:
			return "P3Y";
		default:
			return "invalid";
	}
}

BillingFrequency
terms_parse_frequency(const char *text)
{
	if (text == NULL)
		return FREQ_INVALID;
	if (strcmp(text, "monthly") == 0)
		return FREQ_MONTHLY;
	if (strcmp(text, "annual") == 0)
		return FREQ_ANNUAL;
	if (strcmp(text, "triennial") == 0)
		return FREQ_TRIENNIAL;
	if (strcmp(text, "one_time") == 0)
		return FREQ_ONE_TIME;
	return FREQ_INVALID;
}

const char *
terms_frequency_name(BillingFrequency freq)
{
	switch (freq)
	{
		case FREQ_MONTHLY:
			return "monthly";
		case FREQ_ANNUAL:
			return "annual";
		case FREQ_TRIENNIAL:
			return "triennial";
		case FREQ_ONE_TIME:
			return "one_time";
		default:
			return "invalid";
	}
}

/*
 * A frequency fits a term when its cycles tile the term: monthly fits every
 * term, annual fits P1Y and P3Y, triennial only P3Y; one_time fits all.
 */
bool
terms_frequency_fits_term(TermCode term, BillingFrequency freq)
{
	if (term == TERM_INVALID || freq == FREQ_INVALID)
		return false;
	if (freq == FREQ_ONE_TIME)
		return true;
	return (int) freq <= (int) term && (int) term % (int) freq == 0;
}

/* start + duration - 1 day */
int32_t
terms_natural_end(int32_t start, TermCode term)
{
	return terms_add_months(start, (int) term) - 1;
}

/*
 * Calendar alignment: keep the natural end when it is a month's last day,
 * otherwise end on the last day of the month before it
 * (2025-01-15 P1Y: natural 2026-01-14, aligned 2025-12-31).
 */
int32_t
terms_calendar_aligned_end(int32_t start, TermCode term)
{
	int32_t		natural = terms_natural_end(start, term);

	if (terms_is_last_day_of_month(natural))
		return natural;
	return terms_first_of_month(natural) - 1;
}

/* A co-terminous end must lie in [start, natural end]. */
bool
terms_coterminous_end_ok(int32_t start, TermCode term, int32_t end)
{
	return end >= start && end <= terms_natural_end(start, term);
}

/*
 * The billing cycle of a term that contains "day".
 *
 * Cycles are anchored at A = term_end + 1 and counted back: the k-th cycle
 * from the end is [A - k*L, A - (k-1)*L - 1] months, each boundary computed
 * from A directly (never by stepping), so a Jan 31 anchor keeps its day
 * through every short month.  The first cycle of the term is clipped at the
 * term start.  one_time has the single cycle [start, natural end].
 *
 * Returns false when the day lies outside the term or the arguments are
 * not a valid term.
 */
bool
terms_cycle_containing(int32_t term_start, int32_t term_end,
					   TermCode term, BillingFrequency freq,
					   int32_t day, TermsCycle *cycle)
{
	int32_t		anchor;
	int			len;
	int			ya,
				ma,
				da,
				yd,
				md,
				dd;
	int			k;

	if (!terms_frequency_fits_term(term, freq) ||
		term_end < term_start || term_end > terms_natural_end(term_start, term) ||
		day < term_start || day > term_end)
		return false;

	if (freq == FREQ_ONE_TIME)
	{
		cycle->start = term_start;
		cycle->full_start = term_start;
		cycle->end = terms_natural_end(term_start, term);
		if (cycle->end < term_end)
			cycle->end = term_end;
		return true;
	}

	anchor = term_end + 1;
	len = (int) freq;

	/* estimate k from the month distance, then settle it exactly */
	terms_civil_from_days(anchor, &ya, &ma, &da);
	terms_civil_from_days(day, &yd, &md, &dd);
	k = ((ya - yd) * 12 + (ma - md)) / len;
	if (k < 1)
		k = 1;
	while (k > 1 && terms_add_months(anchor, -(k - 1) * len) <= day)
		k--;
	while (terms_add_months(anchor, -k * len) > day)
		k++;

	cycle->full_start = terms_add_months(anchor, -k * len);
	cycle->start = cycle->full_start;
	cycle->end = terms_add_months(anchor, -(k - 1) * len) - 1;
	if (cycle->start < term_start)
		cycle->start = term_start;
	return true;
}

/* The UTC calendar date of an instant, whatever the session's TimeZone. */
int32_t
terms_utc_date(int64_t instant_usec)
{
	int64_t		q = instant_usec / USECS_PER_DAY_I64;

	if (instant_usec % USECS_PER_DAY_I64 < 0)
		q--;
	return (int32_t) q;
}

/*
 * Whole 24-hour periods from one instant to a later one (rounded down);
 * negative when "to" precedes "from".
 *
 * to_usec - from_usec overflows int64 for far-apart finite timestamps
 * (294276 AD minus 4713 BC), so both are split into whole days and a
 * remainder in [0, 1 day) first: floor((to - from) / D) = (dt - df) - 1 when
 * rt < rf, else dt - df, and dt - df always fits.
 */
int64_t
terms_whole_days_between(int64_t from_usec, int64_t to_usec)
{
	int64_t		df = from_usec / USECS_PER_DAY_I64;
	int64_t		rf = from_usec % USECS_PER_DAY_I64;
	int64_t		dt = to_usec / USECS_PER_DAY_I64;
	int64_t		rt = to_usec % USECS_PER_DAY_I64;

	if (rf < 0)
	{
		df--;
		rf += USECS_PER_DAY_I64;
	}
	if (rt < 0)
	{
		dt--;
		rt += USECS_PER_DAY_I64;
	}
	return (dt - df) - (rt < rf ? 1 : 0);
}

/*
 * R12.3: a month's exchange rate is the mid-rate of two business days
 * (Monday to Friday) before its first day: December 2023 uses 2023-11-29.
 */
int32_t
terms_fx_rate_date(int32_t month_first)
{
	int32_t		day = terms_first_of_month(month_first);
	int			business_days = 0;

	while (business_days < 2)
	{
		day--;
		if (terms_weekday(day) < 5)
			business_days++;
	}
	return day;
}

/*
 * The billing period containing "day" and its invoice, publication and due
 * dates (R13.1, R13.3).  Returns false for an anniversary day outside
 * 0..28: days 29-31 do not exist in every month, so a cycle anchored there
 * would drift.
 */
bool
terms_invoice_period(int32_t day, int anniversary_day, TermsInvoicePeriod *period)
{
	if (anniversary_day < 0 || anniversary_day > TERMS_MAX_ANNIVERSARY_DAY)
		return false;

	if (anniversary_day == 0)
	{
		period->period_start = terms_first_of_month(day);
		period->period_end = terms_last_of_month(day);
		period->invoice_date = period->period_end + 1;
		period->published_on = period->invoice_date + 7;	/* the 8th */
	}
	else
	{
		int32_t		start = terms_first_of_month(day) + (anniversary_day - 1);

		if (start > day)
			start = terms_add_months(start, -1);
		period->period_start = start;
		period->period_end = terms_add_months(start, 1) - 1;
		period->invoice_date = period->period_end + 1;
		period->published_on = period->invoice_date + 2;
	}
	period->due_date = period->invoice_date + TERMS_PAYMENT_TERM_DAYS;
	return true;
}
