-- make demo: a distributor's CSP billing, 14 months (2025-01-01 .. 2026-02-28)
-- through csp_billing.  Run by scripts/demo.sh into a fresh database with
--   psql -X -q -v ON_ERROR_STOP=1 -P pager=off
--
-- Plain SQL and psql only, no PL/pgSQL: the world is set up with the csp.*
-- set-up functions (demo_setup.sql), the history is planned into tables of
-- schema demo with setseed() + random() (demo_plan.sql), and each month is
-- replayed with \gexec, one statement at a time, the clock pinned by
-- SET csp.clock (demo_month.sql).  Every day starts at 00:05 UTC with
-- csp.tick(): renewals, cycle charges and invoicing.
-- The output is the same on every run: fixed seed, pinned clock, no uuids.

SET TimeZone = 'UTC';
SET client_min_messages = warning;
SET lc_monetary = 'C';
SET lc_numeric = 'C';
\pset footer off

CREATE EXTENSION csp_billing;
CREATE SCHEMA demo;

\echo == 2024-12: the distributor, its partners, 40 customers, the catalog and prices
\o /dev/null
\ir demo_setup.sql
\ir demo_plan.sql
\o
\pset format unaligned
\pset tuples_only on
SELECT format('   %s billing accounts, %s billing profiles (%s), %s invoice sections, %s partners, %s customers (%s), %s SKUs, %s prices, %s FX rates',
              (SELECT count(DISTINCT billing_account_id) FROM csp.billing_profiles),
              (SELECT count(*) FROM csp.billing_profiles),
              (SELECT string_agg(billing_model || ' ' || currency, ', ' ORDER BY billing_profile_id) FROM csp.billing_profiles),
              (SELECT count(*) FROM csp.invoice_sections),
              (SELECT count(*) FROM csp.partners),
              (SELECT count(*) FROM csp.customers WHERE verification_status = 'approved' AND mca_attested),
              (SELECT string_agg(country || ' ' || n, ', ' ORDER BY country)
                 FROM (SELECT country, count(*) AS n FROM csp.customers GROUP BY country) x),
              (SELECT count(*) FROM csp.product),
              (SELECT count(*) FROM csp.price),
              (SELECT count(*) FROM csp.fx_rate));
SELECT format('   plan: %s purchases in January-February 2025 (%s), %s later actions, %s statements in all, daily job: %s',
              (SELECT count(*) FROM demo.buy),
              (SELECT string_agg(sku || ' ' || n, ', ' ORDER BY sku)
                 FROM (SELECT sku, count(*) AS n FROM demo.buy GROUP BY sku) x),
              (SELECT count(*) FROM demo.act),
              (SELECT count(*) FROM demo.stream),
              'csp.tick()');

\set m0 2025-01-01
\set m1 2025-02-01
\set title '== 2025-01: the first purchases; four E3 trials (one switched off, one converted, one scheduled to convert to 15 seats); cancellations and seat reductions inside the 168-hour window'
\ir demo_month.sql
\set m0 2025-02-01
\set m1 2025-03-01
\set title '== 2025-02: most purchases: co-terminated and calendar-aligned terms, Copilot and Multi-Geo add-ons, Contoso SaaS priced in USD; two trials convert at their end; more cancellations'
\ir demo_month.sql
\set m0 2025-03-01
\set m1 2025-04-01
\set title '== 2025-03: upgrades E3 -> E5 (all seats in place, half into a new subscription); a transfer from Tailspin to Northwind NL; a late SaaS cancellation ends at term end'
\ir demo_month.sql
\set m0 2025-04-01
\set m1 2025-05-01
\set title '== 2025-04: suspensions (one base takes its Copilot add-on with it); quantity and SKU changes scheduled for the renewal; seat increases'
\ir demo_month.sql
\set m0 2025-05-01
\set m1 2025-06-01
\set title '== 2025-05: the base is reactivated and auto-renew switched on again by hand; auto-renew switched off on five (they expire)'
\ir demo_month.sql
\set m0 2025-06-01
\set m1 2025-07-01
\set title '== 2025-06: seat increases; a payment arrives without remittance and stays unallocated'
\ir demo_month.sql
\set m0 2025-07-01
\set m1 2025-08-01
\set title '== 2025-07: the new price list applies to renewals from 1 July; the unallocated payment is allocated to its invoice'
\ir demo_month.sql
\set m0 2025-08-01
\set m1 2025-09-01
\set title '== 2025-08: a credit note for the Nordics pays part of their latest invoice'
\ir demo_month.sql
\set m0 2025-09-01
\set m1 2025-10-01
\set title '== 2025-09: a paid invoice is voided and rebilled with a corrected PO number; a cancellation two days after a monthly renewal'
\ir demo_month.sql
\set m0 2025-10-01
\set m1 2025-11-01
\set title '== 2025-10: Azure usage of September arrives late (next invoice); a partial payment'
\ir demo_month.sql
\set m0 2025-11-01
\set m1 2025-12-01
\set title '== 2025-11: the rest of the partial payment; one Nordics invoice is left unpaid (it becomes overdue)'
\ir demo_month.sql
\set m0 2025-12-01
\set m1 2026-01-01
\set title '== 2025-12: year-end seat increases; a payment nobody can place'
\ir demo_month.sql
\set m0 2026-01-01
\set m1 2026-02-01
\set title '== 2026-01: annual renewals at the new prices with their scheduled changes; suspended and non-renewing ones expire; seats reduced in the new window'
\ir demo_month.sql
\set m0 2026-02-01
\set m1 2026-03-01
\set title '== 2026-02: the February renewals; a cancellation inside the new term window; a partial payment'
\ir demo_month.sql

\pset format aligned
\pset tuples_only off
\echo
\echo == Billing overview (every invoice, void note and rebill)
SELECT billing_profile_id AS profile, invoice_number, document_type, replaces_invoice_number AS replaces,
       period_start, period_end, invoice_date, published_on, due_date, currency, total, paid, amount_due, status
  FROM csp.billing_overview
 ORDER BY billing_profile_id, invoice_date, invoice_number;

\echo == Account balance
SELECT billing_account_id AS account, billing_profile_id AS profile, currency, invoiced, paid, balance,
       overdue, unallocated
  FROM csp.account_balance
 ORDER BY billing_account_id, billing_profile_id, currency;

\echo == Unallocated payments
SELECT billing_profile_id AS profile, received_at, method, reference, currency, amount, allocated, unallocated
  FROM csp.unallocated_payments
 ORDER BY billing_profile_id, received_at, reference;

\echo == Reconciliation
SELECT (SELECT bool_and(o.total = coalesce(l.sum, 0))
          FROM csp.billing_overview o
          LEFT JOIN (SELECT invoice_number, sum(amount) FROM csp.invoice_lines GROUP BY invoice_number) l
            USING (invoice_number)) AS "every invoice: lines = total",
       (SELECT bool_and(coalesce(a.sum, 0) <= p.amount AND coalesce(a.sum, 0) = p.allocated)
          FROM csp.payment p
          LEFT JOIN (SELECT payment_id, sum(amount) FROM csp.payment_allocation GROUP BY payment_id) a
            USING (payment_id)) AS "every payment: allocations <= amount",
       (SELECT bool_and(b.balance = o.due AND b.invoiced - b.paid = b.balance)
          FROM csp.account_balance b
          JOIN (SELECT billing_profile_id, currency, sum(amount_due) AS due FROM csp.billing_overview
                 GROUP BY billing_profile_id, currency) o USING (billing_profile_id, currency))
         AS "balance = sum of amounts due",
       -- a refund (negative quantity) gives back its line's part after the days used as the
       -- difference of cumulative rounded amounts (API.md "Refunds"), so it may differ from
       -- its own rounded proration by one minor unit (the demo's currencies have two decimals)
       (SELECT bool_and(CASE WHEN quantity >= 0 THEN amount = l.formula
                             ELSE abs(amount - l.formula) <= 0.01 END)
          FROM csp.line_items,
               LATERAL (SELECT CASE WHEN charge_type = 'usage'
                                    THEN csp.round_money(unit_price * fx_rate * quantity, currency)
                                    ELSE csp.prorate(unit_price * fx_rate, quantity::bigint, days_charged,
                                                     days_in_cycle, currency) END AS formula) l)
         AS "every line = its proration",
       (SELECT count(*) FROM csp.unbilled_charges) AS "lines not billed yet (February 2026)";
