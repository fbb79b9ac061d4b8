--
-- Payments, credit notes and void-and-rebill (R13.3, R13.4, R14.1-R14.7):
-- csp.record_payment, csp.allocate_payment, csp.apply_credit_note,
-- csp.void_and_rebill and the views billing_overview, account_balance and
-- unallocated_payments.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\set VERBOSITY default

SET csp.clock = '2024-12-01 09:00+00';
SELECT csp.create_partner('P1', 'Contoso Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('P2', 'Litware Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('Contoso BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Main', po_number => 'PO-1',
                                  bill_to => '{"city": "Utrecht"}') AS main \gset
SELECT csp.create_billing_profile(:account, 'Litware') AS litware \gset
SELECT csp.link_partner_billing('P1', :account, :main, accept_mca => true);
SELECT csp.link_partner_billing('P2', :account, :litware);
SELECT csp.add_customer('P1', 'Fabrikam', 'NL', mca_attested => true) AS fabrikam \gset
SELECT csp.add_customer('P2', 'Northwind', 'NL', mca_attested => true) AS northwind \gset
SELECT csp.set_customer_verification(:'fabrikam', 'approved');
SELECT csp.set_customer_verification(:'northwind', 'approved');
SELECT csp.add_product('M365', 'Microsoft 365 E3');
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 100.00);

-- 1,000.00 a month for Main, 100.00 for Litware, invoiced for January,
-- February and March
SET csp.clock = '2025-01-01 08:00+00';
SELECT csp.purchase(:'fabrikam', 'M365', 10) IS NOT NULL AS bought;
SELECT csp.purchase(:'northwind', 'M365', 1) IS NOT NULL AS bought;
SET csp.clock = '2025-02-01 00:30+00';
SELECT csp.run_cycle_charges() AS cycle_charges, csp.run_invoicing() AS invoices_made;
SET csp.clock = '2025-03-01 00:30+00';
SELECT csp.run_cycle_charges() AS cycle_charges, csp.run_invoicing() AS invoices_made;
SET csp.clock = '2025-04-01 00:30+00';
SELECT csp.run_cycle_charges() AS cycle_charges, csp.run_invoicing() AS invoices_made;
SELECT b.name AS profile, o.invoice_number, o.period_start, o.invoice_date, o.due_date, o.total, o.status
  FROM csp.billing_overview o JOIN csp.billing_profile b USING (billing_account_id, billing_profile_id)
 ORDER BY o.invoice_number;

-- R13.3 negative: on its due date (invoice date + 60 days) an invoice is not overdue yet
SET csp.clock = '2025-04-02 12:00+00';
SELECT invoice_number, due_date, amount_due, status FROM csp.billing_overview WHERE invoice_number = 'G000000001';
SELECT invoiced, paid, balance, overdue FROM csp.account_balance WHERE billing_profile_id = :main;
-- R13.3 positive: the day after, with an amount due, it is
SET csp.clock = '2025-04-03 09:00+00';
SELECT invoice_number, due_date, amount_due, status FROM csp.billing_overview WHERE invoice_number = 'G000000001';
SELECT invoiced, paid, balance, overdue FROM csp.account_balance WHERE billing_profile_id = :main;

-- R14.7 positive: a 1,000 invoice with a 300 credit note leaves 700 due
SELECT csp.apply_credit_note(:main, 300, 'EUR', '[{"invoice": "G000000001", "amount": 300}]',
                             reference => 'incentive Q1') AS credit_300 \gset
SELECT invoice_number, total, paid, amount_due, status FROM csp.billing_overview WHERE invoice_number = 'G000000001';
-- R14.7 negative (NC015): a credit note allocated by hand pays no more than is due
SELECT csp.apply_credit_note(:main, 800, 'EUR', '[{"invoice": "G000000001", "amount": 800}]');
\echo :LAST_ERROR_SQLSTATE
-- R14.7 positive: without allocations, the most recent invoice with an amount due first
SELECT csp.apply_credit_note(:main, 50, 'EUR') AS credit_50 \gset
SELECT invoice_number, invoice_date, total, paid, amount_due, status
  FROM csp.billing_overview WHERE billing_profile_id = :main ORDER BY invoice_number;

-- R14.4 positive: a partial payment quoting the invoice number
SELECT csp.record_payment(:main, 100.00, 'EUR', remittance => '[{"invoice": "G000000003", "amount": 100.00}]',
                          reference => 'G000000003 part 1') AS partial \gset
SELECT invoice_number, total, paid, amount_due, status FROM csp.billing_overview WHERE invoice_number = 'G000000003';

-- R14.3 positive: without remittance a payment is unallocated and does not
-- reduce the amount due
SELECT balance AS balance_before FROM csp.account_balance WHERE billing_profile_id = :main \gset
SELECT csp.record_payment(:main, 500, 'EUR', '2025-04-03 08:00+00', reference => 'no remittance') AS unallocated_500 \gset
SELECT payment_id = :unallocated_500 AS is_it, received_at, method, reference, currency, amount, allocated, unallocated
  FROM csp.unallocated_payments;
SELECT balance = :balance_before AS balance_unchanged, unallocated FROM csp.account_balance WHERE billing_profile_id = :main;
-- ... and is allocated later, on request
SELECT csp.allocate_payment(:unallocated_500, 'G000000001', 700.00);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:unallocated_500, 'G000000001', 300.00);
SELECT csp.allocate_payment(:unallocated_500, 'G000000003', 200);
SELECT invoice_number, total, paid, amount_due, status
  FROM csp.billing_overview WHERE billing_profile_id = :main ORDER BY invoice_number;
SELECT count(*) AS unallocated_rows FROM csp.unallocated_payments;

-- R14.4 positive: one payment for several invoices, listed by number: each
-- filled in order up to its amount due (G3: 700, G5: 500 of 950)
SELECT csp.record_payment(:main, 1200, 'EUR', remittance => '["G000000003", "G000000005"]') AS multi \gset
SELECT a.invoice_number, a.amount FROM csp.payment_allocation a WHERE a.payment_id = :multi ORDER BY a.allocation_id;
SELECT invoice_number, total, paid, amount_due, status
  FROM csp.billing_overview WHERE billing_profile_id = :main ORDER BY invoice_number;

-- NC015 negative: more than the payment's unallocated amount
SELECT csp.allocate_payment(:unallocated_500, 'G000000005', 0.01);
\echo :LAST_ERROR_SQLSTATE
-- NC015 negative: more than the invoice's amount due
SELECT csp.record_payment(:main, 1000, 'EUR', reference => 'spare') AS spare \gset
SELECT csp.allocate_payment(:spare, 'G000000005', 450.01);
\echo :LAST_ERROR_SQLSTATE
-- NC015 negative: a remittance larger than the payment is refused whole
SELECT count(*) AS payments_before FROM csp.payment \gset
SELECT csp.record_payment(:main, 100, 'EUR', remittance => '[{"invoice": "G000000005", "amount": 60}, {"invoice": "G000000005", "amount": 60}]');
\echo :LAST_ERROR_SQLSTATE
-- NC015 negative (R14.6): a payment in the wrong currency is not applied
SELECT csp.record_payment(:main, 100, 'USD', remittance => '["G000000005"]');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) - :payments_before AS payments_recorded_by_bad_input FROM csp.payment;
-- R14.6: recorded without remittance it is kept, identified, and cannot be allocated to a EUR invoice
SELECT csp.record_payment(:main, 100, 'USD', reference => 'wrong currency') AS usd \gset
SELECT csp.allocate_payment(:usd, 'G000000005', 10);
\echo :LAST_ERROR_SQLSTATE
-- NC015 negative (R14.6): nor to another profile's invoice
SELECT csp.allocate_payment(:spare, 'G000000002', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:litware, 10, 'EUR', remittance => '["G000000001"]');
\echo :LAST_ERROR_SQLSTATE

-- R13.4 positive: void and rebill G5 (1,000.00, 550.00 paid) with a corrected PO number and address
SELECT csp.void_and_rebill('G000000005', po_number => 'PO-2', bill_to => '{"city": "Amsterdam"}') AS rebill \gset
SELECT :'rebill' AS rebill;
SELECT invoice_number, document_type, replaces_invoice_number, period_start, period_end, invoice_date,
       due_date, total, paid, amount_due, status
  FROM csp.billing_overview WHERE period_start = '2025-03-01' AND billing_profile_id = :main
 ORDER BY invoice_number;
SELECT invoice_number, po_number, bill_to, replaced_by FROM csp.invoice
 WHERE invoice_number IN ('G000000005', 'G000000007', 'G000000008') ORDER BY invoice_number;
-- the payments made on the original apply to the rebill
SELECT a.payment_id IN (:credit_50, :multi) AS expected_payment, a.invoice_number, a.amount
  FROM csp.payment_allocation a WHERE a.invoice_number IN ('G000000005', 'G000000008') ORDER BY a.allocation_id;
-- only the latest document of the period counts in the balance
SELECT invoiced, paid, balance, overdue, unallocated FROM csp.account_balance
 WHERE billing_profile_id = :main ORDER BY currency;
-- R13.4 negative (NC003): a void note and a replaced invoice are not voided again, nor paid
SELECT csp.void_and_rebill('G000000005');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.void_and_rebill('G000000007');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, 'G000000005', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, 'G000000007', 10);
\echo :LAST_ERROR_SQLSTATE
-- the rebill takes payments
SELECT csp.allocate_payment(:spare, :'rebill', 450.01);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, :'rebill', 450);
-- R13.4 positive: a rebill can itself be voided and rebilled; the payments follow
SELECT csp.void_and_rebill(:'rebill', po_number => 'PO-3') AS rebill_2 \gset
SELECT invoice_number, document_type, replaces_invoice_number, total, paid, amount_due, status
  FROM csp.billing_overview WHERE period_start = '2025-03-01' AND billing_profile_id = :main
 ORDER BY invoice_number;

-- R14.7 positive: a credit note larger than what is due pays the most
-- recent invoices first and keeps the rest unallocated
SET csp.clock = '2025-05-01 00:30+00';
SELECT csp.run_cycle_charges() AS cycle_charges, csp.run_invoicing() AS invoices_made;
SELECT csp.apply_credit_note(:main, 1500, 'EUR') AS credit_1500 \gset
SELECT invoice_number, period_start, total, paid, amount_due, status
  FROM csp.billing_overview WHERE billing_profile_id = :main AND status <> 'void' ORDER BY invoice_number;
SELECT payment_id = :credit_1500 AS is_it, method, amount, allocated, unallocated
  FROM csp.unallocated_payments WHERE method = 'credit_note';

-- R14.1 negative: CSP invoices are not paid by credit card or cheque (NC011)
SELECT csp.record_payment(:main, 10, 'EUR', method => 'credit_card');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', method => 'cheque');
\echo :LAST_ERROR_SQLSTATE
-- R14.1 positive: a bank transfer is
SELECT csp.record_payment(:main, 10, 'EUR', method => 'bank_transfer') AS bank \gset
SELECT method, amount FROM csp.unallocated_payments WHERE payment_id = :bank;
-- 22023: an unknown method, or a credit note passed as a payment
SELECT csp.record_payment(:main, 10, 'EUR', method => 'bitcoin');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', method => 'credit_note');
\echo :LAST_ERROR_SQLSTATE

-- NC404: unknown profile, payment and invoice
SELECT csp.record_payment(999, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.apply_credit_note(999, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(999, 'G000000001', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, 'G999999999', 10);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '["G999999999"]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.apply_credit_note(:main, 10, 'EUR', '[{"invoice": "nonsense", "amount": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.void_and_rebill('G999999999');
\echo :LAST_ERROR_SQLSTATE

-- 22023: malformed remittance
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '{"invoice": "G000000001"}');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[{"amount": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[{"invoice": "G000000001", "amt": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[{"invoice": "G000000001", "amount": "1"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[{"invoice": "G000000001", "amount": -1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', remittance => '[{"invoice": "G000000001", "amount": 0.001}]');
\echo :LAST_ERROR_SQLSTATE
-- 22023: malformed amounts, currency, dates
SELECT csp.record_payment(:main, 0, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, -5, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10.001, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 'NaN', 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, NULL, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EURO');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', received_at => '2025-05-02 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', received_at => '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.record_payment(:main, 10, 'EUR', reference => '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, 'G000000010', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.allocate_payment(:spare, 'G000000010', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.void_and_rebill('G000000010', bill_to => '["not", "an", "object"]');
\echo :LAST_ERROR_SQLSTATE
-- 22003: absurd amounts
SELECT csp.record_payment(:main, 1e16, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) - :payments_before AS payments_recorded, (SELECT count(*) FROM csp.payment_allocation) AS allocations
  FROM csp.payment;

-- Roles: a billing admin records payments; a sales agent and a reader do not (42501)
-- 42501 negative: under the pinned clock a billing admin that is no time admin
-- is refused (writes under a pinned clock need csp_time_admin)
SET ROLE csp_billing_admin;
\set VERBOSITY terse
SELECT csp.record_payment(:main, 1, 'EUR') IS NOT NULL AS recorded_by_billing_admin;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- positive: a billing admin that is also a time admin may
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_pay_admin;
RESET client_min_messages;
CREATE ROLE regress_csp_pay_admin IN ROLE csp_billing_admin, csp_time_admin;
SET ROLE regress_csp_pay_admin;
SELECT csp.record_payment(:main, 1, 'EUR') IS NOT NULL AS recorded_by_billing_admin;
RESET ROLE;
SET ROLE csp_sales_agent;
SELECT csp.record_payment(:main, 1, 'EUR');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE csp_reader;
SELECT csp.apply_credit_note(:main, 1, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.void_and_rebill('G000000010');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS balances_visible_to_reader FROM csp.account_balance;
RESET ROLE;

-- Invariant: for every payment, its allocations sum to "allocated" and never exceed it
SELECT p.payment_id, p.kind, p.amount, p.allocated, coalesce(sum(a.amount), 0) AS allocations,
       coalesce(sum(a.amount), 0) = p.allocated AND p.allocated <= p.amount AS ok
  FROM csp.payment p LEFT JOIN csp.payment_allocation a USING (billing_account_id, payment_id)
 GROUP BY p.payment_id, p.kind, p.amount, p.allocated ORDER BY p.payment_id;
-- Invariant: for every document, paid = its allocations <= total, and total = its lines
SELECT i.invoice_number, i.document_type, i.total,
       (SELECT sum(l.amount) FROM csp.invoice_lines l WHERE l.invoice_number = i.invoice_number) AS lines,
       i.paid, (SELECT coalesce(sum(a.amount), 0) FROM csp.payment_allocation a
                 WHERE a.invoice_number = i.invoice_number) AS allocations
  FROM csp.invoice i ORDER BY i.invoice_number;
SELECT count(*) AS broken_documents
  FROM csp.invoice i
 WHERE i.total <> (SELECT sum(l.amount) FROM csp.invoice_lines l WHERE l.invoice_number = i.invoice_number)
    OR i.paid <> (SELECT coalesce(sum(a.amount), 0) FROM csp.payment_allocation a WHERE a.invoice_number = i.invoice_number)
    OR i.paid > GREATEST(i.total, 0);
-- Invariant (R14.2, R13.4): balance = invoiced - paid over the latest documents of each period
SELECT b.billing_profile_id = :main AS is_main, b.currency, b.invoiced, b.paid, b.balance, b.overdue, b.unallocated,
       b.invoiced = (SELECT coalesce(sum(o.total), 0) FROM csp.billing_overview o
                      WHERE o.billing_profile_id = b.billing_profile_id AND o.currency = b.currency
                        AND o.status <> 'void') AS invoiced_is_latest_documents,
       b.balance = b.invoiced - b.paid AS balance_is_invoiced_minus_paid,
       b.balance = (SELECT coalesce(sum(o.amount_due), 0) FROM csp.billing_overview o
                     WHERE o.billing_profile_id = b.billing_profile_id AND o.currency = b.currency) AS balance_is_amount_due
  FROM csp.account_balance b ORDER BY b.billing_profile_id, b.currency;
-- the audit log names every change of money
SELECT object_type, action, operation, count(*)
  FROM csp.audit_log WHERE object_type IN ('invoice', 'payment', 'payment_allocation')
 GROUP BY object_type, action, operation ORDER BY object_type, action, operation;

DROP EXTENSION csp_billing CASCADE;
