-- Shared set-up of the engine tests (subscriptions, seats, lifecycle):
-- test helpers in pg_temp, a billing account, partners, customers and the
-- catalog.  Included with \i; errors show their SQLSTATE only.
-- Errors show their SQLSTATE only: their texts name random uuids.
-- pg_temp.refused(sql) shows a refusal's SQLSTATE, message, detail and hint
-- with every uuid masked.
\set VERBOSITY sqlstate
CREATE FUNCTION pg_temp.refused(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN 'not refused';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN regexp_replace(st || ': ' || msg || coalesce(' | DETAIL: ' || nullif(det, ''), '')
                          || coalesce(' | HINT: ' || nullif(hnt, ''), ''),
                          '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
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
-- Checksums of the state tables, to show that refused calls change nothing.
CREATE FUNCTION pg_temp.checksums()
RETURNS TABLE (charge text, subscription text, seat_lot text, audit_log text)
LANGUAGE sql AS $$
    SELECT (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM csp.charge t),
           (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM csp.subscription t),
           (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM csp.seat_lot t),
           (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM csp.audit_log t)
$$;

------------------------------------------------------------------------------
-- Shared set-up: billing account and profile, a direct-bill partner linked
-- with the MCA accepted, an approved MCA-attested customer, a priced catalog.
------------------------------------------------------------------------------
SET csp.clock = '2024-12-01 09:00+00';
SELECT csp.create_billing_account('Fabrikam Distribution', 'NL', 'EUR') AS ba \gset
SELECT csp.create_billing_profile(:ba, 'Fabrikam NL') AS bp \gset
SELECT invoice_section_id AS default_section FROM csp.invoice_sections WHERE billing_profile_id = :bp AND name = 'Default' \gset
SELECT csp.create_partner('p1', 'Northwind Partners', 'direct_bill', 'NL') \gset
SELECT csp.link_partner_billing('p1', :ba, :bp, accept_mca => true) \gset
SELECT csp.add_customer('p1', 'Acme BV', 'NL', mca_attested => true) AS cust \gset
SELECT csp.set_customer_verification(:'cust', 'approved') \gset
SELECT csp.add_product('M365', 'Microsoft 365 E3') \gset
SELECT csp.set_price('M365', 'P1Y', 'monthly', 'EUR', 10.00) \gset
SELECT csp.set_price('M365', 'P1Y', 'annual', 'EUR', 120.00) \gset
SELECT csp.set_price('M365', 'P1M', 'monthly', 'EUR', 12.00) \gset
