/*-------------------------------------------------------------------------
 *
 * roles.c
 *	  Group roles of the public contract, access to billing accounts, and
 *	  the roles held on them (csp.billing_account_role, owned here).
 *
 * The group roles are cluster-wide and may already exist (a second
 * database, a restore): they are created only when missing and never
 * dropped by the extension.
 *
 * R1.1: roles on a billing account are the highest permission level, and
 * by default only its creator has one.  Acting on an account (adding a
 * profile, linking a partner, granting) needs the owner or contributor role
 * on it, directly or through membership; superusers may act on any.
 *
 * src/roles.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_ensure_group_roles);

static const char *const group_roles[] = {
	"csp_global_admin",
	"csp_admin_agent",
	"csp_sales_agent",
	"csp_helpdesk_agent",
	"csp_billing_admin",
	"csp_reader",
	/* may write under a pinned clock: back-fills and replays (entry.c) */
	"csp_time_admin",
	/* holders of billing-profile roles (profile_roles.c) */
	"csp_profile_member"
};

/* csp.ensure_group_roles(): run by the install script */
Datum
csp_ensure_group_roles(PG_FUNCTION_ARGS)
{
	static CspPlan exists = {
		"SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, {NAMEOID}, NULL, 0
	};
	int			i;

	SPI_connect();
	for (i = 0; i < (int) lengthof(group_roles); i++)
	{
		NameData	name;
		Datum		values[1];

		namestrcpy(&name, group_roles[i]);
		values[0] = NameGetDatum(&name);
		csp_spi_run(&exists, values, NULL, true, 1);
		if (SPI_processed == 0)
		{
			/* role names are our own constants, never input */
			char	   *sql = psprintf("CREATE ROLE %s NOLOGIN", quote_identifier(group_roles[i]));

			if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
				elog(ERROR, "could not create role %s", group_roles[i]);
		}
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Errors out unless the caller may act on the billing account; NC404 when
 * it does not exist.  "owner_only" asks for the owner role (granting
 * roles); otherwise owner or contributor will do.  Locks the account row
 * (FOR UPDATE when "for_update", else FOR SHARE) so the decision holds to
 * commit.  The caller must be connected to SPI.
 */
#define ACCOUNT_ACCESS_SQL(lock) \
	"SELECT EXISTS (SELECT 1 FROM csp.billing_account_role r" \
	"                 JOIN pg_catalog.pg_roles ro ON ro.rolname = r.member" \
	"                WHERE r.billing_account_id = a.billing_account_id" \
	"                  AND r.account_role = ANY ($3)" \
	"                  AND pg_catalog.pg_has_role($2, ro.oid, 'MEMBER'))" \
	"  FROM csp.billing_account a WHERE a.billing_account_id = $1 " lock

void
csp_check_account_access(int64 billing_account_id, bool owner_only, bool for_update)
{
	static CspPlan share = {ACCOUNT_ACCESS_SQL("FOR SHARE OF a"), 3, {INT8OID, OIDOID, TEXTARRAYOID}, NULL, 0
	};
	static CspPlan update = {ACCOUNT_ACCESS_SQL("FOR UPDATE OF a"), 3, {INT8OID, OIDOID, TEXTARRAYOID}, NULL, 0
	};
#define Anum_account_access_allowed 1
	Datum		values[3];
	Datum		roles[2];
	bool		isnull;
	Oid			caller = csp_caller();

	roles[0] = CStringGetTextDatum("owner");
	roles[1] = CStringGetTextDatum("contributor");
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = ObjectIdGetDatum(caller);
	values[2] = PointerGetDatum(construct_array(roles, owner_only ? 1 : 2, TEXTOID, -1, false, TYPALIGN_INT));
	csp_spi_run(for_update ? &update : &share, values, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("billing account", psprintf(INT64_FORMAT, billing_account_id));

	if (!superuser_arg(caller) &&
		!DatumGetBool(csp_spi_getdatum(0, Anum_account_access_allowed, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" has no %s access to billing account " INT64_FORMAT,
						GetUserNameFromId(caller, false), owner_only ? "owner" : "write",
						billing_account_id),
				 errdetail("Only the account's creator holds a role on a new billing account (R1.1)."),
				 errhint("An owner of the account can grant one with csp.grant_billing_account_role.")));
}

/*
 * Grants "account_role" on the billing account to "member", replacing the
 * role it held there, and records the caller as the grantor.  The caller
 * has checked the right to grant and must be connected to SPI.
 */
void
csp_grant_account_role(int64 billing_account_id, Oid member, const char *account_role)
{
	static CspPlan plan = {
		"INSERT INTO csp.billing_account_role"
		" (billing_account_id, member, account_role, granted_by, granted_at)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (billing_account_id, member) DO UPDATE SET account_role = EXCLUDED.account_role,"
		"   granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at",
		5, {INT8OID, NAMEOID, TEXTOID, NAMEOID, TIMESTAMPTZOID}, NULL, 0
	};
	NameData	member_name;
	NameData	granted_by;
	Datum		values[5];

	namestrcpy(&member_name, GetUserNameFromId(member, false));
	namestrcpy(&granted_by, GetUserNameFromId(csp_caller(), false));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = NameGetDatum(&member_name);
	values[2] = CStringGetTextDatum(account_role);
	values[3] = NameGetDatum(&granted_by);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, NULL, false, 0);
}
