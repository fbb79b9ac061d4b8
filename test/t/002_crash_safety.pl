# Crash safety of the billing jobs: csp.run_invoicing and csp.run_renewals
# killed in the middle of a run, (a) by an immediate shutdown of the server
# and (b) by SIGKILL of the backend running the job (the postmaster then
# restarts every backend), leave nothing half-done.  Run again, each job makes
# exactly one result: one invoice per profile, currency and period, and one
# renew line per subscription and cycle; every invariant of the ledger holds
# and pg_amcheck --heapallindexed finds the heap and indexes intact.
#
# The history: three billing profiles, each with customers holding a few
# thousand P1M subscriptions bought set-based on 2025-01-10 (clock pinned),
# so that each job runs for a second or more.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

# Subscriptions per profile (3 profiles); enough for each job to take a
# second or more on a small machine.
my $SUBS_PER_PROFILE = $ENV{CSP_CRASH_SUBS} // 1500;
my $PROFILES = 3;
my $NSUBS = $SUBS_PER_PROFILE * $PROFILES;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
timezone = 'UTC'
restart_after_crash = on
fsync = on
});
$node->start;

my $t_setup = time;
$node->safe_psql('postgres', qq{
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
CREATE EXTENSION amcheck;
SET csp.clock = '2025-01-10 09:00+00';
SELECT csp.add_product('E3', 'Microsoft 365 E3');
SELECT csp.set_price('E3', 'P1M', 'monthly', 'EUR', 12.00);
CREATE TABLE public.cust (p int, customer_id uuid);
SELECT csp.create_partner('P' || p, 'Partner ' || p, 'direct_bill', 'NL')
  FROM generate_series(1, $PROFILES) p;
SELECT csp.link_partner_billing('P' || p, ba, csp.create_billing_profile(ba, 'Profile ' || p), accept_mca => true)
  FROM (SELECT p, csp.create_billing_account('Account ' || p, 'NL', 'EUR') AS ba
          FROM generate_series(1, $PROFILES) p) x;
INSERT INTO public.cust
SELECT p, csp.add_customer('P' || p, 'Customer ' || p || '-' || c, 'NL', mca_attested => true)
  FROM generate_series(1, $PROFILES) p, generate_series(1, 50) c;
SELECT csp.set_customer_verification(customer_id, 'approved') FROM public.cust;
SELECT count(csp.purchase(customer_id, 'E3', 1 + n % 7, term => 'P1M'))
  FROM public.cust, generate_series(1, $SUBS_PER_PROFILE / 50) n;
});
note(sprintf('history of %d subscriptions made in %.1f s', $NSUBS, time - $t_setup));
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.subscription}),
	$NSUBS, 'the history has its subscriptions');

# Start SQL in a background psql session and return (session, backend pid,
# running): running is true once the backend has been executing it for at
# least 300 ms and holds a row-exclusive lock on $table, that is, it is in the
# middle of writing.  With $blocked, it must also be waiting for a lock.
sub start_job
{
	my ($sql, $table, $blocked) = @_;
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	$bg->{stdin} .= "$sql;\n";
	$bg->{run}->pump_nb;
	my $wait = $blocked ? "AND a.wait_event_type = 'Lock'" : '';
	my $running = 0;
	foreach my $i (1 .. 1000)
	{
		$running = $node->safe_psql('postgres', qq{
			SELECT count(*) FROM pg_stat_activity a
			 WHERE a.pid = $pid AND a.state = 'active' $wait
			   AND clock_timestamp() - a.query_start > interval '300 ms'
			   AND EXISTS (SELECT FROM pg_locks l
			                WHERE l.pid = a.pid AND l.relation = '$table'::regclass
			                  AND l.mode = 'RowExclusiveLock' AND l.granted)});
		last if $running;
		usleep(20_000);
	}
	return ($bg, $pid, $running);
}

# SIGKILL a backend and wait for the postmaster to reinitialise and accept
# connections again.
sub kill_backend
{
	my ($pid, $what) = @_;
	my $offset = -s $node->logfile;
	ok(kill('KILL', $pid), "SIGKILL of the backend running $what (pid $pid)");
	my $log = '';
	foreach my $i (1 .. 600)
	{
		$log = slurp_file($node->logfile, $offset);
		last if $log =~ /all server processes terminated; reinitializing/;
		usleep(50_000);
	}
	like($log, qr/server process \(PID $pid\) was terminated by signal 9/,
		"the postmaster saw the backend running $what die and restarted");
	$node->poll_query_until('postgres', 'SELECT true')
	  or die 'the server did not come back after the backend was killed';
	return;
}

# The session's psql lost its server; reap it.
sub reap
{
	my ($bg) = @_;
	eval { $bg->quit; };
	return;
}

# Every invariant of the ledger, as one row of named failures (empty = all hold).
my $invariants = q{
SELECT concat_ws(', ',
  (SELECT 'invoice total <> sum of its lines: ' || count(*) FROM csp.invoice i
    WHERE i.total <> coalesce((SELECT sum(l.amount) FROM csp.invoice_lines l
                                WHERE l.billing_account_id = i.billing_account_id
                                  AND l.invoice_number = i.invoice_number), 0)
   HAVING count(*) > 0),
  (SELECT 'two invoices for one profile, currency and period: ' || count(*) FROM
     (SELECT 1 FROM csp.invoice WHERE document_type = 'invoice'
       GROUP BY billing_account_id, billing_profile_id, currency, period_start HAVING count(*) > 1) x
   HAVING count(*) > 0),
  (SELECT 'allocations exceed the payment: ' || count(*) FROM csp.payment p
    WHERE coalesce((SELECT sum(a.amount) FROM csp.payment_allocation a
                     WHERE a.billing_account_id = p.billing_account_id
                       AND a.payment_id = p.payment_id), 0) NOT BETWEEN 0 AND p.amount
       OR p.allocated <> coalesce((SELECT sum(a.amount) FROM csp.payment_allocation a
                     WHERE a.billing_account_id = p.billing_account_id
                       AND a.payment_id = p.payment_id), 0)
   HAVING count(*) > 0),
  (SELECT 'invoice paid <> its allocations: ' || count(*) FROM csp.invoice i
    WHERE i.paid <> coalesce((SELECT sum(a.amount) FROM csp.payment_allocation a
                               WHERE a.billing_account_id = i.billing_account_id
                                 AND a.invoice_number = i.invoice_number), 0)
   HAVING count(*) > 0),
  (SELECT 'quantity <> live seat lots of the term: ' || count(*) FROM csp.subscription s
    WHERE s.status IN ('active', 'suspended')
      AND s.quantity <> coalesce((SELECT sum(l.quantity) FROM csp.seat_lot l
                                   WHERE l.billing_account_id = s.billing_account_id
                                     AND l.subscription_id = s.subscription_id
                                     AND l.term_start = s.term_start), 0)
   HAVING count(*) > 0),
  (SELECT 'duplicate full-cycle charges: ' || count(*) FROM
     (SELECT 1 FROM csp.charge WHERE charge_type IN ('new', 'renew', 'cycleCharge')
       GROUP BY billing_account_id, subscription_id, cycle_start HAVING count(*) > 1) x
   HAVING count(*) > 0),
  (SELECT 'unbilled line whose period is not open: ' || count(*) FROM csp.charge c
    WHERE NOT EXISTS (SELECT FROM csp.invoice i
                       WHERE i.billing_account_id = c.billing_account_id
                         AND i.billing_profile_id = c.billing_profile_id AND i.currency = c.currency
                         AND i.period_start = c.billing_period_start AND i.document_type = 'invoice')
      AND NOT EXISTS (SELECT FROM csp.open_period o
                       WHERE o.billing_account_id = c.billing_account_id
                         AND o.billing_profile_id = c.billing_profile_id AND o.currency = c.currency
                         AND o.period_start = c.billing_period_start)
   HAVING count(*) > 0),
  (SELECT 'open period that has its invoice: ' || count(*) FROM csp.open_period o
    WHERE EXISTS (SELECT FROM csp.invoice i
                   WHERE i.billing_account_id = o.billing_account_id
                     AND i.billing_profile_id = o.billing_profile_id AND i.currency = o.currency
                     AND i.period_start = o.period_start AND i.document_type = 'invoice')
   HAVING count(*) > 0))
};

sub check_invariants
{
	my ($when) = @_;
	is($node->safe_psql('postgres', $invariants), '', "invariants hold $when");
}

sub amcheck_ok
{
	my ($when) = @_;
	$node->command_ok(
		[ 'pg_amcheck', '--heapallindexed', '--no-dependent-indexes', '-d', 'postgres' ],
		"pg_amcheck --heapallindexed: heap and indexes intact $when");
}

# run_invoicing closes the open periods of its profiles, so it is caught in
# the middle deterministically: a second session holds a row lock on the
# last open period, and the job, having begun to close the others, waits
# for it.
sub hold_last_profile_line
{
	my $blocker = $node->background_psql('postgres', on_error_stop => 0);
	$blocker->query_safe(q{
		BEGIN;
		SELECT period_start FROM csp.open_period
		 ORDER BY billing_account_id DESC, billing_profile_id DESC, currency DESC, period_start DESC
		 LIMIT 1 FOR UPDATE});
	return $blocker;
}

# ---------------------------------------------------------------------------
# 1. run_invoicing of January, killed by SIGKILL of its backend (b).
# ---------------------------------------------------------------------------
my $inv_jan = q{SELECT csp.run_invoicing('2025-02-01 00:30+00')};
my $blocker = hold_last_profile_line();
my ($bg, $pid, $running) = start_job($inv_jan, 'csp.invoice', 1);
ok($running, 'run_invoicing is in the middle of its run (invoices written, waiting on the last profile)');
kill_backend($pid, 'run_invoicing');
reap($bg);
reap($blocker);
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.invoice}), '0',
	'the killed run_invoicing left no invoice');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.line_items WHERE invoice_number IS NOT NULL}), '0',
	'the killed run_invoicing attached no line');
check_invariants('after the killed run_invoicing');

my $t0 = time;
is($node->safe_psql('postgres', $inv_jan), $PROFILES, 'run_invoicing again: one invoice per profile');
note(sprintf('run_invoicing of January took %.2f s', time - $t0));
is($node->safe_psql('postgres', $inv_jan), '0', 'a second run makes nothing');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(DISTINCT (billing_profile_id, currency, period_start))
	  FROM csp.invoice WHERE period_start = '2025-01-01'}),
	"$PROFILES $PROFILES", 'one invoice per profile, currency and period');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.line_items WHERE invoice_number IS NULL}), '0',
	'every January line is on an invoice');

# Payments: each invoice half paid by remittance, so allocations exist.
$node->safe_psql('postgres', q{
SET csp.clock = '2025-02-05 09:00+00';
SELECT csp.record_payment(billing_profile_id, round(total / 2, 2), currency,
                          remittance => jsonb_build_array(invoice_number))
  FROM csp.invoice ORDER BY invoice_number;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.payment_allocation}), $PROFILES,
	'each invoice has an allocation');
check_invariants('after January is invoiced and paid');

# ---------------------------------------------------------------------------
# 2. run_renewals of the P1M terms, killed by an immediate shutdown (a).
# ---------------------------------------------------------------------------
my $renew = q{SELECT csp.run_renewals('2025-02-10 00:05+00')};
($bg, $pid, $running) = start_job($renew, 'csp.charge', 0);
ok($running, 'run_renewals is in the middle of its run (writing renew lines)');
$node->stop('immediate');
reap($bg);
$node->start;
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.charge WHERE charge_type = 'renew'}), '0',
	'the interrupted run_renewals left no renew line');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.subscription WHERE term_start <> '2025-01-10'}), '0',
	'the interrupted run_renewals renewed no subscription');
check_invariants('after the immediate shutdown during run_renewals');

# ---------------------------------------------------------------------------
# 3. run_renewals killed again, by SIGKILL of its backend (b).
# ---------------------------------------------------------------------------
($bg, $pid, $running) = start_job($renew, 'csp.charge', 0);
ok($running, 'run_renewals is in the middle of its run again');
kill_backend($pid, 'run_renewals');
reap($bg);
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.charge WHERE charge_type = 'renew'}), '0',
	'the killed run_renewals left no renew line');
check_invariants('after the SIGKILL during run_renewals');
amcheck_ok('after two crashes');

$t0 = time;
is($node->safe_psql('postgres', $renew), $NSUBS, 'run_renewals again renews every subscription');
note(sprintf('run_renewals took %.2f s', time - $t0));
is($node->safe_psql('postgres', $renew), '0', 'a second run renews nothing');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(DISTINCT subscription_id) || ' ' || min(cycle_start) || ' ' || max(cycle_start)
	  FROM csp.charge WHERE charge_type = 'renew'}),
	"$NSUBS $NSUBS 2025-02-10 2025-02-10",
	'each subscription renewed once: one renew line per subscription and cycle');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM csp.subscription
	 WHERE (term_start, term_end) <> ('2025-02-10', '2025-03-09') OR status <> 'active'}),
	'0', 'every term runs 2025-02-10..2025-03-09');
check_invariants('after the renewals');

# ---------------------------------------------------------------------------
# 4. run_invoicing of February, killed by an immediate shutdown (a).
# ---------------------------------------------------------------------------
my $inv_feb = q{SELECT csp.run_invoicing('2025-03-01 00:30+00')};
$blocker = hold_last_profile_line();
($bg, $pid, $running) = start_job($inv_feb, 'csp.invoice', 1);
ok($running, 'run_invoicing of February is in the middle of its run');
$node->stop('immediate');
reap($bg);
reap($blocker);
$node->start;
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.invoice WHERE period_start = '2025-02-01'}), '0',
	'the interrupted run_invoicing left no February invoice');
is($node->safe_psql('postgres', $inv_feb), $PROFILES, 'run_invoicing of February again: one invoice per profile');
is($node->safe_psql('postgres', $inv_feb), '0', 'and a second run makes nothing');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE period_start = '2025-02-01') || ' '
	    || count(DISTINCT invoice_number) || ' ' || count(*)
	  FROM csp.invoice}),
	$PROFILES . ' ' . 2 * $PROFILES . ' ' . 2 * $PROFILES,
	'one invoice per profile and period, numbers never reused');
is($node->safe_psql('postgres', q{SELECT count(*) FROM csp.line_items WHERE invoice_number IS NULL}), '0',
	'every renew line is on a February invoice');
is($node->safe_psql('postgres', q{
	SELECT sum(total) = (SELECT sum(amount) FROM csp.charge) FROM csp.invoice}), 't',
	'the invoices bill the whole ledger exactly once');
check_invariants('at the end');
amcheck_ok('at the end');

$node->stop;
done_testing();
