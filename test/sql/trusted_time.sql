--
-- Trusted time (README "Time"): who may write under a pinned clock (42501,
-- csp_time_admin), history only moves forward (NC016), both instants are
-- recorded, and a late job posts what fell due at the instant it fell due,
-- so the invoices do not depend on when the jobs ran (R5.2, R6.3, R6.6,
-- R11, R13.1).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY terse

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_tt_sam, regress_csp_tt_bill, regress_csp_tt_glob,
    regress_csp_tt_clock, regress_csp_tt_keeper;
RESET client_min_messages;
CREATE ROLE regress_csp_tt_sam LOGIN IN ROLE csp_sales_agent;
CREATE ROLE regress_csp_tt_bill LOGIN IN ROLE csp_billing_admin;
CREATE ROLE regress_csp_tt_glob LOGIN IN ROLE csp_global_admin;
CREATE ROLE regress_csp_tt_clock LOGIN IN ROLE csp_sales_agent;
CREATE ROLE regress_csp_tt_keeper LOGIN IN ROLE csp_sales_agent, csp_time_admin;

-- csp_time_admin is a NOLOGIN group role like the others, granted to nobody
-- by the extension
SELECT rolname, rolcanlogin, rolinherit FROM pg_roles WHERE rolname = 'csp_time_admin';
SELECT count(*) AS members_from_the_extension
  FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
 WHERE r.rolname = 'csp_time_admin'
   AND m.member NOT IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'regress_%');

------------------------------------------------------------------------------
-- A world set up at real time (the superuser may write at any time)
------------------------------------------------------------------------------
RESET csp.clock;
SELECT csp.create_partner('tt', 'Time Partner', 'direct_bill', 'NL');
SELECT csp.create_billing_account('Time BV', 'NL', 'EUR') AS account \gset
SELECT csp.create_billing_profile(:account, 'Time NL') AS profile \gset
SELECT csp.link_partner_billing('tt', :account, :profile, accept_mca => true);
SELECT csp.add_customer('tt', 'Clockwork BV', 'NL', mca_attested => true) AS cust \gset
SELECT csp.set_customer_verification(:'cust', 'approved');
SELECT csp.add_product('TT-E3', 'Time E3');
SELECT csp.set_price('TT-E3', 'P1Y', 'monthly', 'EUR', 10.00);
SELECT csp.set_price('TT-E3', 'P1M', 'monthly', 'EUR', 12.00);
SELECT csp.purchase(:'cust', 'TT-E3', 10) AS sub \gset

------------------------------------------------------------------------------
-- 42501 negative: a sales agent under a pinned clock is refused
------------------------------------------------------------------------------
SET ROLE regress_csp_tt_sam;
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.cancel(:'sub');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.change_quantity(:'sub', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(:'cust', 'TT-E3', 1);
\echo :LAST_ERROR_SQLSTATE
-- ... a clock ahead of real time as well
SET csp.clock = '2099-01-01 00:00+00';
SELECT csp.change_quantity(:'sub', 12);
\echo :LAST_ERROR_SQLSTATE
-- ... however the setting got there: SET LOCAL, set_config
RESET csp.clock;
BEGIN;
SET LOCAL csp.clock = '2025-01-15 10:00+00';
SELECT csp.change_quantity(:'sub', 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT set_config('csp.clock', '2025-01-15 10:00+00', true) IS NOT NULL AS pinned;
SELECT csp.change_quantity(:'sub', 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET ROLE;
-- ... a superuser's SET followed by SET ROLE: the current caller is checked
SET csp.clock = '2025-01-15 10:00+00';
SET ROLE regress_csp_tt_sam;
SELECT csp.cancel(:'sub');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET csp.clock;
-- a billing admin records no payment under a pinned clock, nor with a
-- received_at far from real time (explicit instants follow the same rule)
SET ROLE regress_csp_tt_bill;
SET csp.clock = '2030-01-01 00:00+00';
SELECT csp.record_payment(:profile, 10, 'EUR');
\echo :LAST_ERROR_SQLSTATE
RESET csp.clock;
SELECT csp.record_payment(:profile, 10, 'EUR', received_at => '2025-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a global admin runs no job under a pinned clock, nor as of an instant far
-- from real time
SET ROLE regress_csp_tt_glob;
SET csp.clock = '2025-03-01 00:30+00';
SELECT csp.tick();
\echo :LAST_ERROR_SQLSTATE
RESET csp.clock;
SELECT csp.run_renewals(as_of => '2030-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.tick('2024-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the refusals wrote nothing
SELECT quantity, status FROM csp.subscriptions WHERE subscription_id = :'sub';
SELECT count(*) AS payments FROM csp.payment;
------------------------------------------------------------------------------
-- 42501 negative: ALTER ROLE ... SET csp.clock gives no way around it
------------------------------------------------------------------------------
ALTER ROLE regress_csp_tt_clock SET csp.clock = '2025-01-15 10:00+00';
\c - regress_csp_tt_clock
SET timezone = 'UTC';
\set VERBOSITY terse
SELECT csp.now() < '2026-01-01' AS clock_from_alter_role;
SELECT csp.change_quantity(:'sub', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.purchase(:'cust', 'TT-E3', 1);
\echo :LAST_ERROR_SQLSTATE
-- RESET returns to the role's default, which is still pinned
RESET csp.clock;
SELECT csp.change_quantity(:'sub', 11);
\echo :LAST_ERROR_SQLSTATE
-- positive: the same role at real time
SET csp.clock = '';
SELECT csp.change_quantity(:'sub', 11);
\c - postgres
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set VERBOSITY terse
ALTER ROLE regress_csp_tt_clock RESET csp.clock;

-- the message says what is needed and how to act at real time
CREATE FUNCTION pg_temp.refusal(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text;
    h text;
    c text;
BEGIN
    EXECUTE q;
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS c = RETURNED_SQLSTATE, m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
    RETURN c || ': ' || regexp_replace(m, '[0-9a-f]{8}-[0-9a-f-]{27}', '<uuid>') || ' | HINT: ' || h;
END $$;
SET ROLE regress_csp_tt_sam;
SET csp.clock = '2025-01-15 10:00+00';
SELECT pg_temp.refusal(format('SELECT csp.cancel(%L)', :'sub'));
RESET csp.clock;
RESET ROLE;

------------------------------------------------------------------------------
-- 42501 positive: the same calls succeed under the real clock
------------------------------------------------------------------------------
SET ROLE regress_csp_tt_sam;
SELECT csp.purchase(:'cust', 'TT-E3', 3) AS sub2 \gset
SELECT csp.change_quantity(:'sub2', 5);
-- R6.3: within 168 hours of the purchase
SELECT csp.cancel(:'sub2');
RESET ROLE;
SET ROLE regress_csp_tt_bill;
SELECT csp.record_payment(:profile, 10, 'EUR') IS NOT NULL AS payment_recorded;
RESET ROLE;
SET ROLE regress_csp_tt_glob;
SELECT csp.tick() IS NULL AS ticked;
RESET ROLE;
SELECT (SELECT quantity FROM csp.subscriptions WHERE subscription_id = :'sub') AS sub_quantity,
       (SELECT status FROM csp.subscriptions WHERE subscription_id = :'sub2') AS sub2_status;

------------------------------------------------------------------------------
-- Both instants recorded: every audit row and ledger line keeps the business
-- instant and the real time it was written
------------------------------------------------------------------------------
SELECT count(*) FILTER (WHERE written_at IS NULL) AS audit_without_real_time,
       count(*) FILTER (WHERE written_at > now()) AS audit_from_the_future
  FROM csp.audit_log;
SELECT count(*) FILTER (WHERE written_at IS NULL) AS lines_without_real_time
  FROM csp.line_items;
-- the audit log names the caller that was checked (not the session user)
SELECT actor, action, count(*) > 0 AS audited
  FROM csp.audit_log WHERE actor::text LIKE 'regress_csp_tt_%'
 GROUP BY actor, action ORDER BY actor, action;

------------------------------------------------------------------------------
-- A time admin back-fills forward; nobody posts before an object's latest
-- event (NC016)
------------------------------------------------------------------------------
SET ROLE regress_csp_tt_keeper;
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(:'cust', 'TT-E3', 10) AS back \gset
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.change_quantity(:'back', 15);
-- NC016 negative: back before 2025-02-01 09:00 on this subscription
SET csp.clock = '2025-01-20 00:00+00';
\set VERBOSITY sqlstate
SELECT csp.change_quantity(:'back', 16);
\echo :LAST_ERROR_SQLSTATE
SELECT csp.set_auto_renew(:'back', false);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- NC016 negative: for everyone, superusers included
SELECT csp.rename(:'back', 'rewritten');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.refusal(format('SELECT csp.suspend(%L)', :'back'));
\set VERBOSITY terse
-- NC016 positive: the same instant as the latest event, and later, are fine
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.rename(:'back', 'forward');
SET csp.clock = '2025-02-03 10:00+00';
SELECT csp.change_quantity(:'back', 12);
SELECT charge_type, charge_start, charge_end, quantity, amount
  FROM csp.line_items WHERE subscription_id = :'back' ORDER BY posted_at, charge_id;
-- NC016 on a profile: payments, allocations and invoice actions move its
-- history forward; the real-time payment above is its latest event
SELECT csp.record_payment(:profile, 5, 'EUR');
\echo :LAST_ERROR_SQLSTATE
SELECT csp.apply_credit_note(:profile, 5, 'EUR');
\echo :LAST_ERROR_SQLSTATE
RESET csp.clock;
SELECT csp.record_payment(:profile, 5, 'EUR') IS NOT NULL AS recorded_at_real_time;
-- jobs never move a subscription's history back: the cycle charge of a
-- subscription is posted at its due instant and its latest event follows
SELECT last_event_at >= '2025-02-03 10:00+00' AS latest_event_kept
  FROM csp.subscription WHERE subscription_id = :'back';

------------------------------------------------------------------------------
-- R6.7: a purchase that depends on a subscription whose renewal is pending
-- (its term ended, the job has not run) answers NC409, retry later, not an
-- answer that would change once the renewal is processed
------------------------------------------------------------------------------
SELECT csp.add_product('TT-ONE', 'Time one per customer', one_per_customer => true);
SELECT csp.set_price('TT-ONE', 'P1M', 'monthly', 'EUR', 5.00);
SET csp.clock = '2025-02-03 11:00+00';
SELECT csp.purchase(:'cust', 'TT-ONE', 1, 'P1M') IS NOT NULL AS one_bought;
-- its P1M term ends 2025-03-02; on 2025-03-05 no renewal has run
SET csp.clock = '2025-03-05 09:00+00';
\set VERBOSITY sqlstate
SELECT csp.purchase(:'cust', 'TT-ONE', 1, 'P1M');
\echo :LAST_ERROR_SQLSTATE
-- co-terminating with it, likewise
SELECT csp.purchase(:'cust', 'TT-E3', 1, coterminate_with => (SELECT subscription_id FROM csp.subscription WHERE sku_id = 'TT-ONE'));
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
-- NC006 negative once renewed: the one subscription is live again
SELECT csp.run_renewals() AS processed;
SELECT csp.purchase(:'cust', 'TT-ONE', 1, 'P1M');
\echo :LAST_ERROR_SQLSTATE
RESET csp.clock;

------------------------------------------------------------------------------
-- R11, R13.1: the same history gives the same invoices whatever the jobs'
-- schedule.  A P1Y monthly subscription bought 2025-01-15, 10 seats at
-- 10.00, owes its cycle charge 2025-02-15..2025-03-14 (100.00): it is on
-- February's invoice whether csp.tick() ran every day or only once, on
-- 2025-03-01 00:30.
------------------------------------------------------------------------------
DROP EXTENSION csp_billing CASCADE;
CREATE TEMP TABLE schedule_runs (run text, invoice text, period_start date, period_end date,
                                 total numeric, lines text);
CREATE FUNCTION pg_temp.history() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
    prof bigint;
    c uuid;
BEGIN
    PERFORM set_config('csp.clock', '2025-01-15 10:00+00', false);
    PERFORM csp.create_partner('sp', 'Schedule Partner', 'direct_bill', 'NL');
    acct := csp.create_billing_account('Schedule BV', 'NL', 'EUR');
    prof := csp.create_billing_profile(acct, 'Schedule NL');
    PERFORM csp.link_partner_billing('sp', acct, prof, accept_mca => true);
    c := csp.add_customer('sp', 'Schedule Customer', 'NL', mca_attested => true);
    PERFORM csp.set_customer_verification(c, 'approved');
    PERFORM csp.add_product('SP-E3', 'Schedule E3');
    PERFORM csp.set_price('SP-E3', 'P1Y', 'monthly', 'EUR', 10.00);
    PERFORM csp.purchase(c, 'SP-E3', 10, 'P1Y', 'monthly');
    PERFORM set_config('csp.clock', '', false);
END $$;
CREATE FUNCTION pg_temp.record(run text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO schedule_runs
    SELECT run, o.invoice_number, o.period_start, o.period_end, o.total,
           (SELECT string_agg(format('%s %s..%s %s at %s', l.charge_type, l.charge_start,
                                     l.charge_end, l.amount, l.posted_at), ', '
                              ORDER BY l.charge_start, l.charge_type)
              FROM csp.line_items l WHERE l.invoice_number = o.invoice_number)
      FROM csp.billing_overview o;
END $$;

-- daily ticks, 2025-01-16 .. 2025-03-01, each at 00:30
CREATE EXTENSION csp_billing;
SELECT pg_temp.history();
DO $$
DECLARE
    d date;
BEGIN
    FOR d IN SELECT generate_series('2025-01-16'::date, '2025-03-01', '1 day') LOOP
        PERFORM set_config('csp.clock', (d + time '00:30')::text || '+00', false);
        PERFORM csp.tick();
    END LOOP;
    PERFORM set_config('csp.clock', '', false);
END $$;
SELECT pg_temp.record('daily');
DROP EXTENSION csp_billing CASCADE;

-- one tick, on 2025-03-01 00:30 (a cron outage since the purchase)
CREATE EXTENSION csp_billing;
SELECT pg_temp.history();
SET csp.clock = '2025-03-01 00:30+00';
SELECT csp.tick();
RESET csp.clock;
SELECT pg_temp.record('once');

SELECT run, period_start, period_end, total, lines FROM schedule_runs ORDER BY run, period_start;
SELECT run, count(*) AS invoices FROM schedule_runs GROUP BY run ORDER BY run;
-- identical invoices (invoice numbers may differ; here they do not)
SELECT count(*) AS differing_invoices FROM (
    (SELECT period_start, period_end, total, lines FROM schedule_runs WHERE run = 'daily'
     EXCEPT SELECT period_start, period_end, total, lines FROM schedule_runs WHERE run = 'once')
    UNION ALL
    (SELECT period_start, period_end, total, lines FROM schedule_runs WHERE run = 'once'
     EXCEPT SELECT period_start, period_end, total, lines FROM schedule_runs WHERE run = 'daily')) d;
-- the late job wrote the February line at its due instant, and says when it
-- really wrote it (written_at is the real time, later than posted_at)
SELECT charge_type, charge_start, posted_at, written_at > posted_at AS written_later
  FROM csp.line_items WHERE charge_type = 'cycleCharge';

DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_tt_sam, regress_csp_tt_bill, regress_csp_tt_glob, regress_csp_tt_clock,
    regress_csp_tt_keeper;
