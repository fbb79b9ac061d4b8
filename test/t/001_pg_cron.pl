# R6.6, R13.1: csp.schedule_jobs registers the daily billing job with the
# real pg_cron, pg_cron runs the engine's job functions, and DROP EXTENSION
# removes the job (issue 11 item 6, issue 14 item 5).
#
# A node of its own with pg_cron preloaded; jobs run in background workers
# (cron.use_background_workers), so no TCP connection is needed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
timezone = 'UTC'
});
$node->start;

# Without pg_cron in the database, the error says what to do.
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
CREATE EXTENSION csp_billing;
SELECT csp.schedule_jobs();
});
like($stderr, qr/pg_cron is not installed in this database/, 'schedule_jobs without pg_cron: clear error');
like($stderr, qr/HINT:.*shared_preload_libraries/, 'the hint says how to install pg_cron');

# A job of 0.2.0 (invoicing on the 1st only) is replaced by the daily tick.
$node->safe_psql('postgres', q{CREATE EXTENSION pg_cron;
	SELECT cron.schedule('csp_billing_invoicing', '30 0 1 * *', 'SELECT csp.run_invoicing()');
	SELECT csp.schedule_jobs();});
is($node->safe_psql('postgres',
	q{SELECT string_agg(jobname || ' ' || schedule || ' ' || command, ', ' ORDER BY jobname) FROM cron.job}),
	'csp_billing_daily 5 0 * * * SELECT csp.tick()',
	'R6.6/R13.1 positive: one daily job runs csp.tick(); the old monthly invoicing job is gone');

# Scheduling twice keeps one job (idempotent).
$node->safe_psql('postgres', 'SELECT csp.schedule_jobs();');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'csp_billing_%'}),
	'1', 'schedule_jobs twice: still one job');

# Issue 11 item 6, R13.1: the registered command closes a legacy period
# (anniversary day 12, period 2025-01-12..2025-02-11) on the day after it
# ends, not on the 1st of the next month.
$node->safe_psql('postgres', q{
SET csp.clock = '2025-01-20 09:00+00';
SELECT csp.create_billing_account('Legacy Co', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Legacy', billing_model => 'legacy', anniversary_day => 12) AS bp \gset
SELECT csp.create_partner('PL', 'Legacy partner', 'direct_bill', 'NL');
SELECT csp.link_partner_billing('PL', :ba, :bp, accept_mca => true);
SELECT csp.add_customer('PL', 'Oud BV', 'NL', mca_attested => true) AS c \gset
SELECT csp.set_customer_verification(:'c', 'approved');
SELECT csp.add_product('L1', 'Legacy seat');
SELECT csp.set_price('L1', 'P1M', 'monthly', 'EUR', 10.00);
SELECT csp.purchase(:'c', 'L1', 10, term => 'P1M');
});
my $command = $node->safe_psql('postgres', q{SELECT command FROM cron.job WHERE jobname = 'csp_billing_daily'});
$node->safe_psql('postgres', "SET csp.clock = '2025-02-11 00:05+00'; $command");
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.invoice}), '0',
	'R13.1 negative: on the period\'s last day the daily job does not invoice it yet');
$node->safe_psql('postgres', "SET csp.clock = '2025-02-12 00:05+00'; $command");
is($node->safe_psql('postgres', q{SELECT period_start || '..' || period_end || ' ' || invoice_date || ' ' || published_on FROM csp.invoice}),
	'2025-01-12..2025-02-11 2025-02-12 2025-02-14',
	'R13.1 positive: the daily job invoices the legacy period the day after it ends (published 2025-02-14)');

# pg_cron really runs the engine: a job every minute calls run_renewals
# on a history whose renewal is due.
$node->safe_psql('postgres', q{
SET csp.clock = '2025-01-10 09:00+00';
SELECT csp.create_billing_account('Contoso', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Main') AS bp \gset
SELECT csp.create_partner('P1', 'Fabrikam', 'direct_bill', 'NL');
SELECT csp.link_partner_billing('P1', :ba, :bp, accept_mca => true);
SELECT csp.add_customer('P1', 'Acme BV', 'NL', mca_attested => true) AS c \gset
SELECT csp.set_customer_verification(:'c', 'approved');
SELECT csp.add_product('E3', 'Microsoft 365 E3');
SELECT csp.set_price('E3', 'P1M', 'monthly', 'EUR', 12.00);
SELECT csp.purchase(:'c', 'E3', 10, term => 'P1M');
SELECT cron.schedule('csp_billing_test', '* * * * *',
    $$SET csp.clock = '2025-02-10 00:05+00'; SELECT csp.run_renewals()$$);
});

my $succeeded = 0;
foreach my $i (1 .. 90)
{
	$succeeded = $node->safe_psql('postgres', q{
		SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		 WHERE j.jobname = 'csp_billing_test' AND d.status = 'succeeded'});
	last if $succeeded > 0;
	sleep 1;
}
ok($succeeded > 0, 'pg_cron ran csp.run_renewals in a background worker');
is($node->safe_psql('postgres', q{SELECT term_start || '..' || term_end FROM csp.subscriptions WHERE sku_id = 'E3'}),
	'2025-02-10..2025-03-09', 'R6.6 positive: the job renewed the P1M term from the day after its end');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.line_items WHERE charge_type = 'renew'}),
	'1', 'the renewal posted one renew line');

# unschedule_jobs removes exactly the billing jobs.
$node->safe_psql('postgres', 'SELECT csp.unschedule_jobs();');
is($node->safe_psql('postgres', q{SELECT string_agg(jobname, ',') FROM cron.job}),
	'csp_billing_test', 'unschedule_jobs removes the billing jobs only');

# DROP EXTENSION csp_billing unschedules its jobs (event trigger), and
# leaves the other jobs alone.
$node->safe_psql('postgres', 'SELECT csp.schedule_jobs();');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname = 'csp_billing_daily'}),
	'1', 'the daily job is scheduled again before the drop');
$node->safe_psql('postgres', q{SELECT cron.unschedule('csp_billing_test'); DROP EXTENSION csp_billing;});
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0',
	'DROP EXTENSION csp_billing removes its pg_cron jobs');
$node->safe_psql('postgres', q{SELECT cron.schedule('other', '0 3 * * *', 'SELECT 1');
	CREATE EXTENSION csp_billing; DROP EXTENSION csp_billing;});
is($node->safe_psql('postgres', q{SELECT string_agg(jobname, ',') FROM cron.job}), 'other',
	'dropping the extension without its jobs scheduled keeps other jobs');
$node->safe_psql('postgres', q{CREATE EXTENSION csp_billing; SELECT csp.schedule_jobs(); DROP EXTENSION pg_cron;
	DROP EXTENSION csp_billing;});
pass('DROP EXTENSION csp_billing works when pg_cron is gone');

$node->stop;
done_testing();
