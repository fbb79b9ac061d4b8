# pg_dump / pg_restore of a database with billing history.
#
# Every csp data table and sequence is registered with
# pg_extension_config_dump, so pg_dump -Fc writes CREATE EXTENSION plus the
# billing data, and pg_restore into a new database (on the same cluster, and
# on a fresh cluster that has never seen the extension's roles) gives the
# same views, row for row, and sequences that carry on: a document made
# after the restore never reuses a number.
#
# If the plain pg_restore fails (that assertion fails and prints
# pg_restore's error), the comparisons are made on a restore in sections
# instead: pre-data, --data-only --disable-triggers, post-data.  The plain
# restore is what the README promises; the sectioned one shows that the
# dump itself holds everything.
#
# The history is set-based and small: two billing profiles (NCE and legacy),
# 40 customers, P1Y-monthly, P1M and USD-priced subscriptions (FX), quantity
# changes and a cancellation, three months of daily jobs (renewals, cycle
# charges, invoicing), payments with and without remittance, a credit note
# and a void-and-rebill.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
SET csp.clock = '2024-12-20 09:00+00';
SELECT csp.create_billing_account('Northwind NL', 'NL', 'EUR') AS acct \gset
SELECT csp.create_billing_profile(:acct, 'Northwind NCE', po_number => 'PO-1') AS nce \gset
SELECT csp.create_invoice_section(:nce, 'Education') AS edu \gset
SELECT csp.create_billing_account('Tailspin', 'NL', 'EUR') AS acct2 \gset
SELECT csp.create_billing_profile(:acct2, 'Tailspin legacy', billing_model => 'legacy', anniversary_day => 12) AS legacy \gset
SELECT csp.create_partner('northwind', 'Northwind', 'indirect_provider', 'NL');
SELECT csp.create_partner('adatum', 'Adatum', 'indirect_reseller', 'NL', indirect_provider_id => 'northwind');
SELECT csp.create_partner('tailspin', 'Tailspin', 'direct_bill', 'NL');
SELECT csp.link_partner_billing('northwind', :acct, :nce, accept_mca => true);
SELECT csp.link_partner_billing('tailspin', :acct2, :legacy, accept_mca => true);
SELECT csp.add_product('E3', 'Microsoft 365 E3');
SELECT csp.add_product('E5', 'Microsoft 365 E5');
SELECT csp.add_upgrade_path('E3', 'E5');
SELECT csp.add_product('SIGN', 'Contoso eSign', publisher => 'contoso-isv');
SELECT csp.set_price(s, t, f, 'EUR', round(m * k, 2))
  FROM (VALUES ('E3', 33.70), ('E5', 54.70)) p (s, m),
       (VALUES ('P1M', 'monthly', 1.2), ('P1Y', 'monthly', 1.0), ('P1Y', 'annual', 12.0)) t (t, f, k);
SELECT csp.set_price('SIGN', 'P1Y', 'monthly', 'USD', 12.00);
SELECT csp.set_fx_rate('USD', 'EUR', csp.fx_rate_date(m::date), 0.91 + 0.01 * i)
  FROM generate_series(date '2024-12-01', date '2025-05-01', interval '1 month') WITH ORDINALITY g (m, i);
CREATE TABLE public.cust (n int PRIMARY KEY, customer_id uuid);
INSERT INTO public.cust
SELECT n, csp.add_customer(CASE WHEN n % 4 = 0 THEN 'tailspin' ELSE 'northwind' END,
                           'Customer ' || n, 'NL', mca_attested => true)
  FROM generate_series(1, 40) n;
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
SET csp.clock = '2025-02-03 11:00+00';
SELECT csp.change_quantity(subscription_id, 30) FROM public.sub WHERE k = 1 AND n % 6 = 1 ORDER BY n;
});

# Three months of daily jobs, with money events in between.
sub days
{
	my ($from, $to) = @_;
	$node->safe_psql('src', qq{
SELECT format('SET csp.clock = %L', d + time '00:05'), 'SELECT csp.tick()'
  FROM generate_series(date '$from', date '$to', interval '1 day') d ORDER BY d \\gexec
});
	return;
}
days('2025-01-07', '2025-02-19');
$node->safe_psql('src', q{
SET csp.clock = '2025-02-20 15:00+00';
SELECT csp.record_payment(billing_profile_id, amount_due, currency,
                          remittance => jsonb_build_array(invoice_number), reference => 'REMIT ' || invoice_number)
  FROM csp.billing_overview WHERE amount_due > 0 ORDER BY invoice_number;
});
days('2025-02-20', '2025-03-19');
$node->safe_psql('src', q{
SET csp.clock = '2025-03-20 15:00+00';
SELECT csp.record_payment(billing_profile_id, 1234.56, 'EUR', method => 'bank_transfer', reference => 'UNMATCHED')
  FROM csp.billing_profile WHERE anniversary_day IS NOT NULL;
SELECT csp.apply_credit_note(billing_profile_id, 150.00, 'EUR', reference => 'Incentive Q1')
  FROM csp.billing_profile WHERE anniversary_day IS NULL;
SELECT csp.void_and_rebill(invoice_number, po_number => 'PO-2')
  FROM csp.invoice WHERE document_type = 'invoice' AND period_start = '2025-02-01';
SELECT csp.record_payment(billing_profile_id, round(amount_due / 2, 2), currency,
                          remittance => jsonb_build_array(invoice_number))
  FROM csp.billing_overview WHERE amount_due > 0 AND document_type = 'invoice' ORDER BY invoice_number LIMIT 2;
});
days('2025-03-20', '2025-04-13');

is($node->safe_psql('src', q{
	SELECT (SELECT count(*) > 0 FROM csp.invoice WHERE document_type = 'void_note')
	   AND (SELECT count(*) > 0 FROM csp.invoice WHERE document_type = 'rebill')
	   AND (SELECT count(*) >= 6 FROM csp.invoice WHERE document_type = 'invoice')
	   AND (SELECT count(*) > 0 FROM csp.unallocated_payments)
	   AND (SELECT count(*) > 0 FROM csp.payment WHERE kind = 'credit_note')
	   AND (SELECT count(*) > 0 FROM csp.charge WHERE charge_type = 'renew')
	   AND (SELECT count(*) > 0 FROM csp.charge WHERE charge_type = 'cycleCharge')
	   AND (SELECT count(*) > 0 FROM csp.charge WHERE fx_rate <> 1)
	   AND (SELECT count(*) > 0 FROM csp.line_items WHERE invoice_number IS NULL)}),
	't', 'the history has invoices, void notes, rebills, payments, credit notes, FX and unbilled lines');

# What must survive: the views, as ordered text, with the clock pinned (the
# status of an invoice depends on csp.now()), every data table of the
# extension, and the state of every sequence.
my @views = (
	[ 'billing_overview', '*' ],
	[ 'account_balance', '*' ],
	[ 'line_items', '*' ],
	[ 'subscriptions', '*' ],
	[ 'unallocated_payments', '*' ],
	[ 'invoice_lines', '*' ],
	[ 'audit_log', 'count' ]);

sub snapshot
{
	my ($n, $db) = @_;
	my %s;
	foreach my $v (@views)
	{
		my ($name, $how) = @$v;
		$s{"view csp.$name"} = $n->safe_psql($db, $how eq 'count'
			? "SELECT count(*) FROM csp.$name"
			: "SET csp.clock = '2025-04-13 12:00+00';
			   SELECT count(*) || E'\\n' || coalesce(string_agg(v::text, E'\\n' ORDER BY v::text), '')
			     FROM csp.$name v");
	}
	my @tables = split /\n/, $n->safe_psql($db, q{
		SELECT c.oid::regclass FROM pg_extension e, unnest(e.extconfig) c(oid)
		 JOIN pg_class r ON r.oid = c.oid
		 WHERE e.extname = 'csp_billing' AND r.relkind = 'r' ORDER BY 1::text});
	foreach my $t (@tables)
	{
		$s{"table $t"} = $n->safe_psql($db,
			"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM $t t");
	}
	$s{sequences} = $n->safe_psql($db, q{
		SELECT string_agg(schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'NULL'), E'\n'
		                  ORDER BY sequencename)
		  FROM pg_sequences WHERE schemaname = 'csp'});
	$s{extension} = $n->safe_psql($db,
		q{SELECT extversion || ' ' || cardinality(extconfig) FROM pg_extension WHERE extname = 'csp_billing'});
	return \%s;
}

my $before = snapshot($node, 'src');
ok(scalar(keys %$before) >= 20, 'snapshot of ' . scalar(keys %$before) . ' views, tables and sequences');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'src' ], 'pg_dump -Fc of the database');

sub compare
{
	my ($after, $where) = @_;
	foreach my $k (sort keys %$before)
	{
		is($after->{$k}, $before->{$k}, "$where: $k identical");
	}
	return;
}

# 1. pg_restore into a new database of the same cluster: what the README
# promises (a plain pg_dump / pg_restore keeps the billing data).
$node->safe_psql('postgres', 'CREATE DATABASE restored');
if (plain_restore($node, 'plain pg_restore into a new database'))
{
	compare(snapshot($node, 'restored'), 'restored');
}
else
{
	# The comparisons are made on a restore in sections instead, rather than
	# failing each of them on an empty database.
	$node->safe_psql('postgres', 'DROP DATABASE restored');
	$node->safe_psql('postgres', 'CREATE DATABASE restored');
	restore_in_sections($node, 'restored');
	compare(snapshot($node, 'restored'), 'restored in sections');
}

# pg_restore --exit-on-error into database restored; on failure, say why.
sub plain_restore
{
	my ($n, $name) = @_;
	my ($stdout, $stderr) = run_command(
		[ 'pg_restore', '--exit-on-error', '-d', $n->connstr('restored'), $dump ]);
	my $ok = ok($stderr eq '', $name);
	diag("pg_restore: $stderr") unless $ok;
	return $ok;
}

# pre-data (CREATE EXTENSION), then the data with the extension's triggers
# off (superuser), then post-data.
sub restore_in_sections
{
	my ($n, $db) = @_;
	$n->command_ok([ 'pg_restore', '--exit-on-error', '--section=pre-data', '-d', $db, $dump ],
		"$db: pg_restore --section=pre-data");
	$n->command_ok([ 'pg_restore', '--exit-on-error', '--data-only', '--disable-triggers', '-d', $db, $dump ],
		"$db: pg_restore --data-only --disable-triggers");
	$n->command_ok([ 'pg_restore', '--exit-on-error', '--section=post-data', '-d', $db, $dump ],
		"$db: pg_restore --section=post-data");
	return;
}

# 2. pg_restore on a fresh cluster, where the extension's group roles do
# not exist yet.
my $node2 = PostgreSQL::Test::Cluster->new('restore');
$node2->init;
$node2->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node2->start;
$node2->safe_psql('postgres', 'CREATE DATABASE restored');
if (plain_restore($node2, 'plain pg_restore on a fresh cluster'))
{
	compare(snapshot($node2, 'restored'), 'fresh cluster');
}
else
{
	$node2->safe_psql('postgres', 'DROP DATABASE restored');
	$node2->safe_psql('postgres', 'CREATE DATABASE restored');
	restore_in_sections($node2, 'restored');
	compare(snapshot($node2, 'restored'), 'fresh cluster, in sections');
}

# The sequences carry on: new work after the restore gets new numbers.
my $next_month = q{
SET client_min_messages = warning;
SET csp.clock = '2025-04-20 10:00+00';
SELECT csp.purchase(customer_id, 'E5', 10) FROM public.cust WHERE n = 1;
SELECT csp.record_payment(billing_profile_id, 10.00, 'EUR') FROM csp.billing_profile ORDER BY 1 LIMIT 1;
SET csp.clock = '2025-05-01 00:30+00';
SELECT csp.run_invoicing();
SELECT string_agg(invoice_number, ',' ORDER BY invoice_number) FROM csp.invoice WHERE created_at >= '2025-04-14';
};
foreach my $target ([ $node, 'restored', 'restored' ], [ $node2, 'restored', 'fresh cluster' ])
{
	my ($n, $db, $where) = @$target;
	my $new = $n->safe_psql($db, $next_month);
	$new = (split /\n/, $new)[-1] // '';
	ok($new =~ /^G\d{9}/, "$where: run_invoicing after the restore makes invoices ($new)");
	is($n->safe_psql($db, q{
		SELECT count(*) FROM csp.invoice i
		 WHERE i.created_at >= '2025-04-14'
		   AND i.invoice_number <= (SELECT max(invoice_number) FROM csp.invoice WHERE created_at < '2025-04-14')}),
		'0', "$where: the new invoice numbers come after every restored one");
	is($n->safe_psql($db, q{
		SELECT (SELECT count(*) FROM csp.invoice) = (SELECT count(DISTINCT invoice_number) FROM csp.invoice)
		   AND (SELECT count(*) FROM csp.payment) = (SELECT count(DISTINCT payment_id) FROM csp.payment)
		   AND (SELECT count(*) FROM csp.charge) = (SELECT count(DISTINCT charge_id) FROM csp.charge)
		   AND (SELECT count(*) FROM csp.seat_lot) = (SELECT count(DISTINCT lot_id) FROM csp.seat_lot)
		   AND (SELECT count(*) FROM csp.audit_log) = (SELECT count(DISTINCT audit_id) FROM csp.audit_log)}),
		't', "$where: no id or document number is reused");
}
# The same new work on the source and on both restores gives the same numbers.
my $src_new = (split /\n/, $node->safe_psql('src', $next_month))[-1];
is($node->safe_psql('restored', q{SELECT string_agg(invoice_number, ',' ORDER BY invoice_number) FROM csp.invoice WHERE created_at >= '2025-04-14'}),
	$src_new, 'the restore numbers new invoices exactly as the source does');

$node2->stop;
$node->stop;
done_testing();
