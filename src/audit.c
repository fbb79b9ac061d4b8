/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The caller's identity and the append-only audit log.
 *
 * Every state table carries the C trigger csp.audit_trigger(id_column), so
 * no code path can change state without leaving a row in csp.audit_log:
 * who (the caller), when (csp.now()), which API action, which object, and
 * the row before and after as jsonb.
 *
 * Writing functions are SECURITY DEFINER, so inside them current_user is
 * the extension's owner.  The person who called is the "outer" user: the
 * session user, or the role it SET ROLE to.  That is who the log names.
 *
 * src/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(csp_audit_trigger);

/* The API action under way in this transaction, set by csp_begin_action. */
static const char *current_action = NULL;

/* One kept INSERT plan per audited table: its row type differs. */
typedef struct AuditPlanEntry
{
	Oid			relid;			/* hash key */
	Oid			rowtype;
	SPIPlanPtr	plan;
} AuditPlanEntry;

static HTAB *audit_plans = NULL;

Oid
csp_caller(void)
{
	return GetOuterUserId();
}

static void
ResetActionAtTransactionEnd(XactEvent event, void *arg)
{
	(void) arg;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		current_action = NULL;
}

void
csp_audit_init(void)
{
	RegisterXactCallback(ResetActionAtTransactionEnd, NULL);
}

/*
 * True while pg_restore (or a psql run of a pg_dump script) loads the
 * extension's tables: such sessions run with row_security and
 * check_function_bodies off, and the rows arrive outside any API call.  The
 * rows being loaded were audited and checked when they were first written,
 * so the triggers let them through unchanged: auditing them again would
 * take audit ids the restored log already uses, and a restored cancelled
 * subscription is not a new one.
 */
bool
csp_loading_dump(void)
{
	return current_action == NULL && !row_security && !check_function_bodies;
}

/* Names the API action whose row changes the audit trigger will record. */
void
csp_begin_action(const char *action)
{
	current_action = action;
}

/*
 * Ends an API function's work: later row changes in the same transaction
 * (a direct UPDATE by a superuser, say) are not the action's.
 */
void
csp_finish(void)
{
	current_action = NULL;
	SPI_finish();
}

static SPIPlanPtr
AuditPlanFor(Relation rel)
{
	AuditPlanEntry *entry;
	bool		found;

	if (audit_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AuditPlanEntry);
		audit_plans = hash_create("csp_billing audit plans", 32, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}

	entry = hash_search(audit_plans, &RelationGetRelid(rel), HASH_ENTER, &found);
	if (!found || entry->rowtype != rel->rd_rel->reltype || entry->plan == NULL)
	{
		Oid			argtypes[9];
		SPIPlanPtr	plan;

		entry->plan = NULL;
		entry->rowtype = rel->rd_rel->reltype;
		argtypes[0] = INT8OID;
		argtypes[1] = TIMESTAMPTZOID;
		argtypes[2] = NAMEOID;
		argtypes[3] = TEXTOID;
		argtypes[4] = TEXTOID;
		argtypes[5] = TEXTOID;
		argtypes[6] = TEXTOID;
		argtypes[7] = entry->rowtype;
		argtypes[8] = entry->rowtype;
		plan = SPI_prepare_cursor("INSERT INTO csp.audit_log"
						   " (billing_account_id, at, actor, action, operation,"
						   "  object_type, object_id, before, after)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7,"
						   "  pg_catalog.to_jsonb($8), pg_catalog.to_jsonb($9))",
						   9, argtypes, CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the audit insert for \"%s\"",
				 RelationGetRelationName(rel));
		entry->plan = plan;
	}
	return entry->plan;
}

/*
 * AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW
 * EXECUTE FUNCTION csp.audit_trigger('id_column')
 */
Datum
csp_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	before = NULL;
	HeapTuple	after = NULL;
	HeapTuple	current;
	const char *operation;
	int			idcol;
	int			accountcol;
	char	   *object_id;
	Datum		values[9];
	char		nulls[9];
	NameData	actor;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.audit_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "csp.audit_trigger: must be fired AFTER ... FOR EACH ROW");
	if (trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "csp.audit_trigger: expects the id column name as its argument");

	if (csp_loading_dump())
		return PointerGetDatum(NULL);

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		operation = "insert";
		after = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		operation = "update";
		before = trigdata->tg_trigtuple;
		after = trigdata->tg_newtuple;
	}
	else
	{
		operation = "delete";
		before = trigdata->tg_trigtuple;
	}
	current = after ? after : before;

	idcol = SPI_fnumber(tupdesc, trigdata->tg_trigger->tgargs[0]);
	if (idcol <= 0)
		elog(ERROR, "csp.audit_trigger: \"%s\" has no column \"%s\"",
			 RelationGetRelationName(rel), trigdata->tg_trigger->tgargs[0]);
	object_id = SPI_getvalue(current, tupdesc, idcol);
	accountcol = SPI_fnumber(tupdesc, "billing_account_id");

	namestrcpy(&actor, GetUserNameFromId(csp_caller(), false));
	memset(nulls, ' ', sizeof(nulls));

	if (accountcol > 0)
		values[0] = SPI_getbinval(current, tupdesc, accountcol, &isnull);
	else
		isnull = true;
	if (isnull)
		nulls[0] = 'n';
	values[1] = TimestampTzGetDatum(csp_now());
	values[2] = NameGetDatum(&actor);
	values[3] = CStringGetTextDatum(current_action ? current_action : "direct");
	values[4] = CStringGetTextDatum(operation);
	values[5] = CStringGetTextDatum(RelationGetRelationName(rel));
	values[6] = CStringGetTextDatum(object_id ? object_id : "");
	values[7] = before ? heap_copy_tuple_as_datum(before, tupdesc) : (Datum) 0;
	nulls[7] = before ? ' ' : 'n';
	values[8] = after ? heap_copy_tuple_as_datum(after, tupdesc) : (Datum) 0;
	nulls[8] = after ? ' ' : 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "csp.audit_trigger: SPI_connect failed");
	if (SPI_execute_plan(AuditPlanFor(rel), values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "csp.audit_trigger: audit insert failed");
	SPI_finish();

	return PointerGetDatum(NULL);
}

/*
 * The statement-level form, for the tables the jobs write in bulk
 * (subscriptions and seat lots): one INSERT ... SELECT per statement
 * writes the same rows the row-level trigger would, one per changed row,
 * reading the statement's transition tables (csp_old, csp_new).  Old and
 * new versions of an updated row are paired by the id column, which must
 * be a key of the table that updates never change; each statement's
 * audit rows are checked against the number of changed rows.
 *
 * One kept plan per table and operation; the transition tables are
 * registered afresh for every statement (SPI_register_trigger_data).
 */
typedef struct AuditStatementKey
{
	Oid			relid;
	int			operation;		/* TRIGGER_EVENT_INSERT / _UPDATE / _DELETE */
} AuditStatementKey;

typedef struct AuditStatementEntry
{
	AuditStatementKey key;		/* hash key */
	Oid			rowtype;
	SPIPlanPtr	plan;
} AuditStatementEntry;

static HTAB *audit_statement_plans = NULL;

static SPIPlanPtr
AuditStatementPlanFor(Relation rel, int operation, const char *id_column)
{
	AuditStatementKey key;
	AuditStatementEntry *entry;
	bool		found;

	if (audit_statement_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(AuditStatementKey);
		ctl.entrysize = sizeof(AuditStatementEntry);
		audit_statement_plans = hash_create("csp_billing audit statement plans", 16, &ctl,
											HASH_ELEM | HASH_BLOBS);
	}
	memset(&key, 0, sizeof(key));
	key.relid = RelationGetRelid(rel);
	key.operation = operation;
	entry = hash_search(audit_statement_plans, &key, HASH_ENTER, &found);
	if (!found || entry->rowtype != rel->rd_rel->reltype || entry->plan == NULL)
	{
		const char *id = quote_identifier(id_column);
		const char *account = SPI_fnumber(RelationGetDescr(rel), "billing_account_id") > 0 ?
			"r.billing_account_id" : "NULL::bigint";
		Oid			argtypes[4] = {TIMESTAMPTZOID, NAMEOID, TEXTOID, TEXTOID};
		StringInfoData sql;
		SPIPlanPtr	plan;

		entry->plan = NULL;
		entry->rowtype = rel->rd_rel->reltype;
		initStringInfo(&sql);
		appendStringInfoString(&sql,
							   "INSERT INTO csp.audit_log (billing_account_id, at, actor, action,"
							   " operation, object_type, object_id, before, after) ");
		if (operation == TRIGGER_EVENT_UPDATE)
			appendStringInfo(&sql,
							 "SELECT %s, $1, $2, $3, 'update', $4, r.%s::text,"
							 " pg_catalog.to_jsonb(o), pg_catalog.to_jsonb(r)"
							 " FROM csp_new r JOIN csp_old o ON o.%s = r.%s",
							 account, id, id, id);
		else
			appendStringInfo(&sql,
							 "SELECT %s, $1, $2, $3, '%s', $4, r.%s::text, %s FROM %s r",
							 account, operation == TRIGGER_EVENT_INSERT ? "insert" : "delete", id,
							 operation == TRIGGER_EVENT_INSERT ?
							 "NULL::jsonb, pg_catalog.to_jsonb(r)" : "pg_catalog.to_jsonb(r), NULL::jsonb",
							 operation == TRIGGER_EVENT_INSERT ? "csp_new" : "csp_old");
		/* one plan whatever the parameters: a custom plan would be planned anew per statement */
		plan = SPI_prepare_cursor(sql.data, 4, argtypes, CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the statement audit for \"%s\": %s",
				 RelationGetRelationName(rel), SPI_result_code_string(SPI_result));
		entry->plan = plan;
	}
	return entry->plan;
}

/*
 * AFTER INSERT | UPDATE | DELETE
 * REFERENCING [OLD TABLE AS csp_old] [NEW TABLE AS csp_new]
 * FOR EACH STATEMENT EXECUTE FUNCTION csp.audit_statement_trigger('id_column')
 */
PG_FUNCTION_INFO_V1(csp_audit_statement_trigger);

Datum
csp_audit_statement_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	Tuplestorestate *changed;
	int			operation;
	int64		rows;
	Datum		values[4];
	NameData	actor;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.audit_statement_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "csp.audit_statement_trigger: must be fired AFTER ... FOR EACH STATEMENT");
	if (trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "csp.audit_statement_trigger: expects the id column name as its argument");

	operation = trigdata->tg_event & TRIGGER_EVENT_OPMASK;
	changed = operation == TRIGGER_EVENT_DELETE ? trigdata->tg_oldtable : trigdata->tg_newtable;
	if (changed == NULL ||
		(operation == TRIGGER_EVENT_UPDATE && trigdata->tg_oldtable == NULL))
		elog(ERROR, "csp.audit_statement_trigger: the trigger must name its transition tables csp_old and csp_new");

	if (csp_loading_dump())
		return PointerGetDatum(NULL);
	rows = tuplestore_tuple_count(changed);
	if (rows == 0)
		return PointerGetDatum(NULL);

	rel = trigdata->tg_relation;
	if (SPI_fnumber(RelationGetDescr(rel), trigdata->tg_trigger->tgargs[0]) <= 0)
		elog(ERROR, "csp.audit_statement_trigger: \"%s\" has no column \"%s\"",
			 RelationGetRelationName(rel), trigdata->tg_trigger->tgargs[0]);

	namestrcpy(&actor, GetUserNameFromId(csp_caller(), false));
	values[0] = TimestampTzGetDatum(csp_now());
	values[1] = NameGetDatum(&actor);
	values[2] = CStringGetTextDatum(current_action ? current_action : "direct");
	values[3] = CStringGetTextDatum(RelationGetRelationName(rel));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "csp.audit_statement_trigger: SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "csp.audit_statement_trigger: could not register the transition tables");
	if (SPI_execute_plan(AuditStatementPlanFor(rel, operation, trigdata->tg_trigger->tgargs[0]),
						 values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "csp.audit_statement_trigger: audit insert failed");
	/* one audit row per changed row: an id that is not a key would break the pairing */
	if (SPI_processed != (uint64) rows)
		elog(ERROR, "csp.audit_statement_trigger: " UINT64_FORMAT " audit rows for " INT64_FORMAT " changed rows of \"%s\"",
			 SPI_processed, rows, RelationGetRelationName(rel));
	SPI_finish();

	return PointerGetDatum(NULL);
}

/*
 * BEFORE UPDATE OR DELETE FOR EACH ROW EXECUTE FUNCTION
 * csp.append_only_trigger(): the table is a log; corrections are new rows.
 */
PG_FUNCTION_INFO_V1(csp_append_only_trigger);

Datum
csp_append_only_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "csp.append_only_trigger: not called by trigger manager");

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s is append-only", RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Rows of this table are never updated or deleted."),
			 errhint("Record a correction as a new row through the csp functions.")));
	PG_RETURN_NULL();
}
