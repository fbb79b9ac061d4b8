# Issue 14 item 5: pg_cron on a stock Debian server.  Debian's pg_hba.conf
# asks for a password on TCP (host ... 127.0.0.1/32 scram-sha-256), and
# pg_cron without background workers connects to each job's nodename, which
# is cron.host ('localhost') when the job is scheduled.  csp.schedule_jobs
# points its job at the server's Unix socket instead, so the job runs; a
# job scheduled the plain way on the same server fails (the test can fail).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crontcp');
$node->init;
$node->append_conf('postgresql.conf', qq{
listen_addresses = '127.0.0.1'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = off
timezone = 'UTC'
});
# Debian's shape: peer/trust on the socket, a password on TCP.
open(my $hba, '>', $node->data_dir . '/pg_hba.conf') or die $!;
print $hba "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";
close $hba;
$node->start;

my $user = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql('postgres', qq{ALTER ROLE "$user" PASSWORD 'secret';
	CREATE EXTENSION pg_cron; CREATE EXTENSION csp_billing;});

# The plain way: nodename localhost, TCP, password asked for.
$node->safe_psql('postgres', q{SELECT cron.schedule('plain', '* * * * *', 'SELECT 1')});
is($node->safe_psql('postgres', q{SELECT nodename FROM cron.job WHERE jobname = 'plain'}), 'localhost',
	'a job scheduled the plain way connects to localhost');

$node->safe_psql('postgres', 'SELECT csp.schedule_jobs()');
my $socketdir = $node->safe_psql('postgres',
	q{SELECT trim(split_part(current_setting('unix_socket_directories'), ',', 1))});
is($node->safe_psql('postgres', q{SELECT nodename || ' ' || (nodeport = current_setting('port')::int)
	FROM cron.job WHERE jobname = 'csp_billing_daily'}), "$socketdir true",
	'schedule_jobs points its job at the Unix socket and port of this server');
# run it every minute to see it run
$node->safe_psql('postgres', q{SELECT cron.alter_job(jobid, schedule => '* * * * *')
	FROM cron.job WHERE jobname = 'csp_billing_daily'});

my ($daily, $plain) = ('', '');
foreach my $i (1 .. 150)
{
	$daily = $node->safe_psql('postgres', q{SELECT coalesce(string_agg(DISTINCT d.status, ','), '')
		FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'csp_billing_daily'
		AND d.status IN ('succeeded', 'failed')});
	$plain = $node->safe_psql('postgres', q{SELECT coalesce(string_agg(DISTINCT d.status, ','), '')
		FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'plain'
		AND d.status IN ('succeeded', 'failed')});
	last if $daily ne '' && $plain ne '';
	sleep 1;
}
is($daily, 'succeeded', 'positive: pg_cron ran csp.tick() through the socket on a password-protected TCP server');
is($plain, 'failed', 'negative: the plain job over TCP fails there');
like($node->safe_psql('postgres', q{SELECT string_agg(return_message, ' ') FROM cron.job_run_details d
	JOIN cron.job j USING (jobid) WHERE j.jobname = 'plain'}), qr/connection failed/,
	'and the reason is the failed TCP connection');

# A non-superuser cannot move its job: a WARNING says what to set.
$node->safe_psql('postgres', q{SELECT csp.unschedule_jobs(); CREATE ROLE ops LOGIN IN ROLE csp_global_admin;
	GRANT USAGE ON SCHEMA cron TO ops;});
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT csp.schedule_jobs()', extra_params => ['-U', 'ops']);
like($err, qr/WARNING:  pg_cron will connect to "localhost" over TCP.*HINT:  Set cron.use_background_workers = on/s,
	'a non-superuser is told to set cron.use_background_workers or cron.host');

$node->stop;
done_testing();
