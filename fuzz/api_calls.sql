-- Random calls of every function in schema csp with hostile and plausible
-- arguments, run by scripts/sqlsmith.sh after sqlsmith (which reaches the
-- views and the pure functions but seldom the C API that changes state).
--
-- Run as the superuser: it fills public.fuzz_values with ids of the history
-- (customers, subscriptions, invoices, ...) and edge values per type, then
-- prints the calls; scripts/sqlsmith.sh runs the printed calls as the
-- non-superuser role, each in its own transaction, and checks the server log.
-- :calls_per_function (default 40), :seed (default 0.42).
\set QUIET on
\if :{?calls_per_function}
\else
\set calls_per_function 40
\endif
\if :{?seed}
\else
\set seed 0.42
\endif
\o /dev/null
SELECT setseed(:seed);
\o
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.fuzz_values;
CREATE TABLE public.fuzz_values (typ regtype, lit text);

-- ids of the history, as literals: uuids, bigint ids and text ids (also as text)
INSERT INTO public.fuzz_values
SELECT 'uuid', quote_literal(v::text) FROM (
    SELECT customer_id AS v FROM csp.customer UNION ALL
    SELECT subscription_id FROM csp.subscription) ids ORDER BY random() LIMIT 150;
INSERT INTO public.fuzz_values
SELECT 'bigint', v::text FROM (
    SELECT billing_account_id AS v FROM csp.billing_account UNION
    SELECT billing_profile_id FROM csp.billing_profile UNION
    SELECT invoice_section_id FROM csp.invoice_section UNION
    SELECT payment_id FROM csp.payment) ids ORDER BY random() LIMIT 60;
INSERT INTO public.fuzz_values
SELECT 'text', quote_literal(v) FROM (
    SELECT partner_id AS v FROM csp.partner UNION ALL
    SELECT sku_id FROM csp.product UNION ALL
    (SELECT invoice_number FROM csp.invoice ORDER BY random() LIMIT 20) UNION ALL
    (SELECT customer_id::text FROM csp.customer ORDER BY random() LIMIT 20) UNION ALL
    (SELECT subscription_id::text FROM csp.subscription ORDER BY random() LIMIT 40)) ids;
INSERT INTO public.fuzz_values (typ, lit) VALUES
    ('uuid', 'NULL'), ('uuid', '''00000000-0000-0000-0000-000000000000''::uuid'), ('uuid', 'gen_random_uuid()'),
    ('text', 'NULL'), ('text', ''''''), ('text', '''P1M'''), ('text', '''P1Y'''), ('text', '''P3Y'''), ('text', '''P2Y'''),
    ('text', '''monthly'''), ('text', '''annual'''), ('text', '''triennial'''), ('text', '''one_time'''),
    ('text', '''EUR'''), ('text', '''SEK'''), ('text', '''JPY'''), ('text', '''KWD'''), ('text', '''XXX'''), ('text', '''eur'''),
    ('text', '''nce'''), ('text', '''legacy'''), ('text', '''active'''), ('text', '''cancelled'''), ('text', '''NL'''), ('text', '''DE'''),
    ('text', 'repeat(''x'', 10000)'), ('text', '''a''''b'''), ('text', '''%s%n%d'''), ('text', 'E''\\x01\\x7f'''),
    ('text', '''not-a-uuid'''), ('text', '''{"a":1}'''), ('text', '''csp_smith'''), ('text', '''postgres'''), ('text', '''csp_global_admin'''),
    ('name', 'NULL'), ('name', '''csp_smith'''), ('name', '''postgres'''), ('name', '''nosuchrole'''), ('name', '''csp_billing_admin'''),
    ('integer', 'NULL'), ('integer', '0'), ('integer', '1'), ('integer', '-1'), ('integer', '5'), ('integer', '28'), ('integer', '29'),
    ('integer', '31'), ('integer', '365'), ('integer', '2147483647'), ('integer', '(-2147483647 - 1)'), ('integer', '10000'),
    ('bigint', 'NULL'), ('bigint', '0'), ('bigint', '1'), ('bigint', '-1'), ('bigint', '3'), ('bigint', '100000'),
    ('bigint', '9223372036854775807'), ('bigint', '(-9223372036854775807 - 1)'), ('bigint', '2147483648'),
    ('smallint', 'NULL'), ('smallint', '0'), ('smallint', '1'), ('smallint', '-1'), ('smallint', '32767'),
    ('numeric', 'NULL'), ('numeric', '0'), ('numeric', '0.005'), ('numeric', '-0.005'), ('numeric', '12.34'), ('numeric', '-1'),
    ('numeric', '999999999999999.99'), ('numeric', '1e15'), ('numeric', '1e-30'), ('numeric', '''NaN''::numeric'),
    ('numeric', '''Infinity''::numeric'), ('numeric', '''-Infinity''::numeric'), ('numeric', '123456789.123456789'),
    ('date', 'NULL'), ('date', '''2025-01-15'''), ('date', '''2025-01-31'''), ('date', '''2024-02-29'''), ('date', '''2026-02-28'''),
    ('date', '''1900-01-01'''), ('date', '''1899-12-31'''), ('date', '''9999-12-31'''), ('date', '''4713-01-01 BC'''),
    ('date', '''5874897-12-31'''), ('date', '''infinity'''), ('date', '''-infinity'''),
    ('timestamp with time zone', 'NULL'), ('timestamp with time zone', '''2025-03-01 00:05+00'''),
    ('timestamp with time zone', '''2026-02-28 23:59:59.999999+00'''), ('timestamp with time zone', '''2025-01-01 00:00+14'''),
    ('timestamp with time zone', '''infinity'''), ('timestamp with time zone', '''-infinity'''),
    ('timestamp with time zone', '''4713-01-01 00:00+00 BC'''), ('timestamp with time zone', '''294276-12-31 23:59:59+00'''),
    ('timestamp with time zone', '''1899-12-31 23:59:59+00'''), ('timestamp with time zone', 'now()'),
    ('boolean', 'NULL'), ('boolean', 'true'), ('boolean', 'false'),
    ('jsonb', 'NULL'), ('jsonb', '''{}'''), ('jsonb', '''[]'''), ('jsonb', '''null'''), ('jsonb', '''{"quantity": -1}'''),
    ('jsonb', '''{"a": {"b": [1, 2, {"c": "x"}]}}'''), ('jsonb', '''"text"'''), ('jsonb', '''12345678901234567890'''),
    ('interval', 'NULL'), ('interval', '''1 day'''), ('interval', '''-1 month'''), ('interval', '''1000 years'''),
    ('text[]', 'NULL'), ('text[]', '''{}'''), ('text[]', 'ARRAY[''a'', NULL]'),
    ('uuid[]', 'NULL'), ('uuid[]', '''{}'''), ('uuid[]', 'ARRAY[gen_random_uuid(), NULL]');
GRANT SELECT ON public.fuzz_values TO PUBLIC;

-- the calls: every csp function (not procedures or trigger functions),
-- :calls_per_function times, each argument a random literal of its type
-- (an unknown type gets NULL cast to it)
\pset format unaligned
\pset tuples_only on
WITH f AS (
    SELECT p.oid, p.proname, p.proargtypes::oid[] AS types
      FROM pg_proc p
     WHERE p.pronamespace = 'csp'::regnamespace AND p.prokind = 'f'
       AND p.prorettype <> 'trigger'::regtype AND p.prorettype <> 'event_trigger'::regtype
), calls AS (
    SELECT f.proname, n, f.types FROM f, generate_series(1, :calls_per_function) n
)
SELECT format('SELECT csp.%I(%s);', c.proname,
              coalesce((SELECT string_agg(coalesce(
                          (SELECT v.lit || '::' || format_type(t.typ, NULL) FROM public.fuzz_values v
                            WHERE v.typ = t.typ AND c.n > 0 ORDER BY random() LIMIT 1),
                          'NULL::' || format_type(t.typ, NULL)), ', ' ORDER BY t.ord)
                          FROM unnest(c.types) WITH ORDINALITY t(typ, ord)), ''))
  FROM calls c
 ORDER BY random();
