# The upgrade path: CREATE EXTENSION csp_billing VERSION '0.1.0' followed by
# ALTER EXTENSION csp_billing UPDATE must give the same extension as a fresh
# install of the default version, in schema and in behaviour, and keep the
# data of a 0.1.0 database.
#
# Schema: pg_dump --schema-only --binary-upgrade (the only pg_dump mode that
# writes the extension's member objects one by one, as pg_upgrade needs
# them) of schema csp, normalised (OIDs, comments and SET lines removed),
# plus the extension's configuration tables and group roles.  A difference
# is printed as a diff: every object sql/csp_billing.sql adds or changes
# must be added or changed in the upgrade script too.
#
# Behaviour and data: since 0.3.0 the module refuses to run on an older
# schema (55000, "run ALTER EXTENSION csp_billing UPDATE"), so the history
# runs after the update; the same history run on a fresh install; the
# billing views (uuids aside, which are random) must match.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CspHistory;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;

my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'csp_billing'});
note("default version: $default");
ok($default ne '' && $default ne '0.1.0', "the default version ($default) is not 0.1.0");

foreach my $db (qw(updated fresh))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
}
$node->safe_psql('updated', q{CREATE EXTENSION csp_billing VERSION '0.1.0'});
is($node->safe_psql('updated', q{SELECT extversion FROM pg_extension WHERE extname = 'csp_billing'}),
	'0.1.0', 'CREATE EXTENSION csp_billing VERSION 0.1.0');

# ---------------------------------------------------------------------------
# The history: set-up and January on one side of the update, February and
# March on the other.
# ---------------------------------------------------------------------------
my $part1 = CspHistory::part1();
my $part2 = CspHistory::part2();

# The billing state, uuids replaced by stable names.  Ids given out by the
# jobs (charge_id, lot_id) are left out: a job takes subscriptions in an
# order that depends on their (random) uuids.
sub state
{
	my ($db) = @_;
	my %s;
	my %q = (
		line_items => q{
			SELECT l.invoice_number, l.billing_profile_id, l.invoice_section_id, l.partner_id,
			       l.customer_name, l.sku_id, l.charge_type, l.charge_start, l.charge_end, l.posted_at,
			       l.quantity, l.unit_price, l.days_charged, l.days_in_cycle, l.amount, l.currency,
			       l.pricing_currency, l.fx_rate,
			       count(*) OVER (PARTITION BY l.reference_id) AS lines_of_action
			  FROM csp.line_items l},
		billing_overview => q{SELECT * FROM csp.billing_overview},
		account_balance => q{SELECT * FROM csp.account_balance},
		unallocated_payments => q{SELECT * FROM csp.unallocated_payments},
		invoice_lines => q{
			SELECT l.invoice_number, l.document_type, l.billing_profile_id, l.invoice_section_id,
			       c.legal_name, l.sku_id, l.charge_type, l.charge_start, l.charge_end,
			       l.quantity, l.amount, l.currency
			  FROM csp.invoice_lines l JOIN csp.customer c USING (customer_id)},
		subscriptions => q{
			SELECT c.legal_name, s.partner_id, s.sku_id, s.quantity, s.status, s.is_trial, s.auto_renew,
			       s.term, s.billing_frequency, s.term_start, s.term_end, s.cancellation_allowed_until,
			       s.invoice_section_id, s.update_count, s.scheduled_change
			  FROM csp.subscriptions s JOIN csp.customer c USING (customer_id)},
		seat_lots => q{
			SELECT l.term_start, l.source, l.added_at, l.reducible_until, l.quantity_added, l.quantity
			  FROM csp.seat_lot l},
		audit => q{SELECT action, operation, object_type, count(*) FROM csp.audit_log GROUP BY 1, 2, 3});
	foreach my $k (sort keys %q)
	{
		$s{$k} = $node->safe_psql($db, "SET csp.clock = '2025-04-13 12:00+00';
			SELECT count(*) || E'\\n' || coalesce(string_agg(v::text, E'\\n' ORDER BY v::text), '')
			  FROM ($q{$k}) v");
	}
	return \%s;
}

# Every row of every configuration table, as text (uuids and all): what the
# update must keep.
sub table_data
{
	my ($db) = @_;
	my @tables = split /\n/, $node->safe_psql($db, q{
		SELECT c.oid::regclass FROM pg_extension e, unnest(e.extconfig) c(oid)
		  JOIN pg_class r ON r.oid = c.oid
		 WHERE e.extname = 'csp_billing' AND r.relkind = 'r' ORDER BY 1::text});
	my %d;
	foreach my $t (@tables)
	{
		$d{$t} = $node->safe_psql($db,
			"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM $t t");
	}
	$d{sequences} = $node->safe_psql($db, q{
		SELECT string_agg(sequencename || ' ' || coalesce(last_value::text, 'NULL'), ', ' ORDER BY sequencename)
		  FROM pg_sequences WHERE schemaname = 'csp'});
	return \%d;
}

# The module of this version works only on the schema of its version (0.3.0
# added columns its statements use): on a 0.1.0 schema every API call is
# refused with 55000 and a hint to update, instead of failing on a missing
# column.
my ($rc, $out, $err) = $node->psql('updated', q{SELECT csp.create_partner('x', 'X', 'direct_bill', 'NL')});
ok($rc != 0 && $err =~ /the csp_billing schema is older than its module/ && $err =~ /ALTER EXTENSION csp_billing UPDATE/,
	'an API call on a 0.1.0 schema asks for ALTER EXTENSION UPDATE');
my $before = table_data('updated');

# ---------------------------------------------------------------------------
# The update
# ---------------------------------------------------------------------------
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', 'updated', '-c', 'ALTER EXTENSION csp_billing UPDATE' ],
	'ALTER EXTENSION csp_billing UPDATE on a database with 0.1.0 data');
is($node->safe_psql('updated', q{SELECT extversion FROM pg_extension WHERE extname = 'csp_billing'}),
	$default, "the extension is now at $default");

my $after = table_data('updated');
foreach my $t (sort keys %$before)
{
	is($after->{$t}, $before->{$t}, "the update keeps $t");
}

$node->safe_psql('fresh', 'CREATE EXTENSION csp_billing');

# ---------------------------------------------------------------------------
# Schema: updated = fresh
# ---------------------------------------------------------------------------
sub schema_of
{
	my ($db) = @_;
	my ($stdout, $stderr) = run_command([
		'pg_dump', '--schema-only', '--binary-upgrade', '--no-owner',
		'-d', $node->connstr($db) ]);
	die "pg_dump $db failed: $stderr" if $stderr =~ /error/i;
	# Statements, normalised: no comments, SET lines or OIDs.
	my @stmts;
	foreach my $s (split /;\n/, $stdout)
	{
		$s =~ s/^--.*$//mg;
		$s =~ s/^\s+|\s+$//g;
		next if $s eq '';
		next if $s =~ /^SET |^SELECT pg_catalog\.set_config|^SELECT pg_catalog\.setval|^\\(un)?restrict /;
		next if $s =~ /binary_upgrade_set_next|binary_upgrade_set_record_init_privs|binary_upgrade_create_empty_extension/;
		next if $s =~ /^UPDATE pg_catalog\.pg_class\s+SET relfrozenxid/;
		# a column added with a default to a table that has rows keeps that
		# default for the old rows as attmissingval (ALTER TABLE's fast path):
		# data, not schema (0.3.0's written_at on audit_log and charge)
		next if $s =~ /binary_upgrade_set_missing_value/;
		# a column the upgrade dropped (0.3.0: csp.charge.invoice_number, now
		# derived from the line's billing period) stays in the table as a
		# dropped attribute, which --binary-upgrade recreates to keep the
		# column numbers: physical layout, not schema
		next if $s =~ /^(UPDATE pg_catalog\.pg_attribute|ALTER TABLE ONLY \S+ DROP COLUMN)[^;]*pg\.dropped/s;
		$s =~ s/^\s*"\.+pg\.dropped\.\d+\.+"[^\n]*\n//mg;
		# the extension's objects only (the history's helper tables are in public)
		next unless $s =~ /csp/;
		$s =~ s/\n\s*\n/\n/g;
		push @stmts, $s . ';';
	}
	# pg_dump orders objects by type and name, with OIDs breaking ties: sort
	# the statements so that only content differences remain.
	return join("\n\n", sort @stmts) . "\n";
}

my $schema_updated = schema_of('updated');
my $schema_fresh = schema_of('fresh');
my $nstmts = () = $schema_fresh =~ /;\n/g;
ok($nstmts > 100, "the schema dump lists the extension's objects ($nstmts statements)");

# is(), but a difference is shown as a unified diff (fresh -> updated).
my $dir = $node->basedir;
sub same_or_diff
{
	my ($updated, $fresh, $name, $what) = @_;
	if ($updated eq $fresh)
	{
		pass($name);
		return;
	}
	(my $f = $what) =~ s/\W+/_/g;
	unlink("$dir/$f.fresh", "$dir/$f.updated");
	PostgreSQL::Test::Utils::append_to_file("$dir/$f.fresh", $fresh);
	PostgreSQL::Test::Utils::append_to_file("$dir/$f.updated", $updated);
	my ($diff) = run_command([ 'diff', '-u', "$dir/$f.fresh", "$dir/$f.updated" ]);
	fail($name);
	diag("--- fresh $default install, +++ 0.1.0 updated to $default:\n$diff");
	return;
}
same_or_diff($schema_updated, $schema_fresh,
	"schema after UPDATE = schema of a fresh $default install (else: the upgrade script misses what the diff shows)",
	'schema');

my $catalog = q{
	SELECT (SELECT string_agg(c.oid::regclass::text || ' ' || coalesce(nullif(e.extcondition[i], ''), '-'), ', ' ORDER BY c.oid::regclass::text)
	          FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY c(oid, i)
	         WHERE e.extname = 'csp_billing') || E'\n' ||
	       (SELECT count(*) FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
	         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'csp_billing')
};
is($node->safe_psql('updated', $catalog), $node->safe_psql('fresh', $catalog),
	'the same configuration tables (pg_extension_config_dump) and number of member objects');

# ---------------------------------------------------------------------------
# Behaviour: the rest of the history on the updated database, the whole
# history on the fresh one.
# ---------------------------------------------------------------------------
$node->safe_psql('updated', $part1 . $part2);
$node->safe_psql('fresh', $part1 . $part2);
my $s_updated = state('updated');
my $s_fresh = state('fresh');
foreach my $k (sort keys %$s_fresh)
{
	same_or_diff($s_updated->{$k} . "\n", $s_fresh->{$k} . "\n",
		"behaviour: $k identical on the updated and the fresh database", $k);
}

$node->stop;
done_testing();
