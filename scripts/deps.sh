#!/usr/bin/env bash
# Install the Debian packages that building and testing csp_billing needs,
# but only those that are missing: `make test` calls this every time, so the
# common case (everything present) must be fast, silent-ish and need no
# network and no root.  Then, if examples/node/node_modules is missing, the
# npm package of the Node.js client example (`npm ci`, the npm registry).
#
# Usage: scripts/deps.sh        (normally via `make deps`, `make test`, `make demo`)
#
# Works as root or as a user with sudo; non-interactive (CI=true, no stdin).
set -euo pipefail

# postgresql-15 / postgresql-server-dev-15: the server, pg_config and PGXS
#   (pg_regress, pg_isolation_regress and the Perl test modules come with them);
# postgresql-15-pgtap: the pgtap extension; pgtap: pg_prove;
# postgresql-15-cron: pg_cron, which the throw-away cluster preloads;
# libipc-run-perl: needed by PostgreSQL::Test::Cluster (Perl TAP tests);
# make, gcc: the build;
# python3-psycopg2: the driver of the schedule-independence property test
#   (test/property/, run by Debian's /usr/bin/python3) talks to two databases
#   in lockstep, which psql scripts cannot do.
# Issue 14, the finance files:
# chromium: headless Chromium prints csp.invoice_document() to PDF
#   (scripts/invoice-pdfs.sh) and screenshots demo/report.html;
# poppler-utils: pdftotext, with which the tests read the PDFs back;
# fonts-dejavu-core: a font for Chromium to render text with on a bare server;
# nodejs, npm: the Node.js client example (examples/node, `pg` from npm);
#   python3-psycopg2 also serves the Python client example (examples/python);
# python3-psycopg: psycopg 3, the other driver that client example runs on.
PACKAGES=(
    postgresql-15
    postgresql-server-dev-15
    postgresql-15-pgtap
    pgtap
    postgresql-15-cron
    libipc-run-perl
    make
    gcc
    chromium
    poppler-utils
    fonts-dejavu-core
    python3-psycopg2
    python3-psycopg
)
# nodejs and npm are wanted as commands: a Node.js installed another way
# (e.g. a nodejs package that ships npm itself) is kept, since Debian's npm
# package would conflict with it.
WANT_COMMANDS=(node:nodejs npm:npm)

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this script supports Debian/Ubuntu only; install ${PACKAGES[*]} by hand"

# "install ok installed" is the only state in which a package is usable; a
# package that was removed but not purged ("deinstall ok config-files") or
# half-installed counts as missing.
is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done
for w in "${WANT_COMMANDS[@]}"; do
    command -v "${w%%:*}" >/dev/null 2>&1 || missing+=("${w#*:}")
done

# The Node.js client example's one dependency, `pg` from npm, exactly as
# examples/node/package-lock.json pins it.  Only when node_modules is missing,
# so the common case needs no network; as the invoking user, who owns the
# checkout; CI=true with no stdin, so npm never waits for an answer.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_EXAMPLE=$REPO/examples/node
npm_deps() {
    [ -f "$NODE_EXAMPLE/package-lock.json" ] || return 0
    [ ! -d "$NODE_EXAMPLE/node_modules" ] || return 0
    command -v npm >/dev/null 2>&1 || die "npm not found after installing it"
    log "npm ci --prefix examples/node (pg for the Node.js client example)"
    local npmlog
    npmlog=$(mktemp /tmp/csp_billing-npm.XXXXXX)
    if ! CI=true npm ci --prefix "$NODE_EXAMPLE" --no-audit --no-fund --prefer-offline \
            >"$npmlog" 2>&1 </dev/null; then
        cat "$npmlog" >&2
        rm -f "$npmlog"
        # A half-made node_modules would make the next run skip this step.
        rm -rf "$NODE_EXAMPLE/node_modules"
        die "npm ci failed in examples/node (is the npm registry reachable?)"
    fi
    rm -f "$npmlog"
}

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages present (${PACKAGES[*]})"
    npm_deps
    exit 0
fi

# Root runs apt directly; anyone else needs sudo.  When there is no terminal
# (CI, no stdin) sudo must not sit waiting for a password: -n makes it fail
# at once instead.
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
else
    die "missing packages (${missing[*]}) and not root and no sudo: run as root or install sudo"
fi

# apt's own output is long; keep it in a log and show it only on failure so
# the CI log stays readable.
aptlog=$(mktemp /tmp/csp_billing-deps.XXXXXX)
trap 'rm -f "$aptlog"' EXIT
apt_run() {
    if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$aptlog" 2>&1 </dev/null; then
        cat "$aptlog" >&2
        die "failed: $*"
    fi
}

for p in "${missing[@]}"; do log "missing: $p"; done
log "apt-get update"
apt_run apt-get update -q
log "apt-get install ${missing[*]}"
# --no-install-recommends: recommends are not needed to build or test and
# pull in a lot; -o Dpkg::Options keep existing config files without asking.
apt_run apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"

for p in "${missing[@]}"; do
    is_installed "$p" || die "$p still not installed after apt-get install"
done
log "installed ${#missing[@]} package(s)"
npm_deps
