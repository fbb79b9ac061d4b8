-- bench/gen.sql: the data set of `make bench` (bench only: written straight
-- into the tables as the superuser, set-based, foreign keys and triggers off
-- by session_replication_role = replica; the catalog goes through the API).
--   psql -v nsubs=10000  ->  nsubs subscriptions, nsubs/5 customers,
--   nsubs/50 billing accounts = profiles = partners (1M: 200k customers,
--   20k profiles), 12 months of history (Jan-Dec 2025).
-- Every subscription is NCE, P1Y billed monthly, started on the 1st of a month
-- in 2025; those started 2025-01-01 end 2025-12-31 and renew on 2026-01-01
-- (1/12 of them: "renewal day").  The ledger holds every subscription's
-- December 2025 cycle charge, unbilled (what month close invoices), plus the
-- 11 earlier months' lines already billed on 11 monthly invoices per profile;
-- each profile has paid all but its November invoice.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET csp.clock = '2024-12-01 09:00+00';
SELECT csp.add_product(sku_id => 'BENCH-E3', name => 'Bench E3');
SELECT csp.set_price(sku_id => 'BENCH-E3', term => 'P1Y', billing_frequency => 'monthly',
                     currency => 'EUR', unit_price => 36.00, valid_from => '2024-01-01');

SELECT :nsubs / 50 AS nprof, :nsubs / 5 AS ncust \gset
SET session_replication_role = replica;

INSERT INTO csp.billing_account (billing_account_id, name, country, currency, created_by, created_at)
SELECT g, 'Bench account ' || g, 'NL', 'EUR', 'postgres', '2024-12-01'
  FROM generate_series(1, :nprof) g;
INSERT INTO csp.billing_account_role (billing_account_id, member, account_role, granted_by, granted_at)
SELECT g, 'postgres', 'owner', 'postgres', '2024-12-01' FROM generate_series(1, :nprof) g;
INSERT INTO csp.billing_profile (billing_account_id, billing_profile_id, name, currency, created_at)
SELECT g, g, 'Bench profile ' || g, 'EUR', '2024-12-01' FROM generate_series(1, :nprof) g;
INSERT INTO csp.invoice_section (billing_account_id, invoice_section_id, billing_profile_id, name, is_default, created_at)
SELECT g, g, g, 'Default', true, '2024-12-01' FROM generate_series(1, :nprof) g;
INSERT INTO csp.partner (partner_id, name, kind, country, status, billing_account_id, billing_profile_id,
                         linked_at, created_at)
SELECT 'bench-' || g, 'Bench partner ' || g, 'direct_bill', 'NL', 'active', g, g, '2024-12-01', '2024-12-01'
  FROM generate_series(1, :nprof) g;
SELECT setval('csp.billing_account_id_seq', :nprof), setval('csp.billing_profile_id_seq', :nprof),
       setval('csp.invoice_section_id_seq', :nprof);

-- customer c belongs to partner/profile 1 + c % nprof
CREATE SCHEMA bench;
CREATE TABLE bench.cust (c int PRIMARY KEY, customer_id uuid NOT NULL, p int NOT NULL);
INSERT INTO bench.cust SELECT c, gen_random_uuid(), 1 + c % :nprof FROM generate_series(0, :ncust - 1) c;
INSERT INTO csp.customer (customer_id, partner_id, legal_name, country, mca_attested, mca_attested_at,
                          verification_status, verification_changed_at, created_at)
SELECT customer_id, 'bench-' || p, 'Bench customer ' || c, 'NL', true, '2024-12-01', 'approved',
       '2024-12-01', '2024-12-01'
  FROM bench.cust;

-- subscription s: customer s % ncust, started on the 1st of month 1 + s % 12 of 2025
CREATE TABLE bench.sub (s int PRIMARY KEY, subscription_id uuid NOT NULL, c int NOT NULL,
                        p int NOT NULL, m int NOT NULL, quantity int NOT NULL);
INSERT INTO bench.sub
SELECT s, gen_random_uuid(), s % :ncust, 1 + (s % :ncust) % :nprof, 1 + s % 12, 1 + s % 50
  FROM generate_series(0, :nsubs - 1) s;
INSERT INTO csp.subscription (billing_account_id, subscription_id, billing_profile_id, invoice_section_id,
       customer_id, partner_id, sku_id, quantity, status, auto_renew, term, billing_frequency,
       term_start, term_end, term_started_at, cancellation_allowed_until, unit_price, currency,
       pricing_currency, next_charge_date, purchased_at)
SELECT b.p, b.subscription_id, b.p, b.p, c.customer_id, 'bench-' || b.p, 'BENCH-E3', b.quantity, 'active',
       true, 'P1Y', 'monthly', make_date(2025, b.m, 1), make_date(2026, b.m, 1) - 1,
       make_date(2025, b.m, 1), make_date(2025, b.m, 1) + interval '7 days', 3.00, 'EUR', 'EUR',
       CASE WHEN b.m = 1 THEN NULL ELSE date '2026-01-01' END, make_date(2025, b.m, 1)
  FROM bench.sub b JOIN bench.cust c USING (c);
INSERT INTO csp.seat_lot (billing_account_id, subscription_id, term_start, source, added_at,
                          reducible_until, quantity_added, quantity)
SELECT p, subscription_id, make_date(2025, m, 1), 'purchase', make_date(2025, m, 1),
       make_date(2025, m, 1) + interval '7 days', quantity, quantity
  FROM bench.sub;

-- history: invoices Jan-Nov 2025 per profile (numbers in month order)
INSERT INTO csp.invoice (billing_account_id, invoice_number, billing_profile_id, document_type,
       lines_invoice_number, period_start, period_end, invoice_date, published_on, due_date,
       currency, total, paid, created_at)
SELECT p, n, p, 'invoice', n, make_date(2025, m, 1), (make_date(2025, m, 1) + interval '1 month')::date - 1,
       (make_date(2025, m, 1) + interval '1 month')::date, (make_date(2025, m, 1) + interval '1 month')::date,
       (make_date(2025, m, 1) + interval '2 months')::date, 'EUR', 0, 0,
       make_date(2025, m, 1) + interval '1 month'
  FROM (SELECT m, p, 'G' || lpad(((m - 1) * :nprof + p)::text, 9, '0') AS n
          FROM generate_series(1, 11) m, generate_series(1, :nprof) p) x;
SELECT setval('csp.invoice_number_seq', 11 * :nprof);

-- the ledger: one cycle charge per subscription and month it was live in 2025;
-- months before December billed on that month's invoice (the line's billing period is
-- its month), December unbilled and open
INSERT INTO csp.charge (billing_account_id, billing_profile_id, invoice_section_id, partner_id, customer_id,
       subscription_id, sku_id, charge_type, charge_start, charge_end, cycle_start, posted_at, quantity,
       unit_price, days_charged, days_in_cycle, amount, currency, pricing_currency, fx_rate,
       reference_id, billing_period_start)
SELECT b.p, b.p, b.p, 'bench-' || b.p, c.customer_id, b.subscription_id, 'BENCH-E3',
       CASE WHEN k = b.m THEN 'new' ELSE 'cycleCharge' END,
       make_date(2025, k, 1), (make_date(2025, k, 1) + interval '1 month')::date - 1, make_date(2025, k, 1),
       make_date(2025, k, 1) + interval '9 hours' + (b.s % 600) * interval '1 minute',
       b.quantity, 3.00, d, d, 3.00 * b.quantity, 'EUR', 'EUR', 1, gen_random_uuid(),
       make_date(2025, k, 1)
  FROM bench.sub b JOIN bench.cust c USING (c)
 CROSS JOIN LATERAL generate_series(b.m, 12) k
 CROSS JOIN LATERAL (SELECT extract(day FROM make_date(2025, k, 1) + interval '1 month' - interval '1 day')::int) dd (d);
UPDATE csp.invoice i SET total = t.total
  FROM (SELECT billing_account_id, billing_profile_id, currency, billing_period_start, sum(amount) AS total
          FROM csp.charge WHERE billing_period_start < '2025-12-01' GROUP BY 1, 2, 3, 4) t
 WHERE i.billing_account_id = t.billing_account_id AND i.billing_profile_id = t.billing_profile_id
   AND i.currency = t.currency AND i.period_start = t.billing_period_start;
INSERT INTO csp.open_period (billing_account_id, billing_profile_id, currency, period_start)
SELECT DISTINCT billing_account_id, billing_profile_id, currency, billing_period_start
  FROM csp.charge WHERE billing_period_start = '2025-12-01';
-- every invoice but November's paid, by one payment each
INSERT INTO csp.payment (billing_account_id, billing_profile_id, kind, method, reference, currency, amount,
                         allocated, received_at, recorded_at)
SELECT billing_account_id, billing_profile_id, 'payment', 'wire_transfer', invoice_number, 'EUR', total,
       total, due_date - 5, due_date - 5
  FROM csp.invoice WHERE period_start < '2025-11-01' AND total > 0;
INSERT INTO csp.payment_allocation (billing_account_id, payment_id, invoice_number, amount, allocated_at)
SELECT billing_account_id, payment_id, reference, amount, received_at FROM csp.payment;
UPDATE csp.invoice i SET paid = total WHERE period_start < '2025-11-01' AND total > 0;

RESET session_replication_role;
VACUUM (ANALYZE) csp.billing_account, csp.billing_profile, csp.invoice_section, csp.partner, csp.customer,
       csp.subscription, csp.seat_lot, csp.charge, csp.invoice, csp.payment, csp.payment_allocation,
       csp.open_period;
