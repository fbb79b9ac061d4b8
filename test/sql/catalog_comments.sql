-- Issue 14 item 5: every view, view column, table and function of schema csp
-- has a COMMENT (README "Reference" promises it; \d+ and BI tools show them).
-- The list below must be empty; a new object without a comment shows up here.
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE EXTENSION csp_billing;
SELECT 'column ' || c.relname || '.' || a.attname AS missing_comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'csp'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind = 'v' AND col_description(c.oid, a.attnum) IS NULL
UNION ALL
SELECT 'relation ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'csp'
 WHERE c.relkind IN ('v', 'r') AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'function ' || p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'csp'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
-- The check can fail: an object without a comment is listed.
CREATE FUNCTION csp.uncommented() RETURNS int LANGUAGE sql RETURN 1;
SELECT 'function ' || p.oid::regprocedure AS missing_comment FROM pg_proc p
 WHERE p.pronamespace = 'csp'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
DROP FUNCTION csp.uncommented();
-- and there are objects to check
SELECT count(*) > 60 AS many_functions FROM pg_proc WHERE pronamespace = 'csp'::regnamespace;
DROP EXTENSION csp_billing;
