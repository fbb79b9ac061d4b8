#!/usr/bin/env bash
# The billing history at a glance: scripts/report.sql run by psql into one
# self-contained HTML page (plain HTML and inline SVG; nothing fetched).
#
# Usage: scripts/report.sh [OUT]           (default demo/report.html; - for stdout)
#        make demo                          (the demo history, then demo/report.html)
# Connection: the usual PGHOST/PGPORT/PGUSER/PGDATABASE (default csp_demo); any
# role that reads the csp views is enough (csp_reader).
#
# REPORT_AS_OF='2026-02-28 20:00+00' reports as of that instant: it pins
# csp.clock for the report's session only, so "today" (overdue, aging) is the
# history's own day, not the wall clock.  Unset: csp.now() as the session
# has it.  The page is written to OUT.tmp first and renamed, so a failed run
# never leaves half a page behind.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-demo/report.html}
DB=${PGDATABASE:-csp_demo}
PSQL=${PSQL:-psql}

if [ "$OUT" = - ]; then
    exec "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v as_of="${REPORT_AS_OF:-}" -f "$REPO/scripts/report.sql"
fi
mkdir -p "$(dirname "$OUT")"
"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v as_of="${REPORT_AS_OF:-}" \
    -f "$REPO/scripts/report.sql" >"$OUT.tmp" || { rm -f "$OUT.tmp"; exit 1; }
mv "$OUT.tmp" "$OUT"
echo "report: $OUT"
