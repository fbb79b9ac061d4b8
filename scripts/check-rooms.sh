#!/usr/bin/env bash
# The rules of the house (issue 13), checked on src/*.c:
#   (a) SQL text that writes or locks a table -- INSERT INTO, UPDATE, DELETE
#       FROM, or a SELECT ... FROM it with FOR UPDATE / FOR NO KEY UPDATE /
#       FOR SHARE / FOR KEY SHARE -- only in the table's owner file (or in a
#       declared room, below);
#   (b) no literal integer as the column argument of SPI_getbinval,
#       SPI_getvalue, heap_getattr, csp_spi_getdatum, csp_spi_getcstring:
#       columns are read by Anum_ names defined next to the SQL text;
#   (c) no function longer than 120 lines, not counting the lines of SQL
#       text (lines that begin with a string literal).
# Prints every violation as "file:line: rule: what" and exits 1 if any.
#
# Usage: scripts/check-rooms.sh [FILE.c ...]     (default: src/*.c)
#        make check-rooms
#
# Needs bash, grep and a POSIX awk (mawk will do).
set -euo pipefail

# ---------------------------------------------------------------------------
# Who owns which table.  "table  owner-file [owner-file ...]"
# ---------------------------------------------------------------------------
OWNERS='
csp.subscription            subscription_store.c
csp.seat_lot                subscription_store.c
csp.charge                  ledger.c
csp.open_period             ledger.c invoice_store.c
csp.invoice                 invoice_store.c
csp.payment                 payment_store.c
csp.payment_allocation      payment_store.c
csp.customer                customers.c
csp.billing_account         accounts.c
csp.billing_profile         accounts.c
csp.invoice_section         accounts.c
csp.partner                 partners.c
csp.product                 catalog.c
csp.price                   catalog.c
csp.fx_rate                 catalog.c
csp.upgrade_path            catalog.c
csp.billing_profile_role    profile_roles.c
csp.billing_account_role    roles.c
csp.audit_log               audit.c
cron.job                    cron.c
'

# Declared rooms that may keep SQL on several tables (each says so in its
# file header): the set-based bulk job SQL, and the read-only reports.
DECLARED_ROOMS='job_batch.c recon.c invoice_document.c'

MAX_FUNCTION_LINES=120

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
if [ "$#" -gt 0 ]; then
	FILES=("$@")
else
	FILES=(src/*.c)
fi

status=0
for file in "${FILES[@]}"; do
	awk -v file="$file" -v owners="$OWNERS" -v declared="$DECLARED_ROOMS" \
		-v maxlines="$MAX_FUNCTION_LINES" '
	BEGIN {
		base = file; sub(/.*\//, "", base)
		n = split(owners, ol, "\n")
		for (i = 1; i <= n; i++) {
			if (ol[i] ~ /^[ \t]*$/) continue
			m = split(ol[i], f, /[ \t]+/)
			k = 0
			for (j = 1; j <= m; j++) {
				if (f[j] == "") continue
				if (k == 0) { table = f[j]; k = 1; continue }
				owner[table] = owner[table] " " f[j]
				if (f[j] == base) owns[table] = 1
			}
		}
		n = split(declared, dl, /[ \t]+/)
		for (i = 1; i <= n; i++) if (dl[i] == base) is_declared = 1
		found = 0
	}
	function report(line, rule, what) {
		printf "%s:%d: %s: %s\n", file, line, rule, what
		found++
	}
	# the text of the string literals on a line ("" when none)
	function literals(s,   out, i, c, inside, esc) {
		out = ""; inside = 0; esc = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (inside) {
				if (esc) { esc = 0; out = out c; continue }
				if (c == "\\") { esc = 1; continue }
				if (c == "\"") { inside = 0; out = out " "; continue }
				out = out c
			} else if (c == "\"") {
				inside = 1
			} else if (c == "/" && substr(s, i + 1, 1) == "*") {
				break
			}
		}
		return out
	}
	function check_statement(text, line,   t, tbl, rest, op, alias, a) {
		rest = text
		while (match(rest, /(INSERT INTO|UPDATE|DELETE FROM)[ \t]+(csp|cron)\.[a-z_]+/)) {
			t = substr(rest, RSTART, RLENGTH)
			rest = substr(rest, RSTART + RLENGTH)
			tbl = t; sub(/^(INSERT INTO|UPDATE|DELETE FROM)[ \t]+/, "", tbl)
			op = t; sub(/[ \t]+(csp|cron)\..*/, "", op)
			check_owner(tbl, op, line)
		}
		# FOR UPDATE OF alias: the table that alias names (the statement may
		# read others, in subqueries, without locking them)
		if (match(text, /FOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE) OF [a-z_]+/)) {
			alias = substr(text, RSTART, RLENGTH); sub(/.* OF /, "", alias)
			rest = text
			while (match(rest, /(csp|cron)\.[a-z_]+[ \t]+(AS[ \t]+)?[a-z_]+/)) {
				t = substr(rest, RSTART, RLENGTH)
				rest = substr(rest, RSTART + RLENGTH)
				a = t; sub(/^(csp|cron)\.[a-z_]+[ \t]+(AS[ \t]+)?/, "", a)
				if (a == alias) {
					tbl = t; sub(/[ \t].*/, "", tbl)
					check_owner(tbl, "a locking SELECT", line)
					return
				}
			}
		}
		if (text ~ /FOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)/ &&
			match(text, /FROM[ \t]+(csp|cron)\.[a-z_]+/)) {
			tbl = substr(text, RSTART, RLENGTH); sub(/^FROM[ \t]+/, "", tbl)
			# a locking read of a set-returning function is not a table
			if (substr(text, RSTART + RLENGTH, 1) != "(")
				check_owner(tbl, "a locking SELECT", line)
		}
	}
	function check_owner(tbl, op, line) {
		if (!(tbl in owner) || (tbl in owns) || is_declared) return
		report(line, "(a) owner", op " " tbl " outside its owner" owner[tbl])
	}
	# statements: runs of consecutive lines holding string literals
	{
		lines[NR] = $0
		# comments are not SQL, even where they quote some
		lit = ($0 ~ /^[ \t]*(\/\*|\*)/) ? "" : literals($0)
		if (lit != "") {
			if (stmt == "") stmt_line = NR
			stmt = stmt " " lit
		} else if (stmt != "") {
			check_statement(stmt, stmt_line); stmt = ""
		}
	}
	# (c) functions: a "{" in column 0 after a header with "(", up to "}" in column 0
	/^[A-Za-z_][A-Za-z0-9_]*\(/ && !in_func { cand = $0; sub(/\(.*/, "", cand); cand_line = NR }
	/^\{/ && !in_func {
		if (cand != "" && lines[NR - 1] ~ /\)[ \t]*$/) { in_func = 1; fname = cand; fline = cand_line; count = 0 }
		cand = ""
		next
	}
	/^\}/ && in_func {
		if (count > maxlines)
			report(fline, "(c) length", fname " is " count " lines long (SQL text not counted), more than " maxlines)
		in_func = 0
		next
	}
	in_func && $0 !~ /^[ \t]*"/ { count++ }
	END {
		if (stmt != "") check_statement(stmt, stmt_line)
		# (b) literal column numbers, calls joined across lines
		all = ""
		for (i = 1; i <= NR; i++) all = all lines[i] "\n"
		check_calls(all, "SPI_getbinval", 3)
		check_calls(all, "SPI_getvalue", 3)
		check_calls(all, "heap_getattr", 2)
		check_calls(all, "csp_spi_getdatum", 2)
		check_calls(all, "csp_spi_getcstring", 2)
		exit found > 0
	}
	function check_calls(text, fn, argno,   rest, offset, pos, depth, i, c, arg, k, start, line, tmp) {
		rest = text; offset = 0
		while ((pos = index(rest, fn "(")) > 0) {
			start = offset + pos
			# skip a mention inside a longer name (e.g. my_SPI_getbinval)
			if (pos > 1 && substr(rest, pos - 1, 1) ~ /[A-Za-z0-9_]/) {
				offset += pos + length(fn); rest = substr(rest, pos + length(fn) + 1); continue
			}
			i = pos + length(fn) + 1; depth = 0; k = 1; arg = ""
			for (; i <= length(rest); i++) {
				c = substr(rest, i, 1)
				if (c == "(") depth++
				else if (c == ")") { if (depth == 0) break; depth-- }
				else if (c == "," && depth == 0) {
					if (k == argno) break
					k++; arg = ""; continue
				}
				if (k == argno) arg = arg c
			}
			gsub(/[ \t\n]/, "", arg)
			if (arg ~ /^[0-9]+$/) {
				tmp = substr(text, 1, start)
				line = 1 + gsub(/\n/, "\n", tmp)
				report(line, "(b) column", fn " reads column " arg " by its position")
			}
			offset += i; rest = substr(rest, i + 1)
		}
	}
	' "$file" || status=1
done
exit $status
