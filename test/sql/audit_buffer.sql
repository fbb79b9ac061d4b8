--
-- The buffered audit of the tables the jobs write in bulk (src/audit.c):
-- csp.audit_buffer_trigger keeps each changed row of csp.subscription,
-- csp.seat_lot and csp.invoice in memory, and the rows are written with one
-- INSERT when the statement ends.  Every change is audited exactly once, by
-- the caller, with the action under way; changes rolled back leave no audit
-- row.  (DESIGN.md "Data": the audit log has who, when, what, before/after
-- for every state change.)
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
SET csp.clock = '2025-01-10 09:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s \gset
-- one audit row per changed row, written by the end of the statement that
-- changed them: the purchase wrote a subscription and its first seat lot
SELECT action, object_type, operation, count(*), bool_and(actor = current_user) AS by_caller
  FROM csp.audit_log WHERE object_id = :'s' OR after->>'subscription_id' = :'s'
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- a direct UPDATE by the superuser is audited when the statement ends, as
-- 'direct', with the row before and after; a SELECT in the same transaction
-- sees the audit row at once
BEGIN;
UPDATE csp.subscription SET friendly_name = 'renamed directly' WHERE subscription_id = :'s';
SELECT action, operation, before->>'friendly_name' AS before_name, after->>'friendly_name' AS after_name
  FROM csp.audit_log WHERE object_id = :'s' AND action = 'direct';
COMMIT;
-- a statement that changes several rows writes one audit row per row
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 2) AS s2 \gset
UPDATE csp.subscription SET friendly_name = 'bulk' WHERE customer_id = :'cust';
SELECT count(*) AS bulk_audit_rows, count(DISTINCT object_id) AS subscriptions
  FROM csp.audit_log WHERE action = 'direct' AND after->>'friendly_name' = 'bulk';
-- negative: changes rolled back to a savepoint leave no audit row, and the
-- rows audited before the savepoint stay
BEGIN;
UPDATE csp.subscription SET friendly_name = 'kept' WHERE subscription_id = :'s';
SAVEPOINT sp;
UPDATE csp.subscription SET friendly_name = 'rolled back' WHERE subscription_id = :'s';
ROLLBACK TO SAVEPOINT sp;
COMMIT;
SELECT after->>'friendly_name' AS audited_name, count(*)
  FROM csp.audit_log WHERE object_id = :'s' AND after->>'friendly_name' IN ('kept', 'rolled back')
 GROUP BY 1 ORDER BY 1;
-- negative: a statement that fails after some of its rows were buffered
-- (the second row breaks a CHECK constraint) leaves no audit row either
SELECT pg_temp.refused($$UPDATE csp.subscription
    SET additional_resellers = CASE WHEN subscription_id = '$$ || :'s2' || $$'
                                    THEN '{a,b,c,d,e,f}'::text[] ELSE '{a}'::text[] END
  WHERE customer_id = '$$ || :'cust' || $$'$$) AS refused;
SELECT count(*) AS audit_rows_of_failed_statement
  FROM csp.audit_log WHERE after->'additional_resellers' IS NOT NULL
   AND jsonb_array_length(after->'additional_resellers') > 0;
-- COPY runs no executor: its rows are audited before the transaction commits
BEGIN;
CREATE TEMP TABLE lot_in AS
SELECT billing_account_id, subscription_id, term_start, 'increase' AS source, added_at,
       reducible_until, 1 AS quantity_added, 1 AS quantity
  FROM csp.seat_lot WHERE subscription_id = :'s' LIMIT 1;
COPY (SELECT * FROM lot_in) TO '/tmp/csp_audit_buffer_lot.csv' WITH (FORMAT csv);
COPY csp.seat_lot (billing_account_id, subscription_id, term_start, source, added_at,
                   reducible_until, quantity_added, quantity)
  FROM '/tmp/csp_audit_buffer_lot.csv' WITH (FORMAT csv);
COMMIT;
SELECT action, operation, after->>'source' AS source, after->>'quantity' AS quantity
  FROM csp.audit_log WHERE object_type = 'seat_lot' AND action = 'direct';
-- issue 15 item 3: an API call writes its buffered rows together when it
-- ends, in the order of its statements: a seat increase's lot insert
-- first, then its subscription update, visible to the next statement
SELECT csp.change_quantity(:'s', 12);
SELECT string_agg(object_type || ' ' || operation, ', ' ORDER BY audit_id) AS rows_of_the_call
  FROM csp.audit_log WHERE action = 'change_quantity';
-- an immediate audit row (csp.billing_profile, not buffered) written after
-- buffered rows keeps its place after them: a direct profile change in the
-- same transaction as a seat change
BEGIN;
SELECT csp.change_quantity(:'s', 13);
UPDATE csp.billing_profile SET name = name || ' ' WHERE billing_profile_id = :bp;
SELECT string_agg(object_type || ' ' || action, ', ' ORDER BY audit_id) AS in_order
  FROM csp.audit_log WHERE transaction_id = pg_current_xact_id();
ROLLBACK;
-- negative: a call that fails inside an exception block leaves no audit
-- row, and the rows of the call before it in the transaction stay
SELECT set_config('csp_test.s', :'s', false) IS NOT NULL AS set;
BEGIN;
SELECT csp.change_quantity(:'s', 14);
DO $$ BEGIN
  PERFORM csp.change_quantity(current_setting('csp_test.s')::uuid, 15);
  RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN NULL; END $$;
SELECT count(*) FILTER (WHERE after->>'quantity' = '14') AS kept,
       count(*) FILTER (WHERE after->>'quantity' = '15') AS rolled_back
  FROM csp.audit_log WHERE transaction_id = pg_current_xact_id() AND object_type = 'subscription';
COMMIT;
-- every audited row's after image is the row as it is now (the last audit
-- row of each subscription and lot); an update's after holds only what it
-- changed and the keys (issue 12 item 7), so it is contained in the row
SELECT count(*) AS mismatches
  FROM (SELECT DISTINCT ON (object_id) object_id, after FROM csp.audit_log
         WHERE object_type = 'subscription' ORDER BY object_id, audit_id DESC) a
  JOIN csp.subscription t ON t.subscription_id::text = a.object_id
 WHERE NOT to_jsonb(t) @> a.after;

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
