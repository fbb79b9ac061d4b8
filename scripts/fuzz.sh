#!/usr/bin/env bash
# make fuzz: build the libFuzzer harnesses in fuzz/ and run each for a
# bounded time; exit non-zero on the first finding (a crash, a sanitizer
# report, a leak, a timeout or a property violation -- the harnesses abort()).
#
# Usage: scripts/fuzz.sh                       (each harness FUZZ_SECONDS, default 60)
#        FUZZ_SECONDS=600 scripts/fuzz.sh      (the acceptance run)
#        FUZZ_JOBS=2 ...                       (parallel workers per harness)
#        scripts/fuzz.sh fuzz/build/crash-XXX  (re-run one input, e.g. a finding)
#
# Needs clang and Debian's libclang-rt-14-dev (libFuzzer and the sanitizer
# runtimes); installs the latter with apt if missing, as scripts/deps.sh does.
# Builds with -fsanitize=fuzzer,address,undefined and makes UBSan fatal.
#
# Seeds are in fuzz/corpus/<harness>/ (committed, small); the working corpus
# and findings are in fuzz/build/ (not committed).  A finding is written to
# fuzz/build/<harness>/crash-<sha1> (or leak-/timeout-/oom-); add it to
# fuzz/corpus/<harness>/ as a regression seed once fixed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
CC_FUZZ=${CC_FUZZ:-clang}
BUILD=$REPO/fuzz/build
CFLAGS_FUZZ=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -I"$REPO/src")

# harness name -> the pure sources it links
declare -A SOURCES=(
    [fuzz_terms]="src/terms.c"
)

log() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 1; }

# --- packages ---------------------------------------------------------------
is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}
need=()
command -v "$CC_FUZZ" >/dev/null 2>&1 || need+=(clang)
if command -v dpkg-query >/dev/null 2>&1; then
    is_installed libclang-rt-14-dev || need+=(libclang-rt-14-dev)
fi
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
    else die "missing ${need[*]}, not root and no sudo"; fi
    aptlog=$(mktemp /tmp/csp_billing-fuzz-apt.XXXXXX)
    log "apt-get install ${need[*]}"
    if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
           "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
               --no-install-recommends "${need[@]}"; } >"$aptlog" 2>&1 </dev/null; then
        cat "$aptlog" >&2; rm -f "$aptlog"; die "apt-get install ${need[*]} failed"
    fi
    rm -f "$aptlog"
fi

# --- build ------------------------------------------------------------------
mkdir -p "$BUILD/bin"
for h in "${!SOURCES[@]}"; do
    srcs=()
    for s in ${SOURCES[$h]}; do srcs+=("$REPO/$s"); done
    log "build $h"
    "$CC_FUZZ" "${CFLAGS_FUZZ[@]}" "$REPO/fuzz/$h.c" "${srcs[@]}" -o "$BUILD/bin/$h"
done

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}

# re-run given inputs only
if [ "$#" -gt 0 ]; then
    rc=0
    for h in "${!SOURCES[@]}"; do "$BUILD/bin/$h" "$@" || rc=$?; done
    exit "$rc"
fi

# --- run ----------------------------------------------------------------------
rc=0
for h in $(printf '%s\n' "${!SOURCES[@]}" | sort); do
    work=$BUILD/$h
    mkdir -p "$work/corpus"
    log "run $h for ${FUZZ_SECONDS}s ($FUZZ_JOBS job(s)); findings go to $work/"
    # The working corpus comes first (new inputs are written there), then
    # the committed seeds.  -error_exitcode: any finding is a failure.
    par=()
    [ "$FUZZ_JOBS" -le 1 ] || par=(-fork="$FUZZ_JOBS")
    set +e
    (cd "$work" && "$BUILD/bin/$h" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -error_exitcode=77 -artifact_prefix="$work/" "${par[@]}" \
        "$work/corpus" "$REPO/fuzz/corpus/$h" >"$work/fuzz.log" 2>&1)
    hrc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1 || true)
    if [ "$hrc" -ne 0 ]; then
        log "$h: FINDING (exit $hrc) after ${execs:-?} executions; log $work/fuzz.log"
        grep -E 'ERROR|runtime error|check failed|SUMMARY|Test unit written' "$work/fuzz.log" | head -n 20 >&2 || true
        rc=1
    else
        log "$h: clean, ${execs:-?} executions (${speed:-?}/s), ${cov:-}, corpus $(ls "$work/corpus" | wc -l) files"
    fi
done
exit "$rc"
