--
-- Audit rows record only what changed (issue 12 item 7): an update's
-- before and after hold the columns it changed plus the row's keys; an
-- insert and a delete keep the whole row.  Twenty seat changes of a
-- subscription with a long friendly name thus log the name once.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql

SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(:'cust', 'M365', 10, friendly_name => repeat('n', 200)) AS s \gset
-- insert: the whole row, with the name
SELECT operation, after ? 'friendly_name' AS has_name, after ? 'quantity' AS has_quantity,
       (SELECT count(*) FROM jsonb_object_keys(after)) = (SELECT count(*) FROM jsonb_object_keys(to_jsonb(s)))
           AS whole_row
  FROM csp.audit_log a, csp.subscription s
 WHERE a.object_type = 'subscription' AND a.object_id = :'s' AND s.subscription_id = :'s';

-- update: only what changed (quantity, update count), plus the keys
SELECT count(*) AS changes FROM (SELECT csp.change_quantity(:'s', 10 + k) FROM generate_series(1, 20) k) c;
SELECT count(*) AS updates,
       bool_and(NOT before ? 'friendly_name' AND NOT after ? 'friendly_name') AS name_not_repeated,
       bool_and((after->>'quantity')::int = (before->>'quantity')::int + 1) AS quantity_changed
  FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id = :'s' AND operation = 'update'
   AND action = 'change_quantity';
SELECT string_agg(k, ', ' ORDER BY k) AS keys_of_an_update
  FROM (SELECT after FROM csp.audit_log
         WHERE object_type = 'subscription' AND object_id = :'s' AND operation = 'update'
         ORDER BY audit_id LIMIT 1) a, jsonb_object_keys(a.after) k;
-- the name is in the log once
SELECT sum(length(coalesce(before->>'friendly_name', '')) + length(coalesce(after->>'friendly_name', '')))
           AS name_characters_logged
  FROM csp.audit_log WHERE object_type = 'subscription' AND object_id = :'s';

-- a rename: before and after of the name only
SELECT csp.rename(:'s', 'Short');
SELECT length(before->>'friendly_name') AS before_length, after->>'friendly_name' AS after_name,
       before ? 'quantity' AS before_has_quantity
  FROM csp.audit_log
 WHERE object_type = 'subscription' AND object_id = :'s' AND action = 'rename' ORDER BY audit_id;

-- a seat lot update (a reduction within 168 hours) keeps its lot_id and
-- subscription_id (the owner it belongs to)
SELECT csp.change_quantity(:'s', 25);
SELECT count(*) AS lot_updates, bool_and(after ? 'subscription_id' AND after ? 'lot_id') AS lot_keys_kept
  FROM csp.audit_log WHERE object_type = 'seat_lot' AND operation = 'update';

-- NC016 / issue 15 item 3: a seat change an hour later moves the event
-- clock in the same UPDATE as the quantity; the audit row still shows the
-- quantity and update count only, as when the clock moved on its own
SET csp.clock = '2025-01-15 11:00+00';
SELECT csp.change_quantity(:'s', 30);
SELECT last_event_at = '2025-01-15 11:00+00' AS event_clock_moved
  FROM csp.subscription WHERE subscription_id = :'s';
SELECT string_agg(k, ', ' ORDER BY k) AS keys_of_a_later_update
  FROM (SELECT after FROM csp.audit_log
         WHERE object_type = 'subscription' AND object_id = :'s' AND operation = 'update'
         ORDER BY audit_id DESC LIMIT 1) a, jsonb_object_keys(a.after) k;
-- a call that changes nothing still records its instant, and audits nothing
SET csp.clock = '2025-01-15 12:00+00';
SELECT count(*) AS audit_rows_before FROM csp.audit_log WHERE object_id = :'s' \gset
SELECT csp.change_quantity(:'s', 30);
SELECT last_event_at = '2025-01-15 12:00+00' AS unchanged_call_recorded,
       (SELECT count(*) FROM csp.audit_log WHERE object_id = :'s') = :audit_rows_before AS nothing_audited
  FROM csp.subscription WHERE subscription_id = :'s';

-- an update's columns are converted as to_jsonb of the whole row converts
-- them (numeric, timestamptz, array, NULL): the audit row's after is the
-- row's own jsonb restricted to its keys
BEGIN;
UPDATE csp.subscription SET unit_price = unit_price + 0.10, additional_resellers = '{r1}',
       cancellation_allowed_until = cancellation_allowed_until + interval '1 second',
       friendly_name = NULL
 WHERE subscription_id = :'s';
SELECT string_agg(k, ', ' ORDER BY k) AS keys_of_a_direct_update,
       a.after = (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(to_jsonb(t)) e
                   WHERE a.after ? e.key) AS after_as_whole_row
  FROM (SELECT after FROM csp.audit_log WHERE object_id = :'s' AND action = 'direct'
         ORDER BY audit_id DESC LIMIT 1) a, jsonb_object_keys(a.after) k, csp.subscription t
 WHERE t.subscription_id = :'s'
 GROUP BY a.after, t.*;
ROLLBACK;

-- delete keeps the whole row: a profile role revoked
CREATE ROLE regress_csp_audit_member;
SELECT csp.grant_profile_role(:bp, 'regress_csp_audit_member', 'reader');
SELECT csp.revoke_profile_role(:bp, 'regress_csp_audit_member', 'reader');
SELECT operation, before ? 'granted_at' AS before_whole, after IS NULL AS no_after
  FROM csp.audit_log WHERE object_type = 'billing_profile_role' AND operation = 'delete';

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_audit_member;
