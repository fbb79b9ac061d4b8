/*-------------------------------------------------------------------------
 *
 * accounts.c
 *	  R1 billing hierarchy: billing accounts (with their MCA acceptance,
 *	  R1.5), the granting of roles on them (stored by roles.c), billing
 *	  profiles and invoice sections.
 *
 * src/accounts.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "storage/proc.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(csp_create_billing_account);
PG_FUNCTION_INFO_V1(csp_grant_billing_account_role);
PG_FUNCTION_INFO_V1(csp_create_billing_profile);
PG_FUNCTION_INFO_V1(csp_create_invoice_section);

/* csp.create_billing_account(name, country, currency) → bigint */
Datum
csp_create_billing_account(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"name", "country", "currency"};
	static CspPlan plan = {
		"INSERT INTO csp.billing_account (name, country, currency, created_by, created_at)"
		" VALUES ($1, $2, $3, $4, $5) RETURNING billing_account_id",
		5, {TEXTOID, TEXTOID, TEXTOID, NAMEOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_account_insert_billing_account_id 1
	char	   *name;
	char	   *country;
	char	   *currency;
	NameData	creator;
	Datum		values[5];
	bool		isnull;
	int64		billing_account_id;

	csp_require_args(fcinfo, args, lengthof(args));
	name = csp_arg_cstring(fcinfo, 0);
	csp_check_nonblank(name, "name");
	country = csp_check_country(csp_arg_cstring(fcinfo, 1));
	currency = csp_check_currency(csp_arg_cstring(fcinfo, 2));
	namestrcpy(&creator, GetUserNameFromId(csp_caller(), false));

	csp_enter(fcinfo, "create_billing_account", true);
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(country);
	values[2] = CStringGetTextDatum(currency);
	values[3] = NameGetDatum(&creator);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, NULL, false, 0);
	billing_account_id = DatumGetInt64(csp_spi_getdatum(0, Anum_account_insert_billing_account_id, &isnull));

	/* R1.1: the creator is the account's first and only owner */
	csp_grant_account_role(billing_account_id, csp_caller(), "owner");
	csp_finish();

	PG_RETURN_INT64(billing_account_id);
}

/* csp.grant_billing_account_role(billing_account_id, member, account_role) */
Datum
csp_grant_billing_account_role(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_account_id", "member", "account_role"};
	int64		billing_account_id;
	char	   *member;
	char	   *account_role;
	Oid			member_oid;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_account_id = PG_GETARG_INT64(0);
	member = NameStr(*PG_GETARG_NAME(1));
	account_role = csp_arg_cstring(fcinfo, 2);

	if (strcmp(account_role, "owner") != 0 && strcmp(account_role, "contributor") != 0 &&
		strcmp(account_role, "reader") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a billing account role", account_role),
				 errhint("Use owner, contributor or reader.")));
	member_oid = get_role_oid(member, true);
	if (!OidIsValid(member_oid))
		csp_report_not_found("role", member);

	csp_enter(fcinfo, "grant_billing_account_role", true);
	csp_check_account_access(billing_account_id, true, true);
	csp_grant_account_role(billing_account_id, member_oid, account_role);
	csp_finish();
	PG_RETURN_VOID();
}

/* Inserts a section and returns its id; 23505 with a plain message on a duplicate name. */
static int64
InsertSection(int64 billing_account_id, int64 billing_profile_id, const char *name, bool is_default)
{
	static CspPlan plan = {
		"INSERT INTO csp.invoice_section"
		" (billing_account_id, billing_profile_id, name, is_default, created_at)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT (billing_account_id, billing_profile_id, name) DO NOTHING"
		" RETURNING invoice_section_id",
		5, {INT8OID, INT8OID, TEXTOID, BOOLOID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_section_insert_invoice_section_id 1
	Datum		values[5];
	bool		isnull;

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = CStringGetTextDatum(name);
	values[3] = BoolGetDatum(is_default);
	values[4] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&plan, values, NULL, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("billing profile " INT64_FORMAT " already has an invoice section named \"%s\"",
						billing_profile_id, name),
				 errhint("Choose another name, or use the existing section (csp.invoice_sections).")));
	return DatumGetInt64(csp_spi_getdatum(0, Anum_section_insert_invoice_section_id, &isnull));
}

/*
 * csp.create_billing_profile(billing_account_id, name, currency, po_number,
 *     email_invoice, bill_to, billing_model, anniversary_day) → bigint
 * R1.2 invoice settings; R1.3 the Default section comes with it.
 */
Datum
csp_create_billing_profile(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_account_id", "name", NULL, NULL,
	"email_invoice", "bill_to", "billing_model", NULL};
	static CspPlan account_currency = {
		"SELECT currency FROM csp.billing_account WHERE billing_account_id = $1",
		1, {INT8OID}, NULL, 0
	};
#define Anum_account_currency_currency 1
	static CspPlan insert = {
		"INSERT INTO csp.billing_profile"
		" (billing_account_id, name, currency, po_number, email_invoice, bill_to,"
		"  billing_model, anniversary_day, created_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING billing_profile_id",
		9, {INT8OID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, JSONBOID, TEXTOID, INT4OID, TIMESTAMPTZOID}, NULL, 0
	};
#define Anum_profile_insert_billing_profile_id 1
	int64		billing_account_id;
	char	   *name;
	char	   *currency;
	char	   *billing_model;
	Jsonb	   *bill_to;
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	int64		billing_profile_id;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_account_id = PG_GETARG_INT64(0);
	name = csp_arg_cstring(fcinfo, 1);
	csp_check_nonblank(name, "name");
	currency = PG_ARGISNULL(2) ? NULL : csp_check_currency(csp_arg_cstring(fcinfo, 2));
	bill_to = PG_GETARG_JSONB_P(5);
	csp_check_jsonb_object(bill_to, "bill_to");
	billing_model = csp_arg_cstring(fcinfo, 6);

	if (strcmp(billing_model, "nce") == 0)
	{
		if (!PG_ARGISNULL(7))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an NCE billing profile has no anniversary day"),
					 errdetail("NCE billing periods are calendar months (R13.1)."),
					 errhint("Leave anniversary_day NULL, or use billing_model => 'legacy'.")));
	}
	else if (strcmp(billing_model, "legacy") == 0)
	{
		if (PG_ARGISNULL(7) || PG_GETARG_INT32(7) < 1 ||
			PG_GETARG_INT32(7) > TERMS_MAX_ANNIVERSARY_DAY)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a legacy billing profile needs an anniversary day from 1 to %d",
							TERMS_MAX_ANNIVERSARY_DAY),
					 errdetail("Legacy billing periods run from the anniversary day to the day before it next month (R13.1)."),
					 errhint("Pass anniversary_day => 12, for example.")));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a billing model", billing_model),
				 errhint("Use nce or legacy.")));

	csp_enter(fcinfo, "create_billing_profile", true);
	csp_check_account_access(billing_account_id, false, false);

	/* R1.2: the invoice currency defaults to that of the account's country */
	if (currency == NULL)
	{
		Datum		id = Int64GetDatum(billing_account_id);

		csp_spi_run(&account_currency, &id, NULL, true, 1);
		currency = csp_spi_getcstring(0, Anum_account_currency_currency);
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(currency);
	values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
	values[4] = PG_GETARG_DATUM(4);
	values[5] = JsonbPGetDatum(bill_to);
	values[6] = CStringGetTextDatum(billing_model);
	values[7] = PG_ARGISNULL(7) ? (Datum) 0 : PG_GETARG_DATUM(7);
	nulls[7] = PG_ARGISNULL(7) ? 'n' : ' ';
	values[8] = TimestampTzGetDatum(csp_now());
	csp_spi_run(&insert, values, nulls, false, 0);
	billing_profile_id = DatumGetInt64(csp_spi_getdatum(0, Anum_profile_insert_billing_profile_id, &isnull));

	InsertSection(billing_account_id, billing_profile_id, "Default", true);
	csp_finish();

	PG_RETURN_INT64(billing_profile_id);
}

/*
 * The billing account of a profile, or NC404.  The caller must be
 * connected to SPI.
 */
int64
csp_profile_account(int64 billing_profile_id)
{
	static CspPlan plan = {
		"SELECT billing_account_id FROM csp.billing_profile WHERE billing_profile_id = $1",
		1, {INT8OID}, NULL, 0
	};
#define Anum_profile_account_billing_account_id 1
	Datum		id = Int64GetDatum(billing_profile_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, true, 1);
	if (SPI_processed == 0)
		csp_report_not_found("billing profile", psprintf(INT64_FORMAT, billing_profile_id));
	return DatumGetInt64(csp_spi_getdatum(0, Anum_profile_account_billing_account_id, &isnull));
}

/*
 * A payment, allocation or invoice action on a profile at "instant": the
 * profile row is locked, so such actions on one profile are serialised,
 * NC016 refuses an instant before the latest one recorded, and the latest
 * moves to "instant".  The caller must be connected to SPI.
 */
void
csp_record_profile_event(int64 billing_account_id, int64 billing_profile_id,
						 TimestampTz instant)
{
	static CspPlan lock = {
		"SELECT last_event_at FROM csp.billing_profile"
		" WHERE billing_account_id = $1 AND billing_profile_id = $2 FOR UPDATE",
		2, {INT8OID, INT8OID}, NULL, 0
	};
#define Anum_profile_event_lock_last_event_at 1
	static CspPlan record = {
		"UPDATE csp.billing_profile SET last_event_at = $3"
		" WHERE billing_account_id = $1 AND billing_profile_id = $2 AND last_event_at < $3",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}, NULL, 0
	};
	Datum		values[3];
	bool		isnull;
	char	   *id = psprintf(INT64_FORMAT, billing_profile_id);

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	values[2] = TimestampTzGetDatum(instant);
	csp_spi_run(&lock, values, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("billing profile", id);
	csp_check_not_before(instant,
						 DatumGetTimestampTz(csp_spi_getdatum(0, Anum_profile_event_lock_last_event_at,
															  &isnull)),
						 "billing profile", id);
	csp_spi_run(&record, values, NULL, false, 0);
}

/*
 * R1.5: whether the Microsoft Customer Agreement was accepted for the
 * billing account.  The caller has locked the account row
 * (csp_check_account_access) and must be connected to SPI.
 */
bool
csp_account_mca_accepted(int64 billing_account_id)
{
	static CspPlan plan = {
		"SELECT mca_accepted_at IS NOT NULL FROM csp.billing_account WHERE billing_account_id = $1",
		1, {INT8OID}, NULL, 0
	};
#define Anum_account_mca_accepted 1
	Datum		id = Int64GetDatum(billing_account_id);
	bool		isnull;

	csp_spi_run(&plan, &id, NULL, true, 1);
	return DatumGetBool(csp_spi_getdatum(0, Anum_account_mca_accepted, &isnull));
}

/*
 * R1.5: records that the caller accepted the MCA for the billing account
 * now.  The caller must be connected to SPI.
 */
void
csp_accept_account_mca(int64 billing_account_id)
{
	static CspPlan plan = {
		"UPDATE csp.billing_account SET mca_accepted_at = $2, mca_accepted_by = $3"
		" WHERE billing_account_id = $1",
		3, {INT8OID, TIMESTAMPTZOID, NAMEOID}, NULL, 0
	};
	NameData	by;
	Datum		values[3];

	namestrcpy(&by, GetUserNameFromId(csp_caller(), false));
	values[0] = Int64GetDatum(billing_account_id);
	values[1] = TimestampTzGetDatum(csp_now());
	values[2] = NameGetDatum(&by);
	csp_spi_run(&plan, values, NULL, false, 0);
}

/* csp.create_invoice_section(billing_profile_id, name) → bigint (R1.3) */
Datum
csp_create_invoice_section(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"billing_profile_id", "name"};
	int64		billing_profile_id;
	int64		billing_account_id;
	char	   *name;
	int64		section_id;

	csp_require_args(fcinfo, args, lengthof(args));
	billing_profile_id = PG_GETARG_INT64(0);
	name = csp_arg_cstring(fcinfo, 1);
	csp_check_nonblank(name, "name");

	csp_enter(fcinfo, "create_invoice_section", true);
	billing_account_id = csp_profile_account(billing_profile_id);
	csp_check_account_access(billing_account_id, false, false);
	section_id = InsertSection(billing_account_id, billing_profile_id, name, false);
	csp_finish();

	PG_RETURN_INT64(section_id);
}

/*
 * R11.5: a line is billed in the period containing its instant unless that
 * period already has its invoice, and the decision is made when the line is
 * posted (ledger.c).  So posting and invoicing of one profile must not
 * overlap: a line decided for a period that a concurrent run_invoicing is
 * closing would never be on its invoice.  A poster holds the profile FOR
 * KEY SHARE until it commits; run_invoicing takes profiles FOR UPDATE SKIP
 * LOCKED, so it skips a profile with posts in flight (a later run bills
 * them), and a poster that comes during a run waits for it, then sees the
 * invoices it made.  Key-share locks do not conflict with each other, so
 * posters of one profile never wait for one another.
 *
 * Returns the profile's anniversary day (0: NCE calendar months).  The lock
 * is remembered for the rest of the (sub)transaction that took it: the
 * lines of one call usually share one profile.
 */
int
csp_lock_profile_for_posting(int64 billing_account_id, int64 billing_profile_id)
{
	static CspPlan lock = {
		"SELECT anniversary_day FROM csp.billing_profile"
		" WHERE billing_account_id = $1 AND billing_profile_id = $2 FOR KEY SHARE",
		2, {INT8OID, INT8OID}, NULL, 0
	};
#define Anum_posting_profile_anniversary_day 1
	static LocalTransactionId locked_lxid = InvalidLocalTransactionId;
	static SubTransactionId locked_subxid = InvalidSubTransactionId;
	static int64 locked_account;
	static int64 locked_profile;
	static int	locked_anniversary_day;
	Datum		values[2];
	bool		isnull;
	Datum		day;

	if (locked_lxid == MyProc->lxid && locked_subxid == GetCurrentSubTransactionId() &&
		locked_account == billing_account_id && locked_profile == billing_profile_id)
		return locked_anniversary_day;

	values[0] = Int64GetDatum(billing_account_id);
	values[1] = Int64GetDatum(billing_profile_id);
	csp_spi_run(&lock, values, NULL, false, 1);
	if (SPI_processed == 0)
		csp_report_not_found("billing profile", psprintf(INT64_FORMAT, billing_profile_id));
	day = csp_spi_getdatum(0, Anum_posting_profile_anniversary_day, &isnull);

	locked_lxid = MyProc->lxid;
	locked_subxid = GetCurrentSubTransactionId();
	locked_account = billing_account_id;
	locked_profile = billing_profile_id;
	locked_anniversary_day = isnull ? 0 : DatumGetInt32(day);
	return locked_anniversary_day;
}

/*
 * The job statement of csp.run_invoicing (jobs.h): billing profiles with a
 * period that has lines, no invoice, and has closed (it starts before the
 * period containing $1), after the keyset position ($3, $4), locked FOR
 * UPDATE SKIP LOCKED: a second runner skips them, and so does a run that
 * meets a profile with posts in flight (csp_lock_profile_for_posting).
 * $2 the batch size.
 */
CspPlan *
csp_profiles_due_for_invoicing(void)
{
	static CspPlan due = {
		"SELECT p.billing_account_id, p.billing_profile_id"
		"  FROM csp.billing_profile p"
		" WHERE (p.billing_account_id, p.billing_profile_id) > ($3, $4)"
		"   AND EXISTS (SELECT 1 FROM csp.open_period o"
		"                WHERE o.billing_account_id = p.billing_account_id"
		"                  AND o.billing_profile_id = p.billing_profile_id"
		"                  AND o.period_start < (csp.invoice_period($1, p.anniversary_day)).period_start)"
		" ORDER BY p.billing_account_id, p.billing_profile_id"
		" LIMIT $2"
		" FOR UPDATE OF p SKIP LOCKED",
		4, {DATEOID, INT4OID, INT8OID, INT8OID}, NULL, 0
	};

	return &due;
}
