/*-------------------------------------------------------------------------
 *
 * partners.c
 *	  R2 partners and R1.5 the partner's link to a billing account and
 *	  profile.
 *
 * A partner links to exactly one billing account and profile at a time.
 * Purchases record the profile they were made under, so changing the link
 * affects only purchases made after the change (R1.5).
 *
 * src/partners.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_create_partner);
PG_FUNCTION_INFO_V1(csp_set_partner_status);
PG_FUNCTION_INFO_V1(csp_link_partner_billing);

static void
CheckPartnerStatus(const char *status)
{
	if (strcmp(status, "active") != 0 && strcmp(status, "pending") != 0 &&
		strcmp(status, "suspended") != 0 && strcmp(status, "inactive") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a partner status", status),
				 errhint("Use active, pending, suspended or inactive.")));
}

/*
 * The partner's kind and status, locked; NC404 when unknown.
 * Returns the kind as text; *status receives the status.
 */
char *
csp_lock_partner(const char *partner_id, char **status, bool for_update)
{
	static CspPlan share = {
		"SELECT kind::text, status FROM csp.partner WHERE partner_id = $1 FOR SHARE",
		1, {TEXTOID}, NULL, 0
	};
	static CspPlan update = {
		"SELECT kind::text, status FROM csp.partner WHERE partner_id = $1 FOR UPDATE",
		1, {TEXTOID}, NULL, 0
	};
	Datum		id = CStringGetTextDatum(partner_id);

	csp_spi_run(for_update ? &update : &share, &id, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("partner", partner_id);
	if (status)
		*status = csp_spi_getcstring(0, 2);
	return csp_spi_getcstring(0, 1);
}

/*
 * csp.create_partner(partner_id, name, kind, country, status,
 *                    indirect_provider_id) → text
 */
Datum
csp_create_partner(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"partner_id", "name", "kind", "country", "status", NULL};
	static CspPlan insert = {
		"INSERT INTO csp.partner (partner_id, name, kind, country, status, indirect_provider_id, created_at)"
		" VALUES ($1, $2, $3::csp.partner_kind, $4, $5, $6, $7) ON CONFLICT (partner_id) DO NOTHING",
		7, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *partner_id;
	char	   *name;
	char	   *country;
	char	   *status;
	char	   *provider_id;
	char	   *kind_text;
	Datum		values[7];
	char		nulls[7];

	csp_require_args(fcinfo, args, lengthof(args));
	partner_id = csp_arg_cstring(fcinfo, 0);
	csp_check_nonblank(partner_id, "partner_id");
	name = csp_arg_cstring(fcinfo, 1);
	csp_check_nonblank(name, "name");
	country = csp_check_country(csp_arg_cstring(fcinfo, 3));
	status = csp_arg_cstring(fcinfo, 4);
	CheckPartnerStatus(status);
	provider_id = csp_arg_cstring_or_null(fcinfo, 5);
	kind_text = DatumGetCString(DirectFunctionCall1(enum_out, PG_GETARG_DATUM(2)));

	csp_enter(fcinfo, "create_partner", true);

	if (provider_id != NULL)
	{
		char	   *provider_kind;

		if (strcmp(kind_text, "indirect_reseller") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_NOT_PERMITTED),
					 errmsg("only an indirect reseller works through an indirect provider"),
					 errdetail("Partner %s is of kind %s.", partner_id, kind_text),
					 errhint("Leave indirect_provider_id NULL for direct-bill partners and indirect providers.")));
		provider_kind = csp_lock_partner(provider_id, NULL, false);
		if (strcmp(provider_kind, "indirect_provider") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_NOT_PERMITTED),
					 errmsg("partner %s is not an indirect provider", provider_id),
					 errdetail("It is of kind %s.", provider_kind),
					 errhint("An indirect reseller's indirect_provider_id must name an indirect provider (R2.1).")));
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(partner_id);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(kind_text);
	values[3] = CStringGetTextDatum(country);
	values[4] = CStringGetTextDatum(status);
	values[5] = CSP_TEXT(provider_id);
	nulls[5] = provider_id ? ' ' : 'n';
	values[6] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, nulls, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("partner %s already exists", partner_id),
				 errhint("Partner ids are unique; use csp.partners to see the existing ones.")));
	csp_finish();

	PG_RETURN_TEXT_P(cstring_to_text(partner_id));
}

/* csp.set_partner_status(partner_id, status) */
Datum
csp_set_partner_status(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"partner_id", "status"};
	static CspPlan update = {
		"UPDATE csp.partner SET status = $2 WHERE partner_id = $1",
		2, {TEXTOID, TEXTOID}, NULL, 0
	};
	char	   *partner_id;
	char	   *status;
	Datum		values[2];

	csp_require_args(fcinfo, args, lengthof(args));
	partner_id = csp_arg_cstring(fcinfo, 0);
	status = csp_arg_cstring(fcinfo, 1);
	CheckPartnerStatus(status);

	csp_enter(fcinfo, "set_partner_status", true);
	csp_lock_partner(partner_id, NULL, true);
	values[0] = CStringGetTextDatum(partner_id);
	values[1] = CStringGetTextDatum(status);
	csp_spi_run(&update, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * csp.link_partner_billing(partner_id, billing_account_id,
 *                          billing_profile_id, accept_mca)
 *
 * R1.5: the caller is a global admin (EXECUTE is granted to no one else)
 * with access to the account (R1.1), the partner is active, and the MCA is
 * accepted for the billing account, once: a later link to the same account
 * does not ask again.
 */
Datum
csp_link_partner_billing(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"partner_id", "billing_account_id", "billing_profile_id", "accept_mca"};
	static CspPlan mca = {
		"SELECT mca_accepted_at IS NOT NULL FROM csp.billing_account WHERE billing_account_id = $1",
		1, {INT8OID}, NULL, 0
	};
	static CspPlan accept = {
		"UPDATE csp.billing_account SET mca_accepted_at = $2, mca_accepted_by = $3"
		" WHERE billing_account_id = $1",
		3, {INT8OID, TIMESTAMPTZOID, NAMEOID}, NULL, 0
	};
	static CspPlan link = {
		"UPDATE csp.partner SET billing_account_id = $2, billing_profile_id = $3, linked_at = $4"
		" WHERE partner_id = $1",
		4, {TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID}, NULL, 0
	};
	char	   *partner_id;
	int64		billing_account_id;
	int64		billing_profile_id;
	bool		accept_mca;
	char	   *kind;
	char	   *status;
	Datum		values[4];
	bool		isnull;

	csp_require_args(fcinfo, args, lengthof(args));
	partner_id = csp_arg_cstring(fcinfo, 0);
	billing_account_id = PG_GETARG_INT64(1);
	billing_profile_id = PG_GETARG_INT64(2);
	accept_mca = PG_GETARG_BOOL(3);

	csp_enter(fcinfo, "link_partner_billing", true);

	kind = csp_lock_partner(partner_id, &status, true);
	if (strcmp(status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("partner %s is %s, not active", partner_id, status),
				 errdetail("Only an active partner account can be linked to a billing account (R1.5)."),
				 errhint("Activate it first with csp.set_partner_status('%s', 'active').", partner_id)));
	if (strcmp(kind, "indirect_reseller") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_PERMITTED),
				 errmsg("indirect reseller %s is not invoiced", partner_id),
				 errdetail("Only direct-bill partners and indirect providers are invoiced (R2.1)."),
				 errhint("Link the reseller's indirect provider instead.")));

	csp_check_account_access(billing_account_id, false, true);
	if (csp_profile_account(billing_profile_id) != billing_account_id)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_FOUND),
				 errmsg("billing profile " INT64_FORMAT " does not belong to billing account " INT64_FORMAT,
						billing_profile_id, billing_account_id),
				 errhint("Pick a profile of that account from csp.billing_profiles.")));

	values[0] = Int64GetDatum(billing_account_id);
	csp_spi_run(&mca, values, NULL, true, 1);
	if (!DatumGetBool(csp_spi_getdatum(0, 1, &isnull)))
	{
		NameData	by;

		if (!accept_mca)
			ereport(ERROR,
					(errcode(ERRCODE_CSP_MCA_NOT_ACCEPTED),
					 errmsg("the Microsoft Customer Agreement is not accepted for billing account " INT64_FORMAT,
							billing_account_id),
					 errdetail("Linking requires the MCA to be accepted once per billing account (R1.5)."),
					 errhint("Call again with accept_mca => true to accept it.")));
		namestrcpy(&by, GetUserNameFromId(csp_caller(), false));
		values[1] = TimestampTzGetDatum(csp_now());
		values[2] = NameGetDatum(&by);
		csp_spi_run(&accept, values, NULL, false, 0);
	}

	values[0] = CStringGetTextDatum(partner_id);
	values[1] = Int64GetDatum(billing_account_id);
	values[2] = Int64GetDatum(billing_profile_id);
	values[3] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&link, values, NULL, false, 0);
	csp_finish();
	PG_RETURN_VOID();
}
