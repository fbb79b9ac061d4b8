--
-- pgTAP: the attack of issue 12 item 1 (README "Roles", src/entry.c).
--
-- The attack: a role that may not issue credit notes (an invoice manager,
-- R1.4) or that does not own a billing account (a global admin, R1.1) puts
-- the call it may not make into an index expression on a table of its own;
-- a superuser's ANALYZE (or autovacuum, or REINDEX) then evaluates that
-- expression as the table's owner inside a security-restricted operation,
-- where PostgreSQL's current user is the owner but the session's outer
-- user is the superuser.  Each must be refused (42501) and write nothing:
-- no credit note, no account role, no audit row naming the superuser.
--
SET timezone = 'UTC';
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS csp_billing;
SET LOCAL csp.clock = '2025-01-01 08:00+00';

SELECT plan(10);

CREATE ROLE regress_atk_owner IN ROLE csp_global_admin, csp_time_admin;
CREATE ROLE regress_atk_imgr IN ROLE csp_time_admin;
CREATE ROLE regress_atk_admin IN ROLE csp_global_admin, csp_time_admin;

SET LOCAL ROLE regress_atk_owner;
SELECT csp.create_partner('ATK', 'Partner', 'direct_bill', 'NL');
CREATE TABLE pg_temp.ids AS
SELECT csp.create_billing_account('Victim', 'NL', 'EUR') AS account;
ALTER TABLE pg_temp.ids ADD profile bigint, ADD customer uuid;
UPDATE pg_temp.ids SET profile = csp.create_billing_profile(account, 'Victim profile');
SELECT csp.link_partner_billing('ATK', account, profile, accept_mca => true) FROM pg_temp.ids;
SELECT csp.add_product('ATK365', 'Product');
SELECT csp.set_price('ATK365', 'P1Y', 'monthly', 'EUR', 700.00);
UPDATE pg_temp.ids SET customer = csp.add_customer('ATK', 'Customer', 'NL', mca_attested => true);
SELECT csp.set_customer_verification(customer, 'approved') FROM pg_temp.ids;
SELECT csp.purchase(customer, 'ATK365', 1) IS NOT NULL AS purchased FROM pg_temp.ids;
SELECT csp.grant_profile_role(profile, 'regress_atk_imgr', 'invoice_manager') FROM pg_temp.ids;
RESET ROLE;
SET LOCAL csp.clock = '2025-02-02 08:00+00';
SELECT count(*) > 0 AS invoiced FROM csp.run_invoicing();
GRANT SELECT ON pg_temp.ids TO PUBLIC;

-- the schemas the attackers own
CREATE SCHEMA regress_atk_imgr AUTHORIZATION regress_atk_imgr;
CREATE SCHEMA regress_atk_admin AUTHORIZATION regress_atk_admin;

-- baseline: called directly, both are refused
SELECT throws_ok(format('SET LOCAL ROLE regress_atk_imgr; SELECT csp.apply_credit_note(%s, 700, ''EUR'')', profile),
                 '42501', NULL, 'an invoice manager may not issue a credit note (R1.4)') FROM pg_temp.ids;
RESET ROLE;
SELECT throws_ok(format('SET LOCAL ROLE regress_atk_admin; SELECT csp.grant_billing_account_role(%s, ''regress_atk_admin'')', account),
                 '42501', NULL, 'a global admin may not make itself owner of an account it does not own (R1.1)')
  FROM pg_temp.ids;
RESET ROLE;

-- the traps: each attacker builds an expression index over a harmless
-- "immutable" function on a table of its own, then swaps the body for the
-- call it may not make
SET LOCAL ROLE regress_atk_imgr;
CREATE FUNCTION regress_atk_imgr.f(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN $1; END';
CREATE TABLE regress_atk_imgr.t (x int);
INSERT INTO regress_atk_imgr.t VALUES (1);
CREATE INDEX ON regress_atk_imgr.t (regress_atk_imgr.f(x));
CREATE OR REPLACE FUNCTION regress_atk_imgr.f(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM csp.apply_credit_note((SELECT profile FROM pg_temp.ids), 700, 'EUR');
    RETURN $1;
END
$$;
RESET ROLE;
SET LOCAL ROLE regress_atk_admin;
CREATE FUNCTION regress_atk_admin.f(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN $1; END';
CREATE TABLE regress_atk_admin.t (x int);
INSERT INTO regress_atk_admin.t VALUES (1);
CREATE INDEX ON regress_atk_admin.t (regress_atk_admin.f(x));
CREATE OR REPLACE FUNCTION regress_atk_admin.f(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM csp.grant_billing_account_role((SELECT account FROM pg_temp.ids), 'regress_atk_admin');
    RETURN $1;
END
$$;
RESET ROLE;
SET LOCAL csp.clock = '2025-02-03 08:00+00';

-- as the superuser: ANALYZE and REINDEX evaluate the expression as the
-- table's owner, in a security-restricted operation
SELECT throws_ok('ANALYZE regress_atk_imgr.t', '42501', NULL,
                 'ANALYZE by a superuser on the trap: the credit note is refused');
SELECT throws_ok('ANALYZE regress_atk_admin.t', '42501', NULL,
                 'ANALYZE by a superuser on the trap: the account role is refused');
SELECT throws_ok('REINDEX TABLE regress_atk_imgr.t', '42501', NULL,
                 'REINDEX by a superuser on the trap: the credit note is refused');
SELECT throws_ok('REINDEX TABLE regress_atk_admin.t', '42501', NULL,
                 'REINDEX by a superuser on the trap: the account role is refused');

-- and nothing was written
SELECT is((SELECT count(*) FROM csp.payment WHERE kind = 'credit_note'), 0::bigint,
          'no credit note was issued');
SELECT is((SELECT count(*) FROM csp.billing_account_role r, pg_temp.ids i
            WHERE r.billing_account_id = i.account AND r.member = 'regress_atk_admin'), 0::bigint,
          'the global admin holds no role on the account');
SELECT is((SELECT count(*) FROM csp.audit_log
            WHERE action IN ('apply_credit_note', 'grant_billing_account_role')), 0::bigint,
          'no audit row of either action');
SELECT is((SELECT sum(amount_due) FROM csp.billing_overview), 700.00::numeric,
          'the invoice is still due in full');

SELECT * FROM finish();
ROLLBACK;
