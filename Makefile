# csp_billing — PGXS build.
#
#   make              build the extension (C module + install script)
#   make install      install into the PostgreSQL found by PG_CONFIG
#   make test         install missing packages, build, run every suite on a
#                     throw-away cluster, print "N passed, M failed"
#   make demo         same set-up, then the sample distributor history
#   make invoice-pdfs the demo, then every document as PDF in demo/invoices
#   make bench        benchmarks (bench/), not part of make test

EXTENSION    = csp_billing
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big   = $(EXTENSION)

SRCS        := $(sort $(wildcard src/*.c))
OBJS        := $(SRCS:.c=.o)
# (not HEADERS: PGXS would install a variable of that name into the server's include dir)
CSP_HEADERS := $(wildcard src/*.h)

# The current install script is built from sql/csp_billing.sql; released
# upgrade scripts (sql/csp_billing--A--B.sql) are shipped as they are.
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        := $(filter-out $(DATA_built) sql/$(EXTENSION).sql, $(wildcard sql/$(EXTENSION)--*.sql))

REGRESS     := $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
ISOLATION   := $(sort $(patsubst test/specs/%.spec,%,$(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test

PG_CONFIG   ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
# The server's headers are system headers to us: -Wextra then reports our
# code only, not the unused parameters of PostgreSQL's own inline functions.
PG_CPPFLAGS  = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
PG_CFLAGS    = -Wall -Wextra -Werror=implicit-function-declaration
EXTRA_CLEAN  = $(DATA_built)

# The pg_config of a fresh machine may not exist yet: `make test` and
# `make demo` install it first (scripts/deps.sh) and then re-enter make.
ifneq ($(shell command -v $(PG_CONFIG) 2>/dev/null),)
ifneq ($(wildcard $(shell $(PG_CONFIG) --pgxs 2>/dev/null)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql $(EXTENSION).control
	sed 's/@EXTVERSION@/$(EXTVERSION)/g' $< > $@

$(OBJS): $(CSP_HEADERS)

.PHONY: test demo bench soak deps invoice-pdfs
deps:
	./scripts/deps.sh

test: deps
	./scripts/with-cluster.sh ./scripts/run-tests.sh

demo: deps
	./scripts/with-cluster.sh ./scripts/demo.sh

# The demo, then every document as PDF in demo/invoices (headless Chromium)
invoice-pdfs: deps
	./scripts/with-cluster.sh bash -c './scripts/demo.sh && PGDATABASE=csp_demo ./scripts/invoice-pdfs.sh $(CURDIR)/demo/invoices'

bench: deps
	./scripts/with-cluster.sh ./bench/run.sh

# Robustness runs, not part of make test (issue 6, item 8):
#   make fuzz            libFuzzer harnesses in fuzz/, FUZZ_SECONDS each (default 60)
#   make sqlsmith        sqlsmith as a non-superuser on a database with history
#   make check-memory    the regression suites against a postmaster under valgrind
.PHONY: fuzz sqlsmith check-memory
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

sqlsmith: deps
	./scripts/sqlsmith.sh

check-memory: deps
	./scripts/check-memory.sh

# The rules of the house (issue 13): SQL that writes or locks a table only
# in its owner, columns read by Anum_ names, functions under 120 lines.
# Prints every violation and fails if there is one; not part of make test yet.
.PHONY: check-rooms
check-rooms:
	./scripts/check-rooms.sh

# Seeded randomized replay for minutes (test/soak/run.sh): DURATION seconds
# (default 300), MONTHS and OPS per seed; SEED=... replays one seed.
soak: deps
	./scripts/with-cluster.sh ./test/soak/run.sh
