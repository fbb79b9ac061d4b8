#!/usr/bin/python3
"""The README tour ("Getting started") through psycopg2 or psycopg 3,
asserting what a Python client actually receives: SQLSTATE, detail and hint
of a refused call; numeric money as exact decimal.Decimal; `date` columns as
datetime.date; timestamptz as aware datetimes; bigint ids as int.

    /usr/bin/python3 examples/python/tour.py            # psycopg2 (the default)
    /usr/bin/python3 examples/python/tour.py psycopg    # psycopg 3

Debian 12 packages both: python3-psycopg2 (2.9) and python3-psycopg (3.1).
Run it with Debian's /usr/bin/python3 (another python3 on PATH, e.g. pyenv's,
may lack the modules).  The two drivers map the types the same way; the few
places where they differ (connecting, the SQLSTATE attribute, JSON and uuid
parameters) are the two driver classes below, and every assertion is the
same for both.

Connects with the usual libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE,
PGPASSWORD) to a database where `CREATE EXTENSION csp_billing` was run and
nothing else: it creates the README's account, partner and customer.  The
role must be a member of csp_global_admin and, because the tour pins
csp.clock to write in 2025, of csp_time_admin (a superuser is both).
Prints TAP ("ok N - ..."); exits non-zero on the first failure.
"""

import datetime
import re
import sys
import traceback
import uuid
from decimal import Decimal


# ------------------------------------------------------------ the adapter --
# Everything that differs between the drivers.  What they share needs no
# adapting: %s placeholders, `with conn.cursor()`, fetchall() tuples, the
# exception hierarchy of PEP 249 (Error > DatabaseError > DataError ...),
# e.diag.message_primary/message_detail/message_hint, and the type mapping.

class Psycopg2:
    """psycopg2 2.9 (Debian python3-psycopg2)."""

    def __init__(self):
        import psycopg2
        import psycopg2.errors
        import psycopg2.extras
        self.label = "psycopg2 " + psycopg2.__version__.split()[0]
        self._connect = psycopg2.connect
        self.Error = psycopg2.Error
        self.DatabaseError = psycopg2.DatabaseError
        self.errors = psycopg2.errors
        # Interpolated client-side as a quoted literal: the server casts it
        # to the parameter's jsonb.
        self.Json = psycopg2.extras.Json
        # uuid arrives as str unless psycopg2.extras.register_uuid() is called.
        self.uuid_type = str

    def connect(self, **params):
        conn = self._connect(**params)
        conn.autocommit = True
        return conn

    @staticmethod
    def sqlstate(e):
        return e.pgcode


class Psycopg3:
    """psycopg 3.1 (Debian python3-psycopg)."""

    def __init__(self):
        import psycopg
        import psycopg.errors
        from psycopg.types.json import Jsonb
        self.label = "psycopg " + psycopg.__version__
        self._connect = psycopg.connect
        self.Error = psycopg.Error
        self.DatabaseError = psycopg.DatabaseError
        self.errors = psycopg.errors
        # psycopg 3 sends parameters apart from the query, each with its type:
        # a Json would arrive as json, which PostgreSQL does not cast to a
        # jsonb argument implicitly (42883, no such function).  Jsonb is jsonb.
        self.Json = Jsonb
        # uuid arrives as uuid.UUID, and a UUID can be passed back as it is.
        self.uuid_type = uuid.UUID

    def connect(self, **params):
        return self._connect(autocommit=True, **params)

    @staticmethod
    def sqlstate(e):
        return e.sqlstate


DRIVERS = {"psycopg2": Psycopg2, "psycopg": Psycopg3}
drv = None  # the chosen adapter, set by main()

UTC = datetime.timezone.utc
STEPS = []


def step(description):
    def register(fn):
        STEPS.append((description, fn))
        return fn
    return register


# libpq reads PGHOST etc. from the environment.  autocommit: each statement
# commits on its own, as in psql; without it a refused call would abort the
# transaction holding the whole tour.  One connection: csp.clock and TimeZone
# are session settings.
conn = None
ids = {}


def one(sql, params=()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
        assert len(rows) == 1, "one row from %s, got %d" % (sql, len(rows))
        return rows[0]


def rows_of(sql, params=()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def pin_clock(instant):
    # SET takes no parameters; set_config(name, value, false) is the same for
    # the session, with the value passed as a parameter.
    one("SELECT set_config('csp.clock', %s, false)", (instant,))


def refused(sql, params):
    """Runs sql expecting a refusal; returns the driver's Error."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
    except drv.Error as e:
        return e
    raise AssertionError("expected an error from %s" % sql)


@step("connect; session TimeZone UTC and csp.clock pinned at 2025-01-15 10:00+00")
def connect():
    global conn
    conn = drv.connect(application_name="csp_billing python tour")
    one("SELECT set_config('TimeZone', 'UTC', false)")
    pin_clock("2025-01-15 10:00+00")
    (now,) = one("SELECT csp.now()")
    # timestamptz arrives as an aware datetime in the session's TimeZone.
    assert now == datetime.datetime(2025, 1, 15, 10, 0, tzinfo=UTC), now
    assert now.utcoffset() == datetime.timedelta(0)


@step("R1: create_billing_account returns the bigint id as an int")
def account():
    (ids["account"],) = one(
        "SELECT csp.create_billing_account(name => %s, country => %s, currency => %s)",
        ("Contoso Distribution", "NL", "EUR"))
    # Python ints are exact at any size: no need for strings as in JavaScript.
    assert type(ids["account"]) is int and ids["account"] > 0


@step("R1: create_billing_profile, and its Default invoice section")
def profile():
    (ids["profile"],) = one(
        "SELECT csp.create_billing_profile(billing_account_id => %s, name => %s, po_number => %s)",
        (ids["account"], "Contoso NL", "PO-1"))
    assert type(ids["profile"]) is int
    (n,) = one("SELECT count(*) FROM csp.invoice_sections"
               " WHERE billing_profile_id = %s AND name = 'Default'", (ids["profile"],))
    assert n == 1


@step("R1.5, R3: partner linked with the MCA, customer added (address as Json) and approved")
def customer():
    one("SELECT csp.create_partner(%s, %s, 'direct_bill', %s)", ("fabrikam", "Fabrikam BV", "NL"))
    one("SELECT csp.link_partner_billing(%s, %s, %s, accept_mca => true)",
        ("fabrikam", ids["account"], ids["profile"]))
    (ids["customer"],) = one(
        "SELECT csp.add_customer(%s, %s, %s, %s, mca_attested => true)",
        ("fabrikam", "Acme BV", "NL",
         drv.Json({"street": "Main 1", "city": "Utrecht", "postal_code": "3511 AA"})))
    # str in psycopg2, uuid.UUID in psycopg 3; either goes back as a parameter.
    assert type(ids["customer"]) is drv.uuid_type, type(ids["customer"])
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", str(ids["customer"]))
    one("SELECT csp.set_customer_verification(%s, 'approved')", (ids["customer"],))


@step("R4: product and price, the price sent as Decimal('10.00')")
def catalog():
    one("SELECT csp.add_product(%s, %s)", ("M365-E3", "Microsoft 365 E3"))
    one("SELECT csp.set_price(%s, %s, %s, %s, %s)",
        ("M365-E3", "P1Y", "monthly", "EUR", Decimal("10.00")))


@step("X1: purchase 10 seats; date columns are datetime.date, timestamptz the right instant")
def purchase():
    (ids["sub"],) = one(
        "SELECT csp.purchase(customer_id => %s, sku_id => %s, quantity => %s)",
        (ids["customer"], "M365-E3", 10))
    term_start, term_end, quantity, until = one(
        "SELECT term_start, term_end, quantity, cancellation_allowed_until"
        "  FROM csp.subscriptions WHERE subscription_id = %s", (ids["sub"],))
    # A date is a calendar date: no zone, no midnight, nothing to shift.
    assert type(term_start) is datetime.date, type(term_start)
    assert (term_start, term_end) == (datetime.date(2025, 1, 15), datetime.date(2026, 1, 14))
    assert quantity == 10
    assert until == datetime.datetime(2025, 1, 22, 10, 0, tzinfo=UTC), until


@step("X2: five more seats on 1 February")
def add_seats():
    pin_clock("2025-02-01 09:00+00")
    one("SELECT csp.change_quantity(%s, %s)", (ids["sub"], 15))


@step("X3: reducible_licenses lists 5 seats until 2025-02-08 09:00; reduce to 12")
def reduce_seats():
    pin_clock("2025-02-03 10:00+00")
    lots = rows_of("SELECT quantity, reducible_until FROM csp.reducible_licenses(%s)", (ids["sub"],))
    assert lots == [(5, datetime.datetime(2025, 2, 8, 9, 0, tzinfo=UTC))], lots
    one("SELECT csp.change_quantity(%s, %s)", (ids["sub"], 12))


@step("X4: the refused reduction arrives as SQLSTATE NC002 with detail (R5.2) and hint")
def refused_reduction():
    pin_clock("2025-02-09 12:00+00")
    e = refused("SELECT csp.change_quantity(%s, %s)", (ids["sub"], 10))
    assert drv.sqlstate(e) == "NC002", drv.sqlstate(e)
    # A custom SQLSTATE class (NC) has no subclass in the driver's errors
    # module: it arrives as the base DatabaseError, so test the SQLSTATE.
    assert type(e) is drv.DatabaseError, type(e)
    assert e.diag.severity == "ERROR"
    assert re.fullmatch(r"cannot remove 2 licenses from subscription .*: none is reducible",
                        e.diag.message_primary), e.diag.message_primary
    assert "(R5.2)" in e.diag.message_detail, e.diag.message_detail
    assert "after the renewal on 2026-01-15" in e.diag.message_hint, e.diag.message_hint
    (quantity,) = one("SELECT quantity FROM csp.subscriptions WHERE subscription_id = %s",
                      (ids["sub"],))
    assert quantity == 12


@step("bad input: an over-long friendly name is 22023, detail and hint name the limit")
def too_long():
    e = refused("SELECT csp.rename(%s, %s)", (ids["sub"], "x" * 201))
    assert drv.sqlstate(e) == "22023", drv.sqlstate(e)
    # Standard SQLSTATEs do have their class in the errors module.
    assert isinstance(e, drv.errors.InvalidParameterValue), type(e)
    assert "friendly_name" in e.diag.message_primary
    assert "Limits" in e.diag.message_detail, e.diag.message_detail
    assert "200 characters" in e.diag.message_hint, e.diag.message_hint


@step("bad input: a bad currency code is 22023 with a hint (and no detail)")
def bad_currency():
    e = refused("SELECT csp.record_payment(%s, %s, %s)", (ids["profile"], Decimal("1.00"), "EURO"))
    assert drv.sqlstate(e) == "22023", drv.sqlstate(e)
    assert "ISO 4217" in e.diag.message_primary
    assert e.diag.message_detail is None
    assert "three-letter code" in e.diag.message_hint


@step("X5: cycle charges; every amount arrives as an exact Decimal")
def cycle_charges():
    pin_clock("2025-02-15 00:05+00")
    (n,) = one("SELECT csp.run_cycle_charges()")
    assert n == 1
    lines = rows_of(
        "SELECT charge_type, charge_start, charge_end, quantity, days_charged, days_in_cycle, amount"
        "  FROM csp.line_items WHERE subscription_id = %s ORDER BY posted_at", (ids["sub"],))
    d = datetime.date
    # quantity is numeric too (a metered quantity can be fractional): Decimal.
    assert lines == [
        ("new", d(2025, 1, 15), d(2025, 2, 14), Decimal("10"), 31, 31, Decimal("100.00")),
        ("addQuantity", d(2025, 2, 1), d(2025, 2, 14), Decimal("5"), 14, 31, Decimal("22.58")),
        ("removeQuantity", d(2025, 2, 3), d(2025, 2, 14), Decimal("-3"), 12, 31, Decimal("-11.61")),
        ("cycleCharge", d(2025, 2, 15), d(2025, 3, 14), Decimal("12"), 28, 28, Decimal("120.00")),
    ], lines
    # The scale comes along: str() gives the server's digits.
    assert [str(line[6]) for line in lines] == ["100.00", "22.58", "-11.61", "120.00"]
    assert all(type(line[3]) is Decimal and type(line[6]) is Decimal for line in lines)
    (total,) = one("SELECT sum(amount) FROM csp.line_items WHERE subscription_id = %s", (ids["sub"],))
    assert total == sum(line[6] for line in lines) == Decimal("230.97"), total


@step("X9: January invoice G000000001, dated as the server says, total Decimal('100.00')")
def invoicing():
    (n,) = one("SELECT csp.run_invoicing(%s)", ("2025-02-01 00:30+00",))
    assert n == 1
    rows = rows_of(
        "SELECT invoice_number, period_start, invoice_date, published_on, due_date, total, status"
        "  FROM csp.billing_overview WHERE billing_profile_id = %s", (ids["profile"],))
    d = datetime.date
    assert rows == [("G000000001", d(2025, 1, 1), d(2025, 2, 1), d(2025, 2, 8), d(2025, 4, 2),
                     Decimal("100.00"), "unpaid")], rows


@step("R14.4: pay it quoting the invoice number; balances arrive as exact Decimals")
def payment():
    (payment_id,) = one("SELECT csp.record_payment(%s, %s, %s, remittance => %s)",
                        (ids["profile"], Decimal("100.00"), "EUR", drv.Json(["G000000001"])))
    assert type(payment_id) is int
    balance = one("SELECT invoiced, paid, balance, unallocated FROM csp.account_balance"
                  " WHERE billing_profile_id = %s", (ids["profile"],))
    assert balance == (Decimal("100.00"), Decimal("100.00"), Decimal("0.00"), Decimal("0.00")), balance
    assert [str(v) for v in balance] == ["100.00", "100.00", "0.00", "0.00"]
    (status,) = one("SELECT status FROM csp.billing_overview WHERE invoice_number = 'G000000001'")
    assert status == "paid", status


def main(argv):
    global drv
    name = argv[1] if len(argv) > 1 else "psycopg2"
    if len(argv) > 2 or name not in DRIVERS:
        print("usage: %s [%s]" % (argv[0], "|".join(DRIVERS)), file=sys.stderr)
        return 2
    try:
        drv = DRIVERS[name]()
    except ImportError as e:
        print("%s: %s cannot import %s: %s" % (argv[0], sys.executable, name, e), file=sys.stderr)
        return 2
    print("1..%d" % len(STEPS), flush=True)
    print("# driver: %s" % drv.label, flush=True)
    try:
        for n, (description, fn) in enumerate(STEPS, 1):
            try:
                fn()
            except Exception as e:  # any failure: report it as TAP, then stop
                print("not ok %d - %s" % (n, description))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
                diag = getattr(e, "diag", None)
                if diag is not None:
                    print("# sqlstate: %s\n# detail: %s\n# hint: %s"
                          % (drv.sqlstate(e), diag.message_detail, diag.message_hint))
                # Later steps build on this one: stop; the plan shows what never ran.
                return 1
            print("ok %d - %s" % (n, description), flush=True)
    finally:
        if conn is not None:
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
