--
-- R3 customers: the record, registration data by country, MCA attestation,
-- verification; R2.2 who may add them; the audit trail.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY default

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_csp_sally, regress_csp_helen;
RESET client_min_messages;
CREATE ROLE regress_csp_sally LOGIN IN ROLE csp_sales_agent, csp_time_admin;
CREATE ROLE regress_csp_helen LOGIN IN ROLE csp_helpdesk_agent, csp_time_admin;
SET csp.clock = '2025-01-15 10:00+00';

SELECT csp.create_partner('P-NL', 'Direct Bill BV', 'direct_bill', 'NL');
SELECT csp.create_partner('P-PROV', 'Provider AB', 'indirect_provider', 'SE');
SELECT csp.create_partner('P-RES', 'Reseller Oy', 'indirect_reseller', 'FI', indirect_provider_id => 'P-PROV');

------------------------------------------------------------------------------
-- R3.1 the customer record: legal name and address
------------------------------------------------------------------------------
-- R3.1 positive: a full address
SELECT csp.add_customer('P-NL', 'Contoso BV', 'NL',
                        address => '{"street": "Main 1", "city": "Utrecht", "region": "UT", "postal_code": "3511 AA"}',
                        email => 'billing@contoso.example') AS contoso \gset
-- R3.1 positive: region is optional, and so is the whole address
SELECT csp.add_customer('P-NL', 'Fabrikam BV', 'nl',
                        address => '{"street": "Dam 2", "city": "Amsterdam", "postal_code": "1012 JS"}') AS fabrikam \gset
SELECT csp.add_customer('P-NL', 'Northwind BV', 'NL') AS northwind \gset
SELECT legal_name, country, address, email, verification_status, mca_attested, created_at
  FROM csp.customer ORDER BY created_at, legal_name;
SELECT count(*) AS customers, count(DISTINCT customer_id) AS distinct_ids FROM csp.customers;

-- R3.1 negative: the legal name is required
SELECT csp.add_customer('P-NL', NULL, 'NL');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', '', 'NL');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', E' \t ', 'NL');
\echo :SQLSTATE
-- R3.1 negative: an address is a JSON object ...
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '["Main 1", "Utrecht"]');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '"Main 1, Utrecht"');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => NULL);
\echo :SQLSTATE
-- ... with street, city and postal_code ...
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": "Main 1", "city": "Utrecht"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": "", "city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"region": "UT"}');
\echo :SQLSTATE
-- ... no unknown keys (the country is an argument of its own) ...
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL',
                        address => '{"street": "Main 1", "city": "Utrecht", "postal_code": "3511 AA", "country": "NL"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"stret": "Main 1", "city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
-- ... and string values only
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": "Main 1", "city": "Utrecht", "postal_code": 3511}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": null, "city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": ["Main", "1"], "city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', address => '{"street": {"name": "Main", "no": "1"}, "city": "Utrecht", "postal_code": "3511 AA"}');
\echo :SQLSTATE
-- a bad country code (22023)
SELECT csp.add_customer('P-NL', 'Bad BV', 'XX');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', 'NLD');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Bad BV', '');
\echo :SQLSTATE
-- an unknown partner (NC404)
SELECT csp.add_customer('P-NOBODY', 'Bad BV', 'NL');
\echo :SQLSTATE
-- a NULL mca_attested (22023)
SELECT csp.add_customer('P-NL', 'Bad BV', 'NL', mca_attested => NULL);
\echo :SQLSTATE
-- bad input never changes data
SELECT count(*) AS bad_customers FROM csp.customer WHERE legal_name = 'Bad BV';

------------------------------------------------------------------------------
-- R3.2 registration ID and phone required in 24 countries
------------------------------------------------------------------------------
-- R3.2 negative: without them (all 24 countries are checked in foundation_tap)
SELECT csp.add_customer('P-NL', 'Polska Sp. z o.o.', 'PL');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Sao Paulo Ltda', 'BR', registration_id => '12.345.678/0001-90');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Mumbai Pvt Ltd', 'IN', phone => '+91 22 1234 5678');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Dubai LLC', 'ae', registration_id => ' ', phone => '+971 4 123 4567');
\echo :SQLSTATE
SELECT csp.add_customer('P-NL', 'Kyiv TOV', 'UA', registration_id => '12345678', phone => '');
\echo :SQLSTATE
-- R3.2 negative: line breaks are as blank as spaces (in a transaction that
-- is rolled back, so that a wrongly accepted customer would not linger)
BEGIN;
SELECT csp.add_customer('P-NL', 'Almaty TOO', 'KZ', registration_id => E'\n', phone => E'\r\n') IS NOT NULL AS added;
\echo :SQLSTATE
ROLLBACK;
SELECT count(*) AS registration_country_customers FROM csp.customer WHERE country IN ('PL', 'BR', 'IN', 'AE', 'UA');
-- R3.2 positive: with both it works
SELECT csp.add_customer('P-NL', 'Polska Sp. z o.o.', 'PL', registration_id => 'PL5260001246', phone => '+48 22 123 45 67',
                        address => '{"street": "Marszalkowska 1", "city": "Warszawa", "postal_code": "00-001"}') AS polska \gset
SELECT csp.add_customer('P-NL', 'Johannesburg Pty', 'za', registration_id => '2001/012345/07', phone => '+27 11 123 4567') IS NOT NULL AS added;
SELECT legal_name, country, registration_id, phone FROM csp.customer WHERE country IN ('PL', 'ZA') ORDER BY country;
-- R3.2 positive: other countries need neither (NL, US, DE; also SE, GB)
SELECT csp.add_customer('P-NL', c || ' Corp', c) IS NOT NULL AS added, c
  FROM unnest(ARRAY['US', 'DE', 'SE', 'GB']) c;
-- R3.2 negative: an update cannot blank them afterwards, and a refused update changes nothing
SELECT csp.update_customer(:'polska', phone => '');
\echo :SQLSTATE
SELECT csp.update_customer(:'polska', registration_id => '  ');
\echo :SQLSTATE
SELECT registration_id, phone FROM csp.customer WHERE customer_id = :'polska';
-- R3.2 positive: an update replacing them with other values is fine
SELECT csp.update_customer(:'polska', phone => '+48 22 765 43 21');
SELECT registration_id, phone FROM csp.customer WHERE customer_id = :'polska';

------------------------------------------------------------------------------
-- R3.3 MCA attestation
------------------------------------------------------------------------------
-- R3.3 negative: by default a customer is not attested
SELECT legal_name, mca_attested FROM csp.customers WHERE customer_id = :'contoso';
SELECT mca_attested_at FROM csp.customer WHERE customer_id = :'contoso';
-- R3.3 positive: attested when added ...
SELECT csp.add_customer('P-NL', 'Attested BV', 'NL', mca_attested => true) AS attested \gset
SELECT legal_name, mca_attested FROM csp.customers WHERE customer_id = :'attested';
SELECT mca_attested_at FROM csp.customer WHERE customer_id = :'attested';
-- ... or later with csp.attest_mca, which records when
SET csp.clock = '2025-01-20 08:30+00';
SELECT csp.attest_mca(:'contoso');
SELECT legal_name, mca_attested FROM csp.customers WHERE customer_id = :'contoso';
SELECT mca_attested_at FROM csp.customer WHERE customer_id = :'contoso';
-- attesting again keeps the first attestation's time
SET csp.clock = '2025-01-21 08:30+00';
SELECT csp.attest_mca(customer_id => :'contoso');
SELECT mca_attested_at FROM csp.customer WHERE customer_id = :'contoso';
-- R3.3 negative: an unknown customer (NC404), NULL (22023)
SELECT csp.attest_mca('00000000-0000-0000-0000-000000000000');
\echo :SQLSTATE
SELECT csp.attest_mca(NULL);
\echo :SQLSTATE
-- R3.3: that an unattested customer cannot be ordered for needs csp.purchase
-- (not in the foundation yet): pending

------------------------------------------------------------------------------
-- R3.4 verification
------------------------------------------------------------------------------
-- R3.4 positive: new customers start pending
SELECT verification_status, count(*) FROM csp.customers GROUP BY 1 ORDER BY 1;
-- R3.4 positive: approved and rejected are recorded with their time
SET csp.clock = '2025-01-22 12:00+00';
SELECT csp.set_customer_verification(:'contoso', 'approved');
SELECT csp.set_customer_verification(customer_id => :'fabrikam', status => 'rejected');
SELECT csp.set_customer_verification(:'northwind', 'approved');
SELECT csp.set_customer_verification(:'polska', 'approved');
SELECT legal_name, verification_status FROM csp.customers
 WHERE customer_id IN (:'contoso', :'fabrikam', :'northwind', :'polska') ORDER BY legal_name;
SELECT verification_changed_at FROM csp.customer WHERE customer_id = :'contoso';
-- R3.4 negative: an unknown status (22023), an unknown customer (NC404), NULL (22023)
SELECT csp.set_customer_verification(:'contoso', 'verified');
\echo :SQLSTATE
SELECT csp.set_customer_verification(:'contoso', 'APPROVED');
\echo :SQLSTATE
SELECT csp.set_customer_verification('00000000-0000-0000-0000-000000000000', 'approved');
\echo :SQLSTATE
SELECT csp.set_customer_verification(:'contoso', NULL);
\echo :SQLSTATE
SELECT verification_status FROM csp.customers WHERE customer_id = :'contoso';

-- R3.4 positive: changing only e-mail or phone keeps an approved customer approved
SET csp.clock = '2025-02-01 09:00+00';
SELECT csp.update_customer(:'contoso', email => 'ap@contoso.example', phone => '+31 30 123 4567');
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'contoso';
SELECT email, phone, verification_changed_at FROM csp.customer WHERE customer_id = :'contoso';
-- ... and so does "changing" billing data to what it already is
SELECT csp.update_customer(:'contoso', legal_name => 'Contoso BV',
                           address => '{"street": "Main 1", "city": "Utrecht", "region": "UT", "postal_code": "3511 AA"}');
SELECT verification_status FROM csp.customers WHERE customer_id = :'contoso';
-- R3.4 negative: a change of billing data sends it back to verification
-- legal name
SELECT csp.update_customer(:'contoso', legal_name => 'Contoso Nederland BV');
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'contoso';
SELECT verification_changed_at FROM csp.customer WHERE customer_id = :'contoso';
-- address
SET csp.clock = '2025-02-02 09:00+00';
SELECT csp.update_customer(:'northwind', address => '{"street": "Kade 3", "city": "Rotterdam", "postal_code": "3011 AA"}');
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'northwind';
SELECT address, verification_changed_at FROM csp.customer WHERE customer_id = :'northwind';
-- registration ID
SELECT csp.update_customer(:'polska', registration_id => 'PL5260001247');
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'polska';
-- a rejected customer whose billing data changes is verified again
SELECT csp.update_customer(:'fabrikam', legal_name => 'Fabrikam Holding BV');
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'fabrikam';
-- update errors: malformed address, blank name (22023), unknown customer (NC404); nothing changes
SELECT csp.set_customer_verification(:'northwind', 'approved');
SELECT csp.update_customer(:'northwind', address => '{"street": "Kade 3"}');
\echo :SQLSTATE
SELECT csp.update_customer(:'northwind', legal_name => ' ');
\echo :SQLSTATE
SELECT csp.update_customer('00000000-0000-0000-0000-000000000000', email => 'x@example.com');
\echo :SQLSTATE
SELECT csp.update_customer(NULL, email => 'x@example.com');
\echo :SQLSTATE
SELECT legal_name, verification_status FROM csp.customers WHERE customer_id = :'northwind';
-- R3.4: that purchases and management are blocked while not approved needs
-- csp.purchase (not in the foundation yet): pending

------------------------------------------------------------------------------
-- R2.2 and roles: who may add customers
------------------------------------------------------------------------------
-- R2.2 negative: an indirect reseller cannot add customers
SELECT csp.add_customer('P-RES', 'Reseller Customer Oy', 'FI');
\echo :SQLSTATE
-- roles positive: a sales agent adds and updates customers
SET ROLE regress_csp_sally;
SELECT csp.add_customer('P-PROV', 'Sally Customer AB', 'SE') AS sally_customer \gset
SELECT csp.update_customer(:'sally_customer', email => 'it@sally.example');
SELECT csp.attest_mca(:'sally_customer');
SELECT legal_name, partner_id, verification_status, mca_attested FROM csp.customers WHERE customer_id = :'sally_customer';
-- roles negative: but may not verify them, nor write the table directly
SELECT csp.set_customer_verification(:'sally_customer', 'approved');
\echo :SQLSTATE
UPDATE csp.customer SET verification_status = 'approved' WHERE customer_id = :'sally_customer';
\echo :SQLSTATE
INSERT INTO csp.customer (partner_id, legal_name, country, verification_changed_at, created_at)
VALUES ('P-NL', 'Sneaky BV', 'NL', now(), now());
\echo :SQLSTATE
RESET ROLE;
-- roles negative: a helpdesk agent has no customer functions (API.md "Roles")
SET ROLE regress_csp_helen;
SELECT csp.add_customer('P-NL', 'Helpdesk BV', 'NL');
\echo :SQLSTATE
SELECT csp.update_customer(:'contoso', email => 'helpdesk@contoso.example');
\echo :SQLSTATE
SELECT csp.attest_mca(:'northwind');
\echo :SQLSTATE
RESET ROLE;
SELECT count(*) AS helpdesk_or_sneaky FROM csp.customer WHERE legal_name IN ('Helpdesk BV', 'Sneaky BV');

------------------------------------------------------------------------------
-- the audit log: every change, with its action and the caller
------------------------------------------------------------------------------
SELECT action, operation, CASE WHEN actor = session_user THEN '(session user)' ELSE actor::text END AS actor, count(*)
  FROM csp.audit_log WHERE object_type = 'customer' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- the rows carry the customer's id, the time and the row before and after
SELECT count(*) AS add_customer_rows,
       bool_and(object_id = after->>'customer_id') AS id_matches,
       bool_and(before IS NULL) AS no_before,
       bool_and(actor = session_user) AS actor_is_caller
  FROM csp.audit_log WHERE action = 'add_customer' AND actor <> 'regress_csp_sally';
SELECT at, before->>'legal_name' AS before, after->>'legal_name' AS after,
       before->>'verification_status' AS status_before, after->>'verification_status' AS status_after
  FROM csp.audit_log WHERE action = 'update_customer' AND object_id = :'contoso' ORDER BY audit_id;
-- refused calls left no audit rows
SELECT count(*) AS bad_rows FROM csp.audit_log WHERE after->>'legal_name' IN ('Bad BV', 'Helpdesk BV', 'Sneaky BV');

RESET csp.clock;
DROP EXTENSION csp_billing CASCADE;
DROP ROLE regress_csp_sally, regress_csp_helen;
