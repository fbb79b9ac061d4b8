# R6.6, R13.1: csp.schedule_jobs registers the billing jobs with the real
# pg_cron, and pg_cron runs the engine's job functions.
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

$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron; SELECT csp.schedule_jobs();');
is($node->safe_psql('postgres',
	q{SELECT string_agg(jobname || ' ' || schedule, ', ' ORDER BY jobname) FROM cron.job}),
	'csp_billing_daily 5 0 * * *, csp_billing_invoicing 30 0 1 * *',
	'R6.6/R13.1 positive: the daily and monthly jobs are registered');

# Scheduling twice keeps one job of each name (idempotent).
$node->safe_psql('postgres', 'SELECT csp.schedule_jobs();');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname LIKE 'csp_billing_%'}),
	'2', 'schedule_jobs twice: still two jobs');

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
is($node->safe_psql('postgres', q{SELECT term_start || '..' || term_end FROM csp.subscriptions}),
	'2025-02-10..2025-03-09', 'R6.6 positive: the job renewed the P1M term from the day after its end');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.line_items WHERE charge_type = 'renew'}),
	'1', 'the renewal posted one renew line');

# unschedule_jobs removes exactly the billing jobs.
$node->safe_psql('postgres', 'SELECT csp.unschedule_jobs();');
is($node->safe_psql('postgres', q{SELECT string_agg(jobname, ',') FROM cron.job}),
	'csp_billing_test', 'unschedule_jobs removes the billing jobs only');

$node->stop;
done_testing();
