#!/usr/bin/env bash
# Run every csp_billing test suite against a running server and print, as the
# very last line, "N passed, M failed".  Exit status is non-zero if anything
# failed or a suite could not run.
#
#   make test                          all suites on a throw-away cluster
#   TESTS="clock terms" make test      only these names, in every suite:
#                                      test/sql/NAME.sql (pg_regress, and pg_prove
#                                      if NAME ends in _tap), test/specs/NAME.spec,
#                                      test/t/NAME.pl; an unknown name is a failure
#   SUITES="regress pgtap" make test   only these suites (rooms regress isolation pgtap perl property clients)
#   TESTS=property SEED=7 make test    replay one seed of the property test
#   CSP_KEEP_TMPDIR=1 make test        keep /tmp/csp_billing.XXXXXX (results/, diffs)
#
# Suites and what one "test unit" is for the count:
#   regress    pg_regress on test/sql/*.sql, expected output in expected/   -> one per file
#   isolation  pg_isolation_regress on test/specs/*.spec, output in test/expected/
#                                                                          -> one per spec
#   pgtap      pg_prove on test/sql/*_tap.sql, each in a fresh database    -> one per assertion
#   perl       prove on test/t/*.pl (PostgreSQL::Test::Cluster)            -> one per assertion
#   property   test/property/run.sh: the schedule-independence property test,
#              PROPERTY_SEEDS seeds (default 20)                            -> one per seed
#   clients    the README tour as a client program sees it: examples/node/tour.js
#              (node-postgres) and examples/python/tour.py on psycopg2 and on
#              psycopg 3, each in a fresh database; TESTS names "node",
#              "psycopg2", "psycopg3" ("python": both)      -> one per assertion
# A suite that errors without producing a count (server gone, harness crash)
# counts as 1 failed, so it can never look green.
#
# Normally started by scripts/with-cluster.sh, which exports PGHOST, PGPORT,
# PGUSER, CSP_TMPDIR, CSP_RUNAS, PG_BINDIR, PGXS_DIR.  Without CSP_TMPDIR it
# runs against your own server (the usual PGHOST/PGPORT/PGUSER, a superuser;
# csp_billing already installed) with outputs in a fresh mktemp directory,
# which is removed on success and kept on failure.  As root there, set
# CSP_RUNAS='runuser -u postgres --' for the Perl TAP suite (initdb refuses root).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITES=${SUITES:-rooms regress isolation pgtap perl property clients}
# Same database names as PGXS `make installcheck`, so the two are interchangeable.
REGRESS_DB=${CSP_REGRESS_DB:-contrib_regression}
ISOLATION_DB=${CSP_ISOLATION_DB:-isolation_regression}

if [ -n "${CSP_TMPDIR:-}" ]; then
    # Inside with-cluster.sh: everything lives in its tmpdir and goes with it.
    WORK=$CSP_TMPDIR/tests
    OWN_WORK=0
else
    PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
    PG_BINDIR=${PG_BINDIR:-$("$PG_CONFIG" --bindir)}
    PGXS_DIR=${PGXS_DIR:-$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)}
    export PATH="$PG_BINDIR:$PATH"
    WORK=$(mktemp -d /tmp/csp_billing-tests.XXXXXX)
    OWN_WORK=1
fi
CSP_RUNAS=${CSP_RUNAS:-}
# shellcheck disable=SC2206  # a command prefix, split on purpose
RUNAS=($CSP_RUNAS)
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_DIR/src/test/isolation/pg_isolation_regress

# Connection options for the pg_regress family: only what the caller set, so
# libpq defaults apply otherwise.
CONN_OPTS=()
[ -z "${PGHOST:-}" ] || CONN_OPTS+=("--host=$PGHOST")
[ -z "${PGPORT:-}" ] || CONN_OPTS+=("--port=$PGPORT")
[ -z "${PGUSER:-}" ] || CONN_OPTS+=("--user=$PGUSER")
PSQL_OPTS=()
[ -z "${PGHOST:-}" ] || PSQL_OPTS+=(-h "$PGHOST")
[ -z "${PGPORT:-}" ] || PSQL_OPTS+=(-p "$PGPORT")
[ -z "${PGUSER:-}" ] || PSQL_OPTS+=(-U "$PGUSER")

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

banner() { printf '\n===== %s =====\n' "$*"; }
note() { printf 'run-tests: %s\n' "$*"; }

# record SUITE PASSED FAILED [NOTE]
record() {
    TOTAL_PASSED=$((TOTAL_PASSED + $2))
    TOTAL_FAILED=$((TOTAL_FAILED + $3))
    SUMMARY+=("$(printf '%-10s %5d passed, %d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

suite_enabled() { [[ " $SUITES " == *" $1 "* ]]; }

# TESTS may be separated by spaces or commas.
TESTS=${TESTS:-}
read -r -a WANTED <<<"${TESTS//,/ }"
declare -A MATCHED=()
selected() {
    local n=$1 w
    [ "${#WANTED[@]}" -eq 0 ] && return 0
    for w in "${WANTED[@]}"; do
        if [ "$w" = "$n" ]; then MATCHED[$w]=1; return 0; fi
    done
    return 1
}

# Set NAMES to the sorted basenames (without EXT) of DIR/*[SUFFIX]EXT that
# TESTS selects.  Not a function printing to a pipe: `selected` must run in this
# shell to record which TESTS names matched something.
collect() {
    local dir=$1 ext=$2 suffix=${3:-} f n
    NAMES=()
    [ -d "$dir" ] || return 0
    while IFS= read -r f; do
        n=$(basename "$f" "$ext")
        if selected "$n"; then NAMES+=("$n"); fi
    done < <(find "$dir" -maxdepth 1 -type f -name "*$suffix$ext" | LC_ALL=C sort)
}

# The checkout may be root's and unreadable by postgres: suites work on
# copies inside WORK, handed to the cluster owner.
own_work() {
    chmod -R a+rX "$1"
    if [ "${#RUNAS[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
        chown -R "${CSP_OWNER:-postgres}:" "$1"
    fi
}

# Run a command as the cluster owner in DIR, echo its output live and keep a
# copy in LOG; sets RC.
run_logged() {
    local dir=$1 logf=$2
    shift 2
    set +e
    (cd "$dir" && "${RUNAS[@]}" "$@") 2>&1 | tee "$logf"
    RC=${PIPESTATUS[0]}
    set -e
}

# Parse a pg_regress / pg_isolation_regress summary into P and F.
#   " All 7 tests passed. "                       (PG15; PG16+ prefixes "# ")
#   " 2 of 7 tests failed. "
#   " 6 of 7 tests passed, 1 failed test(s) ignored. "
#   " 2 of 7 tests failed, 1 of these failures ignored. "
parse_regress() {
    local logf=$1 rc=$2 line a b c
    P=0 F=0
    line=$(grep -E '[0-9]+ tests (passed|failed)' "$logf" | tail -n 1 || true)
    if [[ $line =~ All\ ([0-9]+)\ tests\ passed ]]; then
        P=${BASH_REMATCH[1]}
    elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ passed,\ ([0-9]+)\ failed ]]; then
        P=${BASH_REMATCH[1]}
    elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed,\ ([0-9]+)\ of\ these ]]; then
        a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]} c=${BASH_REMATCH[3]}
        F=$((a - c)) P=$((b - a))
    elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed ]]; then
        F=${BASH_REMATCH[1]} P=$((BASH_REMATCH[2] - BASH_REMATCH[1]))
    fi
    # No summary (could not connect, crash) or a non-zero exit with nothing
    # counted as failed: the suite errored.
    if [ "$rc" -ne 0 ] && [ "$F" -eq 0 ]; then F=1; fi
}

# Parse TAP::Harness output (pg_prove, prove) into P and F.
#   "Files=2, Tests=12, ..."       assertions run, all files
# then the Test Summary Report, one entry per file with a problem:
#   "t/x.pl (Wstat: 256 (exited 1) Tests: 7 Failed: 2)"   2 of the 7 run failed
#   "  Parse errors: Bad plan.  You planned 9 tests but ran 7."   2 never ran: failed
#   "  Parse errors: No plan found in TAP output" / non-zero Wstat with
#   nothing failed (died, killed): that file errored, 1 failed
# (The "Failed 5/9 subtests" status line mixes the first two, so it is not used.)
parse_tap() {
    local logf=$1 rc=$2 ran failed
    # awk rather than grep: no match must not be an error under pipefail.
    ran=$(awk '/^Files=[0-9]+, Tests=[0-9]+,/ {sub(/^Files=[0-9]+, Tests=/, ""); sub(/,.*/, ""); n = $0}
               END {print n + 0}' "$logf")
    # prints "<failed among those run> <failed in all>"
    read -r failed F < <(awk '
        function flush() {
            if (!entry) return
            f = nfail + missing
            if (f == 0 && (wstat != 0 || perr)) f = 1
            run_failed += nfail; all_failed += f; entry = 0
        }
        / \(Wstat: [0-9]+.* Tests: [0-9]+ Failed: [0-9]+\)$/ {
            flush(); entry = 1; missing = 0; perr = 0
            match($0, /Wstat: [0-9]+/); wstat = substr($0, RSTART + 7, RLENGTH - 7) + 0
            match($0, /Failed: [0-9]+\)$/); nfail = substr($0, RSTART + 8, RLENGTH - 9) + 0
            next
        }
        entry && /^  Parse errors:/ { perr = 1 }
        entry && match($0, /You planned [0-9]+ tests? but ran [0-9]+/) {
            split(substr($0, RSTART, RLENGTH), a, " "); d = a[3] - a[7]; if (d > 0) missing += d
        }
        /^Files=[0-9]+, Tests=/ { flush() }
        END { flush(); print run_failed + 0, all_failed + 0 }' "$logf")
    P=$((ran - failed))
    [ "$P" -ge 0 ] || P=0
    # Non-zero exit with nothing counted (no summary at all): errored.
    if [ "$rc" -ne 0 ] && [ "$F" -eq 0 ]; then F=1; fi
}

show_diffs() {
    local diffs=$1
    if [ -s "$diffs" ]; then
        printf -- '----- %s (first 200 lines) -----\n' "$diffs"
        head -n 200 "$diffs"
        printf -- '----- end of diffs -----\n'
    fi
}

# Ctrl-C: stop here rather than carry on with the next suite (some harnesses
# catch SIGINT and just return a failure).
trap 'printf "\nrun-tests: interrupted\n" >&2; exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK"
# The cluster owner (CSP_RUNAS) must be able to enter it, whatever the umask.
chmod a+rx "$WORK"

# ------------------------------------------------------------------ rooms --
# The rules of the house (issue 13, scripts/check-rooms.sh): SQL on a table
# only in its owner, result columns by Anum_ name, no function over 120 lines.
# One test per C file; every finding is printed.
if suite_enabled rooms && [ -z "${TESTS:-}" ]; then
    banner "rooms: scripts/check-rooms.sh on src/*.c"
    P=0
    F=0
    for file in "$REPO"/src/*.c; do
        if out=$("$REPO/scripts/check-rooms.sh" "src/$(basename "$file")" 2>&1); then
            P=$((P + 1))
        else
            printf '%s\n' "$out"
            F=$((F + 1))
        fi
    done
    record rooms "$P" "$F" "$((P + F)) files"
fi

# ---------------------------------------------------------------- regress --
if suite_enabled regress; then
    banner "pg_regress: test/sql -> expected/"
    collect "$REPO/test/sql" .sql
    names=("${NAMES[@]}")
    if [ "${#names[@]}" -eq 0 ]; then
        note "no pg_regress tests selected"
        record regress 0 0 "none"
    else
        # PG15's pg_regress reads OUTPUTDIR/expected/NAME.out if it exists,
        # else INPUTDIR/expected/NAME.out (there is no --expecteddir before
        # PG16), and INPUTDIR/sql/NAME.sql.  One work dir holds both.
        W=$WORK/regress
        rm -rf "$W"
        mkdir -p "$W/sql" "$W/expected"
        for n in "${names[@]}"; do cp "$REPO/test/sql/$n.sql" "$W/sql/"; done
        # files shared by several tests, included with \i test/sql/include/...:
        # psql reads the test on stdin, so the path is relative to the working
        # directory (the repository in `make installcheck`, $W here)
        if [ -d "$REPO/test/sql/include" ]; then
            mkdir -p "$W/test/sql"
            cp -r "$REPO/test/sql/include" "$W/test/sql/"
        fi
        # all of expected/, so alternative outputs (NAME_1.out) come along
        if compgen -G "$REPO/expected/*.out" >/dev/null; then cp "$REPO"/expected/*.out "$W/expected/"; fi
        # pg_regress aborts the whole run on a missing expected file; an
        # empty one makes just that test fail, with its output as the diff.
        for n in "${names[@]}"; do
            if [ ! -f "$W/expected/$n.out" ]; then
                note "warning: expected/$n.out is missing; $n will fail"
                : >"$W/expected/$n.out"
            fi
        done
        own_work "$W"
        # Without --use-existing pg_regress drops and re-creates --dbname
        # (TEMPLATE template0, lc_messages etc. set to C) -- a fresh database
        # for every run, exactly as `make installcheck` does.
        run_logged "$W" "$W/pg_regress.log" "$PG_REGRESS" \
            --inputdir="$W" --outputdir="$W" --bindir="$PG_BINDIR" \
            "${CONN_OPTS[@]}" --dbname="$REGRESS_DB" "${names[@]}"
        parse_regress "$W/pg_regress.log" "$RC"
        [ "$F" -eq 0 ] || show_diffs "$W/regression.diffs"
        record regress "$P" "$F" "${#names[@]} files"
    fi
fi

# -------------------------------------------------------------- isolation --
if suite_enabled isolation; then
    banner "isolation: test/specs -> test/expected/"
    collect "$REPO/test/specs" .spec
    names=("${NAMES[@]}")
    if [ "${#names[@]}" -eq 0 ]; then
        note "no isolation specs selected"
        record isolation 0 0 "none"
    else
        W=$WORK/isolation
        rm -rf "$W"
        mkdir -p "$W/specs" "$W/expected"
        for n in "${names[@]}"; do cp "$REPO/test/specs/$n.spec" "$W/specs/"; done
        if compgen -G "$REPO/test/expected/*.out" >/dev/null; then cp "$REPO"/test/expected/*.out "$W/expected/"; fi
        for n in "${names[@]}"; do
            if [ ! -f "$W/expected/$n.out" ]; then
                note "warning: test/expected/$n.out is missing; $n will fail"
                : >"$W/expected/$n.out"
            fi
        done
        own_work "$W"
        run_logged "$W" "$W/pg_isolation_regress.log" "$PG_ISOLATION_REGRESS" \
            --inputdir="$W" --outputdir="$W" --bindir="$PG_BINDIR" \
            "${CONN_OPTS[@]}" --dbname="$ISOLATION_DB" "${names[@]}"
        parse_regress "$W/pg_isolation_regress.log" "$RC"
        [ "$F" -eq 0 ] || show_diffs "$W/regression.diffs"
        record isolation "$P" "$F" "${#names[@]} specs"
    fi
fi

# ------------------------------------------------------------------ pgtap --
if suite_enabled pgtap; then
    banner "pgTAP: pg_prove test/sql/*_tap.sql"
    collect "$REPO/test/sql" .sql _tap
    names=("${NAMES[@]}")
    if [ "${#names[@]}" -eq 0 ]; then
        note "no pgTAP files selected"
        record pgtap 0 0 "none"
    else
        W=$WORK/pgtap
        rm -rf "$W"
        mkdir -p "$W"
        for n in "${names[@]}"; do cp "$REPO/test/sql/$n.sql" "$W/"; done
        own_work "$W"
        tp=0 tf=0
        for n in "${names[@]}"; do
            # A fresh database per file: files create the extensions
            # themselves and must not see each other's leftovers.
            db="csp_tap_$n"
            set +e
            (cd "$W" && "${RUNAS[@]}" env PGOPTIONS='-c client_min_messages=warning' \
                "$PG_BINDIR/dropdb" "${PSQL_OPTS[@]}" --if-exists "$db" &&
                "${RUNAS[@]}" "$PG_BINDIR/createdb" "${PSQL_OPTS[@]}" -T template0 "$db")
            rc=$?
            set -e
            if [ "$rc" -ne 0 ]; then
                note "could not create database $db"
                tf=$((tf + 1))
                continue
            fi
            run_logged "$W" "$W/$n.log" pg_prove --psql-bin "$PG_BINDIR/psql" \
                "${PSQL_OPTS[@]}" -d "$db" --failures --nocolor "$n.sql"
            parse_tap "$W/$n.log" "$RC"
            tp=$((tp + P)) tf=$((tf + F))
            (cd "$W" && "${RUNAS[@]}" "$PG_BINDIR/dropdb" "${PSQL_OPTS[@]}" --if-exists "$db") ||
                note "warning: could not drop $db"
        done
        record pgtap "$tp" "$tf" "${#names[@]} files"
    fi
fi

# ------------------------------------------------------------------- perl --
if suite_enabled perl; then
    banner "Perl TAP: prove test/t/*.pl"
    collect "$REPO/test/t" .pl
    names=("${NAMES[@]}")
    if [ "${#names[@]}" -eq 0 ]; then
        note "no Perl TAP tests selected"
        record perl 0 0 "none"
    elif [ "$(id -u)" -eq 0 ] && [ "${#RUNAS[@]}" -eq 0 ]; then
        # initdb refuses root; not running them must not look like a pass.
        note "Perl TAP tests start their own servers and cannot run as root:"
        note "set CSP_RUNAS='runuser -u postgres --' or run as another user"
        record perl 0 1 "not run: root"
    else
        W=$WORK/perl
        rm -rf "$W"
        mkdir -p "$W/t" "$W/tmp"
        for n in "${names[@]}"; do cp "$REPO/test/t/$n.pl" "$W/t/"; done
        # helper modules next to the tests, if any
        if compgen -G "$REPO/test/t/*.pm" >/dev/null; then cp "$REPO"/test/t/*.pm "$W/t/"; fi
        # the demo history and the finance-file scripts, for tests that load
        # them (008_finance_files.pl): TESTDIR/scripts, readable by the owner
        mkdir -p "$W/scripts"
        cp "$REPO"/scripts/demo*.sql "$W/scripts/"
        for f in invoice-pdfs.sh report.sh report.sql; do
            if [ -f "$REPO/scripts/$f" ]; then cp "$REPO/scripts/$f" "$W/scripts/"; fi
        done
        own_work "$W"
        # These tests start their own nodes (initdb as the cluster owner) in
        # TESTDIR/tmp_check and put sockets in TMPDIR: both inside WORK, so
        # with-cluster.sh's trap can find and stop anything left behind.
        files=()
        for n in "${names[@]}"; do files+=("t/$n.pl"); done
        run_logged "$W" "$W/prove.log" env \
            PATH="$PG_BINDIR:$PATH" \
            PERL5LIB="$PGXS_DIR/src/test/perl:$W/t${PERL5LIB:+:$PERL5LIB}" \
            PG_REGRESS="$PG_REGRESS" CSP_REPO="$REPO" \
            TESTDIR="$W" TESTDATADIR="$W/tmp_check" TMPDIR="$W/tmp" \
            PG_TEST_PORT_DIR="$W/tmp" \
            prove --nocolor "${files[@]}"
        parse_tap "$W/prove.log" "$RC"
        if [ "$F" -ne 0 ] && [ -d "$W/tmp_check/log" ]; then
            for f in "$W"/tmp_check/log/regress_log_*; do
                [ -f "$f" ] || continue
                printf -- '----- last 60 lines of %s -----\n' "$f"
                tail -n 60 "$f"
            done
        fi
        record perl "$P" "$F" "${#names[@]} files"
    fi
fi

# --------------------------------------------------------------- property --
# Its name for TESTS is "property".  The driver prints
# "property: N passed, M failed" (one per seed) as its last line; no such
# line (it crashed, could not connect) counts as 1 failed.
if suite_enabled property; then
    banner "property: test/property/run.sh (schedule independence)"
    if ! selected property; then
        note "property test not selected"
        record property 0 0 "none"
    else
        W=$WORK/property
        mkdir -p "$W"
        set +e
        "$REPO/test/property/run.sh" 2>&1 | tee "$W/property.log"
        RC=${PIPESTATUS[0]}
        set -e
        line=$(grep -E '^property: [0-9]+ passed, [0-9]+ failed$' "$W/property.log" | tail -n 1 || true)
        if [[ $line =~ ^property:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            P=${BASH_REMATCH[1]} F=${BASH_REMATCH[2]}
        else
            P=0 F=0
        fi
        if [ "$RC" -ne 0 ] && [ "$F" -eq 0 ]; then F=1; fi
        record property "$P" "$F" "$((P + F)) seeds"
    fi
fi

# ---------------------------------------------------------------- clients --
# The README tour through real client libraries (issue 14): what an
# application sees of SQLSTATE/detail/hint, numeric, bigint and date.  Each
# program prints TAP with a plan, run by prove and counted per assertion; each
# gets a fresh database with nothing but CREATE EXTENSION csp_billing, dropped
# afterwards.  They run as the invoking user, not CSP_RUNAS: they only read
# the checkout (which the cluster owner may not be able to) and talk to the
# server over its socket as PGUSER, writing no files.  A client whose runtime
# is missing is skipped with one line "clients: skipped: <why>", not failed.
if suite_enabled clients; then
    banner "clients: examples/node/tour.js, examples/python/tour.py (psycopg2, psycopg 3)"
    # Debian's interpreter and its python3-psycopg2 / python3-psycopg, as in
    # test/property/run.sh.
    CLIENT_PYTHON=${CSP_PYTHON:-/usr/bin/python3}
    W=$WORK/clients
    mkdir -p "$W"
    tp=0 tf=0 ran=() skipped=()
    for n in node psycopg2 psycopg3; do
        # "python" selects the Python tour on both drivers.
        selected "$n" || { [ "$n" != node ] && selected python; } || continue
        why="" args=()
        case $n in
            node)
                if ! command -v node >/dev/null 2>&1; then
                    why="node: no node on PATH (Debian nodejs, scripts/deps.sh)"
                elif [ ! -d "$REPO/examples/node/node_modules/pg" ]; then
                    why="node: examples/node/node_modules/pg missing (scripts/deps.sh runs npm ci)"
                fi
                prog=$REPO/examples/node/tour.js runner=node ;;
            psycopg2|psycopg3)
                # tour.py's argument is the module name: psycopg 3 is `psycopg`.
                module=psycopg package=python3-psycopg
                [ "$n" = psycopg3 ] || module=psycopg2 package=python3-psycopg2
                if [ ! -x "$CLIENT_PYTHON" ]; then
                    why="$n: no $CLIENT_PYTHON (Debian python3)"
                elif ! "$CLIENT_PYTHON" -c "import $module" >/dev/null 2>&1; then
                    why="$n: $CLIENT_PYTHON cannot import $module (Debian $package)"
                fi
                prog=$REPO/examples/python/tour.py runner=$CLIENT_PYTHON args=(:: "$module") ;;
        esac
        if [ -n "$why" ]; then
            printf 'clients: skipped: %s\n' "$why"
            skipped+=("$n")
            continue
        fi
        db="csp_clients_$n"
        set +e
        PGOPTIONS='-c client_min_messages=warning' "$PG_BINDIR/dropdb" "${PSQL_OPTS[@]}" --if-exists "$db" &&
            "$PG_BINDIR/createdb" "${PSQL_OPTS[@]}" -T template0 "$db" &&
            "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "${PSQL_OPTS[@]}" -d "$db" \
                -c 'CREATE EXTENSION csp_billing'
        rc=$?
        set -e
        if [ "$rc" -ne 0 ]; then
            note "could not create database $db with csp_billing"
            tf=$((tf + 1))
            continue
        fi
        # TZ east of UTC for node: there a date parsed to local midnight reads
        # as the day before in UTC, the trap tour.js shows and then fixes.
        set +e
        (cd "$W" && env PGDATABASE="$db" TZ=Europe/Amsterdam \
            prove --nocolor --verbose --exec "$runner" "$prog" "${args[@]}") 2>&1 | tee "$W/$n.log"
        RC=${PIPESTATUS[0]}
        set -e
        parse_tap "$W/$n.log" "$RC"
        tp=$((tp + P)) tf=$((tf + F))
        ran+=("$n")
        "$PG_BINDIR/dropdb" "${PSQL_OPTS[@]}" --if-exists "$db" || note "warning: could not drop $db"
    done
    if [ "${#ran[@]}" -eq 0 ] && [ "${#skipped[@]}" -eq 0 ] && [ "$tf" -eq 0 ]; then
        note "no client programs selected"
        record clients 0 0 "none"
    else
        record clients "$tp" "$tf" "${ran[*]:-nothing} run${skipped:+; skipped: ${skipped[*]}}"
    fi
fi

# ------------------------------------------------------------------ total --
for w in "${WANTED[@]}"; do
    if [ -z "${MATCHED[$w]:-}" ]; then
        note "TESTS: no test named '$w' in the selected suites (counted as failed)"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
done

banner summary
printf '%s\n' "${SUMMARY[@]}"
if [ "$OWN_WORK" = 1 ]; then
    if [ "$TOTAL_FAILED" -eq 0 ]; then rm -rf "$WORK"; else note "outputs kept in $WORK"; fi
fi
printf '%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
[ "$TOTAL_FAILED" -eq 0 ]
