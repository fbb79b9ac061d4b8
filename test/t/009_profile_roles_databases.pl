# Issue 12 item 8: profile roles are decided per database.
#
# Roles are cluster-wide, databases are not.  One login role holds a
# billing-profile role in two databases; revoking it in one must not change
# what the other allows (before the fix, the revoke took away the shared
# csp_profile_member membership and the other database answered
# "permission denied for schema csp").  And, the other way round, the
# cluster-wide membership that stays must open nothing in a database where
# the role holds no profile role.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('profile_dbs');
$node->init;
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;

my $setup = q{
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
SET csp.clock = '2025-01-01 08:00+00';
SELECT csp.create_billing_account('Contoso', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Main') AS main \gset
SELECT csp.create_partner('P1', 'Partner', 'direct_bill', 'NL');
SELECT csp.link_partner_billing('P1', :account, :main, accept_mca => true);
SELECT csp.add_product('M365', 'Microsoft 365');
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 10.00);
SELECT csp.add_customer('P1', 'Customer', 'NL', mca_attested => true) AS c \gset
SELECT csp.set_customer_verification(:'c', 'approved');
SELECT csp.purchase(:'c', 'M365', 3);
};

foreach my $db ('billing_a', 'billing_b', 'billing_c')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, $setup);
}
$node->safe_psql('postgres', 'CREATE ROLE regress_pdb_user LOGIN');
foreach my $db ('billing_a', 'billing_b')
{
	$node->safe_psql($db,
		"SELECT csp.grant_profile_role(billing_profile_id, 'regress_pdb_user', 'reader') FROM csp.billing_profile");
}

sub lines_as_user
{
	my ($db) = @_;
	my ($rc, $out, $err) = $node->psql($db, 'SELECT count(*) FROM csp.line_items',
		extra_params => [ '-U', 'regress_pdb_user' ]);
	return $rc == 0 ? $out : "error: $err";
}

is(lines_as_user('billing_a'), '1', 'database A: the profile reader sees its line');
is(lines_as_user('billing_b'), '1', 'database B: the profile reader sees its line');
like(lines_as_user('billing_c'), qr/permission denied for schema csp/,
	'database C, where it holds no profile role: nothing, although it is in csp_profile_member');

# revoke in A only
$node->safe_psql('billing_a',
	"SELECT csp.revoke_profile_role(billing_profile_id, 'regress_pdb_user', 'reader') FROM csp.billing_profile");
like(lines_as_user('billing_a'), qr/permission denied for schema csp/,
	'database A after the revoke: nothing');
is(lines_as_user('billing_b'), '1', 'database B after the revoke in A: still its line');
is($node->safe_psql('postgres',
		"SELECT pg_has_role('regress_pdb_user', 'csp_profile_member', 'MEMBER')"),
	't', 'the cluster-wide membership stays (another database relies on it)');

# DROP ROLE is refused while a database still grants it a profile role
my ($rc, $out, $err) = $node->psql('postgres', 'DROP ROLE regress_pdb_user');
isnt($rc, 0, 'DROP ROLE refused while database B still holds its grant');
like($err, qr/1 object in database billing_b/, '... because of the grant in database B (pg_shdepend)');
$node->safe_psql('billing_b',
	"SELECT csp.revoke_profile_role(billing_profile_id, 'regress_pdb_user', 'reader') FROM csp.billing_profile");
($rc, $out, $err) = $node->psql('postgres', 'DROP ROLE regress_pdb_user');
is($rc, 0, 'after the revoke in B, DROP ROLE succeeds');

$node->stop;
done_testing();
