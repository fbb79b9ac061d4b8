--
-- pgTAP: the security matrix of issue 12 (API.md "Roles"; DOMAIN.md R1.4).
-- Every group role, every billing-profile role and mixed roles (a group
-- role plus a profile role) x every view and state table (what it sees:
-- all profiles, only its own, or 42501) and x the API functions (allowed,
-- 42501, or NC404 for what the caller may not see), on the caller's own
-- profile and on another one.  Then the rename of a profile-limited role
-- keeps its limit, a new role with an old name inherits nothing, and
-- DROP ROLE leaves no live grant (issue 12 item 5).
--
-- The rule being tested, defined once (README "Roles"): a role holding any
-- billing-profile role is limited to those profiles everywhere money or
-- personal data shows, whatever group roles it also holds.
--
-- One transaction, rolled back; every function probe runs in a
-- subtransaction that is rolled back too, so probes do not change what the
-- next one sees.
--
SET timezone = 'UTC';
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS csp_billing;
SET LOCAL csp.clock = '2025-01-01 08:00+00';

------------------------------------------------------------------------------
-- Roles: group (g_*), profile-only (p_*), mixed (m_*)
------------------------------------------------------------------------------
CREATE TABLE pg_temp.matrix_role (role name PRIMARY KEY, grp name, prole text);
INSERT INTO pg_temp.matrix_role VALUES
    ('regress_sm_g_global',   'csp_global_admin',   NULL),
    ('regress_sm_g_agent',    'csp_admin_agent',    NULL),
    ('regress_sm_g_sales',    'csp_sales_agent',    NULL),
    ('regress_sm_g_helpdesk', 'csp_helpdesk_agent', NULL),
    ('regress_sm_g_billing',  'csp_billing_admin',  NULL),
    ('regress_sm_g_reader',   'csp_reader',         NULL),
    ('regress_sm_p_owner',    NULL, 'owner'),
    ('regress_sm_p_contrib',  NULL, 'contributor'),
    ('regress_sm_p_reader',   NULL, 'reader'),
    ('regress_sm_p_imgr',     NULL, 'invoice_manager'),
    ('regress_sm_m_global',   'csp_global_admin',   'owner'),
    ('regress_sm_m_agent',    'csp_admin_agent',    'contributor'),
    ('regress_sm_m_sales',    'csp_sales_agent',    'reader'),
    ('regress_sm_m_helpdesk', 'csp_helpdesk_agent', 'contributor'),
    ('regress_sm_m_billing',  'csp_billing_admin',  'invoice_manager'),
    ('regress_sm_m_reader',   'csp_reader',         'reader');
GRANT SELECT ON pg_temp.matrix_role TO PUBLIC;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_temp.matrix_role LOOP
        -- the matrix replays a pinned history: every role may write under it
        EXECUTE format('CREATE ROLE %I IN ROLE csp_time_admin', r.role);
        IF r.grp IS NOT NULL THEN
            EXECUTE format('GRANT %I TO %I', r.grp, r.role);
        END IF;
    END LOOP;
END
$$;
CREATE ROLE regress_sm_owner IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_sm_their_reader IN ROLE csp_time_admin;

------------------------------------------------------------------------------
-- Data: one account with profiles "mine" (the profile roles are on it) and
-- "theirs"; a customer, a subscription, an invoice and a payment on each
------------------------------------------------------------------------------
SET LOCAL ROLE regress_sm_owner;
SELECT csp.create_partner('SM1', 'Mine Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('SM2', 'Their Partner', 'direct_bill', 'NL');
SELECT csp.create_partner('SM3', 'Another Partner of Mine', 'direct_bill', 'NL');
CREATE TABLE pg_temp.ids AS
SELECT csp.create_billing_account('SM Account', 'NL', 'EUR') AS account;
ALTER TABLE pg_temp.ids ADD mine bigint, ADD theirs bigint, ADD c_mine uuid, ADD c_theirs uuid,
    ADD s_mine uuid, ADD s_theirs uuid, ADD i_mine text, ADD i_theirs text,
    ADD pay_mine bigint, ADD pay_theirs bigint;
UPDATE pg_temp.ids SET mine = csp.create_billing_profile(account, 'Mine'),
                       theirs = csp.create_billing_profile(account, 'Theirs');
SELECT csp.link_partner_billing('SM1', account, mine, accept_mca => true),
       csp.link_partner_billing('SM2', account, theirs),
       csp.link_partner_billing('SM3', account, mine) FROM pg_temp.ids;
SELECT csp.add_product('SM365', 'SM 365');
SELECT csp.set_price('SM365', 'P1Y', 'monthly', 'EUR', 100.00);
UPDATE pg_temp.ids SET c_mine = csp.add_customer('SM1', 'Mine Customer BV', 'NL', phone => '+31 1', email => 'm@example.com', mca_attested => true),
                       c_theirs = csp.add_customer('SM2', 'Their Customer BV', 'NL', phone => '+31 2', email => 't@example.com', mca_attested => true);
SELECT csp.set_customer_verification(c_mine, 'approved'), csp.set_customer_verification(c_theirs, 'approved')
  FROM pg_temp.ids;
UPDATE pg_temp.ids SET s_mine = csp.purchase(c_mine, 'SM365', 10), s_theirs = csp.purchase(c_theirs, 'SM365', 10);
RESET ROLE;
SET LOCAL csp.clock = '2025-02-02 08:00+00';
SELECT count(*) > 0 AS invoiced FROM csp.run_invoicing();
UPDATE pg_temp.ids SET
    i_mine = (SELECT invoice_number FROM csp.invoice WHERE billing_profile_id = mine LIMIT 1),
    i_theirs = (SELECT invoice_number FROM csp.invoice WHERE billing_profile_id = theirs LIMIT 1);
UPDATE pg_temp.ids SET pay_mine = csp.record_payment(mine, 5, 'EUR'), pay_theirs = csp.record_payment(theirs, 5, 'EUR');
SET LOCAL ROLE regress_sm_owner;
SELECT csp.grant_profile_role(i.mine, r.role, r.prole)
  FROM pg_temp.matrix_role r, pg_temp.ids i WHERE r.prole IS NOT NULL;
SELECT csp.grant_profile_role(theirs, 'regress_sm_their_reader', 'reader') FROM pg_temp.ids;
RESET ROLE;
GRANT SELECT ON pg_temp.ids TO PUBLIC;

-- What one role sees of a relation: 'all' (rows of the other profile too),
-- 'own' (rows, all of its own profile), 'none', or the SQLSTATE refused.
CREATE FUNCTION pg_temp.sees(r name, rel text, own text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    foreign_rows bigint;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE NOT (%s)) FROM %s t, pg_temp.ids i', own, rel)
       INTO total, foreign_rows;
    RESET ROLE;
    RETURN CASE WHEN foreign_rows > 0 THEN 'all' WHEN total > 0 THEN 'own' ELSE 'none' END;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- Runs one call as a role and undoes it: 'ok' or the SQLSTATE refused.
CREATE FUNCTION pg_temp.try(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', r);
        EXECUTE q;
        RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'probe done';
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE = 'ZZ999' THEN
            RETURN 'ok';
        END IF;
        RETURN SQLSTATE;
    END;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sees(name, text, text), pg_temp.try(name, text) TO PUBLIC;

------------------------------------------------------------------------------
-- The relations, with the test "this row is of the caller's own profile",
-- and whether csp_profile_member (profile roles without a group role) may
-- read it at all
------------------------------------------------------------------------------
CREATE TABLE pg_temp.rel (rel text PRIMARY KEY, own text, profile_member boolean);
INSERT INTO pg_temp.rel VALUES
    ('csp.billing_overview',       't.billing_profile_id = i.mine', true),
    ('csp.account_balance',        't.billing_profile_id = i.mine', true),
    ('csp.unallocated_payments',   't.billing_profile_id = i.mine', true),
    ('csp.invoice_lines',          't.billing_profile_id = i.mine', true),
    ('csp.invoice_section_totals', 't.billing_profile_id = i.mine', true),
    ('csp.line_items',             't.billing_profile_id = i.mine', true),
    ('csp.subscriptions',          't.subscription_id = i.s_mine', true),
    ('csp.subscriptions_export',   't.subscription_id = i.s_mine', false),
    ('csp.customers',              't.customer_id = i.c_mine', false),
    ('csp.invoice_sections',       't.billing_profile_id = i.mine', false),
    ('csp.billing_profiles',       't.billing_profile_id = i.mine', false),
    ('csp.invoice',                't.billing_profile_id = i.mine', true),
    ('csp.payment',                't.billing_profile_id = i.mine', true),
    ('csp.charge',                 't.billing_profile_id = i.mine', true),
    ('csp.invoice_section',        't.billing_profile_id = i.mine', true),
    ('csp.subscription',           't.billing_profile_id = i.mine', true),
    ('csp.seat_lot',               't.subscription_id = i.s_mine', true),
    ('csp.billing_profile',        't.billing_profile_id = i.mine', false),
    ('csp.billing_profile_role',   't.billing_profile_id = i.mine', true),
    ('csp.customer',               't.customer_id = i.c_mine', true),
    ('csp.audit_log',              '(coalesce(t.after, t.before)->>''billing_profile_id'')::bigint = i.mine', false);

------------------------------------------------------------------------------
-- The functions: a call on the caller's own profile and one on the other,
-- who may call it (EXECUTE), and which profile roles may write through it
------------------------------------------------------------------------------
CREATE TABLE pg_temp.fn (name text, own text, theirs text, groups name[], writers text[], kind text);
INSERT INTO pg_temp.fn VALUES
    ('record_payment', 'SELECT csp.record_payment(mine, 1, ''EUR'') FROM pg_temp.ids',
                       'SELECT csp.record_payment(theirs, 1, ''EUR'') FROM pg_temp.ids',
     '{csp_global_admin,csp_billing_admin}', '{owner,contributor,invoice_manager}', 'money'),
    ('allocate_payment', 'SELECT csp.allocate_payment(pay_mine, i_mine, 1) FROM pg_temp.ids',
                         'SELECT csp.allocate_payment(pay_theirs, i_theirs, 1) FROM pg_temp.ids',
     '{csp_global_admin,csp_billing_admin}', '{owner,contributor,invoice_manager}', 'money'),
    ('apply_credit_note', 'SELECT csp.apply_credit_note(mine, 1, ''EUR'') FROM pg_temp.ids',
                          'SELECT csp.apply_credit_note(theirs, 1, ''EUR'') FROM pg_temp.ids',
     '{csp_global_admin,csp_billing_admin}', '{owner,contributor}', 'money'),
    ('void_and_rebill', 'SELECT csp.void_and_rebill(i_mine) FROM pg_temp.ids',
                        'SELECT csp.void_and_rebill(i_theirs) FROM pg_temp.ids',
     '{csp_global_admin,csp_billing_admin}', '{owner,contributor}', 'money'),
    ('change_quantity', 'SELECT csp.change_quantity(s_mine, 11) FROM pg_temp.ids',
                        'SELECT csp.change_quantity(s_theirs, 11) FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'subscription'),
    ('suspend', 'SELECT csp.suspend(s_mine) FROM pg_temp.ids', 'SELECT csp.suspend(s_theirs) FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'subscription'),
    ('set_auto_renew', 'SELECT csp.set_auto_renew(s_mine, false) FROM pg_temp.ids',
                       'SELECT csp.set_auto_renew(s_theirs, false) FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'subscription'),
    ('rename', 'SELECT csp.rename(s_mine, ''x'') FROM pg_temp.ids', 'SELECT csp.rename(s_theirs, ''x'') FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'subscription'),
    ('reducible_licenses', 'SELECT * FROM pg_temp.ids, csp.reducible_licenses(s_mine)',
                           'SELECT * FROM pg_temp.ids, csp.reducible_licenses(s_theirs)',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor,reader,invoice_manager}', 'subscription'),
    ('transfer', 'SELECT csp.transfer(s_mine, ''SM3'') FROM pg_temp.ids',
                 'SELECT csp.transfer(s_theirs, ''SM3'') FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'subscription'),
    ('purchase', 'SELECT csp.purchase(c_mine, ''SM365'', 1) FROM pg_temp.ids',
                 'SELECT csp.purchase(c_theirs, ''SM365'', 1) FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent,csp_helpdesk_agent,csp_billing_admin}',
     '{owner,contributor}', 'customer'),
    ('update_customer', 'SELECT csp.update_customer(c_mine, phone => ''+31 9'') FROM pg_temp.ids',
                        'SELECT csp.update_customer(c_theirs, phone => ''+31 9'') FROM pg_temp.ids',
     '{csp_global_admin,csp_admin_agent,csp_sales_agent}', '{owner,contributor}', 'customer'),
    ('set_customer_verification', 'SELECT csp.set_customer_verification(c_mine, ''rejected'') FROM pg_temp.ids',
                                  'SELECT csp.set_customer_verification(c_theirs, ''rejected'') FROM pg_temp.ids',
     '{csp_global_admin}', '{owner,contributor}', 'customer');

-- The rule, as the README states it, independent of the implementation:
--   no EXECUTE (no group role granting it, and not a money function a
--   profile role may call) -> 42501;
--   profile-limited: another profile's money -> 42501 (R1.4), another
--   profile's subscription or customer -> NC404 (invisible); its own ->
--   allowed for the writing profile roles, else 42501;
--   not limited: allowed (money needs csp_global_admin or csp_billing_admin,
--   which the EXECUTE grant already says).
CREATE FUNCTION pg_temp.expected(grp name, prole text, f pg_temp.fn, on_own boolean) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE
        WHEN NOT (coalesce(grp = ANY (f.groups), false) OR (prole IS NOT NULL AND f.kind = 'money'))
            THEN '42501'
        WHEN prole IS NULL THEN 'ok'
        WHEN NOT on_own THEN CASE WHEN f.kind = 'money' THEN '42501' ELSE 'NC404' END
        WHEN prole = ANY (f.writers) THEN 'ok'
        ELSE '42501'
    END
$$;

SELECT plan((SELECT (count(*) * (SELECT count(*) FROM pg_temp.rel))::int
                    + (count(*) * (SELECT count(*) FROM pg_temp.fn) * 2)::int
               FROM pg_temp.matrix_role) + 14);

------------------------------------------------------------------------------
-- Views and tables: group roles see every profile, profile-limited roles
-- (with or without a group role) only their own, csp_profile_member alone
-- only what it is granted
------------------------------------------------------------------------------
SELECT is(pg_temp.sees(m.role, r.rel, r.own),
          CASE WHEN m.prole IS NULL THEN 'all'
               WHEN m.grp IS NULL AND NOT r.profile_member THEN '42501'
               ELSE 'own' END,
          format('%s (%s%s) reading %s', m.role, coalesce(m.grp, ''),
                 coalesce(' + ' || m.prole, ''), r.rel))
  FROM pg_temp.matrix_role m, pg_temp.rel r ORDER BY m.role, r.rel;

------------------------------------------------------------------------------
-- Functions, on the caller's own profile and on the other one
------------------------------------------------------------------------------
SELECT is(pg_temp.try(m.role, CASE WHEN o THEN f.own ELSE f.theirs END),
          pg_temp.expected(m.grp, m.prole, f, o),
          format('%s (%s%s) calling %s on %s profile', m.role, coalesce(m.grp, ''),
                 coalesce(' + ' || m.prole, ''), f.name, CASE WHEN o THEN 'its own' ELSE 'another' END))
  FROM pg_temp.matrix_role m, pg_temp.fn f, (VALUES (true), (false)) v(o)
 ORDER BY m.role, f.name, o DESC;

-- moving its own subscription onto another profile's ledger: the target
-- partner is invisible to a profile-limited owner, not to a group role
SELECT is(pg_temp.try('regress_sm_m_global', 'SELECT csp.transfer(s_mine, ''SM2'') FROM pg_temp.ids'), 'NC404',
          'a mixed global admin + owner cannot transfer its subscription to a partner of another profile');
SELECT is(pg_temp.try('regress_sm_g_global', 'SELECT csp.transfer(s_mine, ''SM2'') FROM pg_temp.ids'), 'ok',
          'a global admin holding no profile role can');

------------------------------------------------------------------------------
-- Issue 12 item 5: profile roles are keyed by role OID
------------------------------------------------------------------------------
-- a renamed profile-limited billing admin keeps its limit
ALTER ROLE regress_sm_m_billing RENAME TO regress_sm_m_renamed;
SELECT is(pg_temp.sees('regress_sm_m_renamed', 'csp.billing_overview', 't.billing_profile_id = i.mine'), 'own',
          'a renamed mixed billing admin still sees only its profile');
SELECT is(pg_temp.try('regress_sm_m_renamed', 'SELECT csp.record_payment(theirs, 1, ''EUR'') FROM pg_temp.ids'),
          '42501', 'a renamed mixed billing admin still cannot pay on another profile');
SELECT is((SELECT member::text FROM csp.billing_profile_role
            WHERE member = 'regress_sm_m_renamed'::regrole), 'regress_sm_m_renamed',
          'billing_profile_role shows the new name');
-- a new role created with the old name inherits nothing
CREATE ROLE regress_sm_m_billing IN ROLE csp_billing_admin, csp_time_admin;
SELECT is(pg_temp.sees('regress_sm_m_billing', 'csp.billing_overview', 't.billing_profile_id = i.mine'), 'all',
          'a new role with the old name is not limited by the old rows');
SELECT is((SELECT count(*) FROM csp.billing_profile_role WHERE member = 'regress_sm_m_billing'::regrole), 0::bigint,
          'a new role with the old name holds no profile role');
-- DROP ROLE: refused while the role holds a profile role (its grant is in
-- pg_shdepend) ...
SELECT throws_ok('DROP ROLE regress_sm_p_reader', '2BP01', NULL,
                 'DROP ROLE of a profile-role holder is refused while its grant lives');
-- ... and after DROP OWNED BY, its leftover rows are dead
DROP OWNED BY regress_sm_p_reader;
DROP ROLE regress_sm_p_reader;
SELECT is((SELECT count(*) FROM csp.billing_profile_role r
            WHERE NOT EXISTS (SELECT 1 FROM pg_roles ro WHERE ro.oid = r.member)), 1::bigint,
          'the dropped role left its row');
-- a row whose OID a later role got (simulated: a row the later role never
-- got the grant for) is dead too
CREATE ROLE regress_sm_recycled IN ROLE csp_reader, csp_time_admin;
INSERT INTO csp.billing_profile_role
SELECT account, mine, 'regress_sm_recycled'::regrole, 'owner', 'regress_sm_owner', now() FROM pg_temp.ids;
SELECT is(pg_temp.sees('regress_sm_recycled', 'csp.billing_overview', 't.billing_profile_id = i.mine'), 'all',
          'a later role with the OID of a dead row is not limited by it');
-- a revoke by name after a rename works on the OID
SET LOCAL ROLE regress_sm_owner;
SELECT lives_ok(format('SELECT csp.revoke_profile_role(%s, ''regress_sm_m_renamed'', ''invoice_manager'')', mine),
                'revoking by the new name') FROM pg_temp.ids;
RESET ROLE;
SELECT is(pg_temp.sees('regress_sm_m_renamed', 'csp.billing_overview', 't.billing_profile_id = i.mine'), 'all',
          'with its last profile role gone, the billing admin sees every profile again');
SELECT is(has_schema_privilege('regress_sm_m_renamed', 'csp', 'USAGE'), true,
          'its group role still gives it the schema');
SELECT is(pg_temp.try('regress_sm_m_renamed', 'SELECT csp.record_payment(theirs, 1, ''EUR'') FROM pg_temp.ids'),
          'ok', 'and it pays on any profile again');

SELECT * FROM finish();
ROLLBACK;
