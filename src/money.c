/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Rounding to a currency's minor unit and daily proration, exactly.
 *
 * Amounts are numeric from end to end.  Proration divides by a number of
 * days, which numeric_div can only approximate (it keeps ~16 significant
 * digits, and fewer fraction digits for large amounts), so a value just
 * below a half cent could round the wrong way.  csp_prorate therefore
 * divides with a truncating integer division and decides the rounding from
 * the exact remainder: the result is the exact rational value rounded half
 * away from zero, whatever the size of the amount.
 *
 * src/money.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/builtins.h"

#define NUM(d) DatumGetNumeric(d)
#define NUMD(n) NumericGetDatum(n)

Numeric
csp_numeric_from_int64(int64 value)
{
	return int64_to_numeric(value);
}

int
csp_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NUMD(a), NUMD(b)));
}

bool
csp_numeric_is_finite(Numeric value)
{
	return !numeric_is_nan(value) && !numeric_is_inf(value);
}

/* 10^-exponent as an exact numeric ("0.01" for 2) */
static Numeric
MinorUnit(int exponent)
{
	char		buf[32];

	Assert(exponent >= 0 && exponent <= 4);
	if (exponent == 0)
		return int64_to_numeric(1);
	snprintf(buf, sizeof(buf), "0.%0*d", exponent, 1);
	return NUM(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

static int64
PowerOfTen(int exponent)
{
	int64		p = 1;

	while (exponent-- > 0)
		p *= 10;
	return p;
}

/* numeric_round rounds half away from zero, which is the contract's rule. */
Numeric
csp_round_money(Numeric amount, int exponent)
{
	return NUM(DirectFunctionCall2(numeric_round, NUMD(amount),
								   Int32GetDatum(exponent)));
}

/*
 * unit_price × quantity × days / days_in_cycle, rounded to the minor unit.
 *
 * With N = unit_price × quantity × days × 10^exponent and D = days_in_cycle:
 * q = trunc(N / D), r = N − q·D; the result is (q + sign(N)) when 2|r| ≥ D,
 * else q, in minor units.  All products are exact in numeric.
 */
Numeric
csp_prorate(Numeric unit_price, int64 quantity, int32 days,
			int32 days_in_cycle, int exponent)
{
	Datum		scaled;
	Datum		divisor;
	Datum		quotient;
	Datum		remainder;
	Datum		twice_remainder;
	int			sign;

	if (days_in_cycle <= 0)
		elog(ERROR, "proration over a cycle of %d days", days_in_cycle);

	scaled = DirectFunctionCall2(numeric_mul, NUMD(unit_price),
								 NUMD(int64_to_numeric(quantity)));
	scaled = DirectFunctionCall2(numeric_mul, scaled,
								 NUMD(int64_to_numeric((int64) days * PowerOfTen(exponent))));
	divisor = NUMD(int64_to_numeric(days_in_cycle));

	quotient = DirectFunctionCall2(numeric_div_trunc, scaled, divisor);
	remainder = DirectFunctionCall2(numeric_sub, scaled,
									DirectFunctionCall2(numeric_mul, quotient, divisor));
	twice_remainder = DirectFunctionCall2(numeric_mul,
										  DirectFunctionCall1(numeric_abs, remainder),
										  NUMD(int64_to_numeric(2)));

	sign = csp_numeric_cmp(NUM(scaled), int64_to_numeric(0));
	if (sign != 0 && csp_numeric_cmp(NUM(twice_remainder), NUM(divisor)) >= 0)
		quotient = DirectFunctionCall2(numeric_add, quotient,
									   NUMD(int64_to_numeric(sign > 0 ? 1 : -1)));

	/* back to major units; the product with 10^-e is exact, the round sets dscale */
	return csp_round_money(NUM(DirectFunctionCall2(numeric_mul, quotient,
												   NUMD(MinorUnit(exponent)))),
						   exponent);
}

/*
 * An amount of money or a price as the engine accepts it: finite, below
 * 10^15 in magnitude, with at most "max_scale" decimals.  Anything larger is
 * a typo or an attack, not a price; 22003 says so before it reaches a table.
 */
void
csp_check_amount(Numeric value, const char *what, int max_scale)
{
	Numeric		limit = int64_to_numeric(INT64CONST(1000000000000000));
	Numeric		magnitude;
	int			scale;

	if (!csp_numeric_is_finite(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what),
				 errhint("NaN and infinity are not amounts of money.")));
	magnitude = NUM(DirectFunctionCall1(numeric_abs, NUMD(value)));
	if (csp_numeric_cmp(magnitude, limit) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what),
				 errhint("Amounts must be smaller than 10^15 in magnitude.")));
	scale = DatumGetInt32(DirectFunctionCall1(numeric_scale, NUMD(value)));
	if (scale > max_scale &&
		csp_numeric_cmp(value, csp_round_money(value, max_scale)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has more than %d decimal places", what, max_scale),
				 errhint("Round it to %d decimals.", max_scale)));
}

bool
csp_numeric_is_negative(Numeric value)
{
	return csp_numeric_cmp(value, int64_to_numeric(0)) < 0;
}

/* A whole-number numeric as int64 (seat-days); an error past the range. */
int64
csp_numeric_to_int64(Numeric value)
{
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NUMD(value)));
}

Numeric
csp_numeric_negate(Numeric value)
{
	return NUM(DirectFunctionCall1(numeric_uminus, NUMD(value)));
}

/* A numeric as text, in the current memory context: for messages. */
char *
csp_numeric_to_cstring(Numeric value)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value)));
}
