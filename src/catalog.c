/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  R4 catalog: products (license or usage, one-per-customer, trials,
 *	  add-ons with their ratios), upgrade paths, prices by term, frequency,
 *	  currency and validity date; R12 exchange rates.
 *
 * These are global reference tables: every billing account sees the same
 * catalog.  Prices are looked up at purchase and renewal and then stay
 * fixed on the subscription for its term (R4.3).
 *
 * src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_add_product);
PG_FUNCTION_INFO_V1(csp_add_upgrade_path);
PG_FUNCTION_INFO_V1(csp_set_price);
PG_FUNCTION_INFO_V1(csp_set_fx_rate);

/*
 * The product's billing type and trial base, FOR SHARE; NC404 when unknown.
 * *trial_of receives the paid SKU of a trial, or NULL.
 */
char *
csp_lock_product(const char *sku_id, char **trial_of)
{
	static CspPlan plan = {
		"SELECT billing_type, trial_of FROM csp.product WHERE sku_id = $1 FOR SHARE",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_product_lock_billing_type	1
#define Anum_product_lock_trial_of		2
	Datum		id = CStringGetTextDatum(sku_id);

	csp_spi_run(&plan, &id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("product", sku_id);
	if (trial_of)
		*trial_of = csp_spi_getcstring(0, Anum_product_lock_trial_of);
	return csp_spi_getcstring(0, Anum_product_lock_billing_type);
}

static void
CheckRatio(FunctionCallInfo fcinfo, int argno, const char *what, bool at_most_one)
{
	Numeric		ratio;

	if (PG_ARGISNULL(argno))
		return;
	ratio = PG_GETARG_NUMERIC(argno);
	csp_check_amount(ratio, what, CSP_PRICE_SCALE);
	if (csp_numeric_cmp(ratio, int64_to_numeric(0)) <= 0 ||
		(at_most_one && csp_numeric_cmp(ratio, int64_to_numeric(1)) > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s", what, at_most_one ? "above 0 and at most 1" : "above 0"),
				 errhint("Multi-geo uses addon_min_ratio => 0.05; Copilot addon_max_ratio => 1.")));
}

/*
 * csp.add_product(sku_id, name, publisher, billing_type, one_per_customer,
 *                 trial_of, addon_of, addon_min_ratio, addon_max_ratio) → text
 */
Datum
csp_add_product(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"sku_id", "name", "publisher", "billing_type",
	"one_per_customer", NULL, NULL, NULL, NULL};
	static CspPlan insert = {
		"INSERT INTO csp.product (sku_id, name, publisher, billing_type, one_per_customer,"
		"  trial_of, addon_of, addon_min_ratio, addon_max_ratio, created_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (sku_id) DO NOTHING",
		10, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTARRAYOID,
		NUMERICOID, NUMERICOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *sku_id;
	char	   *billing_type;
	char	   *trial_of = NULL;
	Datum		values[10];
	char		nulls[10];
	int			i;

	csp_require_args(fcinfo, args, lengthof(args));
	sku_id = csp_arg_cstring(fcinfo, 0);
	csp_check_nonblank(sku_id, "sku_id");
	csp_check_nonblank(csp_arg_cstring(fcinfo, 1), "name");
	csp_check_nonblank(csp_arg_cstring(fcinfo, 2), "publisher");
	billing_type = csp_arg_cstring(fcinfo, 3);
	if (strcmp(billing_type, "license") != 0 && strcmp(billing_type, "usage") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a billing type", billing_type),
				 errhint("Use license or usage (R4.1).")));
	CheckRatio(fcinfo, 7, "addon_min_ratio", true);
	CheckRatio(fcinfo, 8, "addon_max_ratio", false);
	if (PG_ARGISNULL(6) && (!PG_ARGISNULL(7) || !PG_ARGISNULL(8)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("add-on ratios need addon_of"),
				 errhint("Name the base SKUs the add-on attaches to in addon_of.")));
	if (!PG_ARGISNULL(7) && !PG_ARGISNULL(8) &&
		csp_numeric_cmp(PG_GETARG_NUMERIC(7), PG_GETARG_NUMERIC(8)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("addon_min_ratio is above addon_max_ratio"),
				 errhint("The minimum ratio must not exceed the maximum.")));

	csp_enter(fcinfo, "add_product", true);

	if (!PG_ARGISNULL(5))
	{
		char	   *base_trial;
		char	   *base_type;

		trial_of = csp_arg_cstring(fcinfo, 5);
		base_type = csp_lock_product(trial_of, &base_trial);
		if (base_trial != NULL || strcmp(base_type, "license") != 0 ||
			strcmp(billing_type, "license") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s cannot be the paid equivalent of a trial", trial_of),
					 errdetail("A trial and its paid equivalent are license-based, and a trial's base is not a trial itself (R9.1)."),
					 errhint("Name a paid, license-based SKU in trial_of.")));
	}

	if (!PG_ARGISNULL(6))
	{
		ArrayType  *bases = PG_GETARG_ARRAYTYPE_P(6);
		Datum	   *elems;
		bool	   *elem_nulls;
		int			nelems;

		deconstruct_array(bases, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nelems);
		if (nelems == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("addon_of is empty"),
					 errhint("Name at least one base SKU, or pass NULL for a base product.")));
		for (i = 0; i < nelems; i++)
		{
			char	   *base;

			if (elem_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("addon_of contains a NULL"),
						 errhint("List base SKU ids only.")));
			base = TextDatumGetCString(elems[i]);
			if (strcmp(base, sku_id) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s cannot be an add-on of itself", sku_id),
						 errhint("Name the base SKUs in addon_of.")));
			csp_lock_product(base, NULL);
		}
	}

	for (i = 0; i < 9; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	values[9] = TimestampTzGetDatum(csp_now());
	nulls[9] = ' ';
	csp_spi_run(&insert, values, nulls, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("product %s already exists", sku_id),
				 errhint("Set new prices with csp.set_price; SKU ids are unique.")));
	csp_finish();

	PG_RETURN_TEXT_P(cstring_to_text(sku_id));
}

/* csp.add_upgrade_path(from_sku, to_sku): R8.1 supported conversion paths */
Datum
csp_add_upgrade_path(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"from_sku", "to_sku"};
	/* is from_sku already reachable from to_sku, directly or in steps? */
	static CspPlan reverse = {
		"WITH RECURSIVE reach(sku) AS ("
		"  SELECT to_sku FROM csp.upgrade_path WHERE from_sku = $2"
		"  UNION SELECT p.to_sku FROM csp.upgrade_path p JOIN reach r ON p.from_sku = r.sku)"
		" SELECT 1 FROM reach WHERE sku = $1",
		2, {TEXTOID, TEXTOID}, NULL, 0
	};
	static CspPlan insert = {
		"INSERT INTO csp.upgrade_path (from_sku, to_sku, created_at) VALUES ($1, $2, $3)"
		" ON CONFLICT DO NOTHING",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *from_sku;
	char	   *to_sku;
	char	   *from_trial;
	char	   *to_trial;
	Datum		values[3];

	csp_require_args(fcinfo, args, lengthof(args));
	from_sku = csp_arg_cstring(fcinfo, 0);
	to_sku = csp_arg_cstring(fcinfo, 1);
	if (strcmp(from_sku, to_sku) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("%s cannot be upgraded to itself", from_sku),
				 errhint("An upgrade path joins two different SKUs.")));

	csp_enter(fcinfo, "add_upgrade_path", true);
	csp_lock_product(from_sku, &from_trial);
	csp_lock_product(to_sku, &to_trial);
	if (from_trial != NULL || to_trial != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("trials are not on upgrade paths"),
				 errdetail("An upgrade moves a paid subscription to a paid one of a higher SKU (R8.1)."),
				 errhint("Convert a trial with csp.convert_trial.")));

	values[0] = CStringGetTextDatum(from_sku);
	values[1] = CStringGetTextDatum(to_sku);
	csp_spi_run(&reverse, values, NULL, true, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_UPGRADE_NOT_ALLOWED),
				 errmsg("%s is already an upgrade of %s", from_sku, to_sku),
				 errdetail("The reverse path would be a downgrade, and downgrades are not supported (R8.1)."),
				 errhint("Keep one direction: from the lower SKU to the higher.")));
	values[2] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * csp.set_price(sku_id, term, billing_frequency, currency, unit_price,
 *               valid_from) — unit_price per seat per full billing cycle.
 */
Datum
csp_set_price(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"sku_id", "term", "billing_frequency", "currency",
	"unit_price", "valid_from"};
	static CspPlan upsert = {
		"INSERT INTO csp.price (sku_id, term, billing_frequency, currency, valid_from, unit_price, set_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)"
		" ON CONFLICT (sku_id, term, billing_frequency, currency, valid_from)"
		" DO UPDATE SET unit_price = EXCLUDED.unit_price, set_at = EXCLUDED.set_at"
		" WHERE price.unit_price IS DISTINCT FROM EXCLUDED.unit_price",
		7, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, DATEOID, NUMERICOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *sku_id;
	TermCode	term;
	BillingFrequency freq;
	char	   *currency;
	Numeric		unit_price;
	DateADT		valid_from;
	char	   *billing_type;
	char	   *trial_of;
	Datum		values[7];

	csp_require_args(fcinfo, args, lengthof(args));
	sku_id = csp_arg_cstring(fcinfo, 0);
	term = csp_check_term(csp_arg_cstring(fcinfo, 1));
	freq = csp_check_frequency(csp_arg_cstring(fcinfo, 2));
	csp_check_term_frequency(term, freq);
	currency = csp_check_currency(csp_arg_cstring(fcinfo, 3));
	unit_price = PG_GETARG_NUMERIC(4);
	csp_check_amount(unit_price, "unit_price", CSP_PRICE_SCALE);
	if (csp_numeric_is_negative(unit_price))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unit_price must not be negative"),
				 errhint("Credits are recorded as credit notes, not as negative prices.")));
	valid_from = PG_GETARG_DATEADT(5);
	if (!DATE_IS_NOBEGIN(valid_from))
		csp_check_date_in_range(valid_from, "valid_from");

	csp_enter(fcinfo, "set_price", true);
	billing_type = csp_lock_product(sku_id, &trial_of);
	if (strcmp(billing_type, "usage") == 0 || trial_of != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has no list price", sku_id),
				 errdetail("%s", trial_of ? "Trials are free (R9.1)." :
						   "Usage-based SKUs are charged through their usage records (R11.3)."),
				 errhint("Set prices for license-based paid SKUs only.")));

	values[0] = CStringGetTextDatum(sku_id);
	values[1] = CStringGetTextDatum(terms_term_name(term));
	values[2] = CStringGetTextDatum(terms_frequency_name(freq));
	values[3] = CStringGetTextDatum(currency);
	values[4] = DateADTGetDatum(valid_from);
	values[5] = NumericGetDatum(unit_price);
	values[6] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&upsert, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.set_fx_rate(from_currency, to_currency, rate_date, rate): R12.3 mid-rates */
Datum
csp_set_fx_rate(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"from_currency", "to_currency", "rate_date", "rate"};
	static CspPlan upsert = {
		"INSERT INTO csp.fx_rate (from_currency, to_currency, rate_date, rate, set_at)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (from_currency, to_currency, rate_date)"
		" DO UPDATE SET rate = EXCLUDED.rate, set_at = EXCLUDED.set_at"
		" WHERE fx_rate.rate IS DISTINCT FROM EXCLUDED.rate",
		5, {TEXTOID, TEXTOID, DATEOID, NUMERICOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *from_currency;
	char	   *to_currency;
	Numeric		rate;
	Datum		values[5];

	csp_require_args(fcinfo, args, lengthof(args));
	from_currency = csp_check_currency(csp_arg_cstring(fcinfo, 0));
	to_currency = csp_check_currency(csp_arg_cstring(fcinfo, 1));
	if (strcmp(from_currency, to_currency) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an exchange rate needs two different currencies"),
				 errhint("A currency converts to itself at 1 without a rate.")));
	csp_check_date_in_range(PG_GETARG_DATEADT(2), "rate_date");
	rate = PG_GETARG_NUMERIC(3);
	csp_check_amount(rate, "rate", CSP_RATE_SCALE);
	if (csp_numeric_cmp(rate, int64_to_numeric(0)) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rate must be positive"),
				 errhint("Pass the mid-rate: units of to_currency per unit of from_currency.")));

	csp_enter(fcinfo, "set_fx_rate", true);
	values[0] = CStringGetTextDatum(from_currency);
	values[1] = CStringGetTextDatum(to_currency);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = NumericGetDatum(rate);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&upsert, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}
