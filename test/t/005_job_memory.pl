# Memory of the subscription jobs does not grow with their length.
#
# csp.run_cycle_charges takes each subscription that is not "plain" in a
# subtransaction of its own (csp.set_based_jobs = off forces that path for
# all).  Anything a subtransaction leaves in its CurTransactionContext is
# kept until the top transaction ends (an AFTER STATEMENT trigger or a
# transition table on a table the job writes does that), and SPI result
# tables pile up until SPI_finish: either makes a job's memory grow by
# kilobytes per subscription.  Here 12,000 subscriptions are charged in one
# transaction, one at a time and then set-based, and the backend's memory
# (pg_log_backend_memory_contexts, before the transaction ends) must stay
# below 64 MB; 12,000 retained 8 kB contexts alone would be 96 MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $NSUBS = 12000;
my $LIMIT_MB = 64;

my $node = PostgreSQL::Test::Cluster->new('job_memory');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;

# The bench generator's shape (bench/gen.sql), written straight into the
# tables with the triggers off: P1Y monthly subscriptions started on
# 2025-06-01, each owing the cycle of 2026-01-01.
$node->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
SET csp.clock = '2025-05-01 09:00+00';
SELECT csp.add_product(sku_id => 'MEM-E3', name => 'Memory E3');
SELECT csp.set_price(sku_id => 'MEM-E3', term => 'P1Y', billing_frequency => 'monthly',
                     currency => 'EUR', unit_price => 36.00, valid_from => '2025-01-01');
SET session_replication_role = replica;
INSERT INTO csp.billing_account (billing_account_id, name, country, currency, created_by, created_at)
VALUES (1, 'Memory account', 'NL', 'EUR', 'postgres', '2025-05-01');
INSERT INTO csp.billing_profile (billing_account_id, billing_profile_id, name, currency, created_at)
VALUES (1, 1, 'Memory profile', 'EUR', '2025-05-01');
INSERT INTO csp.invoice_section (billing_account_id, invoice_section_id, billing_profile_id, name, is_default, created_at)
VALUES (1, 1, 1, 'Default', true, '2025-05-01');
INSERT INTO csp.partner (partner_id, name, kind, country, status, billing_account_id, billing_profile_id, linked_at, created_at)
VALUES ('mem', 'Memory partner', 'direct_bill', 'NL', 'active', 1, 1, '2025-05-01', '2025-05-01');
SELECT setval('csp.billing_account_id_seq', 1), setval('csp.billing_profile_id_seq', 1),
       setval('csp.invoice_section_id_seq', 1);
CREATE TABLE public.cust AS SELECT c, gen_random_uuid() AS customer_id FROM generate_series(0, 199) c;
INSERT INTO csp.customer (customer_id, partner_id, legal_name, country, mca_attested, mca_attested_at,
                          verification_status, verification_changed_at, created_at)
SELECT customer_id, 'mem', 'Customer ' || c, 'NL', true, '2025-05-01', 'approved', '2025-05-01', '2025-05-01'
  FROM public.cust;
INSERT INTO csp.subscription (billing_account_id, billing_profile_id, invoice_section_id, customer_id,
       partner_id, sku_id, quantity, status, auto_renew, term, billing_frequency, term_start, term_end,
       term_started_at, cancellation_allowed_until, unit_price, currency, pricing_currency,
       next_charge_date, purchased_at)
SELECT 1, 1, 1, k.customer_id, 'mem', 'MEM-E3', 1 + s % 20, 'active', true, 'P1Y', 'monthly',
       '2025-06-01', '2026-05-31', '2025-06-01', '2025-06-08', 36.00, 'EUR', 'EUR', '2026-01-01', '2025-06-01'
  FROM generate_series(0, $NSUBS - 1) s JOIN public.cust k ON k.c = s % 200;
INSERT INTO csp.seat_lot (billing_account_id, subscription_id, term_start, source, added_at,
                          reducible_until, quantity_added, quantity)
SELECT 1, subscription_id, term_start, 'purchase', '2025-06-01', '2025-06-08', quantity, quantity
  FROM csp.subscription;
RESET session_replication_role;
VACUUM ANALYZE;
});

# Runs the cycle charges of 2026-01-01 in one transaction and returns the
# number charged and the backend's memory in MB just before the end.
sub charge_and_measure
{
	my ($set_based) = @_;
	my $log_offset = -s $node->logfile;
	my $charged = $node->safe_psql('postgres', qq{
SET client_min_messages = warning;
SET csp.set_based_jobs = $set_based;
SET csp.clock = '2026-01-01 00:20+00';
BEGIN;
SELECT csp.run_cycle_charges();
SELECT pg_log_backend_memory_contexts(pg_backend_pid()) \\gset
SELECT pg_sleep(0.2) \\gset
ROLLBACK;
});
	my $total;
	for my $try (1 .. 50)
	{
		my $log = slurp_file($node->logfile, $log_offset);
		if ($log =~ /Grand total: (\d+) bytes/)
		{
			$total = $1;
			last;
		}
		usleep(100_000);
	}
	return ($charged, defined $total ? $total / (1024 * 1024) : undef);
}

my ($charged_rows, $mb_rows) = charge_and_measure('off');
is($charged_rows, $NSUBS, "one at a time: $NSUBS cycles charged");
ok(defined $mb_rows && $mb_rows < $LIMIT_MB,
	sprintf('one at a time: the backend holds %.1f MB after %d subtransactions (< %d MB)',
		$mb_rows // -1, $NSUBS, $LIMIT_MB));

my ($charged_set, $mb_set) = charge_and_measure('on');
is($charged_set, $NSUBS, "set-based: $NSUBS cycles charged");
ok(defined $mb_set && $mb_set < $LIMIT_MB,
	sprintf('set-based: the backend holds %.1f MB (< %d MB)', $mb_set // -1, $LIMIT_MB));

$node->stop;
done_testing();
