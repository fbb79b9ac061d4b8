# The billing history the upgrade tests replay (t/004_upgrade_path.pl,
# t/006_upgrade_with_data.pl): set-up and January on one side of an update,
# February and March on the other.  psql scripts, run by safe_psql.  And
# demo_node: a node with the demo history, for the finance-file tests.
package CspHistory;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Test::More ();

# Two billing accounts (an NCE and a legacy profile), two partners, E3/E5 with
# an upgrade path and a USD-priced SaaS product, 24 customers with three
# subscriptions each, quantity changes and cancellations, daily ticks to
# 2025-02-19, and payments with remittance on 2025-02-20.
sub part1
{
	return q{
SET client_min_messages = warning;
SET csp.clock = '2024-12-20 09:00+00';
SELECT csp.create_billing_account('Northwind NL', 'NL', 'EUR') AS acct \gset
SELECT csp.create_billing_profile(:acct, 'Northwind NCE', po_number => 'PO-1') AS nce \gset
SELECT csp.create_invoice_section(:nce, 'Education') AS edu \gset
SELECT csp.create_billing_account('Tailspin', 'NL', 'EUR') AS acct2 \gset
SELECT csp.create_billing_profile(:acct2, 'Tailspin legacy', billing_model => 'legacy', anniversary_day => 12) AS legacy \gset
SELECT csp.create_partner('northwind', 'Northwind', 'indirect_provider', 'NL');
SELECT csp.create_partner('tailspin', 'Tailspin', 'direct_bill', 'NL');
SELECT csp.link_partner_billing('northwind', :acct, :nce, accept_mca => true);
SELECT csp.link_partner_billing('tailspin', :acct2, :legacy, accept_mca => true);
SELECT csp.add_product('E3', 'Microsoft 365 E3');
SELECT csp.add_product('E5', 'Microsoft 365 E5');
SELECT csp.add_upgrade_path('E3', 'E5');
SELECT csp.add_product('SIGN', 'Contoso eSign', publisher => 'contoso-isv');
SELECT csp.set_price(s, t, f, 'EUR', round(m * k, 2))
  FROM (VALUES ('E3', 33.70), ('E5', 54.70)) p (s, m),
       (VALUES ('P1M', 'monthly', 1.2), ('P1Y', 'monthly', 1.0), ('P1Y', 'annual', 12.0)) t (t, f, k)
 ORDER BY s, t, f;
SELECT csp.set_price('SIGN', 'P1Y', 'monthly', 'USD', 12.00);
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date(m::date), 0.91 + 0.01 * i)
  FROM generate_series(date '2024-12-01', date '2025-05-01', interval '1 month') WITH ORDINALITY g (m, i);
CREATE TABLE public.cust (n int PRIMARY KEY, customer_id uuid);
INSERT INTO public.cust
SELECT n, csp.add_customer(CASE WHEN n % 4 = 0 THEN 'tailspin' ELSE 'northwind' END,
                           'Customer ' || n, 'NL', mca_attested => true)
  FROM generate_series(1, 24) n ORDER BY n;
SELECT csp.set_customer_verification(customer_id, 'approved') FROM public.cust ORDER BY n;
SET csp.clock = '2025-01-06 10:00+00';
CREATE TABLE public.sub (n int, k int, subscription_id uuid);
INSERT INTO public.sub
SELECT n, k, csp.purchase(customer_id, CASE k WHEN 3 THEN 'SIGN' ELSE 'E3' END, 5 + (n * k) % 20,
                          term => CASE k WHEN 2 THEN 'P1M' ELSE 'P1Y' END,
                          billing_frequency => CASE WHEN k = 1 AND n % 5 = 0 THEN 'annual' ELSE 'monthly' END)
  FROM public.cust, generate_series(1, 3) k ORDER BY n, k;
SET csp.clock = '2025-01-08 10:00+00';
SELECT csp.change_quantity(subscription_id, 3) FROM public.sub WHERE k = 1 AND n % 7 = 0 ORDER BY n;
SELECT csp.cancel(subscription_id) FROM public.sub WHERE k = 2 AND n % 9 = 0 ORDER BY n;
SELECT format('SET csp.clock = %L', d + time '00:05'), 'SELECT csp.tick()'
  FROM generate_series(date '2025-01-09', date '2025-02-19', interval '1 day') d ORDER BY d \gexec
SET csp.clock = '2025-02-20 15:00+00';
SELECT csp.record_payment(billing_profile_id, amount_due, currency,
                          remittance => jsonb_build_array(invoice_number), reference => 'REMIT ' || invoice_number)
  FROM csp.billing_overview WHERE amount_due > 0 ORDER BY invoice_number;
};
}

# Quantity changes, an upgrade and a scheduled change on 2025-02-21, daily
# ticks to 2025-03-19, an unmatched payment, a credit note and a void and
# rebill on 2025-03-20, daily ticks to 2025-04-13.
sub part2
{
	return q{
SET client_min_messages = warning;
SET csp.clock = '2025-02-21 11:00+00';
SELECT csp.change_quantity(subscription_id, 30) FROM public.sub WHERE k = 1 AND n % 6 = 1 ORDER BY n;
SELECT csp.upgrade(subscription_id, 'E5') FROM public.sub WHERE k = 1 AND n = 2;
SELECT csp.schedule_change(subscription_id, quantity => 4) FROM public.sub WHERE k = 1 AND n = 3;
SELECT format('SET csp.clock = %L', d + time '00:05'), 'SELECT csp.tick()'
  FROM generate_series(date '2025-02-20', date '2025-03-19', interval '1 day') d ORDER BY d \gexec
SET csp.clock = '2025-03-20 15:00+00';
SELECT csp.record_payment(billing_profile_id, 1234.56, 'EUR', method => 'bank_transfer', reference => 'UNMATCHED')
  FROM csp.billing_profile WHERE anniversary_day IS NOT NULL;
SELECT csp.apply_credit_note(billing_profile_id, 150.00, 'EUR', reference => 'Incentive Q1')
  FROM csp.billing_profile WHERE anniversary_day IS NULL;
SELECT csp.void_and_rebill(invoice_number, po_number => 'PO-2')
  FROM csp.invoice WHERE document_type = 'invoice' AND period_start = '2025-02-01' ORDER BY invoice_number;
SELECT format('SET csp.clock = %L', d + time '00:05'), 'SELECT csp.tick()'
  FROM generate_series(date '2025-03-20', date '2025-04-13', interval '1 day') d ORDER BY d \gexec
};
}

# A node with the demo history (scripts/demo.sql, copied next to the tests
# as TESTDIR/scripts) loaded into database csp_demo, for the tests of the
# finance files (t/008_finance_files.pl, t/010_report.pl).  Passes a test
# when the history loads.
sub demo_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE csp_demo');
	my ($rc, $out, $err) = $node->psql('csp_demo', undef,
		extra_params => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$ENV{TESTDIR}/scripts/demo.sql"]);
	Test::More::is($rc, 0, 'the demo history loads') or Test::More::diag($err);
	return $node;
}

1;
