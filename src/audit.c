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
 * The log names the caller that entry.c captured and checked: the role
 * PostgreSQL says was executing when the API call began.
 *
 * src/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "csp_billing.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "access/sysattr.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(csp_audit_trigger);

/* The API action under way in this transaction, set by csp_begin_action. */
static const char *current_action = NULL;

/*
 * Set around a statement that moves a subscription's event clock in the
 * same UPDATE as the change it records (csp_store_change_quantity): the
 * clock then counts as unchanged in the audit row, as it did when the
 * event was recorded by an UPDATE of its own (OnlyEventClockMoved).
 */
static bool event_clock_as_recorded = false;

/* One kept INSERT plan per audited table: its row type differs. */
typedef struct AuditPlanEntry
{
	Oid			relid;			/* hash key */
	Oid			rowtype;
	SPIPlanPtr	plan;
} AuditPlanEntry;

static HTAB *audit_plans = NULL;

static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

static int	BufferedRows(void);
static void ForgetBuffers(void);
static void FlushAuditBuffers(void);
static void FlushAuditRows(int from, int upto);
static int	FirstOwnRow(void);
static void FlushOwnRows(void);
static void SealStatement(void);
static void AuditExecutorEnd(QueryDesc *queryDesc);
static void DropAbortedAuditRows(SubXactEvent event, SubTransactionId mySubid,
								 SubTransactionId parentSubid, void *arg);

static void
ResetActionAtTransactionEnd(XactEvent event, void *arg)
{
	(void) arg;
	/*
	 * Audit rows that no ExecutorEnd wrote (COPY) are written before commit,
	 * under a snapshot of their own as deferred triggers are.
	 */
	if ((event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE) &&
		BufferedRows() > 0)
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		SealStatement();
		FlushAuditBuffers();
		PopActiveSnapshot();
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		current_action = NULL;
		event_clock_as_recorded = false;
		ForgetBuffers();
	}
}

void
csp_audit_init(void)
{
	RegisterXactCallback(ResetActionAtTransactionEnd, NULL);
	RegisterSubXactCallback(DropAbortedAuditRows, NULL);
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = AuditExecutorEnd;
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

/*
 * Names the API action whose row changes the audit trigger will record,
 * and returns the action it replaces (NULL outside any), for the matching
 * csp_end_action.  Only csp_enter calls it; "action" is a string constant.
 */
const char *
csp_begin_action(const char *action)
{
	const char *outer = current_action;

	current_action = action;
	return outer;
}

/* See event_clock_as_recorded. */
void
csp_audit_event_clock_as_recorded(bool on)
{
	event_clock_as_recorded = on;
}

/*
 * Ends the action (csp_finish, entry.c, or the abort of the call): the
 * action that was under way when it began is back, so a call nested in
 * another leaves the outer one's name on the outer one's rows, and after
 * the outermost call later row changes in the same transaction (a direct
 * UPDATE by a superuser, say) are nobody's action.
 */
void
csp_end_action(const char *outer)
{
	/* the call's audit rows (buffered audit, below) */
	FlushOwnRows();
	current_action = outer;
}

/*
 * The same when the call is undone (its subtransaction or transaction
 * aborts): nothing is written, the aborted rows are dropped by
 * DropAbortedAuditRows; only the outer action is given back.
 */
void
csp_restore_action(const char *outer)
{
	current_action = outer;
}

/* What both audit triggers read of the row a trigger event is about. */
typedef struct AuditedRow
{
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	before;			/* NULL for an insert */
	HeapTuple	after;			/* NULL for a delete */
	const char *operation;		/* insert, update or delete */
	char	   *object_id;		/* the id column as text */
	Datum		account;		/* billing_account_id */
	bool		account_isnull;
} AuditedRow;

/*
 * True when an update changed nothing but last_event_at, the clock the
 * engine keeps on subscriptions and profiles for NC016: moving it records
 * no state change of its own (the action that moved it is audited where
 * it changes state).
 */
static bool
OnlyEventClockMoved(TupleDesc tupdesc, HeapTuple before, HeapTuple after)
{
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Datum		a,
					b;
		bool		anull,
					bnull;

		if (att->attisdropped || strcmp(NameStr(att->attname), "last_event_at") == 0)
			continue;
		a = heap_getattr(before, i + 1, tupdesc, &anull);
		b = heap_getattr(after, i + 1, tupdesc, &bnull);
		if (anull != bnull)
			return false;
		if (!anull && !datumIsEqual(a, b, att->attbyval, att->attlen))
			return false;
	}
	return true;
}

/*
 * Checks that "trigger" fired AFTER ... FOR EACH ROW with the id column as
 * its argument and reads the row; false when a dump is being restored
 * (csp_loading_dump), whose rows are not audited again.
 */
static bool
ReadAuditedRow(FunctionCallInfo fcinfo, const char *trigger, AuditedRow *row)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	current;
	int			idcol;
	int			accountcol;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "%s: not called by trigger manager", trigger);
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "%s: must be fired AFTER ... FOR EACH ROW", trigger);
	if (trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "%s: expects the id column name as its argument", trigger);
	if (csp_loading_dump())
		return false;

	row->rel = trigdata->tg_relation;
	row->tupdesc = RelationGetDescr(row->rel);
	row->before = NULL;
	row->after = NULL;
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		row->operation = "insert";
		row->after = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		row->operation = "update";
		row->before = trigdata->tg_trigtuple;
		row->after = trigdata->tg_newtuple;
		if (OnlyEventClockMoved(row->tupdesc, row->before, row->after))
			return false;
	}
	else
	{
		row->operation = "delete";
		row->before = trigdata->tg_trigtuple;
	}
	current = row->after ? row->after : row->before;

	idcol = SPI_fnumber(row->tupdesc, trigdata->tg_trigger->tgargs[0]);
	if (idcol <= 0)
		elog(ERROR, "%s: \"%s\" has no column \"%s\"", trigger,
			 RelationGetRelationName(row->rel), trigdata->tg_trigger->tgargs[0]);
	row->object_id = SPI_getvalue(current, row->tupdesc, idcol);
	if (row->object_id == NULL)
		row->object_id = "";
	accountcol = SPI_fnumber(row->tupdesc, "billing_account_id");
	row->account = (Datum) 0;
	row->account_isnull = true;
	if (accountcol > 0)
		row->account = SPI_getbinval(current, row->tupdesc, accountcol, &row->account_isnull);
	return true;
}

static Datum RowToJsonb(HeapTuple tuple, TupleDesc desc, Oid rowtype);
static Datum ColumnsToJsonb(HeapTuple tuple, TupleDesc desc, const bool *keep, int nkeep);

/*
 * Columns an update's audit row keeps even when unchanged: the row's keys
 * (primary key and id column) and the owners it belongs to
 * (subscription_id of a seat lot), so the row still says which object it
 * is about, and billing_profile_id, which the audit log's row-level
 * security reads.
 */
static bool
AuditKeyColumn(Bitmapset *pkey, Form_pg_attribute att, const char *idcol)
{
	return bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, pkey) ||
		strcmp(NameStr(att->attname), idcol) == 0 ||
		strcmp(NameStr(att->attname), "billing_profile_id") == 0 ||
		strcmp(NameStr(att->attname), "subscription_id") == 0;
}

/*
 * The before and after of an audit row as jsonb (issue 12 item 7): an
 * insert records the new row and a delete the old one; an update records,
 * before and after, only the columns it changed (plus the keys), not the
 * whole row twice, so twenty seat changes of a subscription with a long
 * name do not copy the name forty times.
 */
static void
AuditJsonb(const AuditedRow *row, const char *idcol, Datum *before, Datum *after)
{
	Oid			rowtype = row->rel->rd_rel->reltype;
	TupleDesc	desc = row->tupdesc;
	bool	   *keep;
	int			nkeep = 0;
	int			i;
	Bitmapset  *pkey;

	if (!(row->before && row->after))
	{
		*before = row->before ? RowToJsonb(row->before, desc, rowtype) : (Datum) 0;
		*after = row->after ? RowToJsonb(row->after, desc, rowtype) : (Datum) 0;
		return;
	}

	/*
	 * An update: the keys and the columns whose value changed, converted
	 * alone (converting the whole row twice and deleting the rest was a
	 * tenth of a seat change's time).
	 */
	keep = palloc0(sizeof(bool) * desc->natts);
	pkey = RelationGetIndexAttrBitmap(row->rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		null1;
		bool		null2;
		Datum		v1;
		Datum		v2;

		if (att->attisdropped)
			continue;
		if (AuditKeyColumn(pkey, att, idcol))
		{
			keep[i] = true;
			nkeep++;
			continue;
		}
		if (event_clock_as_recorded && strcmp(NameStr(att->attname), "last_event_at") == 0)
			continue;
		v1 = heap_getattr(row->before, i + 1, desc, &null1);
		v2 = heap_getattr(row->after, i + 1, desc, &null2);
		/* binary equality: a value rewritten identically is unchanged */
		if (null1 != null2 ||
			(!null1 && !datumIsEqual(v1, v2, att->attbyval, att->attlen)))
		{
			keep[i] = true;
			nkeep++;
		}
	}
	*before = ColumnsToJsonb(row->before, desc, keep, nkeep);
	*after = ColumnsToJsonb(row->after, desc, keep, nkeep);
	pfree(keep);
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
		argtypes[7] = JSONBOID;
		argtypes[8] = JSONBOID;
		plan = SPI_prepare_cursor("INSERT INTO csp.audit_log"
						   " (billing_account_id, at, actor, action, operation,"
						   "  object_type, object_id, before, after)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
	AuditedRow	row;
	Datum		values[9];
	char		nulls[9];
	NameData	actor;
	Datum		jsonb_before;
	Datum		jsonb_after;

	if (!ReadAuditedRow(fcinfo, "csp.audit_trigger", &row))
		return PointerGetDatum(NULL);
	AuditJsonb(&row, ((TriggerData *) fcinfo->context)->tg_trigger->tgargs[0],
			   &jsonb_before, &jsonb_after);

	namestrcpy(&actor, GetUserNameFromId(csp_caller(), false));
	memset(nulls, ' ', sizeof(nulls));
	values[0] = row.account;
	nulls[0] = row.account_isnull ? 'n' : ' ';
	values[1] = TimestampTzGetDatum(csp_now());
	values[2] = NameGetDatum(&actor);
	values[3] = CStringGetTextDatum(current_action ? current_action : "direct");
	values[4] = CStringGetTextDatum(row.operation);
	values[5] = CStringGetTextDatum(RelationGetRelationName(row.rel));
	values[6] = CStringGetTextDatum(row.object_id);
	values[7] = jsonb_before;
	nulls[7] = row.before ? ' ' : 'n';
	values[8] = jsonb_after;
	nulls[8] = row.after ? ' ' : 'n';

	/* the buffered rows of the statements before come first */
	FlushOwnRows();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "csp.audit_trigger: SPI_connect failed");
	if (SPI_execute_plan(AuditPlanFor(row.rel), values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "csp.audit_trigger: audit insert failed");
	SPI_finish();

	return PointerGetDatum(NULL);
}

/*
 * Buffered audit, for the tables the jobs write in bulk (subscriptions,
 * seat lots, invoices).  The row trigger csp.audit_buffer_trigger('id')
 * turns each changed row into the audit row the immediate trigger would
 * write (who, when, which action, the row before/after as jsonb) and keeps
 * it in memory.  One INSERT writes the rows kept: when the API call that
 * changed them ends (csp_end_action), or, outside an API call, when the
 * statement that changed them ends (ExecutorEnd, after all its triggers
 * have fired).  A seat change that adds a lot and updates its subscription
 * thus costs one audit INSERT, and a statement that changes a thousand
 * subscriptions one, not a thousand.  A long call (a job) writes them
 * every AUDIT_FLUSH_ROWS rows, so memory stays bounded.
 *
 * The rows are written in the order the engine wrote them before calls
 * were buffered whole: statement by statement, and within one statement
 * table by table (ExecutorEnd "seals" a statement's rows in that order);
 * an immediate audit row (csp.audit_trigger) writes the sealed rows before
 * its own, so audit ids keep the order of the statements.
 *
 * Nothing can be lost: rows buffered in a subtransaction that aborts are
 * dropped with it (they describe changes that were rolled back); rows a
 * statement without an executor left behind (COPY) are written before the
 * transaction commits.  The buffer is emptied at every flush and at
 * transaction end.
 *
 * Why not a statement-level trigger: PostgreSQL allocates bookkeeping for
 * AFTER STATEMENT triggers (and transition tables) in the subtransaction's
 * CurTransactionContext, which a committed subtransaction keeps until the
 * top transaction ends.  A job that takes 100,000 subscriptions one
 * subtransaction at a time then held 800 MB; with this buffer, 4 MB.
 */
typedef struct AuditBuffer
{
	int			n;
	int			sealed;			/* rows [0, sealed) are of statements that ended */
	int			capacity;
	Oid		   *relids;			/* the audited table: object_type */
	SubTransactionId *subxacts;	/* where each row was buffered */
	Datum	   *accounts;		/* int8 */
	bool	   *account_nulls;
	Datum	   *ats;			/* timestamptz */
	Datum	   *actors;			/* name */
	Datum	   *actions;		/* text */
	Datum	   *operations;		/* text */
	Datum	   *object_ids;		/* text */
	Datum	   *befores;		/* jsonb */
	bool	   *before_nulls;
	Datum	   *afters;			/* jsonb */
	bool	   *after_nulls;
} AuditBuffer;

/* a call writes its rows at the latest every this many */
#define AUDIT_FLUSH_ROWS 1000

static MemoryContext audit_buffer_context = NULL;
static AuditBuffer audit_buffer;
static bool audit_flushing = false;

static int
BufferedRows(void)
{
	return audit_buffer.n;
}

/*
 * The first of the rows of ended statements that the current
 * subtransaction (or a child of it) buffered: those it may write.  Rows
 * of an enclosing (sub)transaction wait for it, so that an abort of this
 * one cannot take them along.
 */
static int
FirstOwnRow(void)
{
	SubTransactionId current = GetCurrentSubTransactionId();
	int			k = audit_buffer.sealed;

	while (k > 0 && audit_buffer.subxacts[k - 1] >= current)
		k--;
	return k;
}

/* Writes the rows of ended statements that this subtransaction may write. */
static void
FlushOwnRows(void)
{
	FlushAuditRows(FirstOwnRow(), audit_buffer.sealed);
}

static void
ForgetBuffers(void)
{
	audit_buffer.n = 0;
	audit_buffer.sealed = 0;
	audit_buffer.capacity = 0;
	if (audit_buffer_context != NULL)
		MemoryContextReset(audit_buffer_context);
}

static void
GrowBuffer(AuditBuffer *b)
{
	int			capacity = b->capacity == 0 ? 64 : b->capacity * 2;
	MemoryContext old;

	if (audit_buffer_context == NULL)
		audit_buffer_context = AllocSetContextCreate(TopMemoryContext, "csp audit buffer",
													 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(audit_buffer_context);
#define GROW(field, type) \
	b->field = b->capacity == 0 ? palloc(sizeof(type) * capacity) : \
		repalloc(b->field, sizeof(type) * capacity)
	GROW(relids, Oid);
	GROW(subxacts, SubTransactionId);
	GROW(accounts, Datum);
	GROW(account_nulls, bool);
	GROW(ats, Datum);
	GROW(actors, Datum);
	GROW(actions, Datum);
	GROW(operations, Datum);
	GROW(object_ids, Datum);
	GROW(befores, Datum);
	GROW(before_nulls, bool);
	GROW(afters, Datum);
	GROW(after_nulls, bool);
#undef GROW
	b->capacity = capacity;
	MemoryContextSwitchTo(old);
}

/* Row "from" of the buffer moves to position "to". */
static void
MoveRow(AuditBuffer *b, int to, int from)
{
	b->relids[to] = b->relids[from];
	b->subxacts[to] = b->subxacts[from];
	b->accounts[to] = b->accounts[from];
	b->account_nulls[to] = b->account_nulls[from];
	b->ats[to] = b->ats[from];
	b->actors[to] = b->actors[from];
	b->actions[to] = b->actions[from];
	b->operations[to] = b->operations[from];
	b->object_ids[to] = b->object_ids[from];
	b->befores[to] = b->befores[from];
	b->before_nulls[to] = b->before_nulls[from];
	b->afters[to] = b->afters[from];
	b->after_nulls[to] = b->after_nulls[from];
}

/*
 * to_jsonb of a row: the function finds the row's type in the expression
 * it is called from, so each row type gets an FmgrInfo whose expression
 * says so.
 */
static Datum
RowToJsonb(HeapTuple tuple, TupleDesc desc, Oid rowtype)
{
	static FmgrInfo *finfo = NULL;
	static Oid	finfo_type = InvalidOid;

	if (finfo == NULL || finfo_type != rowtype)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		if (finfo == NULL)
			finfo = palloc0(sizeof(FmgrInfo));
		fmgr_info_cxt(F_TO_JSONB, finfo, TopMemoryContext);
		fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSONB, JSONBOID,
												 list_make1(makeNullConst(rowtype, -1, InvalidOid)),
												 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL),
						   finfo);
		finfo_type = rowtype;
		MemoryContextSwitchTo(old);
	}
	return FunctionCall1(finfo, heap_copy_tuple_as_datum(tuple, desc));
}

/*
 * to_jsonb of the columns "keep" of a row, as an object of just those
 * keys: the same values to_jsonb of the whole row gives them.  The columns
 * form an anonymous record type (blessed: PostgreSQL keeps one per
 * distinct set of columns).
 */
static Datum
ColumnsToJsonb(HeapTuple tuple, TupleDesc desc, const bool *keep, int nkeep)
{
	static FmgrInfo *finfo = NULL;
	TupleDesc	columns = CreateTemplateTupleDesc(nkeep);
	Datum	   *values = palloc(sizeof(Datum) * Max(nkeep, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(nkeep, 1));
	int			i;
	int			j = 0;

	if (finfo == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		FmgrInfo   *f = palloc0(sizeof(FmgrInfo));

		fmgr_info_cxt(F_TO_JSONB, f, TopMemoryContext);
		fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSONB, JSONBOID,
												 list_make1(makeNullConst(RECORDOID, -1, InvalidOid)),
												 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL),
						   f);
		MemoryContextSwitchTo(old);
		finfo = f;
	}
	for (i = 0; i < desc->natts; i++)
	{
		if (!keep[i])
			continue;
		TupleDescCopyEntry(columns, j + 1, desc, i + 1);
		values[j] = heap_getattr(tuple, i + 1, desc, &nulls[j]);
		j++;
	}
	columns = BlessTupleDesc(columns);
	return FunctionCall1(finfo, HeapTupleGetDatum(heap_form_tuple(columns, values, nulls)));
}

/*
 * AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW
 * EXECUTE FUNCTION csp.audit_buffer_trigger('id_column')
 */
PG_FUNCTION_INFO_V1(csp_audit_buffer_trigger);

Datum
csp_audit_buffer_trigger(PG_FUNCTION_ARGS)
{
	AuditedRow	row;
	AuditBuffer *b = &audit_buffer;
	Datum		jsonb_before = (Datum) 0;
	Datum		jsonb_after = (Datum) 0;
	MemoryContext old;
	NameData   *actor;
	int			k;

	if (!ReadAuditedRow(fcinfo, "csp.audit_buffer_trigger", &row))
		return PointerGetDatum(NULL);
	AuditJsonb(&row, ((TriggerData *) fcinfo->context)->tg_trigger->tgargs[0],
			   &jsonb_before, &jsonb_after);

	if (b->n == b->capacity)
		GrowBuffer(b);
	k = b->n;
	old = MemoryContextSwitchTo(audit_buffer_context);
	actor = palloc(sizeof(NameData));
	namestrcpy(actor, GetUserNameFromId(csp_caller(), false));
	b->relids[k] = RelationGetRelid(row.rel);
	b->subxacts[k] = GetCurrentSubTransactionId();
	b->accounts[k] = row.account;
	b->account_nulls[k] = row.account_isnull;
	b->ats[k] = TimestampTzGetDatum(csp_now());
	b->actors[k] = NameGetDatum(actor);
	b->actions[k] = CStringGetTextDatum(current_action ? current_action : "direct");
	b->operations[k] = CStringGetTextDatum(row.operation);
	b->object_ids[k] = CStringGetTextDatum(row.object_id);
	b->befores[k] = row.before ? datumCopy(jsonb_before, false, -1) : (Datum) 0;
	b->before_nulls[k] = row.before == NULL;
	b->afters[k] = row.after ? datumCopy(jsonb_after, false, -1) : (Datum) 0;
	b->after_nulls[k] = row.after == NULL;
	MemoryContextSwitchTo(old);
	b->n++;
	return PointerGetDatum(NULL);
}

/*
 * The statement that ended: its rows, still in the order their triggers
 * fired, are put table by table (in the order the tables first appear),
 * the order in which they were written when each table had a buffer and
 * an INSERT of its own.
 */
static void
SealStatement(void)
{
	AuditBuffer *b = &audit_buffer;
	int			from = b->sealed;
	int			i;
	bool		one_table = true;

	for (i = from + 1; i < b->n && one_table; i++)
		one_table = b->relids[i] == b->relids[from];
	if (!one_table)
	{
		int			nrows = b->n - from;
		int			next = b->n;
		bool	   *taken = palloc0(sizeof(bool) * nrows);

		/* append each table's rows after the end, then move them back */
		if (b->n + nrows > b->capacity)
		{
			while (b->capacity < b->n + nrows)
				GrowBuffer(b);
		}
		for (i = from; i < b->n; i++)
		{
			int			j;

			if (taken[i - from])
				continue;
			for (j = i; j < b->n; j++)
				if (!taken[j - from] && b->relids[j] == b->relids[i])
				{
					MoveRow(b, next++, j);
					taken[j - from] = true;
				}
		}
		for (i = 0; i < nrows; i++)
			MoveRow(b, from + i, b->n + i);
		pfree(taken);
	}
	b->sealed = b->n;
}

/* Writes the buffered audit rows [from, upto), in one INSERT. */
static void
FlushAuditRows(int from, int upto)
{
	static CspPlan plan = {
		"INSERT INTO csp.audit_log (billing_account_id, at, actor, action, operation,"
		"  object_type, object_id, before, after)"
		" SELECT u.billing_account_id, u.at, u.actor, u.action, u.operation, u.object_type,"
		"        u.object_id, u.before, u.after"
		"   FROM ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::timestamptz[]),"
		"                   pg_catalog.unnest($3::name[]), pg_catalog.unnest($4::text[]),"
		"                   pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::text[]),"
		"                   pg_catalog.unnest($7::text[]), pg_catalog.unnest($8::jsonb[]),"
		"                   pg_catalog.unnest($9::jsonb[]))"
		"        AS u (billing_account_id, at, actor, action, operation, object_type, object_id,"
		"              before, after)",
		9, {INT8ARRAYOID, TIMESTAMPTZARRAYOID, NAMEARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, JSONBARRAYOID}, NULL, 0
	};
	AuditBuffer *b = &audit_buffer;
	MemoryContext old;
	Datum		values[9];
	Datum	   *object_types;
	Oid			relid = InvalidOid;
	Datum		relname = (Datum) 0;
	int			i;

	int			n = upto - from;

	if (n <= 0 || audit_flushing)
		return;
	old = MemoryContextSwitchTo(audit_buffer_context);
	object_types = palloc(sizeof(Datum) * n);
	for (i = from; i < upto; i++)
	{
		if (b->relids[i] != relid)
		{
			char	   *name = get_rel_name(b->relids[i]);

			if (name == NULL)
				elog(ERROR, "csp audit: table %u of buffered audit rows is gone", b->relids[i]);
			relid = b->relids[i];
			relname = CStringGetTextDatum(name);
		}
		object_types[i - from] = relname;
	}
	values[0] = csp_array_of(b->accounts + from, b->account_nulls + from, n, INT8OID);
	values[1] = csp_array_of(b->ats + from, NULL, n, TIMESTAMPTZOID);
	values[2] = csp_array_of(b->actors + from, NULL, n, NAMEOID);
	values[3] = csp_array_of(b->actions + from, NULL, n, TEXTOID);
	values[4] = csp_array_of(b->operations + from, NULL, n, TEXTOID);
	values[5] = csp_array_of(object_types, NULL, n, TEXTOID);
	values[6] = csp_array_of(b->object_ids + from, NULL, n, TEXTOID);
	values[7] = csp_array_of(b->befores + from, b->before_nulls + from, n, JSONBOID);
	values[8] = csp_array_of(b->afters + from, b->after_nulls + from, n, JSONBOID);

	/* the rows are in the arrays: the INSERT's own ExecutorEnd finds nothing to do */
	audit_flushing = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "csp audit: SPI_connect failed");
		csp_spi_run(&plan, values, NULL, false, 0);
		if (SPI_processed != (uint64) n)
			elog(ERROR, "csp audit: wrote " UINT64_FORMAT " of %d audit rows", SPI_processed, n);
		SPI_finish();
	}
	PG_FINALLY();
	{
		audit_flushing = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);

	if (n == b->n)
		ForgetBuffers();
	else
	{
		/* the rows written go; those of enclosing or unfinished statements stay */
		for (i = upto; i < b->n; i++)
			MoveRow(b, i - n, i);
		b->n -= n;
		b->sealed = b->sealed >= upto ? b->sealed - n : Min(b->sealed, from);
	}
}

/* Writes every buffered audit row (before commit). */
static void
FlushAuditBuffers(void)
{
	FlushAuditRows(0, audit_buffer.n);
}

/*
 * A statement ended, after all its triggers: its rows are sealed, and
 * written now unless an API call is under way in the top transaction
 * (csp_end_action writes them) and has fewer than AUDIT_FLUSH_ROWS.  In a
 * subtransaction (a job's item, a PL/pgSQL exception block) they are
 * written at once, by the subtransaction that made the change.
 */
static void
AuditExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
	if (audit_buffer.n > audit_buffer.sealed && !audit_flushing)
	{
		SealStatement();
		if (current_action == NULL || GetCurrentTransactionNestLevel() > 1 ||
			audit_buffer.n >= AUDIT_FLUSH_ROWS)
			FlushOwnRows();
	}
}

/*
 * Rows buffered in an aborted subtransaction (or a child of it) describe
 * changes that were rolled back: they go too.
 */
static void
DropAbortedAuditRows(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	AuditBuffer *b = &audit_buffer;
	int			kept = 0;
	int			kept_sealed = 0;
	int			k;

	(void) parentSubid;
	(void) arg;
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	event_clock_as_recorded = false;
	for (k = 0; k < b->n; k++)
	{
		if (b->subxacts[k] >= mySubid)
			continue;
		MoveRow(b, kept, k);
		if (k < b->sealed)
			kept_sealed++;
		kept++;
	}
	b->n = kept;
	b->sealed = kept_sealed;
	if (BufferedRows() == 0)
		ForgetBuffers();
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
