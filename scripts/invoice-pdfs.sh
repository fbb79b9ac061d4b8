#!/usr/bin/env bash
# Every document of a database as PDF: csp.invoice_document() printed by
# headless Chromium (Debian `chromium`), one OUTDIR/<invoice number>.pdf
# (and the .html it was printed from) per document.
#
# Usage: scripts/invoice-pdfs.sh [OUTDIR]     (default demo/invoices)
#        make invoice-pdfs                      (the demo, on the throw-away cluster)
# Connection: the usual PGHOST/PGPORT/PGUSER/PGDATABASE (default csp_demo).
#
# Chromium runs offline and as root too (CI): --no-sandbox, no GPU, no QUIC,
# no first-run, background networking, component updates or sync, and a
# fresh profile directory each run, removed afterwards.
set -euo pipefail

OUT=${1:-demo/invoices}
DB=${PGDATABASE:-csp_demo}
PSQL=${PSQL:-psql}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "invoice-pdfs: chromium not found (apt-get install chromium)" >&2; exit 1; }

mkdir -p "$OUT"
profile=$(mktemp -d /tmp/csp_billing-chromium.XXXXXX)
trap 'rm -rf "$profile"' EXIT

# INVOICES="G000000001 G000000002" limits the run to those documents (the
# test prints a few: each Chromium start takes about a second).
list=${INVOICES:-$("$PSQL" -X -At -d "$DB" -c "SELECT invoice_number FROM csp.invoice ORDER BY invoice_number")}
abs=$(cd "$OUT" && pwd)
n=0
for inv in $list; do
    # the number goes in as a psql variable, quoted by psql
    "$PSQL" -X -At -v ON_ERROR_STOP=1 -d "$DB" -v inv="$inv" >"$abs/$inv.html" \
        <<<"SELECT csp.invoice_document(:'inv')"
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --no-pdf-header-footer \
        --print-to-pdf="$abs/$inv.pdf" "file://$abs/$inv.html" </dev/null >/dev/null 2>&1 || true
    [ -s "$abs/$inv.pdf" ] || { echo "invoice-pdfs: no PDF for $inv" >&2; exit 1; }
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "invoice-pdfs: no documents in database $DB" >&2; exit 1; }
echo "invoice-pdfs: $n PDFs in $OUT"
