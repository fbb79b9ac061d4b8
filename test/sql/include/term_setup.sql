-- Shared helpers of the term engine tests (renewals, upgrades): refusals with
-- uuids masked, a subscription's lines.  Included with \i.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- pg_temp.try(sql) runs one statement.  A refusal is raised again with its
-- SQLSTATE, message, detail and hint, every uuid masked (they are random), so
-- each refused call below shows its message and then \echo :SQLSTATE shows its
-- code; a call that wrongly succeeds shows 00000.
CREATE FUNCTION pg_temp.mask(t text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(t, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g')
$$;
CREATE FUNCTION pg_temp.try(sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    msg := pg_temp.mask(msg);
    det := pg_temp.mask(nullif(det, ''));
    hnt := pg_temp.mask(nullif(hnt, ''));
    IF det IS NULL AND hnt IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
    ELSIF det IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, HINT = hnt;
    ELSIF hnt IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det;
    ELSE
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det, HINT = hnt;
    END IF;
END $$;
-- The charge lines of one subscription, oldest first.
CREATE FUNCTION pg_temp.lines(s uuid)
RETURNS TABLE (charge_type text, charge_start date, charge_end date, quantity numeric,
               unit_price numeric, days_charged int, days_in_cycle int, amount numeric)
LANGUAGE sql AS $$
    SELECT charge_type, charge_start, charge_end, quantity, unit_price, days_charged,
           days_in_cycle, amount
      FROM csp.line_items WHERE subscription_id = s ORDER BY charge_id
$$;
