--
-- R1 billing hierarchy (accounts, profiles, sections, the partner link) and
-- R2 partners: who may act, what is required, what is refused.  The roles of
-- R1.4 are tested on billing accounts (owner, contributor, reader);
-- csp.grant_profile_role (billing-profile roles, RLS) is not built yet.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY default

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_alice, regress_csp_bob, regress_csp_sam;
RESET client_min_messages;
CREATE ROLE regress_csp_alice LOGIN IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_csp_bob LOGIN IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_csp_sam LOGIN IN ROLE csp_sales_agent, csp_time_admin;
SET csp.clock = '2025-01-15 10:00+00';

------------------------------------------------------------------------------
-- R1.1 billing accounts: by default only the creator has access
------------------------------------------------------------------------------
-- R1.1 positive: the creator of a billing account is its owner, and the only one
SET ROLE regress_csp_alice;
SELECT csp.create_billing_account('Contoso Europe', 'nl', 'eur') AS acct_a \gset
SELECT name, country, currency, created_by, created_at, mca_accepted_at
  FROM csp.billing_account WHERE billing_account_id = :acct_a;
SELECT member, account_role, granted_by, granted_at
  FROM csp.billing_account_role WHERE billing_account_id = :acct_a;
-- ... and acts on it
SELECT csp.create_billing_profile(:acct_a, 'Contoso NL') AS prof_a1 \gset
SELECT csp.create_invoice_section(:prof_a1, 'Alice project') IS NOT NULL AS section_created;
RESET ROLE;

-- R1.1 negative: bob, a global admin too, holds no role on alice's account
SET ROLE regress_csp_bob;
SELECT csp.create_billing_profile(:acct_a, 'Bob profile');
\echo :SQLSTATE
SELECT csp.create_invoice_section(:prof_a1, 'Bob section');
\echo :SQLSTATE
SELECT csp.grant_billing_account_role(:acct_a, 'regress_csp_bob');
\echo :SQLSTATE
RESET ROLE;
SELECT count(*) AS bob_profiles FROM csp.billing_profile WHERE name = 'Bob profile';

-- R1.1 positive: once the owner grants him a role, bob can add a profile
-- (R1.4 positive, at account level: a contributor may do everything but permissions)
SET ROLE regress_csp_alice;
SELECT csp.grant_billing_account_role(:acct_a, 'regress_csp_bob', 'contributor');
RESET ROLE;
SET ROLE regress_csp_bob;
SELECT csp.create_billing_profile(:acct_a, 'Bob profile') IS NOT NULL AS created;
-- R1.1 / R1.4 negative: a contributor may not grant roles (permissions are the owner's)
SELECT csp.grant_billing_account_role(:acct_a, 'regress_csp_sam', 'reader');
\echo :SQLSTATE
RESET ROLE;
SELECT member, account_role, granted_by FROM csp.billing_account_role
 WHERE billing_account_id = :acct_a ORDER BY member;

-- R1.1 / R1.4 negative: a reader is read-only (a new grant replaces the old one)
SET ROLE regress_csp_alice;
SELECT csp.grant_billing_account_role(billing_account_id => :acct_a, member => 'regress_csp_bob', account_role => 'reader');
RESET ROLE;
SET ROLE regress_csp_bob;
SELECT csp.create_billing_profile(:acct_a, 'Bob profile 2');
\echo :SQLSTATE
RESET ROLE;

-- R1.1 negative: a role that is not a global admin may not create accounts
SET ROLE regress_csp_sam;
SELECT csp.create_billing_account('Sam account', 'NL', 'EUR');
\echo :SQLSTATE
RESET ROLE;

-- grant errors: unknown account role (22023), unknown member or account (NC404)
SELECT csp.grant_billing_account_role(:acct_a, 'regress_csp_bob', 'admin');
\echo :SQLSTATE
SELECT csp.grant_billing_account_role(:acct_a, 'regress_csp_nobody');
\echo :SQLSTATE
SELECT csp.grant_billing_account_role(999999, 'regress_csp_bob');
\echo :SQLSTATE

-- account errors: bad country, bad currency, blank name, NULL (22023)
SELECT csp.create_billing_account('X', 'XX', 'EUR');
\echo :SQLSTATE
SELECT csp.create_billing_account('X', 'NL', 'EURO');
\echo :SQLSTATE
SELECT csp.create_billing_account('  ', 'NL', 'EUR');
\echo :SQLSTATE
SELECT csp.create_billing_account('X', NULL, 'EUR');
\echo :SQLSTATE
SELECT count(*) AS accounts FROM csp.billing_account;

-- every change above is in the audit log, under the caller's name
SELECT action, operation, object_type, actor, count(*)
  FROM csp.audit_log GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;

------------------------------------------------------------------------------
-- R1.2 billing profiles: invoice settings
------------------------------------------------------------------------------
SELECT csp.create_billing_account('Fabrikam Nordic', 'SE', 'SEK') AS acct_b \gset
-- R1.2 positive: the currency defaults to the account's
SELECT csp.create_billing_profile(:acct_b, 'Fabrikam SE') AS prof_b1 \gset
-- R1.2 positive: explicit currency, PO number, e-mail invoice, bill-to
SELECT csp.create_billing_profile(billing_account_id => :acct_b, name => 'Fabrikam US', currency => 'usd',
                                  po_number => 'PO-4711', email_invoice => true,
                                  bill_to => '{"contact": "Anna Berg", "street": "Main 1", "city": "Stockholm"}') AS prof_b2 \gset
-- R1.2 positive: a legacy profile with its anniversary day
SELECT csp.create_billing_profile(:acct_b, 'Fabrikam legacy', billing_model => 'legacy', anniversary_day => 12) AS prof_b3 \gset
SELECT billing_account_name, name, currency, po_number, email_invoice, bill_to, billing_model, anniversary_day
  FROM csp.billing_profiles WHERE billing_account_id = :acct_b ORDER BY billing_profile_id;

-- R1.2 negative: bill_to must be a JSON object
SELECT csp.create_billing_profile(:acct_b, 'Bad', bill_to => '["Main 1"]');
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', bill_to => '"Main 1"');
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', bill_to => 'null');
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', bill_to => NULL);
\echo :SQLSTATE
-- R1.2 negative: a bad currency
SELECT csp.create_billing_profile(:acct_b, 'Bad', currency => 'KRONA');
\echo :SQLSTATE
-- R1.2 / R13.1 negative: legacy needs an anniversary day 1..28, nce refuses one
SELECT csp.create_billing_profile(:acct_b, 'Bad', billing_model => 'legacy');
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', billing_model => 'legacy', anniversary_day => 29);
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', billing_model => 'legacy', anniversary_day => 0);
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', anniversary_day => 12);
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', billing_model => 'classic');
\echo :SQLSTATE
-- R1.2 negative: blank name, NULL email_invoice (22023), unknown account (NC404)
SELECT csp.create_billing_profile(:acct_b, '');
\echo :SQLSTATE
SELECT csp.create_billing_profile(:acct_b, 'Bad', email_invoice => NULL);
\echo :SQLSTATE
SELECT csp.create_billing_profile(999999, 'Bad');
\echo :SQLSTATE
-- bad input never changes data
SELECT count(*) AS profiles_named_bad FROM csp.billing_profile WHERE name IN ('Bad', '');

------------------------------------------------------------------------------
-- R1.3 invoice sections: a Default one with every profile, more on demand
------------------------------------------------------------------------------
-- R1.3 positive: every profile has exactly one section called Default
SELECT p.name AS profile, count(s.*) AS sections,
       count(*) FILTER (WHERE s.name = 'Default') AS named_default,
       count(*) FILTER (WHERE s.is_default) AS flagged_default,
       bool_and(s.billing_account_id = p.billing_account_id) AS same_account
  FROM csp.billing_profile p LEFT JOIN csp.invoice_section s USING (billing_profile_id)
 GROUP BY p.billing_profile_id, p.name ORDER BY p.billing_profile_id;
-- R1.3 positive: more sections per project, department, environment
SELECT csp.create_invoice_section(:prof_b1, 'Project Apollo') AS sec_apollo \gset
SELECT csp.create_invoice_section(billing_profile_id => :prof_b1, name => 'Department HR') IS NOT NULL AS created;
-- the same name on another profile is fine
SELECT csp.create_invoice_section(:prof_b2, 'Project Apollo') IS NOT NULL AS created;
SELECT name FROM csp.invoice_sections WHERE billing_profile_id = :prof_b1 ORDER BY invoice_section_id;
-- R1.3 negative: a duplicate name on the same profile (23505), also Default
SELECT csp.create_invoice_section(:prof_b1, 'Project Apollo');
\echo :SQLSTATE
SELECT csp.create_invoice_section(:prof_b1, 'Default');
\echo :SQLSTATE
-- R1.3 negative: an unknown profile (NC404), a blank or NULL name (22023)
SELECT csp.create_invoice_section(999999, 'Project Apollo');
\echo :SQLSTATE
SELECT csp.create_invoice_section(:prof_b1, ' ');
\echo :SQLSTATE
SELECT csp.create_invoice_section(:prof_b1, NULL);
\echo :SQLSTATE
SELECT count(*) AS sections_of_b1 FROM csp.invoice_sections WHERE billing_profile_id = :prof_b1;

------------------------------------------------------------------------------
-- R2 partners
------------------------------------------------------------------------------
SELECT csp.create_partner('P-DIRECT', 'Direct Bill BV', 'direct_bill', 'NL');
SELECT csp.create_partner('P-PROV', 'Provider AB', 'indirect_provider', 'se');
SELECT csp.create_partner('P-PROV2', 'Provider Two GmbH', 'indirect_provider', 'DE');
SELECT csp.create_partner(partner_id => 'P-RES', name => 'Reseller Oy', kind => 'indirect_reseller',
                          country => 'FI', indirect_provider_id => 'P-PROV');
SELECT csp.create_partner('P-PENDING', 'Pending Ltd', 'direct_bill', 'GB', status => 'pending');
SELECT partner_id, name, kind, country, status, indirect_provider_id, billing_account_id, billing_profile_id, linked_at
  FROM csp.partners ORDER BY partner_id;

-- R2.1 negative: only an indirect reseller works through an indirect provider
SELECT csp.create_partner('P-X', 'X', 'direct_bill', 'NL', indirect_provider_id => 'P-PROV');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', 'X', 'indirect_provider', 'NL', indirect_provider_id => 'P-PROV');
\echo :SQLSTATE
-- R2.1 negative: a reseller's indirect_provider_id must name an indirect provider
SELECT csp.create_partner('P-X', 'X', 'indirect_reseller', 'NL', indirect_provider_id => 'P-DIRECT');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', 'X', 'indirect_reseller', 'NL', indirect_provider_id => 'P-RES');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', 'X', 'indirect_reseller', 'NL', indirect_provider_id => 'P-NOBODY');
\echo :SQLSTATE
-- duplicate partner id (23505)
SELECT csp.create_partner('P-DIRECT', 'Again', 'direct_bill', 'NL');
\echo :SQLSTATE
-- malformed: bad status, bad country, blank id or name, NULL kind (22023)
SELECT csp.create_partner('P-X', 'X', 'direct_bill', 'NL', status => 'deleted');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', 'X', 'direct_bill', 'Netherlands');
\echo :SQLSTATE
SELECT csp.create_partner(' ', 'X', 'direct_bill', 'NL');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', '', 'direct_bill', 'NL');
\echo :SQLSTATE
SELECT csp.create_partner('P-X', 'X', NULL, 'NL');
\echo :SQLSTATE
SELECT count(*) AS partners, count(*) FILTER (WHERE partner_id = 'P-X') AS p_x FROM csp.partners;
-- R2.1: only global admins manage partners
SET ROLE regress_csp_sam;
SELECT csp.create_partner('P-X', 'X', 'direct_bill', 'NL');
\echo :SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- R1.5 the partner's link to one billing account and profile
------------------------------------------------------------------------------
-- R1.5 negative: the partner account must be active
SELECT csp.link_partner_billing('P-PENDING', :acct_b, :prof_b1, accept_mca => true);
\echo :SQLSTATE
-- R1.5 / R2.1 negative: an indirect reseller is not invoiced, so it is not linked
SELECT csp.link_partner_billing('P-RES', :acct_b, :prof_b1, accept_mca => true);
\echo :SQLSTATE
-- R1.5 negative: the MCA must be accepted for the billing account
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, :prof_b1);
\echo :SQLSTATE
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, :prof_b1, accept_mca => false);
\echo :SQLSTATE
-- nothing changed: not linked, MCA still not accepted
SELECT billing_account_id, billing_profile_id, linked_at FROM csp.partners WHERE partner_id = 'P-DIRECT';
SELECT mca_accepted_at, mca_accepted_by = session_user AS accepted_by_caller
  FROM csp.billing_account WHERE billing_account_id = :acct_b;
SELECT count(*) AS accounts_with_mca FROM csp.billing_account WHERE mca_accepted_at IS NOT NULL;

-- R1.5 positive: accepted with accept_mca, the partner is linked
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, :prof_b1, accept_mca => true);
SELECT billing_account_id = :acct_b AS account, billing_profile_id = :prof_b1 AS profile, linked_at
  FROM csp.partners WHERE partner_id = 'P-DIRECT';
SELECT mca_accepted_at, mca_accepted_by = session_user AS accepted_by_caller
  FROM csp.billing_account WHERE billing_account_id = :acct_b;
SELECT DISTINCT mca_accepted_at FROM csp.billing_profiles WHERE billing_account_id = :acct_b;

-- R1.5 positive: accepted once per billing account, not asked again: a second
-- partner links to the same account without accept_mca; the acceptance keeps
-- its time
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.link_partner_billing(partner_id => 'P-PROV', billing_account_id => :acct_b, billing_profile_id => :prof_b2);
SELECT billing_account_id = :acct_b AS account, billing_profile_id = :prof_b2 AS profile, linked_at
  FROM csp.partners WHERE partner_id = 'P-PROV';
SELECT mca_accepted_at FROM csp.billing_account WHERE billing_account_id = :acct_b;

-- R1.5 negative: the profile must belong to the account (NC404)
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, :prof_a1, accept_mca => true);
\echo :SQLSTATE
-- unknown partner, account or profile (NC404)
SELECT csp.link_partner_billing('P-NOBODY', :acct_b, :prof_b1);
\echo :SQLSTATE
SELECT csp.link_partner_billing('P-DIRECT', 999999, :prof_b1);
\echo :SQLSTATE
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, 999999);
\echo :SQLSTATE
-- NULL (22023)
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, NULL);
\echo :SQLSTATE

-- R1.5 positive: re-linking to another profile moves the partner's current link
SET csp.clock = '2025-03-01 00:00+00';
SELECT csp.link_partner_billing('P-DIRECT', :acct_b, :prof_b3);
SELECT billing_account_id = :acct_b AS account, billing_profile_id = :prof_b3 AS profile, linked_at
  FROM csp.partners WHERE partner_id = 'P-DIRECT';
-- R1.5 negative: moving to another account asks for that account's MCA, and a
-- refused move keeps the current link
SELECT csp.link_partner_billing('P-DIRECT', :acct_a, :prof_a1);
\echo :SQLSTATE
SELECT billing_profile_id = :prof_b3 AS still_b3, linked_at FROM csp.partners WHERE partner_id = 'P-DIRECT';

-- R1.5 negative: linking needs a global admin: others lack EXECUTE (42501)
SET ROLE regress_csp_sam;
SELECT csp.link_partner_billing('P-PROV2', :acct_b, :prof_b1);
\echo :SQLSTATE
RESET ROLE;
-- R1.5 / R1.1 negative: a global admin without a writing role on the account (42501)
SET ROLE regress_csp_bob;
SELECT csp.link_partner_billing('P-PROV2', :acct_a, :prof_a1, accept_mca => true);
\echo :SQLSTATE
RESET ROLE;
SELECT billing_account_id, mca_accepted_at FROM csp.partners p JOIN csp.billing_account a USING (billing_account_id)
 WHERE partner_id = 'P-PROV2';
SELECT mca_accepted_at FROM csp.billing_account WHERE billing_account_id = :acct_a;
-- R1.5 positive: the account's owner, a global admin, links and accepts the MCA
SET ROLE regress_csp_alice;
SELECT csp.link_partner_billing('P-PROV2', :acct_a, :prof_a1, accept_mca => true);
RESET ROLE;
SELECT billing_account_id = :acct_a AS account, billing_profile_id = :prof_a1 AS profile, linked_at
  FROM csp.partners WHERE partner_id = 'P-PROV2';
SELECT mca_accepted_at, mca_accepted_by FROM csp.billing_account WHERE billing_account_id = :acct_a;

-- R1.5 positive: a pending partner, once active, can be linked
SELECT csp.set_partner_status('P-PENDING', 'active');
SELECT csp.link_partner_billing('P-PENDING', :acct_b, :prof_b1);
SELECT status, billing_profile_id = :prof_b1 AS linked FROM csp.partners WHERE partner_id = 'P-PENDING';
-- R1.5 negative: a suspended partner cannot be linked again
SELECT csp.set_partner_status('P-PENDING', 'suspended');
SELECT csp.link_partner_billing('P-PENDING', :acct_b, :prof_b2);
\echo :SQLSTATE
SELECT csp.set_partner_status('P-PENDING', 'gone');
\echo :SQLSTATE
SELECT csp.set_partner_status('P-NOBODY', 'active');
\echo :SQLSTATE

------------------------------------------------------------------------------
-- R2.2 indirect resellers cannot add customers
------------------------------------------------------------------------------
-- R2.2 negative
SELECT csp.add_customer('P-RES', 'Woodgrove Oy', 'FI');
\echo :SQLSTATE
SELECT count(*) AS reseller_customers FROM csp.customers WHERE partner_id = 'P-RES';
-- R2.2 positive: its indirect provider, and a direct-bill partner, can
SELECT csp.add_customer('P-PROV', 'Woodgrove Oy', 'FI') IS NOT NULL AS added;
SELECT csp.add_customer('P-DIRECT', 'Tailspin BV', 'NL') IS NOT NULL AS added;
SELECT partner_id, legal_name FROM csp.customers ORDER BY legal_name;

-- the audit log holds the link changes with the caller's name
SELECT CASE WHEN actor = session_user THEN '(session user)' ELSE actor::text END AS actor,
       operation, before->>'billing_profile_id' IS NULL AS was_unlinked, after->>'linked_at' AS linked_at
  FROM csp.audit_log WHERE action = 'link_partner_billing' AND object_type = 'partner'
 ORDER BY audit_id;

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_alice, regress_csp_bob, regress_csp_sam;
