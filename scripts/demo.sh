#!/usr/bin/env bash
# The sample distributor history: a fresh database csp_demo, scripts/demo.sql
# run into it, the billing report demo/report.html (scripts/report.sh), then
# how long that took.
#
# Usage: make demo                        (throw-away cluster, via with-cluster.sh)
#        scripts/demo.sh                  (your own server: PGHOST/PGPORT/PGUSER, a
#                                          superuser, csp_billing installed)
#        CSP_DEMO_DB=x scripts/demo.sh    (another database name)
#        CSP_DEMO_REPORT=f scripts/demo.sh (another report file; default demo/report.html)
#
# The database is dropped and re-created each time so the demo always starts
# from nothing and can be re-run.  Note: pg_cron is bound to csp_test on the
# throw-away cluster, so the demo cannot CREATE EXTENSION pg_cron here.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DB=${CSP_DEMO_DB:-csp_demo}
SQL=$REPO/scripts/demo.sql
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
[ -x "$PG_BINDIR/psql" ] || PG_BINDIR=$(dirname "$(command -v psql)")

[ -r "$SQL" ] || { echo "demo: $SQL not found" >&2; exit 1; }

start=$(date +%s%N)
echo "demo: (re)creating database $DB"
PGOPTIONS="-c client_min_messages=warning" "$PG_BINDIR/dropdb" --if-exists "$DB"
"$PG_BINDIR/createdb" -T template0 "$DB"

echo "demo: running scripts/demo.sql"
# -X: no ~/.psqlrc surprises; ON_ERROR_STOP: the first error ends the demo
# with a non-zero status instead of scrolling past; pager off: no stdin here.
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off -d "$DB" -f "$SQL"

# The report as of the demo's own last instant (its pinned clock), not the
# wall clock: the same demo gives the same page, byte for byte.
as_of=$("$PG_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT max(at) FROM demo.stream")
PGDATABASE=$DB PSQL="$PG_BINDIR/psql" REPORT_AS_OF=$as_of \
    "$REPO/scripts/report.sh" "${CSP_DEMO_REPORT:-$REPO/demo/report.html}"

end=$(date +%s%N)
ms=$(((end - start) / 1000000))
printf 'demo: done in %d.%03d s (database %s)\n' $((ms / 1000)) $((ms % 1000)) "$DB"
