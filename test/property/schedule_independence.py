#!/usr/bin/python3
"""Schedule-independence property test (issue 11, item 5; R6.6, R11, R11.5, R13.1).

For each seed, a generator draws a billing history (purchases, seat changes,
cancels, upgrades, suspend/reactivate, auto-renew off, usage, payments and
allocations, over 2027-06-01 .. 2028-09-30: month ends, 29 Feb 2028, an NCE
and a legacy profile).  The history is replayed in lockstep in two fresh
databases that differ only in when csp.tick() runs:

  A  a tick at every day boundary (00:00 UTC), before the day's actions
  B  ticks at random gaps of 1..40 days (same boundary instants)

and both get a last tick at the same end instant.  Every action runs at the
same pinned instant (SET csp.clock) in both, each in its own transaction:
equal outcomes commit; if they differ and one side is NC409 ("renewal
pending", R6.7: legitimately refused where the sparse job has not renewed
yet) both are rolled back and the action is dropped; any other difference
is a failure.  A refusal must carry an NC SQLSTATE (a rule reason) in both.

Then the two ledgers must be equal line by line (csp.line_items, random
uuids replaced by the generator's logical names, reference_id by the group
of lines that share it), invoice by invoice (csp.billing_overview per
profile, currency, period and document type, with their lines; invoice
numbers may differ), and csp.account_balance and csp.unallocated_payments.

Usage (libpq environment: PGHOST, PGPORT, PGUSER = a superuser):
  schedule_independence.py                 PROPERTY_SEEDS seeds (default 20), 1..N
  SEED=7 schedule_independence.py          replay one seed, verbose on mismatch
  PROPERTY_SEEDS=200 PROPERTY_FIRST_SEED=1000 ...   more seeds (make soak)
Exit status 0 iff every seed held.  The last line is
  "property: N passed, M failed" (one unit per seed).
"""
import collections
import datetime as dt
import hashlib
import os
import random
import sys
import time

import psycopg2
import psycopg2.extensions

UTC = dt.timezone.utc
START = dt.date(2027, 6, 1)
END = dt.date(2028, 9, 30)              # last day with actions
END_INSTANT = dt.datetime(2028, 10, 1, tzinfo=UTC)  # final tick in both
MAX_SUBS = int(os.environ.get("PROPERTY_MAX_SUBS", "24"))
SHOW = int(os.environ.get("PROPERTY_SHOW", "8"))   # rows shown per mismatch
TEMPLATE = "csp_prop_template"
# PROPERTY_SPARSE=0: a control run, B ticks daily too; the comparison must
# then find nothing whatever the engine does (a check of the test itself)
SPARSE = os.environ.get("PROPERTY_SPARSE", "1") != "0"


def connect(db):
    c = psycopg2.connect(dbname=db)
    c.set_session(autocommit=False)
    with c.cursor() as cur:
        cur.execute("SET timezone = 'UTC'; SET client_min_messages = warning; SET datestyle = 'ISO, YMD'")
    c.commit()
    return c


def admin_exec(sql):
    c = psycopg2.connect(dbname="postgres")
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute("SET client_min_messages = warning")
        cur.execute(sql)
    c.close()


def make_template():
    admin_exec(f"DROP DATABASE IF EXISTS {TEMPLATE}")
    admin_exec(f"CREATE DATABASE {TEMPLATE} TEMPLATE template0")
    c = psycopg2.connect(dbname=TEMPLATE)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute("CREATE EXTENSION csp_billing")
    c.close()


class Side:
    """One database and the uuids / ids it gave to the generator's names."""

    def __init__(self, name, db):
        self.name = name
        self.db = db
        self.conn = connect(db)
        self.cur = self.conn.cursor()
        self.ids = {}           # logical name -> id in this database

    def run(self, at, sql, args):
        """Run one statement at instant `at` in its own transaction, left
        open; returns ('ok', value) or (sqlstate, message)."""
        try:
            self.cur.execute("SET csp.clock = %s", (at.isoformat(),))
            self.cur.execute(sql, args)
            row = self.cur.fetchone() if self.cur.description else None
            return ("ok", row[0] if row else None)
        except psycopg2.Error as e:
            return (e.pgcode or "?????", (e.pgerror or str(e)).strip().splitlines()[0])

    def commit(self):
        self.conn.commit()

    def rollback(self):
        self.conn.rollback()

    def query(self, sql, args=()):
        self.cur.execute(sql, args)
        rows = self.cur.fetchall()
        self.conn.rollback()
        return rows

    def close(self):
        self.conn.close()


def ts(day, minutes=0):
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(minutes=minutes)


def days(a, b):
    d = a
    while d <= b:
        yield d
        d += dt.timedelta(days=1)


class Run:
    def __init__(self, seed, verbose):
        self.seed = seed
        self.verbose = verbose
        self.rng = random.Random(seed)
        self.sides = []
        self.failures = []
        self.stats = collections.Counter()
        self.refused = collections.Counter()
        self.subs = {}          # logical subscription -> dict(cust, sku, profile, trial)
        self.payments = {}      # logical payment -> profile
        self.nsub = 0
        self.npay = 0

    # ------------------------------------------------------------ lockstep --
    def both(self, at, sql, args=(), kind="setup", name=None):
        """The action in both databases at instant `at`.  Returns the value
        of side A when both succeeded (and maps `name` to each side's value),
        else None."""
        ra = self.sides[0].run(at, sql, args)
        rb = self.sides[1].run(at, sql, args)
        self.stats["attempted"] += 1 if kind != "setup" else 0
        if ra[0] == "ok" and rb[0] == "ok":
            for s, r in zip(self.sides, (ra, rb)):
                s.commit()
                if name:
                    s.ids[name] = r[1]
            if kind != "setup":
                self.stats["succeeded"] += 1
                self.stats["ok " + kind] += 1
            return ra[1]
        for s in self.sides:
            s.rollback()
        if ra[0] == rb[0]:
            # refused alike: must be a rule reason (an NC code); set-up
            # must not be refused at all
            if kind == "setup" or not ra[0].startswith("NC"):
                self.fail(f"{kind} at {at}: refused in both with {ra[0]} (not a rule reason): {ra[1]}\n"
                          f"    statement: {sql} {self.show_args(args)}")
            self.refused[ra[0]] += 1
            return None
        if "NC409" in (ra[0], rb[0]):
            self.stats["dropped_nc409"] += 1
            return None
        self.fail(f"{kind} at {at}: outcomes differ: daily {ra[0]} {ra[1] if ra[0] != 'ok' else ''} / "
                  f"sparse {rb[0]} {rb[1] if rb[0] != 'ok' else ''}\n    statement: {sql} {self.show_args(args)}")
        return None

    def show_args(self, args):
        return repr(args) if args else ""

    def fail(self, msg):
        # the generator's names instead of this run's random uuids, so that
        # a replay of the seed prints the same report
        for side in self.sides:
            for k, v in side.ids.items():
                if isinstance(v, str) and len(v) == 36 and v in msg:
                    msg = msg.replace(v, k)
        self.failures.append(msg)

    def each(self, at, sql, per_side_args, kind, name=None):
        """Like both(), but with arguments that differ per side (mapped ids)."""
        ra = self.sides[0].run(at, sql, per_side_args(self.sides[0]))
        rb = self.sides[1].run(at, sql, per_side_args(self.sides[1]))
        self.stats["attempted"] += 1 if kind != "setup" else 0
        if ra[0] == "ok" and rb[0] == "ok":
            for s, r in zip(self.sides, (ra, rb)):
                s.commit()
                if name:
                    s.ids[name] = r[1]
            if kind != "setup":
                self.stats["succeeded"] += 1
                self.stats["ok " + kind] += 1
            return (ra[1], rb[1])
        for s in self.sides:
            s.rollback()
        if ra[0] == rb[0]:
            if kind == "setup" or not ra[0].startswith("NC"):
                self.fail(f"{kind} at {at}: refused in both with {ra[0]} (not a rule reason): {ra[1]}\n"
                          f"    statement: {sql} (daily args {per_side_args(self.sides[0])})")
            self.refused[ra[0]] += 1
            return None
        if "NC409" in (ra[0], rb[0]):
            self.stats["dropped_nc409"] += 1
            return None
        self.fail(f"{kind} at {at}: outcomes differ: daily {ra[0]} {ra[1] if ra[0] != 'ok' else ''} / "
                  f"sparse {rb[0]} {rb[1] if rb[0] != 'ok' else ''}\n"
                  f"    statement: {sql} (daily args {per_side_args(self.sides[0])})")
        return None

    def tick(self, side, at):
        r = side.run(at, "SELECT csp.tick()", ())
        if r[0] != "ok":
            side.rollback()
            self.fail(f"tick at {at} in {side.name} failed: {r[0]} {r[1]}")
        else:
            side.commit()

    # --------------------------------------------------------------- setup --
    def setup(self):
        at = ts(START - dt.timedelta(days=30), 9 * 60)
        b = self.both
        b(at, "SELECT csp.create_billing_account('Fabrikam Distribution', 'NL', 'EUR')", name="acct_nce")
        b(at, "SELECT csp.create_billing_account('Tailspin Toys BV', 'NL', 'EUR')", name="acct_legacy")
        self.each(at, "SELECT csp.create_billing_profile(billing_account_id => %s, name => 'Fabrikam NL')",
                  lambda s: (s.ids["acct_nce"],), "setup", name="nce")
        self.each(at, "SELECT csp.create_billing_profile(billing_account_id => %s, name => 'Tailspin (legacy)', "
                      "billing_model => 'legacy', anniversary_day => 12)",
                  lambda s: (s.ids["acct_legacy"],), "setup", name="legacy")
        b(at, "SELECT csp.create_partner('p1', 'Northwind Partners', 'direct_bill', 'NL')")
        b(at, "SELECT csp.create_partner('prov', 'Contoso Distribution', 'indirect_provider', 'NL')")
        b(at, "SELECT csp.create_partner('res', 'Adatum IT', 'indirect_reseller', 'NL', indirect_provider_id => 'prov')")
        b(at, "SELECT csp.create_partner('tailspin', 'Tailspin Toys BV', 'direct_bill', 'NL')")
        for partner, prof in (("p1", "nce"), ("prov", "nce"), ("tailspin", "legacy")):
            acct = "acct_legacy" if prof == "legacy" else "acct_nce"
            self.each(at, "SELECT csp.link_partner_billing(%s, %s, %s, accept_mca => true)",
                      lambda s, p=partner, a=acct, pr=prof: (p, s.ids[a], s.ids[pr]), "setup")
        self.customers = []     # (logical, partner, profile, reseller)
        for i, (partner, prof, res) in enumerate([("p1", "nce", None), ("p1", "nce", None),
                                                  ("prov", "nce", "res"), ("prov", "nce", "res"),
                                                  ("tailspin", "legacy", None), ("tailspin", "legacy", None)]):
            c = f"c{i + 1}"
            b(at, "SELECT csp.add_customer(%s, %s, 'NL', mca_attested => true)", (partner, f"Customer {i + 1} BV"), name=c)
            self.each(at, "SELECT csp.set_customer_verification(%s, 'approved')", lambda s, c=c: (s.ids[c],), "setup")
            self.customers.append((c, partner, prof, res))
        for sku, name, kw in (("M365", "Microsoft 365 E3", ""), ("E5", "Microsoft 365 E5", ""),
                              ("COPILOT", "Copilot", ", addon_of => ARRAY['M365', 'E5'], addon_max_ratio => 1"),
                              ("M365_TRIAL", "Microsoft 365 E3 Trial", ", trial_of => 'M365'"),
                              ("DYN", "Dynamics 365 (USD)", ""),
                              ("AZ", "Azure plan", ", billing_type => 'usage'")):
            b(at, f"SELECT csp.add_product(%s, %s{kw})", (sku, name))
        for sku, cur, m, y, p1m in (("M365", "EUR", 10.00, 120.00, 12.00), ("E5", "EUR", 20.00, 240.00, 24.00),
                                    ("COPILOT", "EUR", 30.00, 360.00, 36.00), ("DYN", "USD", 50.00, 600.00, 60.00)):
            b(at, "SELECT csp.set_price(%s, 'P1Y', 'monthly', %s, %s)", (sku, cur, m))
            b(at, "SELECT csp.set_price(%s, 'P1Y', 'annual', %s, %s)", (sku, cur, y))
            b(at, "SELECT csp.set_price(%s, 'P1M', 'monthly', %s, %s)", (sku, cur, p1m))
        b(at, "SELECT csp.add_upgrade_path('M365', 'E5')")
        # an exchange rate for every day, different each day: a line priced
        # in USD shows which day's rate it used
        b(at, "SELECT count(csp.set_fx_rate('USD', 'EUR', d::date, 0.9 + (d::date - date '2027-01-01') / 10000.0)) "
              "FROM generate_series(date '2027-01-01', date '2028-12-31', interval '1 day') d")

    # ----------------------------------------------------------- generator --
    def state(self, logical):
        """Status, quantity, sku, is_trial, term_end of a subscription in A."""
        a = self.sides[0]
        rows = a.query("SELECT status, quantity, sku_id, is_trial, term_end FROM csp.subscriptions "
                       "WHERE subscription_id = %s", (a.ids[logical],))
        return rows[0] if rows else None

    def pick(self, pred):
        names = sorted(n for n in self.subs if n in self.sides[0].ids and n in self.sides[1].ids)
        cands = []
        for n in names:
            st = self.state(n)
            if st and pred(n, st):
                cands.append((n, st))
        return self.rng.choice(cands) if cands else (None, None)

    def new_sub(self, cust, sku, prof, trial=False):
        self.nsub += 1
        n = f"s{self.nsub:02d}"
        self.subs[n] = dict(cust=cust, sku=sku, profile=prof, trial=trial)
        return n

    def action(self, at):
        r = self.rng.random
        kinds = ["purchase"] * 4 + ["seats_up"] * 2 + ["seats_down"] * 2 + ["cancel", "upgrade", "suspend",
                 "reactivate", "auto_renew_off", "usage", "usage", "payment", "payment", "allocate",
                 "allocate", "addon", "trial", "convert_trial"]
        kind = self.rng.choice(kinds)
        while kind in ("purchase", "addon", "trial", "convert_trial") and self.nsub >= MAX_SUBS:
            kind = self.rng.choice(kinds)
        getattr(self, "act_" + kind)(at)

    def act_purchase(self, at):
        cust, partner, prof, res = self.rng.choice(self.customers)
        x = self.rng.random()
        if x < 0.12:
            sku, qty = "AZ", 1
        elif x < 0.25:
            sku, qty = "DYN", self.rng.randint(1, 10)
        elif x < 0.4:
            sku, qty = "E5", self.rng.randint(1, 30)
        else:
            sku, qty = "M365", self.rng.randint(1, 40)
        term = "P1M" if self.rng.random() < 0.3 else "P1Y"
        freq = "annual" if term == "P1Y" and self.rng.random() < 0.3 else "monthly"
        align = self.rng.random() < 0.2
        n = self.new_sub(cust, sku, prof)
        self.each(at, "SELECT csp.purchase(customer_id => %s, sku_id => %s, quantity => %s, term => %s, "
                      "billing_frequency => %s, align_to_calendar_month => %s, reseller_id => %s, friendly_name => %s)",
                  lambda s: (s.ids[cust], sku, qty, term, freq, align, res, n), "purchase", name=n)

    def act_addon(self, at):
        base, st = self.pick(lambda n, st: st[0] == "active" and st[2] in ("M365", "E5") and not st[3])
        if not base:
            return
        info = self.subs[base]
        res = [c for c in self.customers if c[0] == info["cust"]][0][3]
        qty = self.rng.randint(1, max(1, st[1]))
        n = self.new_sub(info["cust"], "COPILOT", info["profile"])
        freq = "monthly"
        self.each(at, "SELECT csp.purchase(customer_id => %s, sku_id => 'COPILOT', quantity => %s, "
                      "billing_frequency => %s, coterminate_with => %s, reseller_id => %s, friendly_name => %s)",
                  lambda s: (s.ids[info["cust"]], qty, freq, s.ids[base], res, n), "addon", name=n)

    def act_trial(self, at):
        cust, partner, prof, res = self.rng.choice(self.customers)
        n = self.new_sub(cust, "M365_TRIAL", prof, trial=True)
        self.each(at, "SELECT csp.purchase(customer_id => %s, sku_id => 'M365_TRIAL', quantity => 25, "
                      "reseller_id => %s, friendly_name => %s)",
                  lambda s: (s.ids[cust], res, n), "trial", name=n)

    def act_convert_trial(self, at):
        t, st = self.pick(lambda n, st: st[3] and st[0] == "active")
        if not t:
            return
        info = self.subs[t]
        n = self.new_sub(info["cust"], "M365", info["profile"])
        q = 25 + self.rng.randint(0, 10)
        self.each(at, "SELECT csp.convert_trial(%s, quantity => %s)",
                  lambda s: (s.ids[t], q), "convert_trial", name=n)

    def act_seats_up(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and not st[3] and st[2] != "AZ")
        if n:
            q = st[1] + self.rng.randint(1, 8)
            self.each(at, "SELECT csp.change_quantity(%s, %s)", lambda s: (s.ids[n], q), "seats_up")

    def act_seats_down(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and not st[3] and st[2] != "AZ" and st[1] > 1)
        if n:
            q = max(1, st[1] - self.rng.randint(1, 5))
            self.each(at, "SELECT csp.change_quantity(%s, %s)", lambda s: (s.ids[n], q), "seats_down")

    def act_cancel(self, at):
        n, st = self.pick(lambda n, st: st[0] in ("active", "suspended") and not st[3])
        if n:
            self.each(at, "SELECT csp.cancel(%s)", lambda s: (s.ids[n],), "cancel")

    def act_upgrade(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and st[2] == "M365" and not st[3])
        if not n:
            return
        q = st[1] if self.rng.random() < 0.5 else max(1, self.rng.randint(1, st[1]))
        r = self.each(at, "SELECT csp.upgrade(%s, 'E5', quantity => %s)", lambda s: (s.ids[n], q), "upgrade")
        if r:
            ra, rb = r
            same_a, same_b = str(ra) == str(self.sides[0].ids[n]), str(rb) == str(self.sides[1].ids[n])
            if same_a != same_b:
                self.fail(f"upgrade at {at}: in place in one database only")
            elif not same_a:
                info = self.subs[n]
                m = self.new_sub(info["cust"], "E5", info["profile"])
                self.sides[0].ids[m], self.sides[1].ids[m] = ra, rb

    def act_suspend(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and not st[3])
        if n:
            self.each(at, "SELECT csp.suspend(%s)", lambda s: (s.ids[n],), "suspend")

    def act_reactivate(self, at):
        n, st = self.pick(lambda n, st: st[0] == "suspended")
        if n:
            self.each(at, "SELECT csp.reactivate(%s)", lambda s: (s.ids[n],), "reactivate")

    def act_auto_renew_off(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and not st[3])
        if n:
            self.each(at, "SELECT csp.set_auto_renew(%s, false)", lambda s: (s.ids[n],), "auto_renew_off")

    def act_usage(self, at):
        n, st = self.pick(lambda n, st: st[0] == "active" and st[2] == "AZ")
        if n:
            q = round(self.rng.uniform(1, 1000), 3)
            meter = self.rng.choice(["compute", "storage"])
            # R11.5: only the current day, so late usage cannot land on
            # different invoices depending on when invoicing ran
            self.each(at, "SELECT csp.record_usage(%s, %s, %s, %s, 0.05, 'USD')",
                      lambda s: (s.ids[n], at.date(), meter, q), "usage")

    def act_payment(self, at):
        prof = self.rng.choice(["nce", "legacy"])
        amt = round(self.rng.uniform(10, 800), 2)
        self.npay += 1
        p = f"pay{self.npay:03d}"
        r = self.each(at, "SELECT csp.record_payment(%s, %s, 'EUR', reference => %s)",
                      lambda s: (s.ids[prof], amt, p), "payment", name=p)
        if r:
            self.payments[p] = prof

    def act_allocate(self, at):
        pays = [p for p in sorted(self.payments) if p in self.sides[0].ids]
        if not pays:
            return
        p = self.rng.choice(pays)
        prof = self.payments[p]
        # invoices that exist in both databases, by their logical key
        open_ = []
        per_side = []
        for s in self.sides:
            rows = s.query("SELECT period_start, document_type, invoice_number, amount_due FROM csp.billing_overview "
                           "WHERE billing_profile_id = %s AND currency = 'EUR' AND document_type <> 'void_note' "
                           "AND status <> 'void' AND amount_due > 0", (s.ids[prof],))
            per_side.append({(r[0], r[1]): (r[2], r[3]) for r in rows})
        keys = sorted(set(per_side[0]) & set(per_side[1]))
        if not keys:
            return
        k = self.rng.choice(keys)
        un = []
        for s in self.sides:
            rows = s.query("SELECT unallocated FROM csp.unallocated_payments WHERE payment_id = %s", (s.ids[p],))
            un.append(rows[0][0] if rows else 0)
        cap = min(un + [per_side[0][k][1], per_side[1][k][1]])
        if cap <= 0:
            return
        amt = min(cap, round(self.rng.uniform(1, 500), 2))
        invs = {s.name: ps[k][0] for s, ps in zip(self.sides, per_side)}
        self.each(at, "SELECT csp.allocate_payment(%s, %s, %s)",
                  lambda s: (s.ids[p], invs[s.name], amt), "allocate")

    # ------------------------------------------------------------- history --
    def history(self):
        a, b = self.sides
        next_b = START + dt.timedelta(days=self.rng.randint(1, 40))
        b_ticks = 0
        for day in days(START, END):
            t0 = ts(day)
            self.tick(a, t0)
            if day == next_b or not SPARSE:
                self.tick(b, t0)
                b_ticks += 1
                next_b = day + dt.timedelta(days=self.rng.randint(1, 40))
            n = self.rng.choice([0, 0, 1, 1, 1, 2, 2, 3])
            for m in sorted(self.rng.randint(30, 23 * 60 + 50) for _ in range(n)):
                self.action(t0 + dt.timedelta(minutes=m))
        self.tick(a, END_INSTANT)
        self.tick(b, END_INSTANT)
        self.stats["ticks_daily"] = (END - START).days + 2
        self.stats["ticks_sparse"] = b_ticks + 1

    # ------------------------------------------------------------- compare --
    def labels(self, side):
        """uuid/id (as text) -> logical name, for customers, subscriptions
        (also those the jobs created: named after their parent), profiles,
        sections, payments and invoices."""
        # uuids are unique; bigint ids are not (profile 1, payment 1): those
        # get the prefix of their kind
        def kind(name):
            if name in ("nce", "legacy"):
                return "prof:"
            if name.startswith("acct_"):
                return "acct:"
            if name.startswith("pay"):
                return "pay:"
            return ""
        lab = {kind(k) + str(v): k for k, v in side.ids.items() if v is not None}
        for prof in ("nce", "legacy"):
            for sec, name in side.query("SELECT invoice_section_id, name FROM csp.invoice_sections "
                                        "WHERE billing_profile_id = %s", (side.ids[prof],)):
                lab["sec:" + str(sec)] = f"{prof}/{name}"
        rows = side.query("SELECT subscription_id, parent_subscription_id, sku_id, term_start FROM csp.subscriptions "
                          "ORDER BY term_start, sku_id")
        changed = True
        while changed:
            changed = False
            for sid, parent, sku, start in rows:
                if str(sid) in lab:
                    continue
                if parent is None or str(parent) in lab:
                    lab[str(sid)] = f"{lab.get(str(parent), '?')}>{sku}@{start}"
                    changed = True
        for inv, prof, cur, ps, pe, doc in side.query(
                "SELECT invoice_number, billing_profile_id, currency, period_start, period_end, document_type "
                "FROM csp.billing_overview"):
            lab["inv:" + inv] = f"{lab.get('prof:' + str(prof), prof)}/{cur}/{ps}..{pe}/{doc}"
        return lab

    def lines(self, side, lab):
        rows = side.query(
            "SELECT invoice_number, billing_profile_id, invoice_section_id, partner_id, customer_id, customer_name, "
            "subscription_id, sku_id, charge_type, charge_start, charge_end, posted_at, quantity, unit_price, "
            "days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate, reference_id "
            "FROM csp.line_items")
        def L(prefix, v):
            return None if v is None else lab.get(prefix + str(v), f"<unmapped {v}>")
        mapped = []
        for r in rows:
            mapped.append([L("inv:", r[0]), L("prof:", r[1]), L("sec:", r[2]), r[3], L("", r[4]), r[5], L("", r[6]),
                           r[7], r[8], str(r[9]), str(r[10]), r[11].astimezone(UTC).isoformat(), str(r[12]),
                           str(r[13]), r[14], r[15], str(r[16]), r[17], r[18], str(r[19]), r[20]])
        # reference_id: the lines that share it, described without ids
        groups = collections.defaultdict(list)
        for m in mapped:
            if m[20] is not None:
                groups[m[20]].append(tuple(m[6:11] + m[12:13] + m[16:17]))
        for m in mapped:
            if m[20] is not None:
                g = sorted(map(repr, groups[m[20]]))
                m[20] = "ref:" + hashlib.md5("|".join(g).encode()).hexdigest()[:8] + f"({len(g)})"
        return sorted(tuple("" if x is None else str(x) for x in m) for m in mapped)

    LINE_COLS = ("invoice", "profile", "section", "partner", "customer", "customer_name", "subscription", "sku",
                 "charge_type", "charge_start", "charge_end", "posted_at", "quantity", "unit_price", "days_charged",
                 "days_in_cycle", "amount", "currency", "pricing_currency", "fx_rate", "reference")

    def invoices(self, side, lab, lines):
        by_inv = collections.defaultdict(list)
        for l in lines:
            by_inv[l[0]].append(l[1:])
        rows = side.query("SELECT invoice_number, billing_profile_id, currency, period_start, period_end, "
                          "document_type, replaces_invoice_number, invoice_date, published_on, due_date, total, "
                          "paid, amount_due, status FROM csp.billing_overview")
        out = []
        for r in rows:
            key = lab["inv:" + r[0]]
            out.append((key, lab.get("inv:" + str(r[6]), "") if r[6] else "", str(r[7]), str(r[8]), str(r[9]),
                        str(r[10]), str(r[11]), str(r[12]), r[13], tuple(sorted(by_inv.get(key, [])))))
        return sorted(out)

    def balances(self, side, lab):
        rows = side.query("SELECT billing_profile_id, currency, invoiced, paid, balance, overdue, unallocated "
                          "FROM csp.account_balance")
        return sorted(tuple([lab.get("prof:" + str(r[0]), str(r[0]))] + [str(x) for x in r[1:]]) for r in rows)

    def unallocated(self, side, lab):
        rows = side.query("SELECT payment_id, billing_profile_id, received_at, method, reference, currency, amount, "
                          "allocated, unallocated FROM csp.unallocated_payments")
        return sorted(tuple([lab.get("pay:" + str(r[0]), str(r[0])), lab.get("prof:" + str(r[1]), str(r[1]))] +
                            [str(x) for x in r[2:]]) for r in rows)

    def diff(self, what, xa, xb, cols=None):
        ca, cb = collections.Counter(xa), collections.Counter(xb)
        only_a = sorted((ca - cb).elements())
        only_b = sorted((cb - ca).elements())
        if not only_a and not only_b:
            return
        def fmt(row):
            if cols:
                return ", ".join(f"{c}={v}" for c, v in zip(cols, row))
            return repr(row)
        msg = [f"{what}: {len(only_a)} only with daily ticks, {len(only_b)} only with sparse ticks"]
        for tag, rows in (("daily ", only_a), ("sparse", only_b)):
            for row in rows[:SHOW]:
                msg.append(f"    {tag}: {fmt(row)}")
            if len(rows) > SHOW:
                msg.append(f"    {tag}: ... {len(rows) - SHOW} more")
        self.fail("\n".join(msg))

    def compare(self):
        a, b = self.sides
        la, lb = self.labels(a), self.labels(b)
        xa, xb = self.lines(a, la), self.lines(b, lb)
        for x, s in ((xa, a), (xb, b)):
            bad = [r for r in x if any("<unmapped" in f for f in r)]
            if bad:
                self.fail(f"{s.name}: {len(bad)} line(s) with an id the generator cannot name, e.g. {bad[0]}")
        self.stats["lines_compared"] = max(len(xa), len(xb))
        # a line is the same line only on the same (logical) invoice
        self.diff("ledger lines (csp.line_items)", xa, xb, self.LINE_COLS)
        ia, ib = self.invoices(a, la, xa), self.invoices(b, lb, xb)
        self.stats["invoices_compared"] = max(len(ia), len(ib))
        inv_cols = ("invoice", "replaces", "invoice_date", "published_on", "due_date", "total", "paid",
                    "amount_due", "status", "lines")
        heads_a = [i[:-1] + (f"{len(i[-1])} lines",) for i in ia]
        heads_b = [i[:-1] + (f"{len(i[-1])} lines",) for i in ib]
        self.diff("invoices (csp.billing_overview)", heads_a, heads_b, inv_cols)
        if heads_a == heads_b:
            self.diff("invoice lines", [(i[0],) + l for i in ia for l in i[-1]],
                      [(i[0],) + l for i in ib for l in i[-1]], ("invoice",) + self.LINE_COLS[1:])
        self.diff("csp.account_balance", self.balances(a, la), self.balances(b, lb),
                  ("profile", "currency", "invoiced", "paid", "balance", "overdue", "unallocated"))
        self.diff("csp.unallocated_payments", self.unallocated(a, la), self.unallocated(b, lb),
                  ("payment", "profile", "received_at", "method", "reference", "currency", "amount", "allocated",
                   "unallocated"))

    # ----------------------------------------------------------------- run --
    def go(self):
        tag = f"{os.getpid()}_{self.seed}"
        dbs = [f"csp_prop_a_{tag}", f"csp_prop_b_{tag}"]
        for db in dbs:
            admin_exec(f"DROP DATABASE IF EXISTS {db}")
            admin_exec(f"CREATE DATABASE {db} TEMPLATE {TEMPLATE}")
        try:
            self.sides = [Side("daily", dbs[0]), Side("sparse", dbs[1])]
            self.setup()
            if not self.failures:
                self.history()
                self.compare()
        finally:
            for s in self.sides:
                s.close()
            if not (self.failures and os.environ.get("PROPERTY_KEEP_DBS")):
                for db in dbs:
                    admin_exec(f"DROP DATABASE IF EXISTS {db}")


def run_seed(seed, verbose=False):
    """One seed; returns (seed, ok, report text, stats, refused)."""
    t = time.time()
    r = Run(seed, verbose)
    try:
        r.go()
    except Exception as e:     # a crash of the harness is a failure too
        r.fail(f"harness error: {type(e).__name__}: {e}")
    s = r.stats
    out = [f"seed {seed}: {s['attempted']} actions, {s['succeeded']} succeeded, "
           f"{sum(r.refused.values())} refused, {s['dropped_nc409']} dropped (NC409), "
           f"{s['lines_compared']} lines, {s['invoices_compared']} invoices, "
           f"ticks {s['ticks_daily']}/{s['ticks_sparse']} ({time.time() - t:.1f} s): "
           f"{'FAILED' if r.failures else 'ok'}"]
    if r.failures:
        shown = r.failures if verbose else r.failures[:5]
        for f in shown:
            out.append("  " + f.replace("\n", "\n  "))
        if len(r.failures) > len(shown):
            out.append(f"  ... {len(r.failures) - len(shown)} more (all of them with SEED={seed})")
        out.append(f"  replay with: SEED={seed} make test TESTS=property")
    return seed, not r.failures, "\n".join(out), dict(s), dict(r.refused)


def main():
    one = os.environ.get("SEED")
    if one:
        seeds = [int(one)]
    else:
        n = int(os.environ.get("PROPERTY_SEEDS", "20"))
        first = int(os.environ.get("PROPERTY_FIRST_SEED", "1"))
        seeds = list(range(first, first + n))
    jobs = max(1, int(os.environ.get("PROPERTY_JOBS", "2")))
    print(f"property: schedule independence, seeds {seeds[0]}..{seeds[-1]}, {jobs} at a time"
          f"{'' if SPARSE else ', CONTROL RUN (both databases tick daily)'}")
    sys.stdout.flush()
    make_template()
    passed = failed = 0
    total = collections.Counter()
    refused = collections.Counter()
    t_all = time.time()
    if jobs > 1 and len(seeds) > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.imap(run_seed, seeds)
            for res in results:
                ok, text, st, rf = res[1:]
                print(text)
                sys.stdout.flush()
                passed, failed = passed + ok, failed + (not ok)
                total.update(st)
                refused.update(rf)
    else:
        for seed in seeds:
            ok, text, st, rf = run_seed(seed, verbose=bool(one))[1:]
            print(text)
            sys.stdout.flush()
            passed, failed = passed + ok, failed + (not ok)
            total.update(st)
            refused.update(rf)
    admin_exec(f"DROP DATABASE IF EXISTS {TEMPLATE}")
    print(f"property: {len(seeds)} seed(s) in {time.time() - t_all:.1f} s; actions attempted {total['attempted']}, "
          f"succeeded {total['succeeded']}, refused {sum(refused.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(refused.items())) or 'none'}), "
          f"dropped for NC409 {total['dropped_nc409']}; lines compared {total['lines_compared']}, "
          f"invoices compared {total['invoices_compared']}")
    print("property: succeeded by kind: " + ", ".join(
        f"{k[3:]} {v}" for k, v in sorted(total.items()) if k.startswith("ok ")))
    print(f"property: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
