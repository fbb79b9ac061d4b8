CREATE EXTENSION csp_billing;
SELECT csp.now();
