#!/usr/bin/env bash
# bench/make-results.sh: assembles bench/results.md from the per-scale tables
# that bench/run.sh writes (bench/results-{small,medium,large}.md) and the
# analysis in bench/analysis.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
{
echo "# csp_billing benchmarks (issue 7)"
echo
echo "Produced by \`make bench SCALE=small|medium|large\` (bench/run.sh); ratio = extension / floor"
echo "(B3: extension TPS / tpcb-like TPS). Floors run in the same run on the same server, on full"
echo "copies of the same tables (same rows, columns, CHECK constraints and indexes; no foreign keys,"
echo "triggers or audit)."
echo
for s in small medium large; do
    if [ -f "results-$s.md" ]; then cat "results-$s.md"; echo; fi
done
cat analysis.md
} > results.md
