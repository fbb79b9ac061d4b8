/*-------------------------------------------------------------------------
 *
 * profile_roles.c
 *	  Billing-profile roles (API.md "Roles"): owner, contributor, reader and
 *	  invoice_manager on one billing profile.
 *
 * A login role that holds any profile role (directly or through a role it
 * is a member of) is limited to those profiles: row-level security on the
 * money tables (csp.visible_profile) hides the rest, and the writing
 * functions, which run as the extension's owner and so bypass row-level
 * security, check the caller's right on the profile here.  Roles holding
 * no profile role keep what their group role gives: every profile.
 *
 * Granting a profile role also makes the member join the NOLOGIN group
 * role csp_profile_member, which holds only what a profile role needs:
 * USAGE on the schema, SELECT on the money tables and views (scoped by
 * row-level security), and EXECUTE on the money-writing functions, which
 * refuse here a profile the member holds no writing role on (R1.4:
 * payments need owner, contributor or invoice_manager; credit notes and
 * void and rebill owner or contributor).  Revoking the member's last
 * profile role takes that membership back.
 *
 * src/profile_roles.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_grant_profile_role);
PG_FUNCTION_INFO_V1(csp_revoke_profile_role);

#define PROFILE_MEMBER_ROLE "csp_profile_member"

static const char *
CheckProfileRole(const char *profile_role)
{
	if (strcmp(profile_role, "owner") != 0 && strcmp(profile_role, "contributor") != 0 &&
		strcmp(profile_role, "reader") != 0 && strcmp(profile_role, "invoice_manager") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown billing profile role \"%s\"", profile_role),
				 errhint("Use owner, contributor, reader or invoice_manager.")));
	return profile_role;
}

/* The member's role oid; NC404 when missing, 22023 for a csp_* group role. */
static Oid
CheckMember(const char *member)
{
	Oid			oid = get_role_oid(member, true);

	if (!OidIsValid(oid))
		csp_report_not_found("role", quote_identifier(member));
	if (strncmp(member, "csp_", 4) == 0 || superuser_arg(oid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" cannot hold a billing profile role", member),
				 errdetail("The csp_* group roles and superusers see every billing profile."),
				 errhint("Grant profile roles to login roles (or to roles of your own).")));
	return oid;
}

/* Is "member" a direct member of csp_profile_member? */
static bool
IsDirectProfileMember(Oid member)
{
	static CspPlan plan = {
		"SELECT 1 FROM pg_catalog.pg_auth_members m"
		"  JOIN pg_catalog.pg_roles g ON g.oid = m.roleid"
		" WHERE g.rolname = '" PROFILE_MEMBER_ROLE "' AND m.member = $1",
		1, {OIDOID}, NULL, 0
	};
	Datum		value = ObjectIdGetDatum(member);

	csp_spi_run(&plan, &value, NULL, true, 1);
	return SPI_processed > 0;
}

/* GRANT or REVOKE csp_profile_member; role names are quoted, never spliced raw. */
static void
SetProfileMembership(const char *member, bool grant)
{
	char	   *sql = grant
		? psprintf("GRANT %s TO %s", PROFILE_MEMBER_ROLE, quote_identifier(member))
		: psprintf("REVOKE %s FROM %s", PROFILE_MEMBER_ROLE, quote_identifier(member));

	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run \"%s\"", sql);
}

/*
 * csp.grant_profile_role(billing_profile_id, member, profile_role) → void
 * Only an owner of the profile's billing account (or a superuser) grants.
 */
Datum
csp_grant_profile_role(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "member", "profile_role"};
	static CspPlan insert = {
		"INSERT INTO csp.billing_profile_role"
		" (billing_account_id, billing_profile_id, member, profile_role, granted_by, granted_at)"
		" VALUES ($1, $2, $3, $4, $5, $6)"
		" ON CONFLICT (billing_account_id, billing_profile_id, member, profile_role) DO NOTHING",
		6, {INT8OID, INT8OID, NAMEOID, TEXTOID, NAMEOID, TIMESTAMPTZOID}, NULL, 0
	};
	int64		billing_profile_id;
	int64		billing_account_id;
	char	   *member;
	const char *profile_role;
	Oid			member_oid;
	NameData	member_name;
	NameData	granted_by;
	Datum		values[6];

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	member = NameStr(*PG_GETARG_NAME(1));
	profile_role = CheckProfileRole(csp_arg_cstring(fcinfo, 2));

	csp_enter(fcinfo, "grant_profile_role", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_account_access(billing_account_id, true, false);
	member_oid = CheckMember(member);

	namestrcpy(&member_name, member);
	namestrcpy(&granted_by, GetUserNameFromId(csp_caller(), false));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = NameGetDatum(&member_name);
	values[3] = CStringGetTextDatum(profile_role);
	values[4] = NameGetDatum(&granted_by);
	values[5] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, NULL, false, 0);

	if (!IsDirectProfileMember(member_oid))
		SetProfileMembership(member, true);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * csp.revoke_profile_role(billing_profile_id, member, profile_role) → void
 * NC404 when the member does not hold that role on the profile.
 */
Datum
csp_revoke_profile_role(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "member", "profile_role"};
	static CspPlan delete = {
		"DELETE FROM csp.billing_profile_role"
		" WHERE billing_account_id = $1 AND billing_profile_id = $2 AND member = $3"
		"   AND profile_role = $4",
		4, {INT8OID, INT8OID, NAMEOID, TEXTOID}, NULL, 0
	};
	static CspPlan remaining = {
		"SELECT 1 FROM csp.billing_profile_role WHERE member = $1",
		1, {NAMEOID}, NULL, 0
	};
	int64		billing_profile_id;
	int64		billing_account_id;
	char	   *member;
	const char *profile_role;
	Oid			member_oid;
	NameData	member_name;
	Datum		values[4];

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	member = NameStr(*PG_GETARG_NAME(1));
	profile_role = CheckProfileRole(csp_arg_cstring(fcinfo, 2));

	csp_enter(fcinfo, "revoke_profile_role", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_account_access(billing_account_id, true, false);

	namestrcpy(&member_name, member);
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = NameGetDatum(&member_name);
	values[3] = CStringGetTextDatum(profile_role);
	csp_spi_run(&delete, values, NULL, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_FOUND),
				 errmsg("role \"%s\" holds no %s role on billing profile " INT64_FORMAT,
						member, profile_role, billing_profile_id),
				 errhint("csp.billing_profile_role lists the profile roles granted.")));

	/* the last profile role gone: no more csp_profile_member */
	member_oid = get_role_oid(member, true);
	csp_spi_run(&remaining, &values[2], NULL, true, 1);
	if (SPI_processed == 0 && OidIsValid(member_oid) && IsDirectProfileMember(member_oid))
		SetProfileMembership(member, false);
	csp_finish();
	PG_RETURN_VOID();
}

/*
 * Errors out (42501) unless the caller may write money on the profile: a
 * superuser; a role holding a profile role in "roles" on it; or, for a
 * role holding no profile role at all, a member of csp_global_admin or
 * csp_billing_admin.  "action" names what was refused.  The caller must be
 * connected to SPI.
 */
#define PROFILE_RIGHTS_SQL \
	"WITH held AS (" \
	"  SELECT r.billing_profile_id, r.profile_role FROM csp.billing_profile_role r" \
	"    JOIN pg_catalog.pg_roles ro ON ro.rolname = r.member" \
	"   WHERE pg_catalog.pg_has_role($1, ro.oid, 'MEMBER'))" \
	"SELECT EXISTS (SELECT 1 FROM held)," \
	"       EXISTS (SELECT 1 FROM held WHERE billing_profile_id = $2 AND profile_role = ANY ($3))," \
	"       EXISTS (SELECT 1 FROM pg_catalog.pg_roles g" \
	"                WHERE g.rolname IN ('csp_global_admin', 'csp_billing_admin')" \
	"                  AND pg_catalog.pg_has_role($1, g.oid, 'MEMBER'))"

void
csp_check_profile_rights(int64 billing_profile_id, const char *action, bool invoice_manager)
{
	static CspPlan plan = {PROFILE_RIGHTS_SQL, 3, {OIDOID, INT8OID, TEXTARRAYOID}, NULL, 0};
	Oid			caller = csp_caller();
	Datum		values[3];
	Datum		roles[3];
	bool		isnull;
	bool		holds_any;
	bool		allowed;

	if (superuser_arg(caller))
		return;
	roles[0] = CStringGetTextDatum("owner");
	roles[1] = CStringGetTextDatum("contributor");
	roles[2] = CStringGetTextDatum("invoice_manager");
	values[0] = ObjectIdGetDatum(caller);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = PointerGetDatum(construct_array(roles, invoice_manager ? 3 : 2, TEXTOID, -1, false, TYPALIGN_INT));
	csp_spi_run(&plan, values, NULL, true, 1);
	holds_any = DatumGetBool(csp_spi_getdatum(0, 1, &isnull));
	allowed = holds_any ? DatumGetBool(csp_spi_getdatum(0, 2, &isnull))
		: DatumGetBool(csp_spi_getdatum(0, 3, &isnull));
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not %s on billing profile " INT64_FORMAT,
						GetUserNameFromId(caller, false), action, billing_profile_id),
				 holds_any
				 ? errdetail("A role holding billing profile roles acts only on the profiles where it holds a role that writes.")
				 : 0,
				 invoice_manager
				 ? errhint("Ask for csp_billing_admin, or the invoice_manager role on billing profile " INT64_FORMAT ".",
						   billing_profile_id)
				 : errhint("Ask for csp_billing_admin, or the owner or contributor role on billing profile " INT64_FORMAT ".",
						   billing_profile_id)));
}

/* The profile of a document, or -1 when there is no such document. */
int64
csp_invoice_profile(const char *invoice_number)
{
	static CspPlan plan = {
		"SELECT billing_profile_id FROM csp.invoice WHERE invoice_number = $1",
		1, {TEXTOID}, NULL, 0
	};
	Datum		value = CStringGetTextDatum(invoice_number);
	bool		isnull;

	csp_spi_run(&plan, &value, NULL, true, 1);
	if (SPI_processed == 0)
		return -1;
	return DatumGetInt64(csp_spi_getdatum(0, 1, &isnull));
}
