/*-------------------------------------------------------------------------
 *
 * customers.c
 *	  R3 customers: the record, registration data required by country,
 *	  MCA attestation and verification; the customer row lock that every
 *	  purchase and change takes first.
 *
 * src/customers.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(csp_add_customer);
PG_FUNCTION_INFO_V1(csp_update_customer);
PG_FUNCTION_INFO_V1(csp_attest_mca);
PG_FUNCTION_INFO_V1(csp_set_customer_verification);

/* R3.2: countries whose customers need a registration ID and a phone number */
static const char *const registration_countries[] = {
	"AM", "AZ", "BY", "BR", "HU", "IN", "IQ", "KZ", "KG", "MD", "MM", "PL",
	"RU", "SA", "ZA", "SS", "TJ", "TH", "TR", "UA", "AE", "UZ", "VE", "VN"
};

static bool
NeedsRegistration(const char *country)
{
	int			i;

	for (i = 0; i < (int) lengthof(registration_countries); i++)
		if (strcmp(country, registration_countries[i]) == 0)
			return true;
	return false;
}


static void
CheckRegistration(const char *country, const char *registration_id, const char *phone)
{
	if (NeedsRegistration(country) && (csp_is_blank(registration_id) || csp_is_blank(phone)))
		ereport(ERROR,
				(errcode(ERRCODE_CSP_REGISTRATION_REQUIRED),
				 errmsg("customers in %s need a company registration ID and a phone number", country),
				 errdetail("Missing: %s.",
						   csp_is_blank(registration_id) && csp_is_blank(phone) ? "registration_id and phone" :
						   csp_is_blank(registration_id) ? "registration_id" : "phone"),
				 errhint("Pass registration_id and phone (R3.2).")));
}

/*
 * R3.1: an address is a JSON object with string values; a non-empty one
 * must hold street, city and postal_code; region is optional (not every
 * country has one).  Unknown keys are refused so typos do not vanish.
 */
static void
CheckAddress(Jsonb *address)
{
	static const char *const keys[] = {"street", "city", "region", "postal_code"};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		seen[lengthof(keys)] = {false, false, false, false};
	int			depth = 0;
	int			count = 0;
	int			current = -1;

	csp_check_jsonb_object(address, "address");

	it = JsonbIteratorInit(&address->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
		{
			if (++depth > 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("address values must be strings"),
						 errhint("Use {\"street\": ..., \"city\": ..., \"region\": ..., \"postal_code\": ...}.")));
		}
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_KEY)
		{
			int			i;

			current = -1;
			for (i = 0; i < (int) lengthof(keys); i++)
				if (strlen(keys[i]) == (size_t) v.val.string.len &&
					strncmp(keys[i], v.val.string.val, v.val.string.len) == 0)
					current = i;
			if (current < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown address field \"%.*s\"", v.val.string.len, v.val.string.val),
						 errhint("Address fields are street, city, region and postal_code; the country is an argument of its own.")));
			count++;
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("address field \"%s\" must be a string", keys[current]),
						 errhint("Quote the value.")));
			if (v.val.string.len > 0)
				seen[current] = true;
		}
	}

	if (count > 0 && (!seen[0] || !seen[1] || !seen[3]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the address is incomplete"),
				 errdetail("A customer's address needs street, city and postal_code (R3.1)."),
				 errhint("Pass all three, with region where the country has one.")));
}

/*
 * The customer's partner and state, locked FOR UPDATE; NC404 when unknown.
 * Returns a palloc'd copy of the country; *verification receives the
 * verification status.
 */
static char *
LockCustomer(Datum customer_id, char **verification)
{
	static CspPlan plan = {
		"SELECT country, verification_status FROM csp.customer WHERE customer_id = $1 FOR UPDATE",
		1, {UUIDOID}, NULL, 0
	};
#define Anum_customer_lock_country				1
#define Anum_customer_lock_verification_status	2

	csp_spi_run(&plan, &customer_id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("customer",
							 DatumGetCString(DirectFunctionCall1(uuid_out, customer_id)));
	if (verification)
		*verification = csp_spi_getcstring(0, Anum_customer_lock_verification_status);
	return csp_spi_getcstring(0, Anum_customer_lock_country);
}

/*
 * csp.add_customer(partner_id, legal_name, country, address,
 *                  registration_id, phone, email, mca_attested) → uuid
 */
Datum
csp_add_customer(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"partner_id", "legal_name", "country", "address",
	NULL, NULL, NULL, "mca_attested"};
	static CspPlan insert = {
		"INSERT INTO csp.customer"
		" (partner_id, legal_name, country, address, registration_id, phone, email,"
		"  mca_attested, mca_attested_at, verification_changed_at, created_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 THEN $9 END, $9, $9)"
		" RETURNING customer_id",
		9, {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_customer_insert_customer_id 1
	char	   *partner_id;
	char	   *legal_name;
	char	   *country;
	Jsonb	   *address;
	char	   *registration_id;
	char	   *phone;
	char	   *kind;
	char	   *status;
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	Datum		customer_id;

	csp_require_args(fcinfo, args, lengthof(args));
	partner_id = csp_arg_cstring(fcinfo, 0);
	legal_name = csp_arg_cstring(fcinfo, 1);
	csp_check_nonblank(legal_name, "legal_name");
	country = csp_check_country(csp_arg_cstring(fcinfo, 2));
	address = PG_GETARG_JSONB_P(3);
	CheckAddress(address);
	registration_id = csp_arg_cstring_or_null(fcinfo, 4);
	phone = csp_arg_cstring_or_null(fcinfo, 5);
	CheckRegistration(country, registration_id, phone);

	csp_enter(fcinfo, "add_customer", true);

	kind = csp_lock_partner(partner_id, &status, false);
	if (strcmp(kind, "indirect_reseller") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("indirect reseller %s cannot add customers", partner_id),
				 errdetail("An indirect reseller can only request a relationship with an existing customer (R2.2)."),
				 errhint("Have the indirect provider add the customer.")));

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(partner_id);
	values[1] = CStringGetTextDatum(legal_name);
	values[2] = CStringGetTextDatum(country);
	values[3] = JsonbPGetDatum(address);
	values[4] = CSP_TEXT(registration_id);
	nulls[4] = registration_id ? ' ' : 'n';
	values[5] = CSP_TEXT(phone);
	nulls[5] = phone ? ' ' : 'n';
	values[6] = PG_ARGISNULL(6) ? (Datum) 0 : PG_GETARG_DATUM(6);
	nulls[6] = PG_ARGISNULL(6) ? 'n' : ' ';
	values[7] = PG_GETARG_DATUM(7);
	values[8] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, nulls, false, 0);
	customer_id = SPI_datumTransfer(csp_spi_getdatum(0, Anum_customer_insert_customer_id, &isnull),
								   false, UUID_LEN);
	csp_finish();

	PG_RETURN_DATUM(customer_id);
}

/*
 * csp.update_customer(customer_id, legal_name, address, registration_id,
 *                     phone, email)
 * NULL leaves a field as it is.  A change of billing data (legal name,
 * address, registration ID) sends the customer back to verification (R3.4).
 */
Datum
csp_update_customer(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"customer_id"};
	static CspPlan update = {
		"UPDATE csp.customer SET"
		"  legal_name = coalesce($2, legal_name),"
		"  address = coalesce($3, address),"
		"  registration_id = coalesce($4, registration_id),"
		"  phone = coalesce($5, phone),"
		"  email = coalesce($6, email),"
		"  verification_status = CASE WHEN (legal_name, address, registration_id)"
		"        IS DISTINCT FROM (coalesce($2, legal_name), coalesce($3, address), coalesce($4, registration_id))"
		"      THEN 'pending' ELSE verification_status END,"
		"  verification_changed_at = CASE WHEN (legal_name, address, registration_id)"
		"        IS DISTINCT FROM (coalesce($2, legal_name), coalesce($3, address), coalesce($4, registration_id))"
		"      THEN $7 ELSE verification_changed_at END"
		" WHERE customer_id = $1"
		" RETURNING registration_id, phone",
		7, {UUIDOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_customer_update_registration_id	1
#define Anum_customer_update_phone				2
	Datum		values[7];
	char		nulls[7];
	char	   *country;
	int			i;

	csp_require_args(fcinfo, args, lengthof(args));
	if (!PG_ARGISNULL(1))
		csp_check_nonblank(csp_arg_cstring(fcinfo, 1), "legal_name");
	if (!PG_ARGISNULL(2))
		CheckAddress(PG_GETARG_JSONB_P(2));

	csp_enter(fcinfo, "update_customer", true);
	country = LockCustomer(PG_GETARG_DATUM(0), NULL);
	csp_check_customer_scope(PG_GETARG_DATUM(0), "change the data");	/* issue 12 item 3 */

	for (i = 0; i < 6; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	values[6] = TimestampTzGetDatum(csp_now());
	nulls[6] = ' ';
	csp_spi_run(&update, values, nulls, false, 0);
	CheckRegistration(country, csp_spi_getcstring(0, Anum_customer_update_registration_id),
					  csp_spi_getcstring(0, Anum_customer_update_phone));
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.attest_mca(customer_id): R3.3, the partner attests the customer accepted the MCA */
Datum
csp_attest_mca(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"customer_id"};
	static CspPlan update = {
		"UPDATE csp.customer SET mca_attested = true, mca_attested_at = $2"
		" WHERE customer_id = $1 AND NOT mca_attested",
		2, {UUIDOID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[2];

	csp_require_args(fcinfo, args, lengthof(args));
	csp_enter(fcinfo, "attest_mca", true);
	LockCustomer(PG_GETARG_DATUM(0), NULL);
	csp_check_customer_scope(PG_GETARG_DATUM(0), "attest the MCA");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&update, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}

/* csp.set_customer_verification(customer_id, status): R3.4 */
Datum
csp_set_customer_verification(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"customer_id", "status"};
	static CspPlan update = {
		"UPDATE csp.customer SET verification_status = $2, verification_changed_at = $3"
		" WHERE customer_id = $1 AND verification_status <> $2",
		3, {UUIDOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *status;
	Datum		values[3];

	csp_require_args(fcinfo, args, lengthof(args));
	status = csp_arg_cstring(fcinfo, 1);
	if (strcmp(status, "pending") != 0 && strcmp(status, "approved") != 0 &&
		strcmp(status, "rejected") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a verification status", status),
				 errhint("Use pending, approved or rejected.")));

	csp_enter(fcinfo, "set_customer_verification", true);
	LockCustomer(PG_GETARG_DATUM(0), NULL);
	csp_check_customer_scope(PG_GETARG_DATUM(0), "set the verification");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = CStringGetTextDatum(status);
	values[2] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&update, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * The customer row owns every rule that reads the customer's other
 * subscriptions to decide: one subscription per customer (R4.2, R4.11),
 * one trial (R9.1) and the add-on ratios across partners (R4.6, R4.7).
 * Purchases and changes lock it FOR UPDATE before they read, so two
 * concurrent purchases queue and the second sees the first (a FOR SHARE
 * lock let both read, both pass and both insert).  Lock order: the
 * customer, then its subscriptions, then their lots and charges; every
 * writer follows it, so they queue instead of deadlocking.
 */
void
csp_lock_customer(Datum customer_id)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.customer WHERE customer_id = $1 FOR UPDATE",
		1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(&plan, &customer_id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
}

/*
 * The customer facts a purchase needs.  The customer is locked FOR UPDATE
 * (csp_lock_customer says why), its partner FOR SHARE (a concurrent
 * relink of the partner's billing waits for the purchase); NC404 when the
 * customer is unknown.  "linked" is false when the partner has no billing
 * profile.
 */
void
csp_lock_customer_facts(Datum customer_id, CustomerFacts *facts)
{
	static CspPlan plan = {
		"SELECT c.partner_id, c.country, c.verification_status, c.mca_attested, p.kind::text,"
		"       p.billing_account_id, p.billing_profile_id, bp.currency"
		"  FROM csp.customer c"
		"  JOIN csp.partner p ON p.partner_id = c.partner_id"
		"  LEFT JOIN csp.billing_profile bp"
		"    ON bp.billing_account_id = p.billing_account_id AND bp.billing_profile_id = p.billing_profile_id"
		" WHERE c.customer_id = $1 FOR UPDATE OF c FOR SHARE OF p",
		1, {UUIDOID}, NULL, 0
	};
#define Anum_customer_facts_partner_id			1
#define Anum_customer_facts_country				2
#define Anum_customer_facts_verification_status	3
#define Anum_customer_facts_mca_attested		4
#define Anum_customer_facts_partner_kind		5
#define Anum_customer_facts_billing_account_id	6
#define Anum_customer_facts_billing_profile_id	7
#define Anum_customer_facts_currency			8
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	csp_spi_run(&plan, &customer_id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	facts->partner_id = SPI_getvalue(t, d, Anum_customer_facts_partner_id);
	facts->country = SPI_getvalue(t, d, Anum_customer_facts_country);
	facts->verification_status = SPI_getvalue(t, d, Anum_customer_facts_verification_status);
	facts->mca_attested = DatumGetBool(SPI_getbinval(t, d, Anum_customer_facts_mca_attested, &isnull));
	facts->partner_kind = SPI_getvalue(t, d, Anum_customer_facts_partner_kind);
	facts->billing_account_id = DatumGetInt64(SPI_getbinval(t, d, Anum_customer_facts_billing_account_id, &isnull));
	facts->linked = !isnull;
	facts->billing_profile_id = DatumGetInt64(SPI_getbinval(t, d, Anum_customer_facts_billing_profile_id, &isnull));
	facts->currency = SPI_getvalue(t, d, Anum_customer_facts_currency);
}

/*
 * The same, for a change to a subscription, before the subscription
 * itself is locked (so in the lock order).  An unknown subscription is
 * left for csp_lock_subscription to report.
 */
void
csp_lock_customer_of_subscription(Datum subscription_id)
{
	static CspPlan plan = {
		"SELECT 1 FROM csp.customer c"
		"  JOIN csp.subscription s ON s.customer_id = c.customer_id"
		" WHERE s.subscription_id = $1 FOR UPDATE OF c",
		1, {UUIDOID}, NULL, 0
	};

	csp_spi_run(&plan, &subscription_id, NULL, false, 1);
}
