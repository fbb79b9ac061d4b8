#!/usr/bin/env bash
# make sqlsmith: random SQL from sqlsmith, as a non-superuser member of the
# csp_* group roles, against a database with history (scripts/demo.sql) on a
# throw-away cluster; fails if the server log shows a backend crash (a
# process "terminated by signal", PANIC, an assertion TRAP, or a restart).
# Query errors are expected (sqlsmith writes nonsense on purpose) and only
# counted.  Not part of make test.
#
# Before sqlsmith, fuzz/prorate_property.sql checks csp.prorate on
# PRORATE_CASES (default 200000) random cases against exact arithmetic.
#
# After sqlsmith, fuzz/api_calls.sql calls every csp function API_CALLS
# times (default 40) with random arguments, as the same role.
#
# Usage: make sqlsmith
#        SQLSMITH_QUERIES=20000 SQLSMITH_SECONDS=600 SQLSMITH_SEED=1 make sqlsmith
#
# Knobs: SQLSMITH_QUERIES (--max-queries, default 20000), SQLSMITH_SECONDS (a
# wall-clock bound, default 600), SQLSMITH_SEED (default 1: repeatable),
# SQLSMITH_OUT (where the logs are kept, default .run/sqlsmith), SQLSMITH_ARGS
# (more sqlsmith options, default --exclude-catalog: the queries then use the
# csp tables and views, and functions of every schema).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SQLSMITH_QUERIES=${SQLSMITH_QUERIES:-20000}
SQLSMITH_SECONDS=${SQLSMITH_SECONDS:-600}
SQLSMITH_SEED=${SQLSMITH_SEED:-1}
SQLSMITH_OUT=${SQLSMITH_OUT:-$REPO/.run/sqlsmith}
SQLSMITH_ARGS=${SQLSMITH_ARGS---exclude-catalog}
export SQLSMITH_ARGS SQLSMITH_QUERIES SQLSMITH_SECONDS SQLSMITH_SEED SQLSMITH_OUT

log() { printf 'sqlsmith: %s\n' "$*"; }
die() { printf 'sqlsmith: error: %s\n' "$*" >&2; exit 1; }

# --- outside the cluster: the package, then re-enter through with-cluster.sh
if [ -z "${CSP_TMPDIR:-}" ]; then
    if ! command -v sqlsmith >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=()
        elif command -v sudo >/dev/null 2>&1; then
            if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
        else die "sqlsmith is missing, not root and no sudo"; fi
        aptlog=$(mktemp /tmp/csp_billing-sqlsmith-apt.XXXXXX)
        log "apt-get install sqlsmith"
        if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
               "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                   --no-install-recommends sqlsmith; } >"$aptlog" 2>&1 </dev/null; then
            cat "$aptlog" >&2; rm -f "$aptlog"; die "apt-get install sqlsmith failed"
        fi
        rm -f "$aptlog"
    fi
    exec "$REPO/scripts/with-cluster.sh" "$REPO/scripts/sqlsmith.sh"
fi

# --- inside: a database with history -------------------------------------------
DB=csp_demo
SMITH=csp_smith
log "history: scripts/demo.sh into $DB"
CSP_DEMO_DB=$DB "$REPO/scripts/demo.sh" >"$CSP_TMPDIR/demo.log" 2>&1 ||
    { tail -n 30 "$CSP_TMPDIR/demo.log" >&2; die "the demo failed"; }

# csp_prorate (src/money.c) is numeric code that no libFuzzer harness can
# link; fuzz/prorate_property.sql checks it against exact arithmetic here.
log "csp.prorate property check: ${PRORATE_CASES:-200000} random cases (fuzz/prorate_property.sql)"
prorate=$(psql -X -q -v ON_ERROR_STOP=1 -v cases="${PRORATE_CASES:-200000}" -d "$DB" \
    -f "$REPO/fuzz/prorate_property.sql") || die "fuzz/prorate_property.sql failed"
printf '%s\n' "$prorate" | sed 's/^/sqlsmith: /'
case $prorate in
    *" 0 wrong"*) ;;
    *) die "csp.prorate gave wrong results" ;;
esac

# A login role that is no superuser, owns nothing, and is in every csp_*
# group role (NOLOGIN roles named csp_%: csp_global_admin, csp_billing_admin, ...).
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
CREATE ROLE $SMITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
SELECT format('GRANT %I TO $SMITH', rolname) FROM pg_roles
 WHERE rolname LIKE 'csp\_%' AND NOT rolcanlogin AND NOT rolsuper ORDER BY rolname \gexec
SQL
groups=$(psql -X -At -d "$DB" -c "SELECT string_agg(b.rolname, ' ' ORDER BY b.rolname) FROM pg_auth_members m
    JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = '$SMITH'")
[ -n "$groups" ] || die "no csp_* group roles found to grant to $SMITH"
log "role $SMITH (no superuser) in: $groups"
counts=$(psql -X -At -d "$DB" -c "SELECT (SELECT count(*) FROM csp.subscription) || ' subscriptions, ' ||
    (SELECT count(*) FROM csp.charge) || ' charges, ' || (SELECT count(*) FROM csp.invoice) || ' invoices, ' ||
    (SELECT count(*) FROM csp.payment) || ' payments'" 2>/dev/null || echo "?")
log "history: $counts"

# count the calls of the extension's C functions, to see what was reached
psql -X -q -d "$DB" -c "ALTER DATABASE $DB SET track_functions = 'all'" -c "SELECT pg_stat_reset()" >/dev/null

mkdir -p "$SQLSMITH_OUT"
OUT=$SQLSMITH_OUT/sqlsmith.log
before=$(wc -l <"$CSP_SERVER_LOG")
log "sqlsmith --max-queries=$SQLSMITH_QUERIES --seed=$SQLSMITH_SEED (at most ${SQLSMITH_SECONDS}s) as $SMITH; log $OUT"
start=$(date +%s)
rc=0
timeout --signal=INT --kill-after=30 "$SQLSMITH_SECONDS" \
    sqlsmith --verbose $SQLSMITH_ARGS --max-queries="$SQLSMITH_QUERIES" --seed="$SQLSMITH_SEED" \
    --target="host=$PGHOST port=$PGPORT dbname=$DB user=$SMITH application_name=sqlsmith" \
    >"$OUT" 2>&1 || rc=$?
elapsed=$(( $(date +%s) - start ))
cp "$CSP_SERVER_LOG" "$SQLSMITH_OUT/server.log"

# sqlsmith --verbose prints "queries: N (x gen/s, y exec/s)" and an error
# ranking; keep the tail for the record.
queries=$(grep -o 'queries: [0-9]*' "$OUT" | tail -n 1 | grep -o '[0-9]*' || true)
# the progress line: one character per query, "." ok, "e" error, "t" timeout,
# "C" connection lost (a crashed or killed backend), "S" syntax error
progress=$(grep -E '^[.eCtS]+$' "$OUT" | tr -d '\n' || true)
n_of() { printf '%s' "$progress" | tr -cd "$1" | wc -c; }
lost=$(n_of C)
log "outcomes: $(n_of .) ok, $(n_of e) errors, $(n_of t) timeouts, $(n_of S) syntax errors, $lost connections lost"
log "sqlsmith exit $rc after ${elapsed}s, ${queries:-?} queries, error rate $(sed -n 's/^error rate: //p' "$OUT" | tail -n 1)"
sleep 1    # let the statistics collector catch up
psql -X -At -d "$DB" -c "SELECT count(*) || ' csp functions called, ' || coalesce(sum(calls), 0) || ' calls: ' ||
    coalesce(string_agg(funcname || ' ' || calls, ', ' ORDER BY calls DESC), '')
    FROM pg_stat_user_functions WHERE schemaname = 'csp'" 2>/dev/null | sed 's/^/sqlsmith: /' || true
grep -A 40 -i 'error ranking' "$OUT" | tail -n 40 | sed 's/^/    /' || true

# sqlsmith reaches the views and the pure functions, seldom the C API that
# changes state: fuzz/api_calls.sql prints random calls of every csp
# function (ids of the history, edge values, NULLs), run here as the same
# role, each in its own transaction.  Errors are expected; an internal error
# (SQLSTATE XX000, an elog rather than a reasoned ereport) is listed.
API_CALLS=${API_CALLS:-40}
if [ "$API_CALLS" -gt 0 ]; then
    log "API calls: $API_CALLS random calls per csp function (fuzz/api_calls.sql) as $SMITH"
    psql -X -q -v ON_ERROR_STOP=1 -v calls_per_function="$API_CALLS" -d "$DB" \
        -f "$REPO/fuzz/api_calls.sql" >"$SQLSMITH_OUT/api_calls.sql" || die "fuzz/api_calls.sql failed"
    api_start=$(date +%s)
    PGOPTIONS="-c statement_timeout=10s -c client_min_messages=error" \
        timeout --kill-after=30 "$SQLSMITH_SECONDS" psql -X -v VERBOSITY=verbose -d "$DB" -U "$SMITH" \
        -f "$SQLSMITH_OUT/api_calls.sql" >"$SQLSMITH_OUT/api_calls.out" 2>&1 || true
    n_calls=$(grep -c '^SELECT' "$SQLSMITH_OUT/api_calls.sql" || true)
    n_err=$(grep -c 'ERROR:' "$SQLSMITH_OUT/api_calls.out" || true)
    n_internal=$(grep -c 'ERROR:  XX000' "$SQLSMITH_OUT/api_calls.out" || true)
    log "API calls: $n_calls calls in $(( $(date +%s) - api_start ))s, $n_err errors, $n_internal internal (XX000); output $SQLSMITH_OUT/api_calls.out"
    { grep -o 'ERROR:  [0-9A-Z]\{5\}' "$SQLSMITH_OUT/api_calls.out" || true; } | sort | uniq -c | sort -rn | head -n 12 |
        tr '\n' ' ' | sed 's/^/sqlsmith:   SQLSTATEs: /; s/$/\n/'
    { grep 'ERROR:  XX000' "$SQLSMITH_OUT/api_calls.out" || true; } | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/sqlsmith:   /'
    if grep -q 'server closed the connection unexpectedly\|connection to server was lost' "$SQLSMITH_OUT/api_calls.out"; then
        crashes_api="psql lost the connection during the API calls"
    fi
fi

# The verdict is the server's: a backend killed by a signal, a PANIC, a failed
# assertion or a crash-restart anywhere after the history was loaded.
crashes=$(tail -n +"$((before + 1))" "$CSP_SERVER_LOG" |
    grep -E 'terminated by signal|was terminated by exception|PANIC:|TRAP:|server process .* exited with exit code [^01]|all server processes terminated; reinitializing' || true)
if ! psql -X -At -d "$DB" -c 'SELECT 1' >/dev/null 2>&1; then
    crashes+=$'\nthe server does not answer after the run'
fi
[ -z "${crashes_api:-}" ] || crashes+=$'\n'"$crashes_api"
[ "$lost" -eq 0 ] || crashes+=$'\n'"sqlsmith lost its connection $lost time(s)"
if [ -n "$crashes" ]; then
    log "BACKEND CRASH: server log $SQLSMITH_OUT/server.log"
    printf '%s\n' "$crashes" | head -n 20 | sed 's/^/    /' >&2
    # the statement that crashed is logged just before "terminated by signal"
    grep -B 2 -E 'terminated by signal' "$CSP_SERVER_LOG" | grep 'Failed process was running' | head -n 5 | sed 's/^/    /' >&2 || true
    exit 1
fi
# sqlsmith stops by itself on a broken connection; a non-zero exit other than
# the time limit (124, or 130 from SIGINT) is suspicious even without a log line.
case $rc in
    0|124|130) ;;
    *) log "sqlsmith exited $rc without a crash in the server log; see $OUT"; tail -n 5 "$OUT" >&2; exit 1 ;;
esac
log "no backend crash (${queries:-?} queries in ${elapsed}s)"
