#!/usr/bin/env bash
# Long seeded randomized replay (issue 6, item 6) against a running server
# (normally the throw-away cluster of scripts/with-cluster.sh, which exports
# PGHOST/PGPORT/PGUSER).  Runs test/sql/include/replay.sql in fresh
# databases, one seed after another, until DURATION seconds have passed (or
# once, for SEED=...), and prints every seed and any invariant violation.
#
#   make soak                        random seeds for DURATION (default 300) s
#   SEED=0.123 make soak             replay one seed
#   MONTHS=12 OPS=8 make soak        longer simulated history per seed
# Then the schedule-independence property test (test/property/) on
# PROPERTY_SEEDS seeds (default 200) from PROPERTY_FIRST_SEED (default 1000,
# past the 20 of make test); PROPERTY_SEEDS=0 skips it, and so does SEED=...
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
DURATION=${DURATION:-300}
MONTHS=${MONTHS:-6}
OPS=${OPS:-6}
PSQL=(psql -X -v ON_ERROR_STOP=1 -q)
end=$((SECONDS + DURATION))
failed=0
runs=0
while :; do
    if [ -n "${SEED:-}" ]; then seed=$SEED; else seed=$(printf '0.%05d%05d' "$RANDOM" "$RANDOM"); fi
    db=csp_soak_$$_$runs
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $db" >/dev/null
    start=$SECONDS
    out=$("${PSQL[@]}" -d "$db" -v seed="$seed" -v months="$MONTHS" -v ops="$OPS" <<'SQL' 2>&1
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
\i test/sql/include/replay.sql
\pset format unaligned
\pset tuples_only on
SELECT 'ops ' || count(*) || ', accepted ' || count(*) FILTER (WHERE outcome = 'done') FROM replay_stat;
SELECT 'VIOLATION ' || day || ' ' || invariant || ': ' || detail FROM replay_violation ORDER BY day;
SQL
) || { echo "seed $seed: psql failed"; echo "$out"; failed=1; }
    echo "seed $seed months $MONTHS ops/day $OPS: $(echo "$out" | grep '^ops ' || true) ($((SECONDS - start)) s)"
    if echo "$out" | grep -q '^VIOLATION'; then
        echo "$out" | grep '^VIOLATION' | head -50
        echo "replay with: SEED=$seed MONTHS=$MONTHS OPS=$OPS make soak"
        failed=1
    fi
    "${PSQL[@]}" -d postgres -c "DROP DATABASE $db" >/dev/null
    runs=$((runs + 1))
    [ -z "${SEED:-}" ] || break
    [ $SECONDS -lt $end ] || break
done
echo "soak: $runs run(s), $([ $failed = 0 ] && echo 'all invariants held' || echo 'FAILED')"
if [ -z "${SEED:-}" ] && [ "${PROPERTY_SEEDS:-200}" != 0 ]; then
    PROPERTY_SEEDS=${PROPERTY_SEEDS:-200} PROPERTY_FIRST_SEED=${PROPERTY_FIRST_SEED:-1000} \
        "$REPO/test/property/run.sh" || failed=1
fi
exit $failed
