#!/usr/bin/env bash
# bench/run.sh: issue 7's benchmarks, run by `make bench` on the throw-away
# cluster of scripts/with-cluster.sh (PGHOST/PGPORT/PGDATABASE set by it).
#
#   make bench                 SCALE=small: 10k subscriptions (a few minutes)
#   make bench SCALE=medium    100k subscriptions
#   make bench SCALE=large     1M subscriptions, 200k customers, 20k profiles
#
# Each measurement times the extension and the "floor" (the simplest plain-SQL
# statement doing the same minimal work, on full copies of the same tables) in one run
# on one server, and prints ratio = extension / floor (B3: TPS ratio).
# Issue 15 adds, in the same run:
#  - "vs bare floor" rows: the same rows written by the plainest SQL on bare
#    copies (CREATE TABLE ... (LIKE csp.x INCLUDING DEFAULTS): no indexes,
#    CHECK constraints, foreign keys or triggers), i.e. what the writes cost
#    with nothing else;
#  - the plan cliffs as ratios: the jobs on a freshly restored database before
#    ANALYZE against after ANALYZE, and row-level security (a group role's and
#    a profile-limited role's count of the ledger against a superuser's).
#    BENCH_CLIFF=0 skips the restore cliff (default: on for small and medium,
#    off for large, where two restores take longer than the rest of the run).
# The table is written to bench/results-$SCALE.md (copy it into results.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SCALE=${SCALE:-small}
case $SCALE in
    small) NSUBS=10000 ;;
    medium) NSUBS=100000 ;;
    large) NSUBS=1000000 ;;
    *) echo "SCALE must be small, medium or large" >&2; exit 2 ;;
esac
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
log() { printf 'bench: %s %s\n' "$(date -u +%T)" "$*"; }
OUT=results-$SCALE.md
# the cluster owner writes nothing here; results are written by the caller

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)	# other work on the machine, for the report
log "SCALE=$SCALE: $NSUBS subscriptions"
# shared_buffers stays at its default (128MB): the B1 backend's RSS counts the shared buffers it touched
"${PSQL[@]}" -c "ALTER SYSTEM SET work_mem = '16MB'" \
    -c "ALTER SYSTEM SET maintenance_work_mem = '256MB'" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
    -c "ALTER SYSTEM SET checkpoint_timeout = '30min'"
(cd "$CSP_TMPDIR" && $CSP_RUNAS "$PG_BINDIR/pg_ctl" -D "$CSP_PGDATA" -l "$CSP_SERVER_LOG" -w restart >/dev/null)
if [ "${BENCH_PROFILE:-}" = 1 ]; then
    # statement-level profile of the jobs (nested statements too): bench/profile-$SCALE.txt
    "${PSQL[@]}" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_cron', 'pg_stat_statements'"
    (cd "$CSP_TMPDIR" && $CSP_RUNAS "$PG_BINDIR/pg_ctl" -D "$CSP_PGDATA" -l "$CSP_SERVER_LOG" -w restart >/dev/null)
    "${PSQL[@]}" -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
    "${PSQL[@]}" -c "CREATE EXTENSION pg_stat_statements"
fi
"${PSQL[@]}" -c "CREATE EXTENSION csp_billing"

log "generate (bench/gen.sql)"
t0=$(date +%s.%N)
"${PSQL[@]}" -v nsubs="$NSUBS" -f gen.sql >/dev/null
"${PSQL[@]}" -f measure.sql
GEN_S=$(echo "$(date +%s.%N) - $t0" | bc)
"${PSQL[@]}" -c "SELECT 'rows: ' || (SELECT count(*) FROM csp.subscription) || ' subscriptions, '
    || (SELECT count(*) FROM csp.customer) || ' customers, ' || (SELECT count(*) FROM csp.billing_profile)
    || ' profiles, ' || (SELECT count(*) FROM csp.charge) || ' ledger lines, '
    || (SELECT count(*) FROM csp.invoice) || ' invoices'" | sed 's/^/bench: /'
log "generated in ${GEN_S}s"
BENCH_CLIFF=${BENCH_CLIFF:-$([ "$SCALE" = large ] && echo 0 || echo 1)}
if [ "$BENCH_CLIFF" = 1 ]; then
    # the database as generated, for the restore cliff at the end (pg_dump's
    # warnings about the circular foreign keys of config tables go to the log)
    t0=$(date +%s.%N)
    pg_dump -Fc -f "$CSP_TMPDIR/bench.dump" "$PGDATABASE" 2>"$CSP_TMPDIR/pg_dump.log"
    log "dumped for the restore cliff in $(echo "$(date +%s.%N) - $t0" | bc | cut -d. -f1)s"
fi

# ---------------------------------------------------------------- floors' tables
# The floors work on full copies of the real tables (same rows, columns, CHECK
# constraints and indexes: LIKE ... INCLUDING ALL), without the extension's
# foreign keys, triggers and audit.
log "copies of csp.subscription, csp.charge, csp.seat_lot, csp.audit_log for the floors"
"${PSQL[@]}" <<'SQL'
CREATE TABLE bench.sub_copy (LIKE csp.subscription INCLUDING ALL);
INSERT INTO bench.sub_copy SELECT * FROM csp.subscription;
CREATE TABLE bench.charge_copy (LIKE csp.charge INCLUDING ALL);
CREATE TABLE bench.lot_copy (LIKE csp.seat_lot INCLUDING ALL);
INSERT INTO bench.lot_copy SELECT * FROM csp.seat_lot;
CREATE TABLE bench.audit_copy (LIKE csp.audit_log INCLUDING ALL);
-- The floors mark a line billed by writing its invoice number into it, as the
-- ledger did before 0.3.0 (and as the issue's floors define it); csp.charge
-- itself no longer stores it (csp.line_items derives it from the period).
ALTER TABLE bench.charge_copy ADD COLUMN invoice_number text,
                              ALTER COLUMN billing_period_start DROP NOT NULL;
INSERT INTO bench.charge_copy
SELECT c.*, i.invoice_number
  FROM csp.charge c
  LEFT JOIN csp.invoice i ON i.billing_account_id = c.billing_account_id
                         AND i.billing_profile_id = c.billing_profile_id AND i.currency = c.currency
                         AND i.period_start = c.billing_period_start AND i.document_type = 'invoice';
VACUUM ANALYZE bench.sub_copy, bench.charge_copy, bench.lot_copy, bench.audit_copy;
-- the bare floors' copies: the same rows with nothing else (plain LIKE: no
-- indexes, CHECK constraints, foreign keys or triggers; the defaults only,
-- for the columns the floors leave to them)
CREATE TABLE bench.bare_sub (LIKE csp.subscription INCLUDING DEFAULTS);
INSERT INTO bench.bare_sub SELECT * FROM csp.subscription;
CREATE TABLE bench.bare_charge (LIKE bench.charge_copy INCLUDING DEFAULTS);
INSERT INTO bench.bare_charge SELECT * FROM bench.charge_copy;
CREATE TABLE bench.bare_invoice (invoice_number text, billing_account_id bigint, billing_profile_id bigint,
                                 currency text, total numeric);
VACUUM ANALYZE bench.bare_sub, bench.bare_charge, bench.bare_invoice;
SQL

# ---------------------------------------------------------------- B2 renewal day
log "B2 renewal day: csp.run_renewals('2026-01-01') vs UPDATE + INSERT on the copies"
"${PSQL[@]}" <<'SQL'
-- B2's floor statement on a pair of copies (the indexed ones, or the bare ones)
CREATE FUNCTION bench.b2_floor_sql(sub text, charge text) RETURNS text LANGUAGE sql AS $fn$
SELECT format($f$
  WITH renewed AS (
    UPDATE %1$s SET term_start = term_end + 1,
           term_end = (term_end + interval '1 year')::date, term_started_at = csp.now(),
           cancellation_allowed_until = csp.now() + interval '7 days', next_charge_date = term_end + 32
     WHERE term_end < '2026-01-01' AND status IN ('active', 'suspended')
     RETURNING *)
  INSERT INTO %2$s (billing_account_id, billing_profile_id, invoice_section_id, partner_id,
         customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at,
         quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate,
         reference_id)
  SELECT billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id,
         subscription_id, sku_id, 'renew', term_start, term_start + 30, term_start, csp.now(), quantity,
         unit_price, 31, 31, quantity * unit_price, currency, pricing_currency, 1, gen_random_uuid()
    FROM renewed$f$, sub, charge)
$fn$;
SET csp.clock = '2026-01-01 00:05+00';
CHECKPOINT;
-- the floor runs in a transaction that is rolled back: B1's floor needs the copies as they were
BEGIN;
SELECT bench.time(bench.b2_floor_sql('bench.sub_copy', 'bench.charge_copy')) AS floor_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, floor_s, goal)
SELECT 'B2 renewal day',
       (SELECT count(*) FROM csp.subscription WHERE term_end < '2026-01-01' AND status IN ('active', 'suspended')),
       :floor_s, '<= 1.5';
CHECKPOINT;
-- the bare floor (issue 15): the same UPDATE of the terms and INSERT of the
-- renew lines on the bare copies
BEGIN;
SELECT bench.time(bench.b2_floor_sql('bench.bare_sub', 'bench.bare_charge')) AS bare_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, floor_s, goal, note)
SELECT 'B2 renewal day vs bare floor', n, :bare_s, '<= 3',
       'bare floor = UPDATE of the terms + INSERT of the renew lines on copies without indexes, CHECKs, foreign keys or triggers'
  FROM bench.result WHERE op = 'B2 renewal day';
CHECKPOINT;
-- attribution: the floor plus the rows the extension must also write per renewal:
-- the seat lot (R5.2) and the two audit rows with the whole row before/after as jsonb
BEGIN;
SELECT bench.time($f$
  WITH renewed AS (
    UPDATE bench.sub_copy s SET term_start = s.term_end + 1,
           term_end = (s.term_end + interval '1 year')::date, term_started_at = csp.now(),
           cancellation_allowed_until = csp.now() + interval '7 days', next_charge_date = s.term_end + 32
      FROM bench.sub_copy o
     WHERE o.billing_account_id = s.billing_account_id AND o.subscription_id = s.subscription_id
       AND s.term_end < '2026-01-01' AND s.status IN ('active', 'suspended')
     RETURNING s.*, pg_catalog.to_jsonb(o) AS before_row, pg_catalog.to_jsonb(s) AS after_row),
  lots AS (
    INSERT INTO bench.lot_copy (billing_account_id, subscription_id, term_start, source, added_at,
           reducible_until, quantity_added, quantity)
    SELECT billing_account_id, subscription_id, term_start, 'renewal', csp.now(), csp.now() + interval '7 days',
           quantity, quantity FROM renewed
    RETURNING *),
  audit AS (
    INSERT INTO bench.audit_copy (billing_account_id, at, actor, action, operation, object_type, object_id, before, after)
    SELECT billing_account_id, csp.now(), current_user, 'run_renewals', 'update', 'subscription',
           subscription_id::text, before_row, after_row FROM renewed
    UNION ALL
    SELECT billing_account_id, csp.now(), current_user, 'run_renewals', 'insert', 'seat_lot',
           lot_id::text, NULL, pg_catalog.to_jsonb(lots) FROM lots)
  INSERT INTO bench.charge_copy (billing_account_id, billing_profile_id, invoice_section_id, partner_id,
         customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at,
         quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate,
         reference_id, lot_id)
  SELECT r.billing_account_id, r.billing_profile_id, r.invoice_section_id, r.partner_id, r.customer_id,
         r.subscription_id, r.sku_id, 'renew', r.term_start, r.term_start + 30, r.term_start, csp.now(), r.quantity,
         r.unit_price, 31, 31, r.quantity * r.unit_price, r.currency, r.pricing_currency, 1, gen_random_uuid(), l.lot_id
    FROM renewed r JOIN lots l USING (billing_account_id, subscription_id)$f$) AS cause_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, ext_s, goal, note)
SELECT 'B2 renewal day (cause)', (SELECT n FROM bench.result WHERE op = 'B2 renewal day'), :cause_s,
       '-', 'the floor plus what R5.2 and the audit log add per renewal: a seat lot and two audit rows (whole row as jsonb); the ratio is run_renewals against it';
CHECKPOINT;
SQL
# a fresh backend, so that its peak RSS is B2's
"${PSQL[@]}" <<'SQL'
SET csp.clock = '2026-01-01 00:05+00';
SELECT pg_backend_pid() AS pid \gset
UPDATE bench.result SET ext_s = bench.time('SELECT csp.run_renewals()') WHERE op = 'B2 renewal day';
UPDATE bench.result SET floor_s = ext_s, ext_s = (SELECT ext_s FROM bench.result WHERE op = 'B2 renewal day')
 WHERE op = 'B2 renewal day (cause)';
UPDATE bench.result SET ext_s = (SELECT ext_s FROM bench.result WHERE op = 'B2 renewal day')
 WHERE op = 'B2 renewal day vs bare floor';
\setenv B2PID :pid
\! grep -E '^(VmHWM|RssShmem)' /proc/$B2PID/status > $CSP_TMPDIR/b2_rss
SQL
RSS_KB=$(awk '/VmHWM/ {print $2}' "$CSP_TMPDIR/b2_rss" 2>/dev/null || true)
SHM_KB=$(awk '/RssShmem/ {print $2}' "$CSP_TMPDIR/b2_rss" 2>/dev/null || true)
"${PSQL[@]}" -c "INSERT INTO bench.result (op, n, ext_s, goal, note) VALUES ('Memory: peak RSS of B2 backend (MB)',
    (SELECT n FROM bench.result WHERE op = 'B2 renewal day'), round(${RSS_KB:-0} / 1024.0, 1), '<= 256 MB',
    'VmHWM; of which shared buffers touched (RssShmem): ' || round(${SHM_KB:-0} / 1024.0, 1) || ' MB')"
"${PSQL[@]}" -c "SELECT 'renewed: ' || count(*) FROM csp.charge WHERE charge_type = 'renew'" | sed 's/^/bench: /'

# ---------------------------------------------------------------- B1 month close (+ peak RSS)
log "B1 month close: csp.run_invoicing('2026-01-01') vs INSERT ... GROUP BY + marking on a copy"
"${PSQL[@]}" <<'SQL'
SET csp.clock = '2026-01-01 00:10+00';
-- bench.charge_copy: the ledger as it was before B2 (B2's floor was rolled back)
CREATE TABLE bench.invoice_copy (invoice_number text PRIMARY KEY, billing_account_id bigint,
                                 billing_profile_id bigint, currency text, total numeric,
                                 UNIQUE (billing_account_id, invoice_number));
-- B1's floor: the invoices by GROUP BY of the unbilled lines, and the lines
-- marked with their invoice number; on the indexed copies or the bare ones
CREATE FUNCTION bench.b1_floor_sql(invoice text, charge text) RETURNS text LANGUAGE sql AS $fn$
SELECT format($f$
  WITH inv AS (
    INSERT INTO %1$s
    SELECT 'G' || lpad(nextval('csp.invoice_number_seq')::text, 9, '0'), billing_account_id,
           billing_profile_id, currency, sum(amount)
      FROM %2$s WHERE invoice_number IS NULL AND posted_at < '2026-01-01'
     GROUP BY billing_account_id, billing_profile_id, currency
    RETURNING *)
  UPDATE %2$s c SET invoice_number = inv.invoice_number
    FROM inv
   WHERE c.billing_account_id = inv.billing_account_id AND c.billing_profile_id = inv.billing_profile_id
     AND c.currency = inv.currency AND c.invoice_number IS NULL AND c.posted_at < '2026-01-01'
$f$, invoice, charge)
$fn$;
VACUUM ANALYZE bench.bare_charge;
CHECKPOINT;
BEGIN;
SELECT bench.time(bench.b1_floor_sql('bench.bare_invoice', 'bench.bare_charge')) AS bare_s \gset
ROLLBACK;
VACUUM ANALYZE bench.charge_copy;
CHECKPOINT;
-- the floor, rolled back so that the attribution below starts from the same rows
BEGIN;
SELECT bench.time(bench.b1_floor_sql('bench.invoice_copy', 'bench.charge_copy')) AS floor_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, floor_s, goal)
SELECT 'B1 month close',
       (SELECT count(*) FROM csp.line_items WHERE invoice_number IS NULL AND posted_at < '2026-01-01'),
       :floor_s, '<= 1.5';
INSERT INTO bench.result (op, n, floor_s, goal, note)
SELECT 'B1 month close vs bare floor', n, :bare_s, '<= 2',
       'bare floor = INSERT of the invoices by GROUP BY of the unbilled lines + UPDATE of the lines with their invoice number, on copies without indexes, CHECKs, foreign keys or triggers'
  FROM bench.result WHERE op = 'B1 month close';
-- (0.3.0: the "(cause)" row that measured the per-line foreign key and ledger
-- trigger of attaching is gone with them: month close writes no line)
CHECKPOINT;
SQL
# a fresh backend, so that its peak RSS is B1's
"${PSQL[@]}" <<'SQL'
SET csp.clock = '2026-01-01 00:10+00';
SELECT pg_backend_pid() AS pid \gset
UPDATE bench.result SET ext_s = bench.time('SELECT csp.run_invoicing()') WHERE op = 'B1 month close';
UPDATE bench.result SET ext_s = (SELECT ext_s FROM bench.result WHERE op = 'B1 month close')
 WHERE op = 'B1 month close vs bare floor';
\setenv B1PID :pid
\! grep -E '^(VmHWM|RssShmem)' /proc/$B1PID/status > $CSP_TMPDIR/b1_rss
SQL
RSS_KB=$(awk '/VmHWM/ {print $2}' "$CSP_TMPDIR/b1_rss" 2>/dev/null || true)
SHM_KB=$(awk '/RssShmem/ {print $2}' "$CSP_TMPDIR/b1_rss" 2>/dev/null || true)
"${PSQL[@]}" -c "INSERT INTO bench.result (op, n, ext_s, goal, note) VALUES ('Memory: peak RSS of B1 backend (MB)',
    (SELECT n FROM bench.result WHERE op = 'B1 month close'), round(${RSS_KB:-0} / 1024.0, 1), '<= 256 MB',
    'VmHWM; of which shared buffers touched (RssShmem): ' || round(${SHM_KB:-0} / 1024.0, 1) || ' MB')"
"${PSQL[@]}" -c "SELECT 'invoices made: ' || count(*) FROM csp.invoice WHERE period_start = '2025-12-01'" | sed 's/^/bench: /'

# ---------------------------------------------------------------- B4 BI
log "B4 BI: csp.account_balance, csp.billing_overview vs plain aggregates"
"${PSQL[@]}" <<'SQL'
SET csp.clock = '2026-01-01 00:15+00';
DO $$ BEGIN PERFORM bench.time('SELECT count(*) FROM csp.invoice'); PERFORM bench.time('SELECT count(*) FROM csp.payment'); END $$;
INSERT INTO bench.result (op, n, ext_s, floor_s, goal)
SELECT 'B4 BI account_balance', (SELECT count(*) FROM csp.invoice) + (SELECT count(*) FROM csp.payment),
  (SELECT min(bench.time('SELECT count(*), sum(balance), sum(overdue), sum(unallocated) FROM csp.account_balance')) FROM generate_series(1, 5)),
  (SELECT min(bench.time($f$
     SELECT count(*), sum(inv - paid), sum(ovd), sum(un) FROM (
       SELECT billing_account_id, billing_profile_id, currency, sum(total) AS inv, sum(paid) AS paid,
              sum(CASE WHEN due_date < '2026-01-01' THEN greatest(total - paid, 0) ELSE 0 END) AS ovd
         FROM csp.invoice WHERE document_type IN ('invoice', 'rebill') AND replaced_by IS NULL GROUP BY 1, 2, 3) d
       FULL JOIN (SELECT billing_account_id, billing_profile_id, currency, sum(amount - allocated) AS un
         FROM csp.payment GROUP BY 1, 2, 3) p USING (billing_account_id, billing_profile_id, currency)$f$))
     FROM generate_series(1, 5)),
  '<= 1.5';
INSERT INTO bench.result (op, n, ext_s, floor_s, goal)
SELECT 'B4 BI billing_overview', (SELECT count(*) FROM csp.invoice),
  (SELECT min(bench.time('SELECT count(*), sum(amount_due), count(*) FILTER (WHERE status = ''overdue'') FROM csp.billing_overview')) FROM generate_series(1, 5)),
  (SELECT min(bench.time($f$SELECT count(*), sum(greatest(total - paid, 0)),
       count(*) FILTER (WHERE paid < total AND due_date < '2026-01-01') FROM csp.invoice$f$)) FROM generate_series(1, 5)),
  '<= 1.5';
-- attribution of the view's extra cost: the floor plus the view's per-row csp.round_money calls
INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note)
SELECT 'B4 BI billing_overview (cause)', (SELECT count(*) FROM csp.invoice),
  (SELECT min(bench.time($f$SELECT count(*), sum(csp.round_money(greatest(total - paid, 0), currency)),
       sum(csp.round_money(paid, currency)), count(*) FILTER (WHERE paid < total AND due_date < (SELECT csp.utc_date(csp.now())))
       FROM csp.invoice$f$)) FROM generate_series(1, 5)),
  (SELECT floor_s FROM bench.result WHERE op = 'B4 BI billing_overview'),
  '-', 'the plain aggregate plus the view''s two csp.round_money calls per row';
SQL

# ---------------------------------------------------------------- the month's cycle charges
# what pg_cron runs on the 1st besides renewals and invoicing (not a goal of
# issue 7; done before B3 so that B3's calls do not catch up January's cycles)
"${PSQL[@]}" <<'SQL'
SET csp.clock = '2026-01-01 00:20+00';
CHECKPOINT;
-- the bare floor (issue 15): INSERT of one cycleCharge line per subscription
-- charged, on the bare copies (the subscriptions as generated: renewal day
-- moved only the renewed ones, which owe no cycle today)
BEGIN;
SELECT bench.time($f$
  INSERT INTO bench.bare_charge (billing_account_id, billing_profile_id, invoice_section_id, partner_id,
         customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at,
         quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate,
         reference_id)
  SELECT billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id,
         subscription_id, sku_id, 'cycleCharge', next_charge_date,
         (next_charge_date + interval '1 month')::date - 1, next_charge_date, csp.now(), quantity,
         unit_price, 31, 31, quantity * unit_price, currency, pricing_currency, 1, gen_random_uuid()
    FROM bench.bare_sub
   WHERE next_charge_date <= '2026-01-01' AND status IN ('active', 'suspended')$f$) AS bare_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, floor_s, goal, note)
SELECT 'Cycle charges vs bare floor',
       (SELECT count(*) FROM csp.subscription WHERE next_charge_date <= '2026-01-01' AND status IN ('active', 'suspended')),
       :bare_s, '<= 3',
       'csp.run_cycle_charges on 2026-01-01 (not a goal of issue 7); bare floor = INSERT of the cycleCharge lines on a copy without indexes, CHECKs, foreign keys or triggers';
-- attribution: what a cycle charge must also write besides its line, on the
-- indexed copies: the subscription's next charge date and event clock moved
-- (its indexes), and the audit row of that update (the changed columns)
CHECKPOINT;
BEGIN;
SELECT bench.time($f$
  WITH due AS (
    SELECT * FROM bench.sub_copy
     WHERE next_charge_date <= '2026-01-01' AND status IN ('active', 'suspended')),
  lines AS (
    INSERT INTO bench.charge_copy (billing_account_id, billing_profile_id, invoice_section_id, partner_id,
           customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at,
           quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate,
           reference_id, billing_period_start)
    SELECT billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id,
           subscription_id, sku_id, 'cycleCharge', next_charge_date,
           (next_charge_date + interval '1 month')::date - 1, next_charge_date, csp.now(), quantity,
           unit_price, 31, 31, quantity * unit_price, currency, pricing_currency, 1, gen_random_uuid(),
           next_charge_date
      FROM due),
  moved AS (
    UPDATE bench.sub_copy s SET next_charge_date = (d.next_charge_date + interval '1 month')::date,
           last_event_at = csp.now()
      FROM due d
     WHERE s.billing_account_id = d.billing_account_id AND s.subscription_id = d.subscription_id
    RETURNING s.billing_account_id, s.subscription_id, d.next_charge_date AS old_next, s.next_charge_date)
  INSERT INTO bench.audit_copy (billing_account_id, at, actor, action, operation, object_type, object_id, before, after)
  SELECT billing_account_id, csp.now(), current_user, 'run_cycle_charges', 'update', 'subscription',
         subscription_id::text, jsonb_build_object('next_charge_date', old_next),
         jsonb_build_object('next_charge_date', next_charge_date)
    FROM moved$f$) AS cause_s \gset
ROLLBACK;
INSERT INTO bench.result (op, n, floor_s, goal, note)
SELECT 'Cycle charges (cause)', n, :cause_s, '-',
       'floor = the cycleCharge lines on the indexed copy, plus what each charge must also write: the subscription''s next charge date moved (an update of its indexes) and that update''s audit row'
  FROM bench.result WHERE op = 'Cycle charges vs bare floor';
CHECKPOINT;
UPDATE bench.result SET ext_s = bench.time('SELECT csp.run_cycle_charges()') WHERE op = 'Cycle charges vs bare floor';
UPDATE bench.result SET ext_s = (SELECT ext_s FROM bench.result WHERE op = 'Cycle charges vs bare floor')
 WHERE op = 'Cycle charges (cause)';
SQL
log "run_cycle_charges('2026-01-01'): $("${PSQL[@]}" -c "SELECT n || ' cycles charged in ' || ext_s || ' s' FROM bench.result WHERE op = 'Cycle charges vs bare floor'")"

# ---------------------------------------------------------------- B3 OLTP
log "B3 OLTP: pgbench -c 2, csp.change_quantity/csp.purchase vs built-in tpcb-like (${PGBENCH_SECONDS}s each)"
pgbench -i -q -s 1 >/dev/null 2>&1
"${PSQL[@]}" <<'SQL'
-- the 2026-01 renewed subscriptions are in their window; seat increases are always allowed
CREATE TABLE bench.oltp_sub AS
SELECT row_number() OVER () AS n, subscription_id FROM csp.subscription WHERE status = 'active';
ALTER TABLE bench.oltp_sub ADD PRIMARY KEY (n);
CREATE TABLE bench.oltp_cust AS SELECT c + 1 AS n, customer_id FROM bench.cust;
ALTER TABLE bench.oltp_cust ADD PRIMARY KEY (n);
ANALYZE bench.oltp_sub, bench.oltp_cust;
ALTER DATABASE csp_test SET csp.clock = '2026-01-02 10:00+00';
SQL
NS=$("${PSQL[@]}" -c "SELECT count(*) FROM bench.oltp_sub")
NC=$("${PSQL[@]}" -c "SELECT count(*) FROM bench.oltp_cust")
cat >"$CSP_TMPDIR/csp.pgbench" <<EOF
\set n random(1, $NS)
\set c random(1, $NC)
\set q random(1, 3)
SELECT csp.change_quantity(s.subscription_id, s.quantity + :q) FROM csp.subscription s WHERE s.subscription_id = (SELECT subscription_id FROM bench.oltp_sub WHERE n = :n);
SELECT csp.purchase(customer_id => (SELECT customer_id FROM bench.oltp_cust WHERE n = :c), sku_id => 'BENCH-E3', quantity => :q);
EOF
chmod a+r "$CSP_TMPDIR/csp.pgbench"
# issue 15's seat change: change_quantity alone, against tpcb-like
head -n 4 "$CSP_TMPDIR/csp.pgbench" >"$CSP_TMPDIR/cq.pgbench"
chmod a+r "$CSP_TMPDIR/cq.pgbench"
# attribution: the rows one B3 transaction writes, as plain SQL on the floors'
# copies (no API checks, triggers or foreign keys): the seat increase updates
# the subscription (quantity, update count) and adds a seat lot and its charge;
# the purchase adds a subscription, a seat lot and a charge; four audit rows
# with the whole rows as jsonb.
cat >"$CSP_TMPDIR/writes.pgbench" <<EOF
\set n random(1, $NS)
\set c random(1, $NC)
\set q random(1, 3)
BEGIN;
WITH o AS (SELECT s.* FROM bench.sub_copy s WHERE s.subscription_id = (SELECT subscription_id FROM bench.oltp_sub WHERE n = :n) FOR UPDATE),
     u AS (UPDATE bench.sub_copy s SET quantity = s.quantity + :q, update_count = s.update_count + 1 FROM o WHERE s.billing_account_id = o.billing_account_id AND s.subscription_id = o.subscription_id RETURNING s.*, pg_catalog.to_jsonb(o) AS before_row, pg_catalog.to_jsonb(s) AS after_row),
     l AS (INSERT INTO bench.lot_copy (billing_account_id, subscription_id, term_start, source, added_at, reducible_until, quantity_added, quantity) SELECT billing_account_id, subscription_id, term_start, 'increase', now(), now() + interval '7 days', :q, :q FROM u RETURNING *),
     c AS (INSERT INTO bench.charge_copy (billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at, quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate, reference_id, lot_id) SELECT u.billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id, u.subscription_id, sku_id, 'addQuantity', '2026-01-02', '2026-01-31', '2026-01-01', now(), :q, unit_price, 30, 31, round(unit_price * :q * 30 / 31, 2), currency, pricing_currency, 1, gen_random_uuid(), l.lot_id FROM u JOIN l USING (billing_account_id, subscription_id))
INSERT INTO bench.audit_copy (billing_account_id, at, actor, action, operation, object_type, object_id, before, after) SELECT billing_account_id, now(), current_user, 'change_quantity', 'update', 'subscription', subscription_id::text, before_row, after_row FROM u UNION ALL SELECT billing_account_id, now(), current_user, 'change_quantity', 'insert', 'seat_lot', lot_id::text, NULL::jsonb, pg_catalog.to_jsonb(l) FROM l;
WITH cu AS (SELECT s.* FROM bench.oltp_cust k JOIN LATERAL (SELECT * FROM bench.sub_copy s WHERE s.customer_id = k.customer_id LIMIT 1) s ON true WHERE k.n = :c),
     u AS (INSERT INTO bench.sub_copy (billing_account_id, billing_profile_id, invoice_section_id, customer_id, partner_id, sku_id, quantity, status, auto_renew, term, billing_frequency, term_start, term_end, term_started_at, cancellation_allowed_until, unit_price, currency, pricing_currency, next_charge_date, purchased_at) SELECT billing_account_id, billing_profile_id, invoice_section_id, customer_id, partner_id, 'BENCH-E3', :q, 'active', true, 'P1Y', 'monthly', '2026-01-02', '2027-01-01', now(), now() + interval '7 days', 36.00, 'EUR', 'EUR', '2026-02-02', now() FROM cu RETURNING *, pg_catalog.to_jsonb(sub_copy) AS after_row),
     l AS (INSERT INTO bench.lot_copy (billing_account_id, subscription_id, term_start, source, added_at, reducible_until, quantity_added, quantity) SELECT billing_account_id, subscription_id, term_start, 'purchase', now(), now() + interval '7 days', :q, :q FROM u RETURNING *),
     c AS (INSERT INTO bench.charge_copy (billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id, subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at, quantity, unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate, reference_id, lot_id) SELECT u.billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id, u.subscription_id, sku_id, 'new', '2026-01-02', '2026-02-01', '2026-01-02', now(), :q, 36.00, 31, 31, 36.00 * :q, currency, pricing_currency, 1, gen_random_uuid(), l.lot_id FROM u JOIN l USING (billing_account_id, subscription_id))
INSERT INTO bench.audit_copy (billing_account_id, at, actor, action, operation, object_type, object_id, before, after) SELECT billing_account_id, now(), current_user, 'purchase', 'insert', 'subscription', subscription_id::text, NULL::jsonb, after_row FROM u UNION ALL SELECT billing_account_id, now(), current_user, 'purchase', 'insert', 'seat_lot', lot_id::text, NULL::jsonb, pg_catalog.to_jsonb(l) FROM l;
END;
EOF
chmod a+r "$CSP_TMPDIR/writes.pgbench"
tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | head -n 1; }
# pgbench's own output goes to $CSP_TMPDIR/pgbench-*.log; a client that fails
# (pgbench exits 2) is reported, and its TPS still counts what completed
run_pgbench() {
    local name=$1; shift
    pgbench -n -c 2 -j 2 -T "$PGBENCH_SECONDS" -M prepared "$@" >"$CSP_TMPDIR/pgbench-$name.log" 2>&1 ||
        { log "pgbench $name exited $?:"; grep -iE 'error|abort|fail' "$CSP_TMPDIR/pgbench-$name.log" | head -n 5 | sed 's/^/bench:   /'; } >&2
    tps "$CSP_TMPDIR/pgbench-$name.log"
}
TPS_FLOOR=$(run_pgbench tpcb)
TPS_EXT=$(run_pgbench csp -f "$CSP_TMPDIR/csp.pgbench")
TPS_WRITES=$(run_pgbench writes -f "$CSP_TMPDIR/writes.pgbench")
TPS_CQ=$(run_pgbench cq -f "$CSP_TMPDIR/cq.pgbench")
"${PSQL[@]}" -c "ALTER DATABASE csp_test RESET csp.clock" \
    -c "INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note) VALUES ('B3 OLTP (TPS, 2 clients)',
        $PGBENCH_SECONDS, ${TPS_EXT:-0}, ${TPS_FLOOR:-0}, '>= 1.0', 'ext = change_quantity + purchase per txn; floor = tpcb-like')" \
    -c "INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note) VALUES ('B3 OLTP (cause)',
        $PGBENCH_SECONDS, ${TPS_EXT:-0}, ${TPS_WRITES:-0}, '-', 'floor = the same rows written as plain SQL on the copies (a subscription update, 2 seat lots, 2 charges, a subscription insert, 4 audit rows with whole-row jsonb), without the API''s checks, triggers and foreign keys')" \
    -c "INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note) VALUES ('B3 change_quantity vs bare floor (tpcb-like)',
        $PGBENCH_SECONDS, ${TPS_CQ:-0}, ${TPS_FLOOR:-0}, '>= 0.5', 'ext = one csp.change_quantity (+1..3 seats) per txn; floor = pgbench''s built-in tpcb-like, the bare floor of a one-row OLTP write')"

# ---------------------------------------------------------------- cliff: row-level security
# Every ledger line counted (fastest of 7) by the superuser (bypasses RLS), by a
# login role of a group role holding no profile role (sees every profile
# through the policies), and by a profile-limited role (one profile).
log "cliff: row-level security, count(*) of csp.charge as superuser, group role and profile-limited role"
"${PSQL[@]}" <<'SQL'
SET client_min_messages = warning;
SET csp.clock = '2026-01-02 12:00+00';
CREATE ROLE bench_group LOGIN IN ROLE csp_reader;
CREATE ROLE bench_limited LOGIN;
SELECT csp.grant_profile_role(1, 'bench_limited', 'reader');
GRANT USAGE ON SCHEMA bench TO bench_group, bench_limited;
RESET csp.clock;
-- the three roles take turns, 7 rounds, and each keeps its fastest: a load
-- that comes and goes on the machine weighs on all three alike
CREATE TEMP TABLE t (who text PRIMARY KEY, n bigint, charge_s numeric, items_s numeric);
GRANT ALL ON t TO PUBLIC;
DO $$
DECLARE
    r text;
BEGIN
    FOR i IN 1 .. 7 LOOP
        FOREACH r IN ARRAY ARRAY['superuser', 'bench_group', 'bench_limited'] LOOP
            IF r <> 'superuser' THEN EXECUTE format('SET ROLE %I', r); END IF;
            INSERT INTO t AS o
            SELECT r, (SELECT count(*) FROM csp.charge), bench.time('SELECT count(*) FROM csp.charge'),
                   bench.time('SELECT count(*) FROM csp.line_items')
            ON CONFLICT (who) DO UPDATE SET charge_s = least(o.charge_s, excluded.charge_s),
                                            items_s = least(o.items_s, excluded.items_s);
            RESET ROLE;
        END LOOP;
    END LOOP;
END $$;
INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note)
SELECT 'cliff: RLS group role / superuser', s.n, g.charge_s, s.charge_s, '<= 2',
       'count(*) of every csp.charge row, fastest of 7 taken in turns: a login role in csp_reader holding no profile role (' || g.n
       || ' rows seen) against the superuser, who bypasses row-level security'
  FROM t s, t g WHERE s.who = 'superuser' AND g.who = 'bench_group';
INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note)
SELECT 'cliff: RLS group role / superuser (line_items)', s.n, g.items_s, s.items_s, '<= 2',
       'count(*) of csp.line_items (the view joins the customer; its tables'' policies apply to the group role)'
  FROM t s, t g WHERE s.who = 'superuser' AND g.who = 'bench_group';
INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note)
SELECT 'cliff: RLS profile-limited role / superuser', s.n, l.charge_s, s.charge_s, '-',
       'count(*) of csp.charge by a role holding reader on one billing profile (' || l.n
       || ' rows seen), against the superuser counting every row'
  FROM t s, t l WHERE s.who = 'superuser' AND l.who = 'bench_limited';
SQL

# ---------------------------------------------------------------- cliff: tick after pg_restore
# The database as generated (dumped above), restored twice: the jobs of
# 2026-01-01 (what csp.tick() runs: renewals, cycle charges, invoicing, as of
# one instant) timed on the first restore before any ANALYZE, and on the
# second after ANALYZE.  pg_restore runs no ANALYZE; autovacuum is off for
# this step so that nothing analyzes in between.
if [ "$BENCH_CLIFF" = 1 ]; then
    log "cliff: the jobs of 2026-01-01 on a restored database, before and after ANALYZE"
    "${PSQL[@]}" -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
    cliff_jobs() {
        local db=$1 t0
        t0=$(date +%s.%N)
        "${PSQL[@]}" -c "CREATE DATABASE $db"
        pg_restore -d "$db" "$CSP_TMPDIR/bench.dump" 2>>"$CSP_TMPDIR/pg_restore.log"
        log "  restored $db in $(echo "$(date +%s.%N) - $t0" | bc | cut -d. -f1)s" >&2
        if [ "$db" = bench_analyzed ]; then "${PSQL[@]}" -d "$db" -c "ANALYZE"; fi
        "${PSQL[@]}" -d "$db" -c "CHECKPOINT"
        # one line: tables of csp with statistics, then the three jobs' seconds
        "${PSQL[@]}" -F ' ' -d "$db" -c "SET client_min_messages = warning" -c "SET csp.clock = '2026-01-01 00:05+00'" -c "
            SELECT (SELECT count(DISTINCT starelid) FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid
                     WHERE c.relnamespace = 'csp'::regnamespace),
                   bench.time('SELECT csp.run_renewals()'), bench.time('SELECT csp.run_cycle_charges()'),
                   bench.time('SELECT csp.run_invoicing()')"
        "${PSQL[@]}" -c "DROP DATABASE $db"
    }
    cliff_jobs bench_raw >"$CSP_TMPDIR/cliff_raw"
    cliff_jobs bench_analyzed >"$CSP_TMPDIR/cliff_analyzed"
    read -r RAW_STATS RAW_REN RAW_CYC RAW_INV <"$CSP_TMPDIR/cliff_raw"
    read -r AN_STATS AN_REN AN_CYC AN_INV <"$CSP_TMPDIR/cliff_analyzed"
    "${PSQL[@]}" -c "ALTER SYSTEM RESET autovacuum" -c "SELECT pg_reload_conf()" >/dev/null
    "${PSQL[@]}" -c "INSERT INTO bench.result (op, n, ext_s, floor_s, goal, note)
        VALUES ('cliff: tick before ANALYZE / after', $NSUBS, $RAW_REN + $RAW_CYC + $RAW_INV,
                $AN_REN + $AN_CYC + $AN_INV, '<= 2',
                'the jobs of 2026-01-01 (renewals, cycle charges, invoicing) on the generated database restored by pg_restore: '
                || 'before ANALYZE (tables of csp with statistics: $RAW_STATS) renewals $RAW_REN s, cycle charges $RAW_CYC s, invoicing $RAW_INV s; '
                || 'after ANALYZE ($AN_STATS tables) $AN_REN s, $AN_CYC s, $AN_INV s')"
fi

if [ "${BENCH_PROFILE:-}" = 1 ]; then
    "${PSQL[@]}" -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 220)
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40" > "profile-$SCALE.txt"
    log "statement profile: bench/profile-$SCALE.txt"
fi

# ---------------------------------------------------------------- report
MACHINE="$(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') RAM, PostgreSQL $("${PSQL[@]}" -c 'SHOW server_version' | cut -d' ' -f1)"
{
echo "### SCALE=$SCALE ($NSUBS subscriptions), $(date -u +%F)"
echo
echo "Machine: $MACHINE. Generation: ${GEN_S%.*} s. Load average at start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| operation | N | time | floor | ratio | goal | machine |"
echo "|---|---:|---:|---:|---:|---|---|"
"${PSQL[@]}" -F '|' -c "
SELECT '', op, n,
       CASE WHEN op LIKE 'B3%' THEN round(ext_s) || ' tps' WHEN op LIKE 'Memory%' THEN ext_s || ' MB' ELSE bench.fmt(ext_s) END,
       CASE WHEN floor_s IS NULL THEN '-' WHEN op LIKE 'B3%' THEN round(floor_s) || ' tps' ELSE bench.fmt(floor_s) END,
       CASE WHEN floor_s IS NULL OR floor_s = 0 THEN '-' ELSE round(ext_s / floor_s, 2) || 'x' END,
       goal, '$MACHINE', ''
  FROM bench.result ORDER BY op"
echo
"${PSQL[@]}" -c "SELECT '- ' || op || ': ' || note FROM bench.result WHERE note IS NOT NULL ORDER BY op"
echo
echo "Time per item: $("${PSQL[@]}" -c "SELECT string_agg(op || ' ' || round(1e6 * ext_s / nullif(n, 0), 1) || ' us (floor ' || round(1e6 * floor_s / nullif(n, 0), 1) || ' us)', '; ' ORDER BY op) FROM bench.result WHERE op ~ '^(B[12]|Cycle)'")"
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "written bench/$OUT"
