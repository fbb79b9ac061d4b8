#!/usr/bin/env node
// The README tour ("Getting started") through node-postgres (`pg`), asserting
// what a Node.js client actually receives: SQLSTATE, detail and hint of a
// refused call; numeric money as exact strings; bigint ids as strings; `date`
// columns as local-midnight JS Dates until a type parser says otherwise.
//
//   cd examples/node && npm ci && node tour.js
//
// Connects with the usual libpq variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD) to a database where `CREATE EXTENSION csp_billing`
// was run and nothing else: it creates the README's account, partner and
// customer.  The role must be a member of csp_global_admin and, because the
// tour pins csp.clock to write in 2025, of csp_time_admin (a superuser is both).
// Prints TAP ("ok N - ..."); exits non-zero on the first failure.
'use strict';

const assert = require('node:assert/strict');
const pg = require('pg');

// OIDs from pg_type.h: the types whose JavaScript mapping matters here.
const DATE_OID = 1082;

const steps = [];
function step(description, fn) {
  steps.push({ description, fn });
}

// One connection for the whole tour: `csp.clock` and `TimeZone` are session
// settings, so a pool (which hands out any connection) would lose them.
const client = new pg.Client({ application_name: 'csp_billing node tour' });

// Parameterised: pg sends the values apart from the SQL text, untyped, and the
// server infers each one's type from the function's signature.
async function one(sql, params = []) {
  const { rows } = await client.query(sql, params);
  assert.equal(rows.length, 1, `one row from: ${sql}`);
  return rows[0];
}

// `SET` takes no parameters; set_config(name, value, false) is the same thing
// for the session, with the value as a parameter.
function pinClock(instant) {
  return client.query("SELECT set_config('csp.clock', $1, false)", [instant]);
}

// Runs sql expecting a refusal and returns the error (pg.DatabaseError).
async function refused(sql, params) {
  let error = null;
  try {
    await client.query(sql, params);
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected an error from: ${sql}`);
  assert.ok(error instanceof pg.DatabaseError, `a server error, not ${error}`);
  return error;
}

// Exact money arithmetic on the strings numeric arrives as: scaled BigInts,
// never Number (0.1 + 0.2 !== 0.3).
function cents(amount) {
  assert.match(amount, /^-?\d+\.\d{2}$/, `a two-decimal amount, not ${amount}`);
  return BigInt(amount.replace('.', ''));
}
function fromCents(c) {
  const sign = c < 0n ? '-' : '';
  const abs = (c < 0n ? -c : c).toString().padStart(3, '0');
  return `${sign}${abs.slice(0, -2)}.${abs.slice(-2)}`;
}

const ids = {};

step('connect; session TimeZone UTC and csp.clock pinned at 2025-01-15 10:00+00', async () => {
  await client.connect();
  await client.query("SET timezone = 'UTC'");
  await pinClock('2025-01-15 10:00+00');
  const { now } = await one('SELECT csp.now() AS now');
  // timestamptz is an instant: a JS Date is the right type, in any zone.
  assert.ok(now instanceof Date);
  assert.equal(now.getTime(), Date.UTC(2025, 0, 15, 10, 0, 0));
});

step('R1: create_billing_account returns a bigint id as a string', async () => {
  const { account } = await one(
    'SELECT csp.create_billing_account(name => $1, country => $2, currency => $3) AS account',
    ['Contoso Distribution', 'NL', 'EUR']);
  // pg leaves int8 as text: a JS number cannot hold every bigint exactly.
  assert.equal(typeof account, 'string');
  assert.match(account, /^[1-9][0-9]*$/);
  ids.account = account;
});

step('R1: create_billing_profile takes the id string back as a parameter', async () => {
  const { profile } = await one(
    'SELECT csp.create_billing_profile(billing_account_id => $1, name => $2, po_number => $3) AS profile',
    [ids.account, 'Contoso NL', 'PO-1']);
  assert.equal(typeof profile, 'string');
  assert.match(profile, /^[1-9][0-9]*$/);
  ids.profile = profile;
  const { n } = await one(
    "SELECT count(*) AS n FROM csp.invoice_sections WHERE billing_profile_id = $1 AND name = 'Default'",
    [ids.profile]);
  assert.equal(n, '1', 'count(*) is bigint, so a string too');
});

step('R1.5, R3: partner linked with the MCA, customer added (address as JSON) and approved', async () => {
  await client.query("SELECT csp.create_partner($1, $2, 'direct_bill', $3)",
    ['fabrikam', 'Fabrikam BV', 'NL']);
  await client.query(
    'SELECT csp.link_partner_billing($1, $2, $3, accept_mca => true)',
    ['fabrikam', ids.account, ids.profile]);
  const { customer } = await one(
    'SELECT csp.add_customer($1, $2, $3, $4, mca_attested => true) AS customer',
    ['fabrikam', 'Acme BV', 'NL',
      JSON.stringify({ street: 'Main 1', city: 'Utrecht', postal_code: '3511 AA' })]);
  assert.match(customer, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  ids.customer = customer;
  await client.query("SELECT csp.set_customer_verification($1, 'approved')", [ids.customer]);
});

step('R4: product and price, the price sent as the string 10.00', async () => {
  await client.query('SELECT csp.add_product($1, $2)', ['M365-E3', 'Microsoft 365 E3']);
  // Money goes in as a string too, so no binary float is ever involved.
  await client.query('SELECT csp.set_price($1, $2, $3, $4, $5)',
    ['M365-E3', 'P1Y', 'monthly', 'EUR', '10.00']);
});

step('X1: purchase 10 seats; int4 arrives as a number, the timestamptz as the right instant', async () => {
  const { sub } = await one(
    'SELECT csp.purchase(customer_id => $1, sku_id => $2, quantity => $3) AS sub',
    [ids.customer, 'M365-E3', 10]);
  ids.sub = sub;
  const row = await one(
    `SELECT term_start, term_end, quantity, cancellation_allowed_until
       FROM csp.subscriptions WHERE subscription_id = $1`, [ids.sub]);
  assert.equal(row.quantity, 10);
  assert.ok(row.cancellation_allowed_until instanceof Date);
  assert.equal(row.cancellation_allowed_until.toISOString(), '2025-01-22T10:00:00.000Z');
  ids.rawTermStart = row.term_start;
});

step('a date column without a type parser is a JS Date at LOCAL midnight', async () => {
  const d = ids.rawTermStart;
  assert.ok(d instanceof Date, 'pg-types parses 1082 into a Date by default');
  // The server sent the calendar date 2025-01-15; pg made it midnight in the
  // client's zone, so the instant depends on where the client runs.
  assert.equal(d.getTime(), new Date(2025, 0, 15).getTime());
  const utcDay = d.toISOString().slice(0, 10);
  const eastOfUtc = d.getTimezoneOffset() < 0;
  // East of UTC (e.g. TZ=Europe/Amsterdam) the UTC reading is the day before.
  assert.equal(utcDay === '2025-01-15', !eastOfUtc,
    `toISOString() says ${utcDay} with a UTC offset of ${-d.getTimezoneOffset()} min`);
  console.log(`# without a parser term_start is ${d.toISOString()} (TZ=${process.env.TZ || 'system'})`);
});

step('the fix: pg.types.setTypeParser(1082, s => s) keeps the calendar date the server sent', async () => {
  // Process-wide; pass `types` to new pg.Client() to limit it to one client.
  pg.types.setTypeParser(DATE_OID, (value) => value);
  const row = await one(
    'SELECT term_start, term_end FROM csp.subscriptions WHERE subscription_id = $1', [ids.sub]);
  assert.equal(row.term_start, '2025-01-15');
  assert.equal(row.term_end, '2026-01-14');
});

step('X2: five more seats on 1 February', async () => {
  await pinClock('2025-02-01 09:00+00');
  await client.query('SELECT csp.change_quantity($1, $2)', [ids.sub, 15]);
});

step('X3: reducible_licenses lists 5 seats until 2025-02-08 09:00; reduce to 12', async () => {
  await pinClock('2025-02-03 10:00+00');
  const { rows } = await client.query('SELECT * FROM csp.reducible_licenses($1)', [ids.sub]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].quantity, 5);
  assert.equal(rows[0].reducible_until.toISOString(), '2025-02-08T09:00:00.000Z');
  await client.query('SELECT csp.change_quantity($1, $2)', [ids.sub, 12]);
});

step('X4: the refused reduction arrives as SQLSTATE NC002 with detail (R5.2) and hint', async () => {
  await pinClock('2025-02-09 12:00+00');
  const e = await refused('SELECT csp.change_quantity($1, $2)', [ids.sub, 10]);
  assert.equal(e.code, 'NC002');
  assert.equal(e.severity, 'ERROR');
  assert.match(e.message, /^cannot remove 2 licenses from subscription .*: none is reducible$/);
  assert.match(e.detail, /\(R5\.2\)/);
  assert.match(e.hint, /after the renewal on 2026-01-15/);
  assert.match(e.hint, /csp\.schedule_change/);
  // Nothing changed, and the connection (autocommit) is usable at once.
  const { quantity } = await one(
    'SELECT quantity FROM csp.subscriptions WHERE subscription_id = $1', [ids.sub]);
  assert.equal(quantity, 12);
});

step('bad input: an over-long friendly name is 22023, detail and hint name the limit', async () => {
  const e = await refused('SELECT csp.rename($1, $2)', [ids.sub, 'x'.repeat(201)]);
  assert.equal(e.code, '22023');
  assert.match(e.message, /friendly_name/);
  assert.match(e.detail, /Limits/);
  assert.match(e.hint, /200 characters/);
});

step('bad input: a bad currency code is 22023 with a hint (and no detail)', async () => {
  const e = await refused('SELECT csp.record_payment($1, $2, $3)', [ids.profile, '1.00', 'EURO']);
  assert.equal(e.code, '22023');
  assert.match(e.message, /ISO 4217/);
  assert.equal(e.detail, undefined);
  assert.match(e.hint, /three-letter code/);
});

step('X5: cycle charges; every amount arrives as a string with exact digits', async () => {
  await pinClock('2025-02-15 00:05+00');
  const { n } = await one('SELECT csp.run_cycle_charges() AS n');
  assert.equal(n, 1, 'int4 is a number');
  const { rows } = await client.query(
    `SELECT charge_type, charge_start, charge_end, quantity, days_charged, days_in_cycle, amount
       FROM csp.line_items WHERE subscription_id = $1 ORDER BY posted_at`, [ids.sub]);
  // quantity is numeric too (a metered quantity can be fractional): a string;
  // days_charged and days_in_cycle are int4: numbers.
  assert.deepEqual(rows.map((r) => [r.charge_type, r.charge_start, r.charge_end, r.quantity,
    r.days_charged, r.days_in_cycle, r.amount]), [
    ['new', '2025-01-15', '2025-02-14', '10', 31, 31, '100.00'],
    ['addQuantity', '2025-02-01', '2025-02-14', '5', 14, 31, '22.58'],
    ['removeQuantity', '2025-02-03', '2025-02-14', '-3', 12, 31, '-11.61'],
    ['cycleCharge', '2025-02-15', '2025-03-14', '12', 28, 28, '120.00'],
  ]);
  // Summed exactly on the client, it is the server's sum to the cent.
  const clientSum = fromCents(rows.reduce((s, r) => s + cents(r.amount), 0n));
  const { total } = await one(
    'SELECT sum(amount) AS total FROM csp.line_items WHERE subscription_id = $1', [ids.sub]);
  assert.equal(total, '230.97');
  assert.equal(clientSum, total);
});

step('X9: January invoice G000000001, dated as the server says, total the string 100.00', async () => {
  const { n } = await one('SELECT csp.run_invoicing($1) AS n', ['2025-02-01 00:30+00']);
  assert.equal(n, 1);
  const { rows } = await client.query(
    `SELECT invoice_number, period_start, invoice_date, published_on, due_date, total, status
       FROM csp.billing_overview WHERE billing_profile_id = $1`, [ids.profile]);
  assert.deepEqual(rows, [{
    invoice_number: 'G000000001',
    period_start: '2025-01-01',
    invoice_date: '2025-02-01',
    published_on: '2025-02-08',
    due_date: '2025-04-02',
    total: '100.00',
    status: 'unpaid',
  }]);
});

step('R14.4: pay it quoting the invoice number; balances arrive as exact strings', async () => {
  const { payment } = await one(
    'SELECT csp.record_payment($1, $2, $3, remittance => $4) AS payment',
    [ids.profile, '100.00', 'EUR', JSON.stringify(['G000000001'])]);
  assert.equal(typeof payment, 'string');
  const row = await one(
    `SELECT invoiced, paid, balance, unallocated FROM csp.account_balance
      WHERE billing_profile_id = $1`, [ids.profile]);
  assert.deepEqual(row, { invoiced: '100.00', paid: '100.00', balance: '0.00', unallocated: '0.00' });
  const { status } = await one(
    "SELECT status FROM csp.billing_overview WHERE invoice_number = 'G000000001'");
  assert.equal(status, 'paid');
});

async function main() {
  console.log(`1..${steps.length}`);
  let n = 0;
  try {
    for (const s of steps) {
      n += 1;
      try {
        await s.fn();
      } catch (e) {
        console.log(`not ok ${n} - ${s.description}`);
        for (const line of String(e.stack || e).split('\n')) console.log(`# ${line}`);
        for (const f of ['code', 'detail', 'hint']) {
          if (e[f] !== undefined) console.log(`# ${f}: ${e[f]}`);
        }
        // Later steps build on this one: stop; the plan shows what never ran.
        process.exitCode = 1;
        return;
      }
      console.log(`ok ${n} - ${s.description}`);
    }
  } finally {
    await client.end().catch(() => {});
  }
}

main();
