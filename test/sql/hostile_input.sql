--
-- Hostile input (issue 6, item 5): every public function with a NULL in
-- each argument, integer overflow of quantities, 40-digit amounts,
-- malformed codes and JSON, injection-looking names, far-away dates and bad
-- csp.clock values.  Rule checked throughout (API.md "Errors"): bad input
-- never changes data -- each refusal has a specific SQLSTATE (22023 for a
-- missing required argument) and leaves every table of schema csp as it was.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql

------------------------------------------------------------------------------
-- Test helpers (test code, not engine code)
------------------------------------------------------------------------------
-- md5 of every table of schema csp, one key per table; the table list comes
-- from pg_class so that a new table is covered without editing this file.
CREATE FUNCTION pg_temp.table_sums() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r record; h text; j jsonb := '{}';
BEGIN
    FOR r IN SELECT c.oid::regclass AS t, c.relname FROM pg_class c
              WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind IN ('r', 'p')
              ORDER BY c.relname LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s t', r.t)
           INTO h;
        j := j || jsonb_build_object(r.relname, h);
    END LOOP;
    RETURN j;
END $$;
CREATE FUNCTION pg_temp.all_sum() RETURNS text LANGUAGE sql AS $$ SELECT md5(pg_temp.table_sums()::text) $$;
-- pg_temp.try(sql): run sql and undo it.  A refusal gives its SQLSTATE and
-- message; an accepted call gives 'accepted' with its first result value and
-- the tables it changed (before being rolled back).  Either way the text
-- ends in ' TABLES CHANGED' if anything is left changed afterwards.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b jsonb := pg_temp.table_sums(); a jsonb; res text; st text; msg text; out text;
BEGIN
    BEGIN
        EXECUTE sql INTO res;
        a := pg_temp.table_sums();
        RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'accepted: ' || coalesce(res, 'NULL') || ' | changed: '
            || coalesce((SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_each_text(a) AS e(k, v) WHERE b->>k IS DISTINCT FROM v), 'none');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        out := CASE WHEN st = 'ZZ999' THEN msg ELSE st || ': ' || msg END;
    END;
    IF pg_temp.table_sums() IS DISTINCT FROM b THEN out := out || ' TABLES CHANGED'; END IF;
    RETURN regexp_replace(out, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $$;

------------------------------------------------------------------------------
-- Fixtures: one of each object a function can name
------------------------------------------------------------------------------
SELECT csp.create_partner('p2', 'Second Partner', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p2', :ba, :bp) \gset
SELECT csp.add_product('E5', 'Microsoft 365 E5') \gset
SELECT csp.set_price('E5', 'P1Y', 'monthly', 'EUR', 20.00) \gset
SELECT csp.add_upgrade_path('M365', 'E5') \gset
SELECT csp.add_product('M365T', 'Microsoft 365 E3 trial', trial_of => 'M365') \gset
SELECT csp.add_product('AZ', 'Azure plan', billing_type => 'usage') \gset
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => '{M365}', addon_max_ratio => 1) \gset
SELECT csp.set_price('COPILOT', 'P1Y', 'monthly', 'EUR', 30.00) \gset
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS s \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365T', quantity => 1) AS trial \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'AZ', quantity => 1) AS az \gset
SET csp.clock = '2025-02-02 10:00+00';
SELECT csp.tick() \gset
SELECT invoice_number AS inv FROM csp.billing_overview ORDER BY invoice_number LIMIT 1 \gset
SELECT csp.record_payment(:bp, 10.00, 'EUR') AS pay \gset
SELECT count(*) AS invoices FROM csp.billing_overview;

------------------------------------------------------------------------------
-- NULL in every argument of every function of schema csp (API.md "Errors":
-- a required argument given as NULL is malformed, 22023).  The calls are
-- generated from pg_proc: one call per (function, argument); the other
-- required arguments get a valid value (pg_temp.sample), optional ones
-- their default.
------------------------------------------------------------------------------
CREATE TABLE pg_temp.sample (fn text, arg text, val text, PRIMARY KEY (fn, arg));
INSERT INTO pg_temp.sample VALUES
  ('*', 'partner_id', '''p1'''), ('create_partner', 'partner_id', '''p9'''),
  ('*', 'name', '''N'''), ('*', 'kind', '''direct_bill'''), ('*', 'country', '''NL'''),
  ('*', 'currency', '''EUR'''), ('*', 'billing_account_id', :'ba'), ('*', 'billing_profile_id', :'bp'),
  ('*', 'legal_name', '''L'''), ('*', 'customer_id', quote_literal(:'cust')),
  ('*', 'status', '''active'''), ('set_customer_verification', 'status', '''approved'''),
  ('*', 'sku_id', '''M365'''), ('add_product', 'sku_id', '''NEWSKU'''),
  ('*', 'from_sku', '''M365'''), ('*', 'to_sku', '''E5'''),
  ('*', 'term', '''P1Y'''), ('*', 'billing_frequency', '''monthly'''),
  ('*', 'unit_price', '10'), ('*', 'rate_date', '''2025-01-01'''), ('*', 'rate', '0.9'),
  ('*', 'from_currency', '''USD'''), ('*', 'to_currency', '''EUR'''),
  ('*', 'quantity', '30'), ('record_usage', 'quantity', '1.5'), ('convert_trial', 'quantity', '25'),
  ('*', 'subscription_id', quote_literal(:'s')), ('convert_trial', 'subscription_id', quote_literal(:'trial')),
  ('record_usage', 'subscription_id', quote_literal(:'az')),
  ('*', 'enabled', 'false'), ('*', 'friendly_name', '''F'''), ('*', 'to_partner_id', '''p2'''),
  ('*', 'usage_date', '''2025-02-01'''), ('*', 'meter_id', '''m'''),
  ('*', 'invoice_number', quote_literal(:'inv')), ('*', 'payment_id', :'pay'), ('*', 'amount', '1.00'),
  ('*', 'as_of', 'csp.now()'), ('*', 'member', 'current_user'), ('*', 'account_role', '''owner'''),
  ('*', 'month', '''2025-01-01'''), ('*', 'start', '''2025-01-15'''), ('*', 'on_date', '''2025-01-15'''),
  ('*', 'term_start', '''2025-01-15'''), ('*', 'term_end', '''2026-01-14'''),
  ('*', 'days', '10'), ('*', 'days_in_cycle', '31'), ('*', 'at', 'csp.now()'),
  ('*', 'from_at', 'csp.now()'), ('*', 'to_at', 'csp.now()');
CREATE TABLE pg_temp.calls AS
WITH f AS (
    SELECT p.oid, p.proname, p.pronargs, p.pronargdefaults,
           p.proargnames[1:p.pronargs] AS names,
           (SELECT array_agg(format_type(t, NULL) ORDER BY i)
              FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, i)) AS types
      FROM pg_proc p
     WHERE p.pronamespace = 'csp'::regnamespace AND p.prokind = 'f'
       AND p.prorettype <> 'trigger'::regtype AND p.pronargs > 0
), a AS (
    SELECT f.*, i AS nulled FROM f, generate_series(1, f.pronargs) AS i
)
SELECT proname, nulled, names[nulled] AS arg, nulled <= pronargs - pronargdefaults AS required,
       format('SELECT csp.%I(%s)::text', proname,
              (SELECT string_agg(CASE WHEN j = nulled THEN format('%I => NULL::%s', names[j], types[j])
                                      ELSE format('%I => %s', names[j],
                                                  coalesce((SELECT val FROM pg_temp.sample s WHERE s.fn = proname AND s.arg = names[j]),
                                                           (SELECT val FROM pg_temp.sample s WHERE s.fn = '*' AND s.arg = names[j]),
                                                           'NO_SAMPLE')) END, ', ' ORDER BY j)
                 FROM generate_series(1, pronargs) AS j
                WHERE j = nulled OR j <= pronargs - pronargdefaults)) AS sql
  FROM a;
-- every generated call has sample values (none left unknown)
SELECT count(*) AS calls, count(DISTINCT proname) AS functions,
       count(*) FILTER (WHERE sql LIKE '%NO_SAMPLE%') AS missing_samples
  FROM pg_temp.calls;
SELECT pg_temp.all_sum() AS pre_all \gset
-- required arguments: each call must be refused with a specific SQLSTATE
SELECT proname, arg, pg_temp.try(sql) AS result
  FROM pg_temp.calls WHERE required ORDER BY proname, nulled;
-- the required-argument calls that were not refused with 22023 (should be none)
SELECT proname, arg, left(pg_temp.try(sql), 5) AS sqlstate
  FROM pg_temp.calls WHERE required AND pg_temp.try(sql) NOT LIKE '22023:%' ORDER BY 1, 2;
-- optional arguments given NULL explicitly: accepted calls list the tables
-- they changed (rolled back by pg_temp.try), refusals their SQLSTATE
SELECT proname, arg, pg_temp.try(sql) AS result
  FROM pg_temp.calls WHERE NOT required ORDER BY proname, nulled;
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- Integer overflow of quantities (R4.4; 22003 from the int cast, a clear
-- refusal for the largest int, never a wrong total)
------------------------------------------------------------------------------
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''M365'', quantity => ''2147483648''::int)');
SELECT pg_temp.try('SELECT csp.change_quantity(' || quote_literal(:'s') || ', 2147483648)');
-- the largest int is accepted by the engine (no upper bound on seats); the
-- total must then be exact: 2147483647 x 10.00 x 28/28 = 21474836470.00 for
-- the first cycle 2025-02-10..2025-03-09 (rolled back)
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''M365'', quantity => 2147483647)');
BEGIN;
SET LOCAL csp.clock = '2025-02-10 10:00+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 2147483647) AS big \gset
SELECT charge_type, quantity, days_charged, days_in_cycle, amount FROM csp.line_items WHERE subscription_id = :'big';
-- one seat more than the largest int: refused with 22003, not wrapped around
SELECT pg_temp.try('SELECT csp.change_quantity(' || quote_literal(:'big') || ', ''2147483648''::int)');
-- R4.7 with base seats summing past the largest int (2147483647 + 10 + 10):
-- the add-on limit must be computed without overflow
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''COPILOT'', quantity => 2147483647)');
SELECT pg_temp.try('SELECT csp.change_quantity(' || quote_literal(:'s') || ', 2147483647)');
ROLLBACK;
SELECT pg_temp.try('SELECT csp.change_quantity(' || quote_literal(:'s') || ', 2147483647)');
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''M365'', quantity => 0)');
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''M365'', quantity => -1)');
SELECT pg_temp.try('SELECT csp.change_quantity(' || quote_literal(:'s') || ', -2147483648)');
SELECT pg_temp.try('SELECT csp.schedule_change(' || quote_literal(:'s') || ', quantity => 2147483647)');
SELECT pg_temp.try('SELECT csp.upgrade(' || quote_literal(:'s') || ', ''E5'', quantity => 2147483647)');
SELECT pg_temp.try('SELECT csp.convert_trial(' || quote_literal(:'trial') || ', quantity => 2147483647)');
SELECT pg_temp.try('SELECT csp.create_billing_profile(' || :'ba' || ', ''P'', anniversary_day => 2147483647)');
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- 40-digit amounts (22003) and other bad money values (R14, R11)
------------------------------------------------------------------------------
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', 1234567890123456789012345678901234567890, ''EUR'')');
SELECT pg_temp.try('SELECT csp.apply_credit_note(' || :'bp' || ', 1234567890123456789012345678901234567890, ''EUR'')');
SELECT pg_temp.try('SELECT csp.allocate_payment(' || :'pay' || ', ' || quote_literal(:'inv') || ', 1234567890123456789012345678901234567890)');
SELECT pg_temp.try('SELECT csp.set_price(''M365'', ''P1Y'', ''annual'', ''EUR'', 1234567890123456789012345678901234567890)');
SELECT pg_temp.try('SELECT csp.record_usage(' || quote_literal(:'az') || ', ''2025-02-01'', ''m'', 1234567890123456789012345678901234567890, 1)');
SELECT pg_temp.try('SELECT csp.record_usage(' || quote_literal(:'az') || ', ''2025-02-01'', ''m'', 1, 1234567890123456789012345678901234567890)');
SELECT pg_temp.try('SELECT csp.set_fx_rate(''USD'', ''EUR'', ''2025-01-01'', 1234567890123456789012345678901234567890)');
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', 0, ''EUR'')');
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', -5, ''EUR'')');
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', ''NaN'', ''EUR'')');
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', 0.001, ''EUR'')');
SELECT pg_temp.try('SELECT csp.apply_credit_note(' || :'bp' || ', ''NaN'', ''EUR'')');
SELECT pg_temp.try('SELECT csp.set_price(''M365'', ''P1Y'', ''annual'', ''EUR'', -1)');
SELECT pg_temp.try('SELECT csp.set_price(''M365'', ''P1Y'', ''annual'', ''EUR'', ''NaN'')');
SELECT pg_temp.try('SELECT csp.set_fx_rate(''USD'', ''EUR'', ''2025-01-01'', 0)');
SELECT pg_temp.try('SELECT csp.allocate_payment(' || :'pay' || ', ' || quote_literal(:'inv') || ', -1)');
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- Malformed currency and country codes (22023; ISO 4217 / ISO 3166 alpha-2)
------------------------------------------------------------------------------
SELECT v AS code, pg_temp.try(format('SELECT csp.create_billing_account(''A'', ''NL'', %L)', v)) AS as_currency,
       pg_temp.try(format('SELECT csp.create_billing_account(''A'', %L, ''EUR'')', v)) AS as_country
  FROM unnest(ARRAY['', 'eur', 'EU', 'EURO', 'E1R', ' EUR', 'XXX', 'ZZZ', 'nl', 'N', 'NLD', 'ZZ', '€€€']) AS v;
SELECT pg_temp.try('SELECT csp.record_payment(' || :'bp' || ', 1, ''eur'')');
SELECT pg_temp.try('SELECT csp.apply_credit_note(' || :'bp' || ', 1, ''EURO'')');
SELECT pg_temp.try('SELECT csp.set_price(''M365'', ''P1Y'', ''annual'', ''E1R'', 1)');
SELECT pg_temp.try('SELECT csp.set_fx_rate(''US'', ''EUR'', ''2025-01-01'', 1)');
SELECT pg_temp.try('SELECT csp.record_usage(' || quote_literal(:'az') || ', ''2025-02-01'', ''m'', 1, 1, ''usd'')');
SELECT pg_temp.try('SELECT csp.create_partner(''p9'', ''P'', ''direct_bill'', ''N1'')');
SELECT pg_temp.try('SELECT csp.add_customer(''p1'', ''C'', ''Netherlands'')');
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- Malformed remittance / allocation JSON (22023; R14.3, R14.4, R14.7)
------------------------------------------------------------------------------
SELECT v AS remittance, pg_temp.try(format('SELECT csp.record_payment(%s, 1, ''EUR'', remittance => %L)', :'bp', v)) AS payment,
       pg_temp.try(format('SELECT csp.apply_credit_note(%s, 1, ''EUR'', allocations => %L)', :'bp', v)) AS credit_note
  FROM unnest(ARRAY['{}', '42', '"G000000001"', 'null', '[null]', '[42]', '[{}]', '[{"invoice": 1}]',
                    '[{"invoice": "G000000001"}]', '[{"amount": 1}]', '[{"invoice": "G000000001", "amount": "x"}]',
                    '[{"invoice": "G000000001", "amount": -1}]', '[{"invoice": "G1", "amount": 1}]',
                    '[{"invoice": "G000000001", "amount": 1e40}]', '[["G000000001"]]', '{"invoice": "G000000001"}']) AS v;
SELECT pg_temp.try(format('SELECT csp.record_payment(%s, 1, ''EUR'', remittance => %L)', :'bp', '[{"invoice": "G000000001", "amount": 1'));
SELECT pg_temp.try(format('SELECT csp.void_and_rebill(%L, bill_to => %L)', :'inv', '[1, 2]'));
SELECT pg_temp.try(format('SELECT csp.add_customer(''p1'', ''C'', ''NL'', address => %L)', '"street"'));
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- Injection-looking strings are data (DESIGN: no dynamic SQL from input):
-- stored verbatim, nothing executed
------------------------------------------------------------------------------
SELECT csp.rename(:'s', 'x''); DROP TABLE csp.charge; --') \gset
SELECT csp.add_customer('p1', 'x''); DROP TABLE csp.charge; --', 'NL') AS evil \gset
SELECT csp.create_invoice_section(:bp, 'Robert''); DELETE FROM csp.invoice; --') \gset
SELECT friendly_name FROM csp.subscription WHERE subscription_id = :'s';
SELECT legal_name FROM csp.customers WHERE customer_id = :'evil';
SELECT name FROM csp.invoice_sections WHERE name LIKE 'Robert%';
SELECT to_regclass('csp.charge') IS NOT NULL AS charge_table_exists,
       (SELECT count(*) FROM csp.invoice) AS invoices;
SELECT pg_temp.try('SELECT csp.purchase(customer_id => ' || quote_literal(:'cust') || ', sku_id => ''M365''''; DROP TABLE csp.charge; --'', quantity => 1)');
SELECT pg_temp.try('SELECT csp.set_customer_verification(' || quote_literal(:'cust') || ', ''approved''''; --'')');
SELECT pg_temp.try('SELECT csp.void_and_rebill(''G000000001''''; DROP TABLE csp.invoice; --'')');
SELECT pg_temp.all_sum() AS pre_all \gset

------------------------------------------------------------------------------
-- Far-past and far-future dates (22023)
------------------------------------------------------------------------------
SELECT v AS instant,
       pg_temp.try(format('SELECT csp.run_renewals(%L::timestamptz)', v)) AS run_renewals,
       pg_temp.try(format('SELECT csp.run_cycle_charges(%L::timestamptz)', v)) AS run_cycle_charges,
       pg_temp.try(format('SELECT csp.run_invoicing(%L::timestamptz)', v)) AS run_invoicing,
       pg_temp.try(format('SELECT csp.tick(%L::timestamptz)', v)) AS tick,
       pg_temp.try(format('SELECT csp.record_payment(%s, 1, ''EUR'', received_at => %L)', :'bp', v)) AS record_payment
  FROM unnest(ARRAY['0001-01-01 00:00+00', 'infinity', '-infinity']) AS v;
-- Jobs at '9999-12-31' (the range's last day) are accepted; a renewal run
-- catches up at most 120 terms a subscription, so it stays bounded (not run
-- here: it is slow by design, a few seconds a subscription).
SELECT pg_temp.try(format('SELECT csp.record_payment(%s, 1, ''EUR'', received_at => %L)', :'bp', '9999-12-31 00:00+00')) AS record_payment_9999;
SELECT v AS day,
       pg_temp.try(format('SELECT csp.record_usage(%L, %L, ''m'', 1, 1)', :'az', v)) AS record_usage,
       pg_temp.try(format('SELECT csp.set_price(''M365'', ''P1Y'', ''annual'', ''EUR'', 1, valid_from => %L)', v)) AS set_price,
       pg_temp.try(format('SELECT csp.set_fx_rate(''USD'', ''EUR'', %L, 1)', v)) AS set_fx_rate,
       pg_temp.try(format('SELECT csp.schedule_change(%L, coterm_end => %L)', :'s', v)) AS schedule_change
  FROM unnest(ARRAY['0001-01-01', '9999-12-31', 'infinity', '-infinity']) AS v;
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

------------------------------------------------------------------------------
-- Bad csp.clock values: refused when set (22023 or the timestamp parser's
-- 22007/22008), or refused by the engine for far-away instants; the clock
-- keeps its previous value and nothing changes
------------------------------------------------------------------------------
SET csp.clock = '2025-02-10 10:00+00';
-- The clock takes instants in the engine's date range, 1900-01-01..9999-12-31:
-- '0001-01-01' is refused when set; '9999-12-31' is the range's last day and
-- accepted (a job run that far ahead renews at most 120 terms a subscription).
SELECT v AS clock, pg_temp.try(format('SELECT set_config(''csp.clock'', %L, false)', v)) AS set_clock,
       pg_temp.try(format('SELECT csp.purchase(customer_id => %L, sku_id => ''M365'', quantity => 1) FROM (SELECT set_config(''csp.clock'', %L, true)) AS c', :'cust', v)) AS purchase_then
  FROM unnest(ARRAY['yesterday-ish', '2025-13-01', '2025-02-30 10:00+00', '0001-01-01 00:00+00',
                    '9999-12-31 00:00+00', 'infinity', '-infinity', 'epoch', 'now', 'NaN']) AS v;
SELECT csp.now() AS clock_kept;
SELECT pg_temp.all_sum() = :'pre_all' AS all_tables_unchanged;

DROP EXTENSION csp_billing CASCADE;
