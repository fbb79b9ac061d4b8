/*-------------------------------------------------------------------------
 *
 * profile_roles.c
 *	  Billing-profile roles (API.md "Roles"): owner, contributor, reader and
 *	  invoice_manager on one billing profile.
 *
 * The rule, defined once: a role that holds any live profile role
 * (directly, or through a role it is a member of, whatever group roles it
 * also holds) is "profile-limited": it sees and acts on those profiles
 * only, everywhere money or personal data shows.  Reading is scoped by
 * row-level security, every policy testing billing_profile_id against
 * csp.profile_scope() (evaluated once per query, as an InitPlan); the
 * engine's functions, which run as the extension's owner and so bypass
 * row-level security, check the same rule here (csp_check_profile_rights
 * for money, csp_check_profile_scope for subscriptions).  Roles holding no
 * profile role keep what their group role gives: every profile.
 *
 * Rows are keyed by role OID (member is a regrole), so renaming a role
 * keeps its limit and a new role created with an old name inherits
 * nothing.  A row is live only while its member holds the USAGE privilege
 * on schema csp granted to it directly, which csp.grant_profile_role gives
 * and the member's last csp.revoke_profile_role takes back.  That grant is
 * recorded in pg_shdepend, per database: DROP ROLE is refused while the
 * role holds a profile role in any database, and DROP OWNED BY (what lets
 * it go) removes the grant, so the rows it leaves are dead and can never
 * give anything to a later role that gets the same OID.
 *
 * Item 8 of issue 12: nothing a database decides is shared cluster state.
 * The NOLOGIN group role csp_profile_member (SELECT on the money views,
 * EXECUTE on the money-writing functions) is granted once and never
 * revoked: alone it gives nothing, since every row it could read is
 * scoped by this database's rows, and without this database's USAGE grant
 * the schema cannot even be entered.  Revoking a profile role in one
 * database thus never changes what another database allows.
 *
 * src/profile_roles.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(csp_grant_profile_role);
PG_FUNCTION_INFO_V1(csp_revoke_profile_role);
PG_FUNCTION_INFO_V1(csp_profile_scope);

#define PROFILE_MEMBER_ROLE "csp_profile_member"

/*
 * The live profile roles role $1 holds, directly or through membership: a
 * row counts only while its member holds USAGE on schema csp granted to it
 * directly (see the file header: that grant is what DROP ROLE respects).
 */
#define HELD_PROFILES_SQL \
	"SELECT r.billing_profile_id, r.profile_role FROM csp.billing_profile_role r" \
	" WHERE pg_catalog.pg_has_role($1, r.member::oid, 'MEMBER')" \
	"   AND r.member::oid IN (SELECT a.grantee FROM pg_catalog.pg_namespace n," \
	"                                pg_catalog.aclexplode(n.nspacl) a" \
	"                          WHERE n.nspname = 'csp' AND a.privilege_type = 'USAGE')"

#define GROUP_ROLES_SQL \
	"'csp_global_admin', 'csp_admin_agent', 'csp_sales_agent'," \
	" 'csp_helpdesk_agent', 'csp_billing_admin', 'csp_reader'"

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

/* Runs one utility statement; role names are quoted, never spliced raw. */
static void
RunUtility(char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run \"%s\"", sql);
}

/*
 * The member's privileges in this database: USAGE on schema csp granted
 * directly (what makes its rows live) and, once, the cluster-wide
 * csp_profile_member, which is never revoked (file header).
 */
static void
GrantProfileAccess(Oid member)
{
	const char *name = quote_identifier(GetUserNameFromId(member, false));

	RunUtility(psprintf("GRANT USAGE ON SCHEMA csp TO %s", name));
	if (!IsDirectProfileMember(member))
		RunUtility(psprintf("GRANT %s TO %s", PROFILE_MEMBER_ROLE, name));
}

static void
RevokeProfileAccess(Oid member)
{
	RunUtility(psprintf("REVOKE USAGE ON SCHEMA csp FROM %s",
						quote_identifier(GetUserNameFromId(member, false))));
}

/* Cache of "does the caller hold any live profile role", per transaction. */
static LocalTransactionId limited_lxid = InvalidLocalTransactionId;
static Oid	limited_role = InvalidOid;
static bool limited_value = false;

static void
ForgetProfileLimit(void)
{
	limited_lxid = InvalidLocalTransactionId;
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
		6, {INT8OID, INT8OID, REGROLEOID, TEXTOID, NAMEOID, TIMESTAMPTZOID}, NULL, 0
	};
	/* rows a dropped role left are dead (file header): a recycled OID starts afresh */
	static CspPlan dead = {
		"DELETE FROM csp.billing_profile_role WHERE member::oid = $1"
		"   AND $1 NOT IN (SELECT a.grantee FROM pg_catalog.pg_namespace n,"
		"                         pg_catalog.aclexplode(n.nspacl) a"
		"                   WHERE n.nspname = 'csp' AND a.privilege_type = 'USAGE')",
		1, {OIDOID}, NULL, 0
	};

	int64		billing_profile_id;
	int64		billing_account_id;
	char	   *member;
	const char *profile_role;
	Oid			member_oid;
	NameData	granted_by;
	Datum		values[6];
	Datum		oid_value;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	member = NameStr(*PG_GETARG_NAME(1));
	profile_role = CheckProfileRole(csp_arg_cstring(fcinfo, 2));

	csp_enter(fcinfo, "grant_profile_role", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_account_access(billing_account_id, true, false);
	member_oid = CheckMember(member);

	oid_value = ObjectIdGetDatum(member_oid);
	csp_spi_run(&dead, &oid_value, NULL, false, 0);

	namestrcpy(&granted_by, GetUserNameFromId(csp_caller(), false));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = ObjectIdGetDatum(member_oid);
	values[3] = CStringGetTextDatum(profile_role);
	values[4] = NameGetDatum(&granted_by);
	values[5] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, NULL, false, 0);

	GrantProfileAccess(member_oid);
	ForgetProfileLimit();
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
		" WHERE billing_account_id = $1 AND billing_profile_id = $2 AND member::oid = $3"
		"   AND profile_role = $4",
		4, {INT8OID, INT8OID, OIDOID, TEXTOID}, NULL, 0
	};
	static CspPlan remaining = {
		"SELECT 1 FROM csp.billing_profile_role WHERE member::oid = $1",
		1, {OIDOID}, NULL, 0
	};
	int64		billing_profile_id;
	int64		billing_account_id;
	char	   *member;
	const char *profile_role;
	Oid			member_oid;
	Datum		values[4];

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	member = NameStr(*PG_GETARG_NAME(1));
	profile_role = CheckProfileRole(csp_arg_cstring(fcinfo, 2));

	csp_enter(fcinfo, "revoke_profile_role", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_account_access(billing_account_id, true, false);

	member_oid = get_role_oid(member, true);
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = ObjectIdGetDatum(member_oid);
	values[3] = CStringGetTextDatum(profile_role);
	if (OidIsValid(member_oid))
		csp_spi_run(&delete, values, NULL, false, 0);
	if (!OidIsValid(member_oid) || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CSP_NOT_FOUND),
				 errmsg("role \"%s\" holds no %s role on billing profile " INT64_FORMAT,
						member, profile_role, billing_profile_id),
				 errhint("csp.billing_profile_role lists the profile roles granted.")));

	/*
	 * The last profile role gone: this database's USAGE grant goes; the
	 * cluster-wide csp_profile_member stays (another database may rely on
	 * it, and alone it gives nothing).
	 */
	csp_spi_run(&remaining, &values[2], NULL, true, 1);
	if (SPI_processed == 0)
		RevokeProfileAccess(member_oid);
	ForgetProfileLimit();
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
	"WITH held AS (" HELD_PROFILES_SQL ")" \
	"SELECT EXISTS (SELECT 1 FROM held)," \
	"       EXISTS (SELECT 1 FROM held WHERE billing_profile_id = $2 AND profile_role = ANY ($3))," \
	"       EXISTS (SELECT 1 FROM pg_catalog.pg_roles g" \
	"                WHERE g.rolname IN ('csp_global_admin', 'csp_billing_admin')" \
	"                  AND pg_catalog.pg_has_role($1, g.oid, 'MEMBER'))"

void
csp_check_profile_rights(int64 billing_profile_id, const char *action, bool invoice_manager)
{
	static CspPlan plan = {PROFILE_RIGHTS_SQL, 3, {OIDOID, INT8OID, TEXTARRAYOID}, NULL, 0};
#define Anum_profile_rights_holds_any		1
#define Anum_profile_rights_holds_role		2
#define Anum_profile_rights_group_member	3
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
	holds_any = DatumGetBool(csp_spi_getdatum(0, Anum_profile_rights_holds_any, &isnull));
	allowed = holds_any
		? DatumGetBool(csp_spi_getdatum(0, Anum_profile_rights_holds_role, &isnull))
		: DatumGetBool(csp_spi_getdatum(0, Anum_profile_rights_group_member, &isnull));
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

/* Does the caller hold any live profile role?  Cached per transaction. */
bool
csp_caller_profile_limited(void)
{
	static CspPlan plan = {"SELECT EXISTS (" HELD_PROFILES_SQL ")", 1, {OIDOID}, NULL, 0};
#define Anum_profile_limited_holds_any 1
	Oid			caller = csp_caller();
	Datum		value = ObjectIdGetDatum(caller);
	bool		isnull;

	if (superuser_arg(caller))
		return false;
	if (limited_lxid == MyProc->lxid && limited_role == caller)
		return limited_value;
	csp_spi_run(&plan, &value, NULL, true, 1);
	limited_value = DatumGetBool(csp_spi_getdatum(0, Anum_profile_limited_holds_any, &isnull));
	limited_lxid = MyProc->lxid;
	limited_role = caller;
	return limited_value;
}

/*
 * For the functions that change (or read) subscriptions: a profile-limited
 * caller acts only on the profiles it holds a role on, and changes only
 * where it holds owner or contributor ("write").  A profile it holds no
 * role on is invisible to it: NC404 for "what" "id", as if it did not
 * exist.  Callers holding no profile role are left to their EXECUTE grant.
 * The caller must be connected to SPI.
 */
void
csp_check_profile_scope(int64 billing_profile_id, bool write, const char *what,
						const char *id, const char *action)
{
	static CspPlan plan = {
		"WITH held AS (" HELD_PROFILES_SQL ")"
		"SELECT EXISTS (SELECT 1 FROM held WHERE billing_profile_id = $2),"
		"       EXISTS (SELECT 1 FROM held WHERE billing_profile_id = $2"
		"                  AND profile_role IN ('owner', 'contributor'))",
		2, {OIDOID, INT8OID}, NULL, 0
	};
#define Anum_profile_scope_holds_role	1
#define Anum_profile_scope_may_write	2
	Oid			caller = csp_caller();
	Datum		values[2];
	bool		isnull;

	if (!csp_caller_profile_limited())
		return;
	values[0] = ObjectIdGetDatum(caller);
	values[1] = Int64GetDatum(billing_profile_id);
	csp_spi_run(&plan, values, NULL, true, 1);
	if (!DatumGetBool(csp_spi_getdatum(0, Anum_profile_scope_holds_role, &isnull)))
		csp_report_not_found(what, id);
	if (write && !DatumGetBool(csp_spi_getdatum(0, Anum_profile_scope_may_write, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not %s on billing profile " INT64_FORMAT,
						GetUserNameFromId(caller, false), action, billing_profile_id),
				 errdetail("A role holding billing profile roles acts only on the profiles where it holds a role that writes."),
				 errhint("Ask for the owner or contributor role on billing profile " INT64_FORMAT ".",
						 billing_profile_id)));
}

/*
 * For the functions that change a customer (personal data): a
 * profile-limited caller sees only the customers behind its profiles'
 * subscriptions (NC404 for the others, as row-level security hides them)
 * and changes them only where it holds owner or contributor on one of
 * those profiles.  The caller must be connected to SPI.
 */
void
csp_check_customer_scope(Datum customer_id, const char *action)
{
	static CspPlan plan = {
		"WITH held AS (" HELD_PROFILES_SQL "),"
		" theirs AS (SELECT DISTINCT s.billing_profile_id FROM csp.subscription s"
		"             WHERE s.customer_id = $2)"
		"SELECT EXISTS (SELECT 1 FROM held JOIN theirs USING (billing_profile_id)),"
		"       EXISTS (SELECT 1 FROM held JOIN theirs USING (billing_profile_id)"
		"                WHERE profile_role IN ('owner', 'contributor'))",
		2, {OIDOID, UUIDOID}, NULL, 0
	};
#define Anum_customer_scope_sees		1
#define Anum_customer_scope_may_write	2
	Oid			caller = csp_caller();
	Datum		values[2];
	bool		isnull;

	if (!csp_caller_profile_limited())
		return;
	values[0] = ObjectIdGetDatum(caller);
	values[1] = customer_id;
	csp_spi_run(&plan, values, NULL, true, 1);
	if (!DatumGetBool(csp_spi_getdatum(0, Anum_customer_scope_sees, &isnull)))
		csp_report_not_found("customer", csp_uuid_to_cstring(customer_id));
	if (!DatumGetBool(csp_spi_getdatum(0, Anum_customer_scope_may_write, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not %s of customer %s",
						GetUserNameFromId(caller, false), action, csp_uuid_to_cstring(customer_id)),
				 errdetail("A role holding billing profile roles changes only the customers of the profiles where it holds a role that writes."),
				 errhint("Ask for the owner or contributor role on a billing profile the customer buys under.")));
}

/*
 * csp.profile_scope() → bigint[]: what row-level security lets the current
 * role see.  NULL: every profile (a group role's member holding no profile
 * role); otherwise the profiles it holds a live profile role on (empty for
 * a role holding neither).  The policies call it in a sub-select, so it
 * runs once per query, not per row.
 *
 * It reads csp.billing_profile_role, itself under row-level security
 * scoped by this function: so it reads as the table's owner (which
 * bypasses row-level security), for the role that called it, taken before
 * the switch as PostgreSQL takes it.
 */
Datum
csp_profile_scope(PG_FUNCTION_ARGS)
{
	static CspPlan plan = {
		"WITH held AS (" HELD_PROFILES_SQL ")"
		"SELECT EXISTS (SELECT 1 FROM held),"
		"       ARRAY (SELECT DISTINCT billing_profile_id FROM held ORDER BY 1),"
		"       EXISTS (SELECT 1 FROM pg_catalog.pg_roles g"
		"                WHERE g.rolname IN (" GROUP_ROLES_SQL ")"
		"                  AND pg_catalog.pg_has_role($1, g.oid, 'MEMBER'))",
		1, {OIDOID}, NULL, 0
	};
#define Anum_scope_holds_any		1
#define Anum_scope_profiles			2
#define Anum_scope_group_member		3
	Oid			caller = GetUserId();
	Oid			owner;
	Oid			saved_user;
	int			saved_context;
	Oid			relid;
	HeapTuple	tuple;
	Datum		result = (Datum) 0;
	bool		unlimited = false;

	(void) fcinfo;
	if (superuser_arg(caller))
		PG_RETURN_NULL();
	relid = get_relname_relid("billing_profile_role", get_namespace_oid("csp", false));
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "csp.profile_scope: csp.billing_profile_role is missing");
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		Datum		value = ObjectIdGetDatum(caller);
		bool		isnull;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "csp.profile_scope: SPI_connect failed");
		csp_spi_run(&plan, &value, NULL, true, 1);
		if (DatumGetBool(csp_spi_getdatum(0, Anum_scope_holds_any, &isnull)) ||
			!DatumGetBool(csp_spi_getdatum(0, Anum_scope_group_member, &isnull)))
			result = SPI_datumTransfer(csp_spi_getdatum(0, Anum_scope_profiles, &isnull), false, -1);
		else
			unlimited = true;
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_context);
	}
	PG_END_TRY();
	if (unlimited)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* The profile of a document, or -1 when there is no such document. */
int64
csp_invoice_profile(const char *invoice_number)
{
	static CspPlan plan = {
		"SELECT billing_profile_id FROM csp.invoice WHERE invoice_number = $1",
		1, {TEXTOID}, NULL, 0
	};
#define Anum_invoice_profile_billing_profile_id 1
	Datum		value = CStringGetTextDatum(invoice_number);
	bool		isnull;

	csp_spi_run(&plan, &value, NULL, true, 1);
	if (SPI_processed == 0)
		return -1;
	return DatumGetInt64(csp_spi_getdatum(0, Anum_invoice_profile_billing_profile_id, &isnull));
}
