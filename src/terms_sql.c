/*-------------------------------------------------------------------------
 *
 * terms_sql.c
 *	  SQL access to the pure term and money arithmetic, so that every date
 *	  and amount the engine produces can be recomputed and explained with a
 *	  query (and the worked examples of the contract tested one by one).
 *
 * src/terms_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "funcapi.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_term_end);
PG_FUNCTION_INFO_V1(csp_billing_cycle);
PG_FUNCTION_INFO_V1(csp_billing_cycles);
PG_FUNCTION_INFO_V1(csp_prorate_sql);
PG_FUNCTION_INFO_V1(csp_round_money_sql);
PG_FUNCTION_INFO_V1(csp_currency_exponent_sql);
PG_FUNCTION_INFO_V1(csp_fx_rate_date);
PG_FUNCTION_INFO_V1(csp_utc_date);
PG_FUNCTION_INFO_V1(csp_whole_days);
PG_FUNCTION_INFO_V1(csp_invoice_period);

/* A term's end lies in [start, natural end] (API.md "Term and charge arithmetic"). */
static void
CheckTermBounds(DateADT term_start, DateADT term_end, TermCode term)
{
	DateADT		natural = terms_natural_end(term_start, term);

	if (term_end < term_start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term_end is before term_start"),
				 errhint("A term's end date is inclusive and on or after its start.")));
	if (term_end > natural)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term_end %s is after the natural end of the term", csp_date_to_cstring(term_end)),
				 errhint("A %s term starting %s ends by %s.", terms_term_name(term),
						 csp_date_to_cstring(term_start), csp_date_to_cstring(natural))));
}

static DateADT
DateArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	DateADT		day = PG_GETARG_DATEADT(argno);

	csp_check_date_in_range(day, what);
	return day;
}

/* csp.term_end(start date, term text, align_to_calendar_month boolean) → date */
Datum
csp_term_end(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"start", "term", "align_to_calendar_month"};
	DateADT		start;
	TermCode	term;
	int32_t		end;

	csp_require_args(fcinfo, args, lengthof(args));
	start = DateArg(fcinfo, 0, "start");
	term = csp_check_term(csp_arg_cstring(fcinfo, 1));

	if (PG_GETARG_BOOL(2))
		end = terms_calendar_aligned_end(start, term);
	else
		end = terms_natural_end(start, term);
	csp_check_date_in_range(end, "the term end");
	PG_RETURN_DATEADT(end);
}

static Datum
CycleTuple(TupleDesc tupdesc, const TermsCycle *cycle)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = DateADTGetDatum(cycle->start);
	values[1] = DateADTGetDatum(cycle->end);
	values[2] = Int32GetDatum(TERMS_CYCLE_DAYS(cycle));
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * csp.billing_cycle(term_start, term_end, term, billing_frequency, on_date)
 *   → (cycle_start date, cycle_end date, days_in_cycle int)
 * The cycle containing on_date; days_in_cycle is the unclipped length, the
 * divisor of daily proration.
 */
Datum
csp_billing_cycle(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"term_start", "term_end", "term", "billing_frequency", "on_date"};
	TupleDesc	tupdesc;
	DateADT		term_start,
				term_end,
				on_date;
	TermCode	term;
	BillingFrequency freq;
	TermsCycle	cycle;

	csp_require_args(fcinfo, args, lengthof(args));
	term_start = DateArg(fcinfo, 0, "term_start");
	term_end = DateArg(fcinfo, 1, "term_end");
	term = csp_check_term(csp_arg_cstring(fcinfo, 2));
	freq = csp_check_frequency(csp_arg_cstring(fcinfo, 3));
	on_date = DateArg(fcinfo, 4, "on_date");
	csp_check_term_frequency(term, freq);
	CheckTermBounds(term_start, term_end, term);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (!terms_cycle_containing(term_start, term_end, term, freq, on_date, &cycle))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not inside the term",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(on_date)))),
				 errhint("Pass a date between term_start and term_end.")));
	PG_RETURN_DATUM(CycleTuple(tupdesc, &cycle));
}

/*
 * csp.billing_cycles(term_start, term_end, term, billing_frequency)
 *   → SETOF (cycle_start, cycle_end, days_in_cycle)
 */
Datum
csp_billing_cycles(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"term_start", "term_end", "term", "billing_frequency"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DateADT		term_start,
				term_end,
				day;
	TermCode	term;
	BillingFrequency freq;

	csp_require_args(fcinfo, args, lengthof(args));
	term_start = DateArg(fcinfo, 0, "term_start");
	term_end = DateArg(fcinfo, 1, "term_end");
	term = csp_check_term(csp_arg_cstring(fcinfo, 2));
	freq = csp_check_frequency(csp_arg_cstring(fcinfo, 3));
	csp_check_term_frequency(term, freq);
	CheckTermBounds(term_start, term_end, term);

	SetSingleFuncCall(fcinfo, 0);

	for (day = term_start; day <= term_end;)
	{
		TermsCycle	cycle;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (!terms_cycle_containing(term_start, term_end, term, freq, day, &cycle))
			elog(ERROR, "no cycle contains a day of the term");
		values[0] = DateADTGetDatum(cycle.start);
		values[1] = DateADTGetDatum(cycle.end);
		values[2] = Int32GetDatum(TERMS_CYCLE_DAYS(&cycle));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		day = cycle.end + 1;
	}
	return (Datum) 0;
}

static Numeric
FiniteNumericArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Numeric		value = PG_GETARG_NUMERIC(argno);

	if (!csp_numeric_is_finite(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what),
				 errhint("NaN and infinity are not amounts of money.")));
	return value;
}

/*
 * csp.prorate(unit_price, quantity, days, days_in_cycle, currency) → numeric
 * unit_price × quantity × days / days_in_cycle, rounded half away from zero
 * to the currency's minor unit.
 */
Datum
csp_prorate_sql(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"unit_price", "quantity", "days", "days_in_cycle", "currency"};
	Numeric		unit_price;
	int64		quantity;
	int32		days,
				days_in_cycle;
	int			exponent;

	csp_require_args(fcinfo, args, lengthof(args));
	unit_price = FiniteNumericArg(fcinfo, 0, "unit_price");
	quantity = PG_GETARG_INT64(1);
	days = PG_GETARG_INT32(2);
	days_in_cycle = PG_GETARG_INT32(3);
	exponent = csp_check_currency_exponent(csp_arg_cstring(fcinfo, 4));

	if (days_in_cycle <= 0 || days < 0 || days > days_in_cycle)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot prorate %d days of a %d-day cycle", days, days_in_cycle),
				 errhint("days must lie between 0 and days_in_cycle, and days_in_cycle be positive.")));

	PG_RETURN_NUMERIC(csp_prorate(unit_price, quantity, days, days_in_cycle, exponent));
}

/*
 * The exponent of the currency in argument argno, remembered in fn_extra
 * for the next row: a view rounds every row of an invoice table, and its
 * rows mostly share one or two currencies.
 */
typedef struct LastCurrency
{
	int			len;
	char		code[8];
	int			exponent;
} LastCurrency;

static int
CachedCurrencyExponent(FunctionCallInfo fcinfo, int argno)
{
	text	   *code = PG_GETARG_TEXT_PP(argno);
	int			len = VARSIZE_ANY_EXHDR(code);
	LastCurrency *last = (LastCurrency *) fcinfo->flinfo->fn_extra;

	if (last != NULL && last->len == len && memcmp(last->code, VARDATA_ANY(code), len) == 0)
		return last->exponent;
	if (last == NULL)
		last = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LastCurrency));
	last->len = -1;
	last->exponent = csp_check_currency_exponent(text_to_cstring(code));
	if (len <= (int) sizeof(last->code))
	{
		memcpy(last->code, VARDATA_ANY(code), len);
		last->len = len;
	}
	return last->exponent;
}

/*
 * csp.round_money(amount numeric, currency text) → numeric
 * An amount that already has the currency's scale is returned as it is:
 * stored amounts are, and rounding them again would only copy them.
 */
Datum
csp_round_money_sql(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"amount", "currency"};
	Numeric		amount;
	int			exponent;

	csp_require_args(fcinfo, args, lengthof(args));
	amount = FiniteNumericArg(fcinfo, 0, "amount");
	exponent = CachedCurrencyExponent(fcinfo, 1);
	if (DatumGetInt32(DirectFunctionCall1(numeric_scale, NumericGetDatum(amount))) == exponent)
		PG_RETURN_NUMERIC(amount);
	PG_RETURN_NUMERIC(csp_round_money(amount, exponent));
}

/* csp.currency_exponent(currency text) → int */
Datum
csp_currency_exponent_sql(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"currency"};

	csp_require_args(fcinfo, args, lengthof(args));
	PG_RETURN_INT32(csp_check_currency_exponent(csp_arg_cstring(fcinfo, 0)));
}

/* csp.fx_rate_date(month date) → date (R12.3) */
Datum
csp_fx_rate_date(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"month"};

	csp_require_args(fcinfo, args, lengthof(args));
	PG_RETURN_DATEADT(terms_fx_rate_date(DateArg(fcinfo, 0, "month")));
}

/* csp.utc_date(at timestamptz) → date: the UTC calendar date of an instant */
Datum
csp_utc_date(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"at"};
	TimestampTz at;

	csp_require_args(fcinfo, args, lengthof(args));
	at = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an infinite timestamp has no date"),
				 errhint("Pass a finite timestamp with time zone.")));
	PG_RETURN_DATEADT(terms_utc_date(at));
}

/* csp.whole_days(from_at, to_at) → bigint: whole 24-hour periods between them */
Datum
csp_whole_days(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"from_at", "to_at"};
	TimestampTz from_at,
				to_at;

	csp_require_args(fcinfo, args, lengthof(args));
	from_at = PG_GETARG_TIMESTAMPTZ(0);
	to_at = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(from_at) || TIMESTAMP_NOT_FINITE(to_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("whole days between infinite timestamps are undefined"),
				 errhint("Pass finite timestamps.")));
	PG_RETURN_INT64(terms_whole_days_between(from_at, to_at));
}

/*
 * csp.invoice_period(on_date date, anniversary_day int DEFAULT NULL)
 *   → (period_start, period_end, invoice_date, published_on, due_date)
 * NULL anniversary_day: NCE calendar month; 1..28: legacy cycle.
 */
Datum
csp_invoice_period(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"on_date", NULL};
	TupleDesc	tupdesc;
	TermsInvoicePeriod period;
	int			anniversary_day = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	csp_require_args(fcinfo, args, lengthof(args));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if ((!PG_ARGISNULL(1) && anniversary_day < 1) ||
		!terms_invoice_period(DateArg(fcinfo, 0, "on_date"), anniversary_day, &period))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anniversary day %d is out of range", anniversary_day),
				 errhint("Use a day from 1 to %d, or NULL for calendar-month (NCE) billing.",
						 TERMS_MAX_ANNIVERSARY_DAY)));

	values[0] = DateADTGetDatum(period.period_start);
	values[1] = DateADTGetDatum(period.period_end);
	values[2] = DateADTGetDatum(period.invoice_date);
	values[3] = DateADTGetDatum(period.published_on);
	values[4] = DateADTGetDatum(period.due_date);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
