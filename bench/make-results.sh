#!/usr/bin/env bash
# bench/make-results.sh: assembles bench/results.md from the per-scale tables
# that bench/run.sh writes (bench/results-{small,medium,large}.md) and the
# analysis in bench/analysis.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
{
echo "# csp_billing benchmarks (issues 7 and 15)"
echo
echo "Produced by \`make bench SCALE=small|medium|large\` (bench/run.sh); ratio = extension / floor"
echo "(B3: extension TPS / tpcb-like TPS). Floors run in the same run on the same server, on full"
echo "copies of the same tables (same rows, columns, CHECK constraints and indexes; no foreign keys,"
echo "triggers or audit). Issue 15 adds rows \"vs bare floor\" (the same rows written by the"
echo "plainest SQL on copies without indexes, CHECKs, foreign keys or triggers) and the two plan"
echo "cliffs (the jobs on a restored database before/after ANALYZE; RLS group and profile-limited"
echo "roles against a superuser). The three tables are 0.3.0 (2026-12-08), after the month close that writes no line."
echo
for s in small medium large; do
    if [ -f "results-$s.md" ]; then cat "results-$s.md"; echo; fi
done
cat analysis.md
} > results.md
