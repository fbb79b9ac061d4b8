#!/usr/bin/env bash
# make check-memory: the test suites against a postmaster running under
# valgrind (memcheck), on a throw-away cluster.  Every backend is a fork of
# the postmaster and so runs under valgrind too; each process writes its own
# log.  Fails when any valgrind error has a frame in csp_billing.so; other
# errors (PostgreSQL's own, e.g. uninitialised padding written to a file)
# are counted and listed but do not fail the run.  Not part of make test.
#
# Usage: make check-memory
#        CHECK_MEMORY_SUITES="regress isolation pgtap" make check-memory
#        CHECK_MEMORY_DEMO=0 TESTS="clock terms" make check-memory
#
# Knobs: CHECK_MEMORY_SUITES (run-tests.sh suites, default "regress"),
# CHECK_MEMORY_DEMO (1: also replay scripts/demo.sql, default 1),
# CHECK_MEMORY_SECONDS (bound for the whole run, default 1800),
# CHECK_MEMORY_OUT (logs kept here, default .run/check-memory),
# VALGRIND_SUPP (extra suppression file), VALGRIND_ORIGINS (1: --track-origins).
#
# Why valgrind and not ASan: the server binary is Debian's, not instrumented,
# and an ASan-built .so needs libasan preloaded into the postmaster; valgrind
# checks the unmodified server and module.  Neither sees overruns *inside* a
# palloc block (PostgreSQL is not built with USE_VALGRIND): what is caught is
# the use of uninitialised values, reads/writes outside malloc'd blocks, bad
# frees, and invalid syscall buffers.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHECK_MEMORY_SUITES=${CHECK_MEMORY_SUITES:-regress}
CHECK_MEMORY_DEMO=${CHECK_MEMORY_DEMO:-1}
CHECK_MEMORY_SECONDS=${CHECK_MEMORY_SECONDS:-1800}
CHECK_MEMORY_OUT=${CHECK_MEMORY_OUT:-$REPO/.run/check-memory}
VALGRIND_ORIGINS=${VALGRIND_ORIGINS:-1}
export CHECK_MEMORY_SUITES CHECK_MEMORY_DEMO CHECK_MEMORY_SECONDS CHECK_MEMORY_OUT VALGRIND_ORIGINS

log() { printf 'check-memory: %s\n' "$*"; }
die() { printf 'check-memory: error: %s\n' "$*" >&2; exit 1; }

# --- outside the cluster: valgrind, then re-enter through with-cluster.sh ----
if [ -z "${CSP_TMPDIR:-}" ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=()
        elif command -v sudo >/dev/null 2>&1; then
            if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
        else die "valgrind is missing, not root and no sudo"; fi
        log "apt-get install valgrind"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null </dev/null
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            valgrind >/dev/null </dev/null
    fi
    exec "$REPO/scripts/with-cluster.sh" "$REPO/scripts/check-memory.sh"
fi

# --- inside: restart the cluster's postmaster under valgrind ------------------
# shellcheck disable=SC2206
RUNAS=($CSP_RUNAS)
VGDIR=$CSP_TMPDIR/valgrind
mkdir -p "$VGDIR"
[ "${#RUNAS[@]}" -eq 0 ] || chown "$CSP_OWNER:" "$VGDIR"

log "stop the cluster, restart it under valgrind (logs $VGDIR/<pid>.log)"
(cd "$CSP_TMPDIR" && "${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$CSP_PGDATA" stop -m fast -w -t 60 >/dev/null)
"${RUNAS[@]}" tee -a "$CSP_PGDATA/postgresql.conf" >/dev/null <<CONF

# --- scripts/check-memory.sh: the server runs under valgrind ---
jit = off                                # no LLVM code generation under valgrind
max_connections = 40
autovacuum_naptime = 60
CONF

VG=(valgrind --tool=memcheck --trace-children=yes --leak-check=no --error-limit=no
    --num-callers=30 --read-var-info=no --child-silent-after-fork=no
    --log-file="$VGDIR/%p.log")
[ "$VALGRIND_ORIGINS" != 1 ] || VG+=(--track-origins=yes)
# PostgreSQL's own suppressions, where a package ships them, and any extra file
for supp in "$PGXS_DIR/src/tools/valgrind.supp" "${VALGRIND_SUPP:-}"; do
    [ -n "$supp" ] && [ -r "$supp" ] && VG+=(--suppressions="$supp")
done

(cd "$CSP_TMPDIR" && exec "${RUNAS[@]}" "${VG[@]}" "$PG_BINDIR/postgres" -D "$CSP_PGDATA" \
    >>"$CSP_SERVER_LOG" 2>&1 </dev/null) &
vg_pid=$!
for _ in $(seq 1 180); do
    if pg_isready -q -h "$PGHOST" -p "$PGPORT" -d postgres 2>/dev/null; then break; fi
    kill -0 "$vg_pid" 2>/dev/null || { tail -n 30 "$CSP_SERVER_LOG" >&2; die "postmaster under valgrind exited"; }
    sleep 1
done
pg_isready -q -h "$PGHOST" -p "$PGPORT" -d postgres || die "postmaster under valgrind did not become ready"
log "ready under valgrind"

mkdir -p "$CHECK_MEMORY_OUT"
start=$(date +%s)
deadline=$((start + CHECK_MEMORY_SECONDS))
tests_rc=0
if [ "$CHECK_MEMORY_DEMO" = 1 ]; then
    log "demo: scripts/demo.sql (history of 14 months)"
    if ! timeout "$CHECK_MEMORY_SECONDS" "$REPO/scripts/demo.sh" >"$CHECK_MEMORY_OUT/demo.log" 2>&1; then
        log "the demo failed under valgrind (see $CHECK_MEMORY_OUT/demo.log)"; tests_rc=1
    fi
fi
left=$((deadline - $(date +%s)))
if [ -n "$CHECK_MEMORY_SUITES" ] && [ "$left" -gt 0 ]; then
    log "suites: $CHECK_MEMORY_SUITES${TESTS:+ (TESTS=$TESTS)}, at most ${left}s"
    set +e
    SUITES=$CHECK_MEMORY_SUITES timeout --signal=TERM --kill-after=30 "$left" \
        "$REPO/scripts/run-tests.sh" >"$CHECK_MEMORY_OUT/tests.log" 2>&1
    trc=$?
    set -e
    log "suites: $(tail -n 1 "$CHECK_MEMORY_OUT/tests.log") (exit $trc)"
    [ "$trc" -eq 0 ] || tests_rc=$trc
fi
elapsed=$(( $(date +%s) - start ))

log "stop the server (valgrind writes each process's summary at exit)"
(cd "$CSP_TMPDIR" && "${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$CSP_PGDATA" stop -m fast -w -t 300 >/dev/null) ||
    log "fast shutdown did not finish; with-cluster.sh will stop it"
wait "$vg_pid" 2>/dev/null || true

# --- the verdict ----------------------------------------------------------------
# rm first: awk appends to its output files within one run only
rm -f "$CHECK_MEMORY_OUT/csp_errors.txt" "$CHECK_MEMORY_OUT/through_csp.txt"
# Each error in a valgrind text log is a block of "==PID== " lines ending in a
# blank "==PID== " line; its first line says what, the "at"/"by" lines where.
# (Not the ERROR SUMMARY lines: a forked backend inherits the postmaster's
# count, so those add up the postmaster's errors once per backend.)
rm -rf "$CHECK_MEMORY_OUT/valgrind"
cp -r "$VGDIR" "$CHECK_MEMORY_OUT/valgrind"
cp "$CSP_SERVER_LOG" "$CHECK_MEMORY_OUT/server.log"
nproc_logs=$(find "$VGDIR" -name '*.log' | wc -l)
# frames of the module: "fn (spi.c:46)" for each src/*.c (csp_billing.so is built -g)
srcs=$(cd "$REPO/src" && ls -- *.c | sed 's/\.c$//' | paste -sd'|' -)
awk -v pat="csp_billing\\.so|[(]($srcs)\\.c:[0-9]+[)]" '
    # "ours": one of the 4 innermost frames of the error is in csp_billing, or
    # one of the 5 innermost frames of where the memory came from ("was
    # created by", "Block was allocd at").  An error whose frames pass through
    # csp_billing only further out (PostgreSQL code called through SPI, say) is
    # counted as "through" and listed: the fault is in the server itself.
    function flush() {
        if (nlines > 0 && block ~ /   (at|by) 0x/ && first !~ /^(HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|Memcheck|Copyright|Using Valgrind|Command|Parent PID|For lists|For a detailed|Use --|Warning: )/) {
            total++
            if (is_ours) { ours++; print "----- ours: " FILENAME > out_ours; printf "%s", block > out_ours }
            else if (is_through) { through++; print "----- through: " FILENAME > out_through; printf "%s", block > out_through }
        }
        block = ""; nlines = 0; first = ""; section = 0; frame = 0; is_ours = 0; is_through = 0
    }
    FNR == 1 { flush() }
    {
        line = $0; sub(/^==[0-9]+== ?/, "", line)
        if (line == "") { flush(); next }
        if (nlines == 0) first = line
        block = block line "\n"; nlines++
        if (line ~ /^ (Uninitialised value was created|Address 0x|Block was alloc|Uninitialised value)/) { section++; frame = 0; next }
        if (line ~ /^   (at|by) 0x/) {
            frame++
            if (line ~ pat) {
                if ((section == 0 && frame <= 4) || (section > 0 && frame <= 5)) is_ours = 1
                else is_through = 1
            }
        }
    }
    END { flush(); printf "TOTALS %d %d %d\n", total, ours, through > "/dev/stderr" }
' out_ours="$CHECK_MEMORY_OUT/csp_errors.txt" out_through="$CHECK_MEMORY_OUT/through_csp.txt" \
    "$VGDIR"/*.log 2>"$CHECK_MEMORY_OUT/totals.txt" || true
touch "$CHECK_MEMORY_OUT/csp_errors.txt" "$CHECK_MEMORY_OUT/through_csp.txt"
read -r _ total ours through <"$CHECK_MEMORY_OUT/totals.txt" || { total=?; ours=?; through=?; }
crash=$(grep -cE 'terminated by signal|PANIC:|TRAP:' "$CSP_SERVER_LOG" || true)

log "${elapsed}s under valgrind, $nproc_logs processes; valgrind errors: $total in all, $ours in csp_billing, $through in PostgreSQL code called from it; backend crashes: $crash"
log "logs kept in $CHECK_MEMORY_OUT (valgrind/, csp_errors.txt, through_csp.txt, server.log, tests.log)"
if [ "$total" != 0 ] && [ "$total" != "?" ]; then
    log "error kinds:"
    grep -h -A1 -E '^==[0-9]+== $' "$VGDIR"/*.log | sed -n 's/^==[0-9]*== \([A-Z][^ ].*\)$/\1/p' |
        grep -vE '^(ERROR SUMMARY|HEAP SUMMARY|LEAK SUMMARY|Memcheck|For lists|For a detailed|Use --|Command|Parent PID)' |
        sort | uniq -c | sort -rn | head -n 15 | sed 's/^/    /'
fi
if [ "$ours" != 0 ]; then
    log "ERRORS IN csp_billing:"
    head -n 80 "$CHECK_MEMORY_OUT/csp_errors.txt" >&2
    exit 1
fi
[ "$crash" = 0 ] || { log "a backend crashed under valgrind"; exit 1; }
if [ "$tests_rc" -ne 0 ]; then
    log "no valgrind error in csp_billing, but the tests did not all pass under valgrind (see tests.log)"
    exit "$tests_rc"
fi
log "clean"
