/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Argument checks shared by the SQL-callable functions.
 *
 * The functions are not STRICT: a NULL where a value is required is a
 * mistake the caller should hear about (22023), not a silent NULL result
 * that a script would take for success.
 *
 * src/args.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

/*
 * names[i] is the SQL name of argument i, or NULL where NULL is allowed.
 */
void
csp_require_args(FunctionCallInfo fcinfo, const char *const *names, int nnames)
{
	int			i;

	for (i = 0; i < nnames && i < PG_NARGS(); i++)
	{
		if (names[i] != NULL && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"%s\" must not be null", names[i]),
					 errhint("Pass a value for %s.", names[i])));
	}
}

char *
csp_arg_cstring(FunctionCallInfo fcinfo, int argno)
{
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

char *
csp_arg_cstring_or_null(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static char *
UpperCopy(const char *code)
{
	char	   *copy = pstrdup(code);
	char	   *p;

	for (p = copy; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = *p - 'a' + 'A';
	return copy;
}

/* An ISO 4217 code, upper-cased; anything else is 22023. */
char *
csp_check_currency(const char *code)
{
	char	   *upper = UpperCopy(code);

	if (csp_currency_exponent(upper) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an ISO 4217 currency code", code),
				 errhint("Use a three-letter code such as EUR, USD or SEK.")));
	return upper;
}

/* An ISO 3166-1 alpha-2 code, upper-cased; anything else is 22023. */
char *
csp_check_country(const char *code)
{
	char	   *upper = UpperCopy(code);

	if (!csp_country_known(upper))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an ISO 3166-1 alpha-2 country code", code),
				 errhint("Use a two-letter code such as NL, SE or US.")));
	return upper;
}

/* NULL, empty, or only white space */
bool
csp_is_blank(const char *value)
{
	const char *p;

	if (value == NULL)
		return true;
	for (p = value; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\f' && *p != '\v')
			return false;
	return true;
}

void
csp_check_nonblank(const char *value, const char *what)
{
	if (!csp_is_blank(value))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must not be empty", what),
			 errhint("Pass a non-blank %s.", what)));
}

void
csp_check_date_in_range(DateADT day, const char *what)
{
	if (DATE_NOT_FINITE(day) || !terms_day_in_range(day))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is outside the supported date range", what),
				 errhint("Use a date between %d-01-01 and %d-12-31.",
						 TERMS_MIN_YEAR, TERMS_MAX_YEAR)));
}

void
csp_check_jsonb_object(Jsonb *value, const char *what)
{
	if (!JB_ROOT_IS_OBJECT(value) || JB_ROOT_IS_SCALAR(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what),
				 errhint("Pass an object such as '{\"street\": \"Main 1\", \"city\": \"Utrecht\"}'.")));
}

TermCode
csp_check_term(const char *text)
{
	TermCode	term = terms_parse_term(text);

	if (term == TERM_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a term duration", text),
				 errhint("Use P1M, P1Y or P3Y.")));
	return term;
}

BillingFrequency
csp_check_frequency(const char *text)
{
	BillingFrequency freq = terms_parse_frequency(text);

	if (freq == FREQ_INVALID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a billing frequency", text),
				 errhint("Use monthly, annual, triennial or one_time.")));
	return freq;
}

void
csp_check_term_frequency(TermCode term, BillingFrequency freq)
{
	if (!terms_frequency_fits_term(term, freq))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("billing frequency %s does not fit term %s",
						terms_frequency_name(freq), terms_term_name(term)),
				 errdetail("Billing cycles must divide the term evenly."),
				 errhint("%s allows %s.", terms_term_name(term),
						 term == TERM_P1M ? "monthly or one_time" :
						 term == TERM_P1Y ? "monthly, annual or one_time" :
						 "monthly, annual, triennial or one_time")));
}

/* The currency's minor-unit exponent, or 22023 for an unknown code. */
int
csp_check_currency_exponent(const char *code)
{
	return csp_currency_exponent(csp_check_currency(code));
}

/* NC404 for an unknown object, named as the caller passed it. */
void
csp_report_not_found(const char *what, const char *id)
{
	if (strcmp(what, "role") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_FOUND),
				 errmsg("role %s does not exist", id),
				 errhint("Create the role first (CREATE ROLE), or check its name in pg_roles.")));
	ereport(ERROR,
			(errcode(ERRCODE_CSP_NOT_FOUND),
			 errmsg("%s %s does not exist", what, id),
			 errhint("Check the %s id; the csp views list the existing ones.", what)));
}

/* A date, or -infinity/+infinity where allowed. */
char *
csp_date_to_cstring(DateADT day)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)));
}

/*
 * The value of "key" in a jsonb object as text (strings unquoted, numbers
 * printed), or NULL when absent, null or not a scalar.
 */
char *
csp_jsonb_field(Jsonb *object, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	if (object == NULL || !JB_ROOT_IS_OBJECT(object))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&object->root, JB_FOBJECT, &k);
	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return NULL;
}
