#!/usr/bin/env bash
# Schedule-independence property test (issue 11, item 5): runs
# test/property/schedule_independence.py against a running server (the
# throw-away cluster of scripts/with-cluster.sh exports PGHOST/PGPORT/PGUSER,
# a superuser: the driver pins csp.clock for writes and creates databases).
#
#   test/property/run.sh                      PROPERTY_SEEDS seeds (default 20)
#   SEED=7 test/property/run.sh               replay one seed, every mismatch shown
#   PROPERTY_SEEDS=200 PROPERTY_FIRST_SEED=1000 test/property/run.sh
#   PROPERTY_JOBS=1                           one seed at a time (default 2)
#   PROPERTY_SPARSE=0                         control run: both databases tick daily
#   PROPERTY_KEEP_DBS=1                       keep the two databases of a failed seed
# Last line: "property: N passed, M failed" (one unit per seed).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Debian's interpreter and its python3-psycopg2 (scripts/deps.sh), not
# whatever python3 comes first on PATH (pyenv and the like lack psycopg2).
PYTHON=${CSP_PYTHON:-/usr/bin/python3}
exec "$PYTHON" "$REPO/test/property/schedule_independence.py"
