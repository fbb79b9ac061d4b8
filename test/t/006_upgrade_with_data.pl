# The upgrade a DBA makes, with real data: a database whose history was
# written by the released 0.2.0 module, then the new module installed over
# it (make install), then ALTER EXTENSION csp_billing UPDATE.
#
# The released module is built from the repository's own history (the
# commit tagged v0.2.0) into a private copy of the PostgreSQL installation,
# so the system's installation is never touched.  The node runs on that
# copy: first with the 0.2.0 module (the first half of a history), then with
# this version's module copied in, as `make install` would.
#
# Checks: before the update every API call is refused with 55000 and a hint
# (the 0.3.0 module needs the 0.3.0 schema); the update keeps every row of
# every table (the columns 0.2.0 had); it fills last_event_at from the
# recorded history and written_at for every audit row and ledger line; NC016
# then holds for objects written by 0.2.0; no API function is SECURITY
# DEFINER any more; the second half of the history runs on the updated
# database and the money invariants hold.
#
# Skipped (one line saying why) where the repository's history or a
# compiler is not available.
use strict;
use warnings;
use File::Copy;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CspHistory;

my $repo = $ENV{CSP_REPO};
plan skip_all => 'CSP_REPO is not set (run through make test)' unless $repo && -d $repo;
my $git = "git -c safe.directory=* -C $repo";
my $released = `$git rev-parse --verify -q v0.2.0^{commit} 2>/dev/null`;
chomp $released;
# the commit that released 0.2.0 (tags may not travel with a clone)
$released = 'b0c3347' if $released eq '' && system("$git cat-file -e b0c3347^{commit} 2>/dev/null") == 0;
plan skip_all => 'the 0.2.0 release commit is not in this repository\'s history' if $released eq '';
plan skip_all => 'no C compiler (gcc)' if system('command -v gcc >/dev/null 2>&1') != 0;

# --- a private copy of the installation ------------------------------------
my $bindir = `pg_config --bindir`;
my $sharedir = `pg_config --sharedir`;
my $pkglibdir = `pg_config --pkglibdir`;
my $incdir = `pg_config --includedir-server`;
chomp($bindir, $sharedir, $pkglibdir, $incdir);
(my $prefix = $bindir) =~ s{/lib/postgresql/(\d+)/bin$}{} or
	plan skip_all => "unexpected installation layout ($bindir)";
my $major = $1;
plan skip_all => "unexpected installation layout ($sharedir)"
  unless $sharedir eq "$prefix/share/postgresql/$major";

my $root = PostgreSQL::Test::Utils::tempdir('csp_upgrade_root');
make_path("$root/lib/postgresql", "$root/share/postgresql", "$root/include/postgresql");
system('cp', '-a', "$prefix/lib/postgresql/$major", "$root/lib/postgresql/") == 0 or die 'copy lib';
system('cp', '-a', $sharedir, "$root/share/postgresql/") == 0 or die 'copy share';
# a copy too: the 0.2.0 Makefile's HEADERS are installed into the server's include dir
system('cp', '-rL', "$prefix/include/postgresql/$major", "$root/include/postgresql/") == 0 or die 'copy include';
my $install = "$root/lib/postgresql/$major";
my $pg_config = "$install/bin/pg_config";
like(`$pg_config --sharedir`, qr{^\Q$root\E/share}, 'the copy of the installation is relocated');

# --- the released module ----------------------------------------------------
my $src = "$root/src-0.2.0";
make_path($src);
system("$git archive $released | tar -x -C $src") == 0 or die "git archive $released";
my $build = `make -s -C $src PG_CONFIG=$pg_config install 2>&1`;
is($?, 0, "the released module ($released) builds and installs into the copy")
  or diag($build);

# --- the history, first half on 0.2.0 ----------------------------------------
my $node = PostgreSQL::Test::Cluster->new('upgrade_data', install_path => $install);
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE billing');
$node->safe_psql('billing', q{CREATE EXTENSION csp_billing VERSION '0.2.0'});

my $part1 = CspHistory::part1();
$node->safe_psql('billing', $part1);

# Every row of every configuration table, the columns 0.2.0 has, as text.
my $tables = $node->safe_psql('billing', q{
	SELECT string_agg(c.oid::regclass::text, ' ' ORDER BY 1)
	  FROM pg_extension e, unnest(e.extconfig) c(oid) JOIN pg_class r ON r.oid = c.oid
	 WHERE e.extname = 'csp_billing' AND r.relkind = 'r'});
my %columns;
foreach my $t (split / /, $tables)
{
	$columns{$t} = $node->safe_psql('billing', qq{
		SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped});
}
sub rows_of
{
	my %d;
	foreach my $t (sort keys %columns)
	{
		$d{$t} = $node->safe_psql('billing',
			"SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '')
			   FROM (SELECT $columns{$t} FROM $t x) r");
	}
	return \%d;
}
my $before = rows_of();
like($before->{'csp.charge'}, qr/^[1-9]\d* /, "history written by 0.2.0: $before->{'csp.charge'} (charges)");

# --- make install of this version over it, as a DBA would --------------------
$node->stop;
my $extdir = "$root/share/postgresql/$major/extension";
copy("$pkglibdir/csp_billing.so", "$install/lib/csp_billing.so") or die "copy module: $!";
foreach my $f (glob("$sharedir/extension/csp_billing*"))
{
	copy($f, $extdir) or die "copy $f: $!";
}
$node->start;

# Before the update: the 0.3.0 module refuses to work on the 0.2.0 schema.
my ($rc, $out, $err) = $node->psql('billing', q{SELECT csp.run_renewals()});
ok($rc != 0 && $err =~ /the csp_billing schema is older than its module/ && $err =~ /ALTER EXTENSION csp_billing UPDATE/,
	'before the update an API call is refused with a hint to update');
($rc, $out, $err) = $node->psql('billing', q{SELECT csp.run_renewals()}, extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/55000/, 'the refusal is SQLSTATE 55000');
is_deeply(rows_of(), $before, 'the refused calls wrote nothing');

$node->safe_psql('billing', 'ALTER EXTENSION csp_billing UPDATE');
is($node->safe_psql('billing', q{SELECT extversion FROM pg_extension WHERE extname = 'csp_billing'}),
	'0.3.0', 'ALTER EXTENSION csp_billing UPDATE brings the data to 0.3.0');

# 0.3.0 derives a line's invoice from its billing period (issue 15): the
# same rows, read with the invoice number the line had in 0.2.0
$columns{'csp.charge'} =~ s/\binvoice_number\b/(SELECT i.invoice_number FROM csp.invoice i
	 WHERE i.billing_account_id = x.billing_account_id AND i.billing_profile_id = x.billing_profile_id
	   AND i.currency = x.currency AND i.period_start = x.billing_period_start
	   AND i.document_type = 'invoice') AS invoice_number/;
my $after = rows_of();
foreach my $t (sort keys %$before)
{
	is($after->{$t}, $before->{$t}, "the update keeps every row of $t");
}

is($node->safe_psql('billing', q{
	SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	 WHERE n.nspname = 'csp' AND p.prosecdef}), '0', 'no API function is SECURITY DEFINER after the update');
is($node->safe_psql('billing', q{
	SELECT count(*) FROM csp.subscription s
	 WHERE s.last_event_at < s.term_started_at
	    OR s.last_event_at < (SELECT max(a.at) FROM csp.audit_log a
	                           WHERE a.object_type = 'subscription' AND a.object_id = s.subscription_id::text)
	    OR s.last_event_at < (SELECT max(c.posted_at) FROM csp.charge c
	                           WHERE c.billing_account_id = s.billing_account_id AND c.subscription_id = s.subscription_id)}),
	'0', 'every subscription\'s latest event is at least its latest recorded change and line');
is($node->safe_psql('billing', q{
	SELECT count(*) FROM csp.billing_profile p
	 WHERE p.last_event_at < (SELECT max(y.recorded_at) FROM csp.payment y
	                           WHERE y.billing_account_id = p.billing_account_id
	                             AND y.billing_profile_id = p.billing_profile_id)}),
	'0', 'every profile\'s latest event is at least its latest payment');
is($node->safe_psql('billing', q{
	SELECT (SELECT count(*) FROM csp.audit_log WHERE written_at IS NULL)
	     + (SELECT count(*) FROM csp.charge WHERE written_at IS NULL)}),
	'0', 'every audit row and ledger line has a written_at');

# NC016 for objects 0.2.0 wrote: nothing before their latest event.
($rc, $out, $err) = $node->psql('billing', q{
	SET csp.clock = '2025-01-07 00:00+00';
	SELECT csp.rename(subscription_id, 'back in time') FROM public.sub WHERE n = 1 AND k = 1},
	extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/NC016/, 'NC016: no action before the latest event of a subscription written by 0.2.0');
($rc, $out, $err) = $node->psql('billing', q{
	SET csp.clock = '2025-02-20 14:00+00';
	SELECT csp.record_payment(billing_profile_id, 1, 'EUR') FROM csp.billing_profile ORDER BY 1 LIMIT 1},
	extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/NC016/, 'NC016: no payment before the latest event of a profile written by 0.2.0');

# --- the second half of the history on 0.3.0 ----------------------------------
$node->safe_psql('billing', CspHistory::part2());
is($node->safe_psql('billing', q{
	SELECT count(*) FROM csp.invoice i
	 WHERE i.total <> (SELECT coalesce(sum(c.amount), 0) FROM csp.charge c
	                    WHERE c.billing_account_id = i.billing_account_id
	                      AND c.billing_profile_id = i.billing_profile_id AND c.currency = i.currency
	                      AND c.billing_period_start = i.period_start)
	                  * CASE WHEN i.document_type = 'void_note' THEN -1 ELSE 1 END}),
	'0', 'after the second half: every invoice total is the sum of its lines');
like($node->safe_psql('billing', q{SELECT count(*) FROM csp.invoice WHERE period_start >= '2025-03-01'}),
	qr/^[1-9]/, 'the updated database invoices March');
is($node->safe_psql('billing', q{
	SELECT count(*) FROM csp.charge c
	 WHERE c.charge_type = 'cycleCharge' AND c.posted_at >= '2025-02-21'
	   AND c.posted_at <> c.cycle_start::timestamp AT TIME ZONE 'UTC'}),
	'0', 'cycle charges posted by the 0.3.0 jobs carry their due instant');

$node->stop;
done_testing();
