#!/usr/bin/env bash
# Build and install csp_billing, start a throw-away PostgreSQL 15 cluster,
# run CMD against it, then stop the cluster and delete it -- whatever happens
# (success, failure, Ctrl-C).  CMD's exit status is this script's.
#
# Usage: scripts/with-cluster.sh CMD [ARG]...
#   e.g. scripts/with-cluster.sh ./scripts/run-tests.sh   (make test)
#        scripts/with-cluster.sh ./scripts/demo.sh        (make demo)
#        scripts/with-cluster.sh ./bench/run.sh           (make bench)
#        scripts/with-cluster.sh bash                     (an interactive shell on the cluster)
#
# CMD runs as the invoking user, in the current directory, with:
#   PGHOST=<tmpdir> PGPORT PGUSER=postgres PGDATABASE=csp_test   libpq defaults -> the cluster
#   CSP_TMPDIR     the throw-away directory (data/, server.log, socket); CMD may write
#                  there, and it is deleted on exit
#   CSP_RUNAS      command prefix that runs something as the cluster owner:
#                  "runuser -u postgres --" when run as root, empty otherwise.  Tools that
#                  write files or start servers (pg_regress, initdb, Perl TAP) refuse root.
#   CSP_OWNER      user name owning CSP_TMPDIR and the cluster
#   CSP_PGDATA     data directory;  CSP_SERVER_LOG  server log file
#   CSP_CRON_DB    the database pg_cron is bound to (cron.database_name), = csp_test
#   PG_CONFIG      /usr/lib/postgresql/15/bin/pg_config
#   PG_BINDIR      /usr/lib/postgresql/15/bin (also first in PATH)
#   PGXS_DIR       the lib/pgxs directory (PGXS_DIR/src/test/regress/pg_regress, ...)
#
# Knobs (environment):
#   CSP_PGPORT=54329     port number; only names the socket file, nothing listens on TCP
#   CSP_SKIP_BUILD=1     do not run make / make install (already installed)
#   CSP_KEEP_TMPDIR=1    stop the server but keep the directory, to look at results
#
# It never touches an existing cluster: no pg_ctlcluster, no port 5432, no
# TCP at all; the data directory and the socket are inside a fresh mktemp dir.
set -euo pipefail

log() { printf 'with-cluster: %s\n' "$*"; }
die() { printf 'with-cluster: error: %s\n' "$*" >&2; exit 1; }

[ "$#" -ge 1 ] || die "usage: $0 CMD [ARG]..."

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found: run scripts/deps.sh (make deps) first"
PG_BINDIR=$("$PG_CONFIG" --bindir)
# pg_config --pgxs is <pkglibdir>/pgxs/src/makefiles/pgxs.mk; PGXS_DIR is <pkglibdir>/pgxs,
# the root under which src/test/regress/pg_regress etc. live.
PGXS_DIR=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)
CSP_PGPORT=${CSP_PGPORT:-54329}
CSP_CRON_DB=csp_test

# --- who runs what ---------------------------------------------------------
# initdb, pg_ctl and postgres refuse to run as root, so as root the cluster
# belongs to `postgres` and is driven through runuser.  As anyone else the
# cluster simply belongs to the caller.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user (is postgresql-15 installed?)"
    CSP_OWNER=postgres
    # runuser (util-linux, Essential on Debian) keeps the environment (PATH,
    # PG*) apart from HOME/SHELL/USER/LOGNAME, and needs no PAM password.
    command -v runuser >/dev/null 2>&1 || die "runuser not found (package util-linux)"
    CSP_RUNAS="runuser -u postgres --"
    SUDO=()
else
    CSP_OWNER=$(id -un)
    CSP_RUNAS=""
    if command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
    else
        SUDO=()
    fi
fi
# shellcheck disable=SC2206  # CSP_RUNAS is a command prefix, split on purpose
RUNAS=($CSP_RUNAS)

# --- build and install -----------------------------------------------------
# Build as the invoking user (the checkout is theirs), install with sudo if
# needed: the extension directory belongs to root.
if [ "${CSP_SKIP_BUILD:-}" != 1 ]; then
    log "make (PG_CONFIG=$PG_CONFIG)"
    make -C "$REPO" PG_CONFIG="$PG_CONFIG"
    log "make install"
    if [ "$(id -u)" -eq 0 ] || { [ -w "$("$PG_CONFIG" --sharedir)/extension" ] &&
        [ -w "$("$PG_CONFIG" --pkglibdir)" ]; }; then
        make -C "$REPO" PG_CONFIG="$PG_CONFIG" install
    elif [ "${#SUDO[@]}" -gt 0 ]; then
        "${SUDO[@]}" make -C "$REPO" PG_CONFIG="$PG_CONFIG" install
    else
        die "make install needs root: run as root or install sudo"
    fi
fi

# --- the cluster -----------------------------------------------------------
CSP_TMPDIR=""
PGDATA_DIR=""
SERVER_STARTED=0

# Stop a server by data directory: fast shutdown first (clean, and quick with
# fsync=off), immediate if that hangs, and as a last resort SIGKILL of the
# postmaster whose pid is in ITS postmaster.pid (only ever a server we made).
# shellcheck disable=SC2317  # called from the trap
stop_server() {
    local data=$1 pid
    [ -f "$data/postmaster.pid" ] || return 0
    "${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$data" stop -m fast -w -t 30 >/dev/null 2>&1 && return 0
    "${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$data" stop -m immediate -w -t 30 >/dev/null 2>&1 && return 0
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    ! kill -0 "${pid:-0}" 2>/dev/null
}

# shellcheck disable=SC2317  # called from the trap
cleanup() {
    local rc=$? d
    trap - EXIT INT TERM HUP
    if [ -n "$CSP_TMPDIR" ] && [ -d "$CSP_TMPDIR" ]; then
        if [ "$SERVER_STARTED" = 1 ]; then
            stop_server "$PGDATA_DIR" || { log "could not stop the server in $PGDATA_DIR" >&2; [ "$rc" -ne 0 ] || rc=1; }
        fi
        # Perl TAP tests start their own nodes under CSP_TMPDIR; if one died
        # without its END block, its postmaster would outlive us.
        while IFS= read -r d; do
            d=$(dirname "$d")
            [ "$d" = "$PGDATA_DIR" ] && continue
            log "stopping leftover server in $d" >&2
            stop_server "$d" || { [ "$rc" -ne 0 ] || rc=1; }
        done < <(find "$CSP_TMPDIR" -name postmaster.pid -type f 2>/dev/null)
        if [ "${CSP_KEEP_TMPDIR:-}" = 1 ]; then
            log "kept $CSP_TMPDIR (CSP_KEEP_TMPDIR=1)" >&2
        else
            rm -rf "$CSP_TMPDIR"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
# A signal must go through the EXIT trap too (bash does not run it on a
# signal by itself); the conventional 128+N status tells make what happened.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

CSP_TMPDIR=$(mktemp -d /tmp/csp_billing.XXXXXX)
PGDATA_DIR=$CSP_TMPDIR/data
SERVER_LOG=$CSP_TMPDIR/server.log
# As root the checkout (often under /root) is unreadable by postgres, so the
# cluster lives in /tmp and belongs to postgres; root can still read it.
[ "$(id -u)" -ne 0 ] || chown "$CSP_OWNER:" "$CSP_TMPDIR"

# C.UTF-8 gives byte-order sorting (stable expected output) with UTF8
# messages; glibc >= 2.35 (Debian 12) always has it, older systems fall back to C.
if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then LOCALE=C.UTF-8; else LOCALE=C; fi

log "initdb $PGDATA_DIR (owner $CSP_OWNER, locale $LOCALE)"
# cd: the tools run as postgres and should not start in a directory it cannot read.
(cd "$CSP_TMPDIR" && "${RUNAS[@]}" "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres \
    --auth=trust -E UTF8 --locale="$LOCALE" --no-sync >"$CSP_TMPDIR/initdb.log" 2>&1) ||
    { cat "$CSP_TMPDIR/initdb.log" >&2; die "initdb failed"; }

# Appended last, so these win over initdb's defaults.
"${RUNAS[@]}" tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF

# --- csp_billing throw-away cluster (scripts/with-cluster.sh) ---
listen_addresses = ''                    # Unix socket only: never clashes with a real server
unix_socket_directories = '$CSP_TMPDIR'
port = $CSP_PGPORT                       # only names the socket file
shared_preload_libraries = 'pg_cron'
cron.database_name = '$CSP_CRON_DB'      # fixed at server start; created below
cron.host = '$CSP_TMPDIR'                # pg_cron connects over the socket (no TCP here)
max_prepared_transactions = 10
fsync = off                              # throw-away: speed over durability
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF

# pg_cron's launcher connects to cron.database_name as soon as the server is
# up and exits with a FATAL if it does not exist yet; create it first, in
# single-user mode (no socket, no bgworkers), so the log starts clean.
(cd "$CSP_TMPDIR" && echo "CREATE DATABASE $CSP_CRON_DB TEMPLATE template0" |
    "${RUNAS[@]}" "$PG_BINDIR/postgres" --single -D "$PGDATA_DIR" -c shared_preload_libraries= \
        -c exit_on_error=on postgres >"$CSP_TMPDIR/single-user.log" 2>&1) ||
    { cat "$CSP_TMPDIR/single-user.log" >&2; die "could not create database $CSP_CRON_DB"; }

log "start (socket $CSP_TMPDIR/.s.PGSQL.$CSP_PGPORT, log $SERVER_LOG)"
SERVER_STARTED=1
if ! (cd "$CSP_TMPDIR" && "${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$SERVER_LOG" \
        -w -t 60 start >/dev/null); then
    printf 'with-cluster: server did not start; last lines of %s:\n' "$SERVER_LOG" >&2
    tail -n 40 "$SERVER_LOG" >&2 || true
    die "pg_ctl start failed"
fi

export PGHOST=$CSP_TMPDIR PGPORT=$CSP_PGPORT PGUSER=postgres PGDATABASE=$CSP_CRON_DB
# Variables that could send libpq somewhere else than this cluster.
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD PGPASSFILE
export CSP_TMPDIR CSP_RUNAS CSP_OWNER CSP_CRON_DB PG_CONFIG PG_BINDIR PGXS_DIR
export CSP_PGDATA=$PGDATA_DIR CSP_SERVER_LOG=$SERVER_LOG
export PATH="$PG_BINDIR:$PATH"

"$PG_BINDIR/psql" -X -q -At -c "SELECT 1" >/dev/null ||
    { tail -n 40 "$SERVER_LOG" >&2 || true; die "cannot connect to $CSP_CRON_DB on $PGHOST"; }

log "ready: PGHOST=$PGHOST PGPORT=$PGPORT PGDATABASE=$PGDATABASE; running: $*"
# Nothing is printed after CMD (unless cleanup has a problem): run-tests.sh's
# "N passed, M failed" must stay the last line of `make test`.
rc=0
"$@" || rc=$?
exit "$rc"
