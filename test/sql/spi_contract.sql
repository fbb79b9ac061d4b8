--
-- The SPI contract of src/spi.c (issue 13 item 2): every statement's result
-- code is checked against what its plan returns when it succeeds, and an
-- API call's audit action ends with the call, also when the call fails
-- inside a savepoint.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.create_partner('P-1', 'One BV', 'direct_bill', 'NL');

-- A rule that swallows the insert makes the kept statement report nothing:
-- the call fails with XX000 naming both codes instead of "succeeding"
-- without writing the row (the expected code was derived at prepare).
CREATE RULE partner_nothing AS ON INSERT TO csp.partner DO INSTEAD NOTHING;
\set VERBOSITY terse
SELECT csp.create_partner('P-2', 'Two BV', 'direct_bill', 'NL');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT count(*) AS partners FROM csp.partner;
DROP RULE partner_nothing ON csp.partner;
\c
SET timezone = 'UTC';
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.create_partner('P-3', 'Three BV', 'direct_bill', 'NL');
SELECT count(*) AS partners FROM csp.partner;

-- A call that fails inside a savepoint does not lend its name to what the
-- transaction does next: the direct UPDATE is audited as 'direct'.
BEGIN;
SAVEPOINT s;
\set VERBOSITY terse
SELECT csp.create_partner('P-1', 'One BV', 'direct_bill', 'NL');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ROLLBACK TO s;
UPDATE csp.partner SET name = 'Renamed BV' WHERE partner_id = 'P-1';
COMMIT;
SELECT action, operation, object_type, object_id
  FROM csp.audit_log WHERE object_type = 'partner' ORDER BY audit_id;

DROP EXTENSION csp_billing;
