--
-- Invoicing (R13.1, R13.3, R11.3, R11.5, R12.2, R12.3, R1.3): csp.run_invoicing
-- closes billing periods into invoices, csp.record_usage posts usage lines.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\set VERBOSITY default

SET csp.clock = '2024-12-01 09:00+00';
SELECT csp.create_partner('P1', 'Contoso Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('P2', 'Litware Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('P3', 'Tailspin Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('Contoso BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Main', po_number => 'PO-1',
                                  bill_to => '{"city": "Utrecht"}') AS profile_a \gset
SELECT csp.create_billing_profile(:account, 'Litware') AS profile_b \gset
SELECT csp.create_billing_profile(:account, 'Legacy', billing_model => 'legacy',
                                  anniversary_day => 12) AS profile_l \gset
SELECT csp.create_invoice_section(:profile_a, 'Projects') AS projects \gset
SELECT csp.link_partner_billing('P1', :account, :profile_a, accept_mca => true);
SELECT csp.link_partner_billing('P2', :account, :profile_b);
SELECT csp.link_partner_billing('P3', :account, :profile_l);
SELECT csp.add_customer('P1', 'Fabrikam', 'NL', mca_attested => true) AS fabrikam \gset
SELECT csp.add_customer('P2', 'Northwind', 'NL', mca_attested => true) AS northwind \gset
SELECT csp.add_customer('P3', 'Tailspin', 'NL', mca_attested => true) AS tailspin \gset
SELECT csp.set_customer_verification(:'fabrikam', 'approved');
SELECT csp.set_customer_verification(:'northwind', 'approved');
SELECT csp.set_customer_verification(:'tailspin', 'approved');
SELECT csp.add_product('M365', 'Microsoft 365 E3');
SELECT csp.add_product('AZURE', 'Azure plan', billing_type => 'usage');
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 10.00);
SELECT csp.set_price('M365', 'P1Y', 'annual', 'EUR', 120.00);

-- R12.3: a month's rate is that of two business days before its first day
SELECT csp.fx_rate_date('2025-01-01') AS january_rate_date, csp.fx_rate_date('2025-02-01') AS february_rate_date;
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-01-01'), 0.90);
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-02-01'), 0.95);

-- January: a monthly and an annual subscription (the annual in its own
-- invoice section, R1.3) and an Azure plan, bought on 2025-01-01
SET csp.clock = '2025-01-01 08:00+00';
SELECT csp.purchase(:'fabrikam', 'M365', 10, 'P1Y', 'monthly') AS monthly \gset
SELECT csp.purchase(:'fabrikam', 'M365', 5, 'P1Y', 'annual', invoice_section_id => :projects) AS annual \gset
SELECT csp.purchase(:'fabrikam', 'AZURE', 1) AS azure \gset
-- a second Azure plan that records nothing until the back-dated posting below
SELECT csp.purchase(:'fabrikam', 'AZURE', 1) AS azure_late \gset

-- R11.3, R12.2, R12.3 positive: usage priced in USD, fractional quantity,
-- converted at January's rate: 2.5 x 2.00 USD x 0.90 = 4.50 EUR, one day
SET csp.clock = '2025-01-10 12:00+00';
SELECT csp.record_usage(:'azure', '2025-01-10', 'compute-hours', 2.5, 2.00);
SELECT charge_type, charge_start, charge_end, posted_at, quantity, unit_price, pricing_currency,
       fx_rate, days_charged, days_in_cycle, amount, currency, invoice_number
  FROM csp.line_items ORDER BY charge_id;
SELECT meter_id FROM csp.charge WHERE charge_type = 'usage';

-- R13.1 negative: January has not ended at 2025-01-31 23:59:59, nothing is invoiced
SELECT csp.run_invoicing('2025-01-31 23:59:59+00') AS invoices_made;
SELECT count(*) AS invoices FROM csp.billing_overview;

-- R13.1 positive: on 2025-02-01 January closes; February's cycle charge,
-- posted at 00:30 on the 1st, is not January's
SET csp.clock = '2025-02-01 00:30+00';
SELECT csp.run_cycle_charges() AS cycle_charges;
SELECT csp.run_invoicing() AS invoices_made;
-- X9, R13.1, R13.3: 100.00 + 600.00 + 4.50 = 704.50, dated 2025-02-01,
-- published 2025-02-08, due 2025-04-02
SELECT invoice_number, document_type, period_start, period_end, invoice_date, published_on, due_date,
       currency, total, paid, amount_due, status
  FROM csp.billing_overview ORDER BY invoice_number;
SELECT po_number, bill_to, created_at FROM csp.invoice WHERE invoice_number = 'G000000001';
SELECT charge_type, amount, invoice_number FROM csp.line_items ORDER BY charge_id;
-- R1.3: the invoice shows its charges grouped by section
SELECT invoice_number, section_name, lines, total
  FROM csp.invoice_section_totals ORDER BY invoice_number, section_name;

-- Jobs: idempotent, a second run with the same instant changes nothing
SELECT csp.run_invoicing() AS invoices_made;
SELECT csp.run_invoicing('2025-02-01 23:00+00') AS invoices_made;
SELECT count(*) AS invoices, sum(total) AS invoiced FROM csp.invoice;

-- R11.5 positive: usage of January recorded in February lands on February's
-- invoice, at January's rate: 4 x 0.50 USD x 0.90 = 1.80
SET csp.clock = '2025-02-03 10:00+00';
SELECT csp.record_usage(:'azure', '2025-01-20', 'compute-hours', 4, 0.50);
-- and February usage at February's rate: 100 x 0.02 USD x 0.95 = 1.90
SELECT csp.record_usage(:'azure', '2025-02-03', 'storage-gb', 100, 0.02);
-- R11.5 positive: a line posted in January after January was invoiced
-- (a back-dated posting by a time admin) goes to the next period without an
-- invoice
SET csp.clock = '2025-01-31 23:00+00';
SELECT csp.record_usage(:'azure_late', '2025-01-31', 'compute-hours', 1, 1.00);
-- NC016 negative: not on a subscription whose history has moved past that
-- instant (its latest usage was recorded on 2025-02-03)
\set VERBOSITY sqlstate
SELECT csp.record_usage(:'azure', '2025-01-31', 'compute-hours', 1, 1.00);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
-- R11.5 negative: while February is open no period can take it; it waits
SELECT csp.run_invoicing('2025-02-15 00:00+00') AS invoices_made;
SELECT charge_type, charge_start, posted_at, amount FROM csp.unbilled_charges ORDER BY charge_id;

-- R13.1: a line posted at 23:59:59 on the period's last day is in the
-- period; one posted at 00:00 the next day is not
SET csp.clock = '2025-02-28 23:59:59+00';
SELECT csp.record_usage(:'azure', '2025-02-28', 'compute-hours', 1, 1.00);
SET csp.clock = '2025-03-01 00:00:00+00';
SELECT csp.record_usage(:'azure', '2025-02-28', 'compute-hours', 1, 2.00);

-- R4.10: the period is closed by as_of's UTC date, whatever the offset it
-- is written in: 2025-02-28 20:00-07 is 2025-03-01 03:00 UTC
SELECT csp.run_invoicing('2025-02-28 20:00-07') AS invoices_made;
SELECT invoice_number, period_start, period_end, invoice_date, published_on, due_date, total, status
  FROM csp.billing_overview WHERE invoice_number = 'G000000002';
SELECT l.charge_type, l.charge_start, l.posted_at, l.amount, l.invoice_section_id = :projects AS in_projects
  FROM csp.invoice_lines l WHERE l.invoice_number = 'G000000002' ORDER BY l.charge_id;
SELECT charge_type, charge_start, posted_at, amount FROM csp.unbilled_charges ORDER BY charge_id;

-- R13.1 positive: when invoicing has not run for two months, each month
-- gets its own invoice (profile Litware: March and April)
SET csp.clock = '2025-03-01 01:00+00';
SELECT csp.run_cycle_charges() AS cycle_charges;
SET csp.clock = '2025-03-10 09:00+00';
SELECT csp.purchase(:'northwind', 'M365', 3, 'P1Y', 'monthly') AS litware_monthly \gset
SET csp.clock = '2025-04-10 01:00+00';
SELECT csp.run_cycle_charges() AS cycle_charges;
SELECT csp.run_invoicing('2025-05-01 00:30+00') AS invoices_made;
SELECT b.name AS profile, o.invoice_number, o.period_start, o.period_end, o.invoice_date, o.total
  FROM csp.billing_overview o JOIN csp.billing_profile b USING (billing_account_id, billing_profile_id)
 WHERE o.invoice_date = '2025-05-01' OR o.invoice_number > 'G000000002'
 ORDER BY o.invoice_number;

-- R13.1 legacy: anniversary day 12, the cycle 2025-06-12..2025-07-11 is
-- invoiced on 2025-07-12, published two days later, due 60 days after
SET csp.clock = '2025-06-12 10:00+00';
SELECT csp.purchase(:'tailspin', 'M365', 5, 'P1Y', 'annual') AS legacy_annual \gset
SET csp.clock = '2025-07-11 23:00+00';
SELECT csp.purchase(:'tailspin', 'M365', 1, 'P1Y', 'monthly') AS legacy_monthly \gset
-- negative: the cycle has not ended on its last day
SELECT csp.run_invoicing('2025-07-11 23:59:59+00') AS invoices_made;
-- positive
SELECT csp.run_invoicing('2025-07-12 00:10+00') AS invoices_made;
SELECT invoice_number, period_start, period_end, invoice_date, published_on, due_date, total
  FROM csp.billing_overview WHERE billing_profile_id = :profile_l;
SELECT csp.run_invoicing('2025-07-12 00:10+00') AS invoices_made;
-- NCE profiles are not invoiced mid-month
SELECT count(*) AS nce_invoices_dated_2025_07_12 FROM csp.invoice
 WHERE invoice_date = '2025-07-12' AND billing_profile_id <> :profile_l;

-- Invariant: every document's total is exactly the sum of its lines
SELECT i.invoice_number, i.total, sum(l.amount) AS lines_total, count(l.*) AS lines,
       i.total = sum(l.amount) AS total_is_sum
  FROM csp.invoice i LEFT JOIN csp.invoice_lines l USING (billing_account_id, invoice_number)
 GROUP BY i.invoice_number, i.total ORDER BY i.invoice_number;
-- and the sections of each sum to it
SELECT count(*) AS documents_whose_sections_do_not_sum
  FROM csp.invoice i
 WHERE i.total <> (SELECT sum(s.total) FROM csp.invoice_section_totals s
                    WHERE s.invoice_number = i.invoice_number);
-- Invariant: a line is on the invoice of the period it was posted in, or
-- of a later one (R11.5), never of a period that ended before it was posted
SELECT count(*) AS lines_on_a_period_ended_before_posting
  FROM csp.line_items c JOIN csp.invoice i USING (invoice_number)
 WHERE c.posted_at >= (i.period_end + 1)::timestamp AT TIME ZONE 'UTC';
SELECT count(*) FILTER (WHERE c.posted_at < i.period_start::timestamp AT TIME ZONE 'UTC') AS late_lines,
       count(*) AS billed_lines
  FROM csp.line_items c JOIN csp.invoice i USING (invoice_number);
-- Invariant: every line posted before the periods closed so far is billed
SELECT count(*) AS unbilled_lines FROM csp.unbilled_charges;
-- Invariant: numbers are G and nine digits, one invoice per profile, currency and period
SELECT count(*) FILTER (WHERE invoice_number !~ '^G[0-9]{9}$') AS malformed_numbers,
       count(*) - count(DISTINCT (billing_profile_id, currency, period_start)) AS duplicate_periods
  FROM csp.invoice;
-- the ledger: a billed line never moves to another period, so never to another invoice (42501)
UPDATE csp.charge SET billing_period_start = billing_period_start + 1
 WHERE charge_id = (SELECT min(charge_id) FROM csp.line_items WHERE invoice_number = 'G000000001');
\echo :LAST_ERROR_SQLSTATE

-- Jobs negative: as_of must be a finite instant (22023)
SELECT csp.run_invoicing(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.run_invoicing('infinity');
\echo :LAST_ERROR_SQLSTATE
-- Roles: only csp_global_admin runs the job (42501); readers read the views
SET ROLE csp_reader;
SELECT csp.run_invoicing();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS invoices_visible_to_reader FROM csp.billing_overview;
RESET ROLE;
SET ROLE csp_sales_agent;
SELECT csp.run_invoicing();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- record_usage negative cases; none of them posts a line
SET csp.clock = '2025-07-20 10:00+00';
SELECT count(*) AS lines_before FROM csp.charge \gset
-- NC404: unknown subscription
SELECT csp.record_usage('00000000-0000-0000-0000-000000000000', '2025-07-20', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- R11.3 NC003: a license-based subscription has no usage
\set VERBOSITY sqlstate
SELECT csp.record_usage(:'monthly', '2025-07-20', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- R6.1 NC003: nor has a cancelled one
SELECT csp.purchase(:'fabrikam', 'AZURE', 1) AS azure_2 \gset
SELECT csp.cancel(:'azure_2');
\set VERBOSITY sqlstate
SELECT csp.record_usage(:'azure_2', '2025-07-20', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- 22023: usage before the subscription began
SELECT csp.record_usage(:'azure', '2024-12-31', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- 22023: usage in the future
SELECT csp.record_usage(:'azure', '2025-07-21', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- 22023: negative, NaN, too precise, NULL; 22003: absurdly large
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', -1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1, -0.01);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 'NaN', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1, 0.0000001);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1e20, 1);
\echo :LAST_ERROR_SQLSTATE
-- 22023: blank meter, unknown currency, date out of range
SELECT csp.record_usage(:'azure', '2025-07-20', ' ', 1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1, 1, 'XXX');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_usage(:'azure', 'infinity', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
-- R12.3 NC014: no GBP rate for July
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1, 1, 'GBP');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) - :lines_before AS lines_posted_by_bad_input FROM csp.charge;
-- positive: a zero quantity is a zero line; a price in the billing currency
-- needs no rate; the amount is rounded once, half away from zero:
-- 3 x 0.005 EUR = 0.015 -> 0.02, 1 x 0.333333 USD x 0.92 = 0.30666636 -> 0.31
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date('2025-07-01'), 0.92);
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 0, 1);
SELECT csp.record_usage(:'azure', '2025-07-20', 'support', 3, 0.005, 'EUR');
SELECT csp.record_usage(:'azure', '2025-07-19', 'compute-hours', 1, 0.333333);
SELECT charge_start, quantity, unit_price, pricing_currency, fx_rate, amount
  FROM csp.unbilled_charges WHERE charge_type = 'usage' ORDER BY charge_id;
-- Roles: a helpdesk agent records no usage (42501)
SET ROLE csp_helpdesk_agent;
SELECT csp.record_usage(:'azure', '2025-07-20', 'compute-hours', 1, 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP EXTENSION csp_billing CASCADE;
