/*-------------------------------------------------------------------------
 *
 * fuzz_terms.c
 *	  libFuzzer harness for src/terms.c (pure calendar arithmetic).
 *
 * The input is decoded into a start day, a term, a frequency, a day inside
 * the term, a co-terminous term end, an anniversary day and two instants;
 * every function of terms.h is then checked against an independent, slow
 * reference (civil dates by counting leap years from 0001-01-01, month
 * arithmetic by year/month/day clamping) and against the properties the
 * engine relies on.  A violation prints what was wrong and abort()s, which
 * libFuzzer reports as a crash and saves as crash-<sha1>.
 *
 * Build (make fuzz does this):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *         fuzz/fuzz_terms.c src/terms.c -o fuzz/build/fuzz_terms
 *
 * fuzz/fuzz_terms.c
 *
 *-------------------------------------------------------------------------
 */
#include "terms.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USECS_PER_DAY INT64_C(86400000000)

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz_terms: %s:%d: check failed: %s\n  ", \
					__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

/* ---- reference civil calendar (independent of terms.c) ------------------ */

static int
ref_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
ref_dim(long y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && ref_leap(y) ? 29 : len[m - 1];
}

/* days from 0001-01-01 (proleptic Gregorian, day 0, a Monday) to Jan 1 of y >= 1 */
static long
ref_days_before_year(long y)
{
	long		p = y - 1;

	return p * 365 + p / 4 - p / 100 + p / 400;
}

static long ref_epoch2000;		/* ref_days_before_year(2000) */

/* y >= 1: days from 2000-01-01 */
static long
ref_days(long y, int m, int d)
{
	long		n = ref_days_before_year(y);
	int			i;

	for (i = 1; i < m; i++)
		n += ref_dim(y, i);
	return n + d - 1 - ref_epoch2000;
}

static void
ref_civil(long days, long *y, int *m, int *d)
{
	long		abs_days = days + ref_epoch2000;	/* from 0001-01-01 */
	long		lo = 1,
				hi = 20000;

	/* the largest year whose Jan 1 is <= abs_days */
	while (lo < hi)
	{
		long		mid = (lo + hi + 1) / 2;

		if (ref_days_before_year(mid) <= abs_days)
			lo = mid;
		else
			hi = mid - 1;
	}
	*y = lo;
	abs_days -= ref_days_before_year(lo);
	for (*m = 1; abs_days >= ref_dim(lo, *m); (*m)++)
		abs_days -= ref_dim(lo, *m);
	*d = (int) abs_days + 1;
}

static long
ref_add_months(long day, int months)
{
	long		y;
	int			m,
				d;
	long		total;

	ref_civil(day, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	y = total / 12;				/* total > 0 in the ranges used here */
	m = (int) (total % 12) + 1;
	if (d > ref_dim(y, m))
		d = ref_dim(y, m);
	return ref_days(y, m, d);
}

/* 0 = Monday; 0001-01-01 was a Monday */
static int
ref_weekday(long day)
{
	return (int) ((day + ref_epoch2000) % 7);
}

static int64_t
ref_floor_div(__int128 a, int64_t b)
{
	__int128	q = a / b;

	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return (int64_t) q;
}

/* ---- input decoding ---------------------------------------------------- */

typedef struct Reader
{
	const uint8_t *p;
	size_t		left;
} Reader;

static uint64_t
take(Reader *r, int nbytes)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < nbytes; i++)
	{
		v <<= 8;
		if (r->left > 0)
		{
			v |= *r->p++;
			r->left--;
		}
	}
	return v;
}

static const TermCode terms[3] = {TERM_P1M, TERM_P1Y, TERM_P3Y};
static const BillingFrequency freqs[4] = {FREQ_ONE_TIME, FREQ_MONTHLY, FREQ_ANNUAL, FREQ_TRIENNIAL};

static int32_t min_day,
			max_day;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ref_epoch2000 = ref_days_before_year(2000);
	min_day = terms_days_from_civil(TERMS_MIN_YEAR, 1, 1);
	max_day = terms_days_from_civil(TERMS_MAX_YEAR, 12, 31);
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

static void
check_civil(int32_t day)
{
	long		ry;
	int			rm,
				rd,
				y,
				m,
				d;

	ref_civil(day, &ry, &rm, &rd);
	terms_civil_from_days(day, &y, &m, &d);
	CHECK(y == ry && m == rm && d == rd,
		  "day %d: civil %d-%d-%d, reference %ld-%d-%d", day, y, m, d, ry, rm, rd);
	CHECK(terms_days_from_civil(y, m, d) == day, "day %d: round trip gives %d",
		  day, terms_days_from_civil(y, m, d));
	CHECK(terms_days_in_month(y, m) == ref_dim(y, m), "days_in_month(%d,%d)", y, m);
	CHECK(terms_weekday(day) == ref_weekday(day), "weekday(%d) = %d, reference %d",
		  day, terms_weekday(day), ref_weekday(day));
	CHECK(terms_day_in_range(day) == (y >= TERMS_MIN_YEAR && y <= TERMS_MAX_YEAR),
		  "day_in_range(%d) for year %d", day, y);
	CHECK(terms_first_of_month(day) == ref_days(y, m, 1), "first_of_month(%d)", day);
	CHECK(terms_last_of_month(day) == ref_days(y, m, ref_dim(y, m)), "last_of_month(%d)", day);
	CHECK(terms_is_last_day_of_month(day) == (d == ref_dim(y, m)), "is_last_day(%d)", day);
}

static void
check_add_months(int32_t day, int months)
{
	long		want = ref_add_months(day, months);
	int32_t		got = terms_add_months(day, months);

	CHECK(got == want, "add_months(%d, %d) = %d, reference %ld", day, months, got, want);
}

static void
check_term(int32_t start, TermCode term, BillingFrequency freq, uint64_t pick_end, uint64_t pick_day)
{
	int			L = (int) term;
	int32_t		natural = terms_natural_end(start, term);
	int32_t		aligned = terms_calendar_aligned_end(start, term);
	int32_t		term_end;
	int32_t		day;
	int32_t		cursor;
	int			ncycles;
	TermsCycle	c;
	long		ry;
	int			rm,
				rd;

	CHECK(natural == ref_add_months(start, L) - 1, "natural_end(%d, %d) = %d", start, L, natural);
	CHECK(natural >= start, "natural_end(%d, %d) = %d < start", start, L, natural);
	CHECK(natural - start + 1 >= 28 * L && natural - start + 1 <= 31 * L + 3,
		  "natural_end(%d, %d): %d days", start, L, natural - start + 1);
	CHECK(aligned >= start && aligned <= natural && aligned > natural - 31,
		  "aligned_end(%d, %d) = %d, natural %d", start, L, aligned, natural);
	CHECK(terms_is_last_day_of_month(aligned), "aligned_end(%d, %d) = %d not a month end",
		  start, L, aligned);
	CHECK(!terms_is_last_day_of_month(natural) || aligned == natural,
		  "aligned_end(%d, %d) = %d, natural %d is a month end", start, L, aligned, natural);

	/* a co-terminous end in [start, natural]: the aligned end sometimes */
	if (pick_end % 4 == 0)
		term_end = aligned;
	else if (pick_end % 4 == 1)
		term_end = natural;
	else
		term_end = start + (int32_t) ((pick_end >> 2) % (uint64_t) (natural - start + 1));
	CHECK(terms_coterminous_end_ok(start, term, term_end), "coterminous(%d,%d,%d)", start, L, term_end);
	CHECK(!terms_coterminous_end_ok(start, term, natural + 1), "coterminous past natural");
	CHECK(!terms_coterminous_end_ok(start, term, start - 1), "coterminous before start");

	if (!terms_frequency_fits_term(term, freq))
	{
		CHECK(freq != FREQ_ONE_TIME && freq != FREQ_MONTHLY && (int) freq > L,
			  "fits(%d, %d) false", L, (int) freq);
		CHECK(!terms_cycle_containing(start, term_end, term, freq, start, &c),
			  "cycle for a frequency that does not fit");
		return;
	}
	CHECK((int) freq == 0 || L % (int) freq == 0, "fits(%d, %d)", L, (int) freq);

	/* outside the term: no cycle */
	CHECK(!terms_cycle_containing(start, term_end, term, freq, start - 1, &c), "cycle before start");
	CHECK(!terms_cycle_containing(start, term_end, term, freq, term_end + 1, &c), "cycle after end");
	CHECK(!terms_cycle_containing(start, natural + 1, term, freq, start, &c), "end past natural accepted");

	/* the cycle containing an arbitrary day of the term */
	day = start + (int32_t) (pick_day % (uint64_t) (term_end - start + 1));
	CHECK(terms_cycle_containing(start, term_end, term, freq, day, &c),
		  "no cycle for day %d of [%d, %d] %d/%d", day, start, term_end, L, (int) freq);
	CHECK(c.start <= day && day <= c.end && c.full_start <= c.start,
		  "cycle [%d(%d), %d] for day %d", c.start, c.full_start, c.end, day);
	if (freq == FREQ_ONE_TIME)
	{
		CHECK(c.start == start && c.full_start == start && c.end == natural,
			  "one_time cycle [%d(%d), %d], term [%d, %d] natural %d",
			  c.start, c.full_start, c.end, start, term_end, natural);
		return;
	}
	CHECK(c.start == (c.full_start > start ? c.full_start : start), "clipping");
	CHECK(c.end <= term_end, "cycle end %d past term end %d", c.end, term_end);
	CHECK(TERMS_CYCLE_DAYS(&c) >= 28 * (int) freq && TERMS_CYCLE_DAYS(&c) <= 31 * (int) freq + 3,
		  "cycle of %d days for frequency %d", TERMS_CYCLE_DAYS(&c), (int) freq);
	/* boundaries are anchor - k*len months, computed from the anchor */
	{
		int			k,
					found = 0;

		for (k = 1; k <= 36 && !found; k++)
			if (c.full_start == ref_add_months((long) term_end + 1, -k * (int) freq) &&
				c.end + 1 == ref_add_months((long) term_end + 1, -(k - 1) * (int) freq))
				found = 1;
		CHECK(found, "cycle [%d, %d] is not anchored at %d", c.full_start, c.end, term_end + 1);
	}

	/* the cycles tile the term: walk it */
	cursor = start;
	ncycles = 0;
	for (;;)
	{
		TermsCycle	w;

		CHECK(terms_cycle_containing(start, term_end, term, freq, cursor, &w), "walk: no cycle at %d", cursor);
		CHECK(w.start == cursor, "walk: cycle at %d starts at %d", cursor, w.start);
		CHECK(w.end >= w.start, "walk: empty cycle");
		/* every day of the cycle maps to the same cycle: check its last day */
		{
			TermsCycle	x;

			CHECK(terms_cycle_containing(start, term_end, term, freq, w.end, &x) &&
				  x.start == w.start && x.end == w.end && x.full_start == w.full_start,
				  "walk: day %d maps to another cycle", w.end);
		}
		ncycles++;
		CHECK(ncycles <= L / (int) freq + 1, "walk: %d cycles for %d/%d", ncycles, L, (int) freq);
		if (w.end == term_end)
			break;
		CHECK(w.end < term_end, "walk: cycle ends at %d past %d", w.end, term_end);
		cursor = w.end + 1;
	}
	/* a full term has exactly L/freq cycles */
	if (term_end == natural)
		CHECK(ncycles == L / (int) freq, "full term %d/%d has %d cycles", L, (int) freq, ncycles);

	ref_civil(start, &ry, &rm, &rd);
	(void) rd;
}

static void
check_instants(int64_t a, int64_t b)
{
	int32_t		da = terms_utc_date(a);
	int64_t		w;

	CHECK(da == ref_floor_div(a, USECS_PER_DAY), "utc_date(%lld) = %d", (long long) a, da);
	CHECK((__int128) da * USECS_PER_DAY <= a && a < ((__int128) da + 1) * USECS_PER_DAY,
		  "utc_date(%lld) = %d", (long long) a, da);
	w = terms_whole_days_between(a, b);
	CHECK(w == ref_floor_div((__int128) b - a, USECS_PER_DAY),
		  "whole_days_between(%lld, %lld) = %lld", (long long) a, (long long) b, (long long) w);
}

static void
check_fx(int32_t day)
{
	int32_t		first = terms_first_of_month(day);
	int32_t		fx = terms_fx_rate_date(day);
	int32_t		d;
	int			business = 0;

	CHECK(fx < first && fx >= first - 6, "fx_rate_date(%d) = %d, first %d", day, fx, first);
	CHECK(ref_weekday(fx) < 5, "fx_rate_date(%d) = %d is a weekend", day, fx);
	for (d = fx; d < first; d++)
		business += ref_weekday(d) < 5;
	CHECK(business == 2, "fx_rate_date(%d) = %d: %d business days before %d", day, fx, business, first);
}

static void
check_invoice(int32_t day, int anniversary)
{
	TermsInvoicePeriod p;
	long		y;
	int			m,
				d;

	if (anniversary < 0 || anniversary > TERMS_MAX_ANNIVERSARY_DAY)
	{
		CHECK(!terms_invoice_period(day, anniversary, &p), "anniversary %d accepted", anniversary);
		return;
	}
	CHECK(terms_invoice_period(day, anniversary, &p), "anniversary %d refused", anniversary);
	CHECK(p.period_start <= day && day <= p.period_end,
		  "period [%d, %d] for day %d (anniversary %d)", p.period_start, p.period_end, day, anniversary);
	CHECK(p.invoice_date == p.period_end + 1, "invoice date");
	CHECK(p.due_date == p.invoice_date + TERMS_PAYMENT_TERM_DAYS, "due date");
	ref_civil(p.period_start, &y, &m, &d);
	if (anniversary == 0)
	{
		CHECK(d == 1 && p.period_end == ref_days(y, m, ref_dim(y, m)), "NCE period [%d, %d]",
			  p.period_start, p.period_end);
		CHECK(p.published_on == p.invoice_date + 7, "NCE published_on");
		ref_civil(p.published_on, &y, &m, &d);
		CHECK(d == 8, "NCE published on day %d", d);
	}
	else
	{
		CHECK(d == anniversary, "legacy period starts on day %d, anniversary %d", d, anniversary);
		CHECK(p.period_end + 1 == ref_add_months(p.period_start, 1), "legacy period [%d, %d]",
			  p.period_start, p.period_end);
		CHECK(p.published_on == p.invoice_date + 2, "legacy published_on");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Reader		r = {data, size};
	uint32_t	span = (uint32_t) (max_day - min_day + 1);
	/* leave room for a P3Y term after the start and cycles before it */
	uint32_t	term_span = (uint32_t) (terms_days_from_civil(TERMS_MAX_YEAR - 3, 12, 31) - min_day + 1);
	int32_t		start = min_day + (int32_t) (take(&r, 4) % term_span);
	TermCode	term = terms[take(&r, 1) % 3];
	BillingFrequency freq = freqs[take(&r, 1) % 4];
	uint64_t	pick_end = take(&r, 4);
	uint64_t	pick_day = take(&r, 4);
	int32_t		day = min_day + (int32_t) (take(&r, 4) % span);
	int			months = (int) (int8_t) take(&r, 1);
	int			anniversary = (int) (take(&r, 1) % 34) - 2;		/* -2 .. 31 */
	int64_t		a = (int64_t) take(&r, 8);
	int64_t		b = (int64_t) take(&r, 8);
	int64_t		lo = INT64_C(-211813488000000000);	/* PostgreSQL's MIN_TIMESTAMP */
	int64_t		hi = INT64_C(9223371331200000000);	/* END_TIMESTAMP */

	/* a day far enough from both ends for +-128 months and a prior month */
	if (day < min_day + 400 || day > max_day - 4000)
		day = min_day + 400 + (int32_t) ((uint32_t) day % (uint32_t) (max_day - 4400 - min_day));

	check_civil(start);
	check_civil(day);
	check_add_months(day, months);
	check_add_months(start, (int) term);
	check_term(start, term, freq, pick_end, pick_day);
	check_fx(day);
	check_invoice(day, anniversary);

	/* instants: anywhere in int64 for utc_date; in PostgreSQL's range for the difference */
	CHECK(terms_utc_date(a) == ref_floor_div(a, USECS_PER_DAY), "utc_date(%lld)", (long long) a);
	if (a < lo || a >= hi)
		a = (int64_t) ((uint64_t) lo + (uint64_t) a % ((uint64_t) hi - (uint64_t) lo));
	if (b < lo || b >= hi)
		b = (int64_t) ((uint64_t) lo + (uint64_t) b % ((uint64_t) hi - (uint64_t) lo));
	check_instants(a, b);
	return 0;
}
