--
-- Input bounds (issue 12 items 7 and 9; README "Limits"): every text,
-- text[] and jsonb argument of every csp function is bounded by its name
-- and refused with 22023, with a hint naming the limit, before the function
-- does any work (a 10 MB name gave 54000 from an index before 0.3.0, after
-- the row had been built and audited).
--   names (name, legal_name, friendly_name)             200 characters
--   ids and codes (sku_id, partner_id, invoice_number, currency, term...) 100 characters
--   meter_id 200, email 254, phone 50 characters
--   reference, po_number and any other text             1000 characters
--   jsonb (address, bill_to)                            8192 bytes
--   remittance / allocations                            131072 bytes, 1000 entries
--   text[] (additional_resellers)                       8192 bytes
--
SET timezone = 'UTC';
CREATE EXTENSION csp_billing;
\set VERBOSITY sqlstate

-- The limit the engine applies to an argument, by its name and type.
CREATE FUNCTION pg_temp.limit_of(argname text, argtype oid) RETURNS int LANGUAGE sql AS $$
    SELECT CASE
        WHEN argtype = 'jsonb'::regtype AND argname IN ('remittance', 'allocations') THEN 131072
        WHEN argtype IN ('jsonb'::regtype, 'text[]'::regtype) THEN 8192
        WHEN argname IN ('name', 'legal_name', 'friendly_name', 'meter_id') THEN 200
        WHEN argname = 'email' THEN 254
        WHEN argname = 'phone' THEN 50
        WHEN argname IN ('registration_id', 'sku_id', 'from_sku', 'to_sku', 'trial_of', 'partner_id',
                         'to_partner_id', 'reseller_id', 'invoice_number', 'currency',
                         'from_currency', 'to_currency', 'country', 'term', 'billing_frequency',
                         'status', 'method', 'profile_role', 'publisher', 'billing_type',
                         'billing_model', 'account_role', 'indirect_provider_id') THEN 100
        ELSE 1000 END
$$;

-- A value of that argument's type "size" long (characters or bytes).
CREATE FUNCTION pg_temp.value_of(argtype oid, size int) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN argtype = 'jsonb'::regtype
            THEN quote_literal(jsonb_build_object('k', repeat('x', size - 13))::text) || '::jsonb'
        WHEN argtype = 'text[]'::regtype
            THEN 'ARRAY[' || quote_literal(repeat('x', size - 24)) || ']::text[]'
        ELSE quote_literal(repeat('é', size)) || '::text' END
$$;

-- Calls f with every argument NULL but argument i, which gets "value";
-- returns the SQLSTATE and message, or 'no error'.
CREATE FUNCTION pg_temp.call_with(f regprocedure, i int, value text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    types oid[] := (SELECT array_agg(t ORDER BY o) FROM pg_proc, unnest(proargtypes) WITH ORDINALITY u(t, o)
                     WHERE pg_proc.oid = f);
    args text := '';
    st text;
    msg text;
BEGIN
    FOR j IN 1 .. cardinality(types) LOOP
        args := args || CASE WHEN j > 1 THEN ', ' ELSE '' END
                     || CASE WHEN j = i THEN value ELSE 'NULL::' || format_type(types[j], NULL) END;
    END LOOP;
    EXECUTE format('SELECT %s(%s)', f::oid::regproc, args);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END $$;

-- Every bounded argument of every function of the extension (C functions
-- taking arguments; triggers take none).
CREATE TEMP TABLE bounded AS
SELECT p.oid::regprocedure AS f, a.i, p.proargnames[a.i] AS argname, p.proargtypes[a.i - 1] AS argtype
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'csp_billing'
  CROSS JOIN LATERAL generate_series(1, p.pronargs) a(i)
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND p.proargtypes[a.i - 1] IN ('text'::regtype, 'jsonb'::regtype, 'text[]'::regtype);

SELECT count(*) > 60 AS many_arguments, count(DISTINCT f) > 30 AS many_functions FROM bounded;

-- negative: one past the limit is refused with 22023 naming the limit, for
-- every function and argument (text in two-byte characters: the limit counts
-- characters, not bytes)
SELECT f, argname, pg_temp.call_with(f, i, pg_temp.value_of(argtype, pg_temp.limit_of(argname, argtype) + 1)) AS refused
  FROM bounded ORDER BY f::text, i;

-- positive: at the limit, no argument is refused for its size (the calls
-- fail later, for their NULL arguments or unknown ids, never "longer than")
SELECT count(*) AS calls,
       count(*) FILTER (WHERE outcome LIKE '%is longer than%') AS refused_at_the_limit
  FROM (SELECT pg_temp.call_with(f, i, pg_temp.value_of(argtype, pg_temp.limit_of(argname, argtype))) AS outcome
          FROM bounded) t;

-- the hint names the limit
\set VERBOSITY default
SELECT csp.create_billing_account(repeat('x', 201), 'NL', 'EUR');
\set VERBOSITY sqlstate

-- item 9: a 10 MB name is 22023 (was 54000), and nothing was written
SELECT csp.create_billing_account(repeat('x', 10 * 1024 * 1024), 'NL', 'EUR');
SELECT count(*) AS accounts, (SELECT count(*) FROM csp.audit_log) AS audit_rows FROM csp.billing_account;

-- remittance: at most 1000 entries (22023 beyond), before any lookup
SELECT csp.create_billing_account('Contoso', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Main') AS bp \gset
SELECT csp.record_payment(:bp, 10, 'EUR',
       remittance => (SELECT jsonb_agg('G' || lpad(g::text, 9, '0')) FROM generate_series(1, 1001) g));
-- 1000 entries pass the bound (and then name unknown invoices: NC404)
SELECT csp.record_payment(:bp, 10, 'EUR',
       remittance => (SELECT jsonb_agg('G' || lpad(g::text, 9, '0')) FROM generate_series(1, 1000) g));
-- positive: a name of 200 characters is accepted
SELECT csp.create_billing_account(repeat('n', 200), 'NL', 'EUR') AS long_named \gset
SELECT length(name) FROM csp.billing_account WHERE billing_account_id = :long_named;

DROP EXTENSION csp_billing CASCADE;
