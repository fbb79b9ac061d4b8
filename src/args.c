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

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

/* How one argument is bounded (ARG_NONE: not text, jsonb or text[]). */
typedef enum ArgKind
{
	ARG_NONE,
	ARG_TEXT,					/* limit in characters */
	ARG_JSONB,					/* limit in bytes */
	ARG_ARRAY					/* limit in bytes */
} ArgKind;

typedef struct ArgBounds
{
	Oid			fn_oid;			/* hash key */
	int			nargs;
	ArgKind		kind[FUNC_MAX_ARGS];
	int32		limit[FUNC_MAX_ARGS];
	char	   *name[FUNC_MAX_ARGS];
} ArgBounds;

/* The text limits by argument name; every other text argument gets CSP_MAX_TEXT_CHARS. */
static const struct
{
	const char *name;
	int32		limit;
}			text_limits[] =
{
	{"name", CSP_MAX_NAME_CHARS},
	{"legal_name", CSP_MAX_NAME_CHARS},
	{"friendly_name", CSP_MAX_NAME_CHARS},
	{"email", CSP_MAX_EMAIL_CHARS},
	{"phone", CSP_MAX_PHONE_CHARS},
	{"registration_id", CSP_MAX_ID_CHARS},
	{"sku_id", CSP_MAX_ID_CHARS},
	{"from_sku", CSP_MAX_ID_CHARS},
	{"to_sku", CSP_MAX_ID_CHARS},
	{"trial_of", CSP_MAX_ID_CHARS},
	{"partner_id", CSP_MAX_ID_CHARS},
	{"to_partner_id", CSP_MAX_ID_CHARS},
	{"reseller_id", CSP_MAX_ID_CHARS},
	{"invoice_number", CSP_MAX_ID_CHARS},
	{"meter_id", CSP_MAX_METER_ID_CHARS},
	{"currency", CSP_MAX_ID_CHARS},
	{"from_currency", CSP_MAX_ID_CHARS},
	{"to_currency", CSP_MAX_ID_CHARS},
	{"country", CSP_MAX_ID_CHARS},
	{"term", CSP_MAX_ID_CHARS},
	{"billing_frequency", CSP_MAX_ID_CHARS},
	{"status", CSP_MAX_ID_CHARS},
	{"method", CSP_MAX_ID_CHARS},
	{"profile_role", CSP_MAX_ID_CHARS},
	{"publisher", CSP_MAX_ID_CHARS},
	{"billing_type", CSP_MAX_ID_CHARS},
	{"billing_model", CSP_MAX_ID_CHARS},
	{"account_role", CSP_MAX_ID_CHARS},
	{"indirect_provider_id", CSP_MAX_ID_CHARS},
};

static HTAB *bounds_cache = NULL;

/* The bounds of a function's arguments, from its pg_proc row, kept per backend. */
static ArgBounds *
LookupArgBounds(Oid fn_oid)
{
	ArgBounds  *entry;
	bool		found;
	HeapTuple	proc;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			n;
	int			i;

	if (bounds_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ArgBounds);
		bounds_cache = hash_create("csp_billing argument bounds", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(bounds_cache, &fn_oid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	n = get_func_arg_info(proc, &types, &names, &modes);
	ReleaseSysCache(proc);

	/* built in full before it is entered, so an error leaves no half entry */
	{
		ArgBounds	built;

		memset(&built, 0, sizeof(built));
		built.fn_oid = fn_oid;
		built.nargs = Min(n, FUNC_MAX_ARGS);
		for (i = 0; i < built.nargs; i++)
		{
			const char *argname = names && names[i] && names[i][0] ? names[i] : "argument";
			int			j;

			built.name[i] = MemoryContextStrdup(TopMemoryContext, argname);
			switch (types[i])
			{
				case TEXTOID:
					built.kind[i] = ARG_TEXT;
					built.limit[i] = CSP_MAX_TEXT_CHARS;
					for (j = 0; j < (int) lengthof(text_limits); j++)
						if (strcmp(argname, text_limits[j].name) == 0)
							built.limit[i] = text_limits[j].limit;
					break;
				case JSONBOID:
					built.kind[i] = ARG_JSONB;
					built.limit[i] = (strcmp(argname, "remittance") == 0 ||
									  strcmp(argname, "allocations") == 0)
						? CSP_MAX_REMITTANCE_BYTES : CSP_MAX_JSONB_BYTES;
					break;
				case TEXTARRAYOID:
					built.kind[i] = ARG_ARRAY;
					built.limit[i] = CSP_MAX_ARRAY_BYTES;
					break;
				default:
					built.kind[i] = ARG_NONE;
			}
		}
		entry = hash_search(bounds_cache, &fn_oid, HASH_ENTER, &found);
		memcpy(entry, &built, sizeof(built));
	}
	return entry;
}

static void pg_attribute_noreturn()
ReportTooLong(const char *argname, int32 limit, const char *unit)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("argument \"%s\" is longer than %d %s", argname, limit, unit),
			 errdetail("Every text and JSON argument has a limit (README \"Limits\")."),
			 errhint("Pass at most %d %s for %s.", limit, unit, argname)));
}

/*
 * Refuses (22023) any text, text[] or jsonb argument beyond its limit,
 * before the function does anything with it: sizes are read from the
 * datum's header, and a text value is only detoasted when its byte length
 * leaves its character count in doubt.
 */
void
csp_check_arg_bounds(FunctionCallInfo fcinfo)
{
	ArgBounds  *bounds;
	int			i;

	if (fcinfo->flinfo == NULL || !OidIsValid(fcinfo->flinfo->fn_oid))
		return;
	bounds = LookupArgBounds(fcinfo->flinfo->fn_oid);
	for (i = 0; i < bounds->nargs && i < PG_NARGS(); i++)
	{
		Size		bytes;

		if (bounds->kind[i] == ARG_NONE || PG_ARGISNULL(i))
			continue;
		bytes = toast_raw_datum_size(PG_GETARG_DATUM(i)) - VARHDRSZ;
		if (bytes <= (Size) bounds->limit[i])
			continue;
		if (bounds->kind[i] != ARG_TEXT)
			ReportTooLong(bounds->name[i], bounds->limit[i], "bytes");
		if (bytes > (Size) bounds->limit[i] * pg_database_encoding_max_length())
			ReportTooLong(bounds->name[i], bounds->limit[i], "characters");
		{
			text	   *value = PG_GETARG_TEXT_PP(i);

			if (pg_mbstrlen_with_len(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)) > bounds->limit[i])
				ReportTooLong(bounds->name[i], bounds->limit[i], "characters");
		}
	}
}

/*
 * names[i] is the SQL name of argument i, or NULL where NULL is allowed.
 * Every argument is bounded first (csp_check_arg_bounds).
 */
void
csp_require_args(FunctionCallInfo fcinfo, const char *const *names, int nnames)
{
	int			i;

	csp_check_arg_bounds(fcinfo);

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
		return csp_numeric_to_cstring(v->val.numeric);
	return NULL;
}

char *
csp_uuid_to_cstring(Datum uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid));
}

Datum
csp_new_uuid(void)
{
	return DirectFunctionCall1(gen_random_uuid, (Datum) 0);
}
