--
-- csp.clock and csp.now(): the engine's notion of "now" (API.md "Time",
-- R4.10 all dates and times are UTC).
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION IF NOT EXISTS csp_billing;
\set VERBOSITY default

-- Time: unset, csp.now() is real time, the transaction's start like now()
SHOW csp.clock;
BEGIN;
SELECT csp.now() = now() AS real_time, csp.now() = transaction_timestamp() AS is_transaction_start;
COMMIT;

-- Time positive: a pinned clock is what csp.now() returns
SET csp.clock = '2025-01-15 10:00+00';
SHOW csp.clock;
SELECT csp.now();
SELECT csp.now() = '2025-01-15 10:00:00+00'::timestamptz AS pinned, csp.now() <> now() AS not_real_time;
-- it stays pinned across transactions and statements
BEGIN;
SELECT csp.now() = '2025-01-15 10:00:00+00'::timestamptz AS pinned_in_transaction;
SELECT pg_sleep(0.01);
SELECT csp.now() = '2025-01-15 10:00:00+00'::timestamptz AS still_pinned;
COMMIT;

-- Time positive: RESET csp.clock returns real time
RESET csp.clock;
SHOW csp.clock;
BEGIN;
SELECT csp.now() = now() AS real_time_after_reset;
COMMIT;

-- Time positive: the empty string means real time as well
SET csp.clock = '2025-01-15 10:00+00';
SET csp.clock = '';
BEGIN;
SELECT csp.now() = now() AS real_time_after_empty;
COMMIT;

-- Time positive: SET LOCAL ends with its transaction, a rolled back SET is undone
SET csp.clock = '2025-01-15 10:00+00';
BEGIN;
SET LOCAL csp.clock = '2030-06-30 23:59:59+00';
SELECT csp.now();
COMMIT;
SELECT csp.now();
BEGIN;
SET csp.clock = '2031-01-01 00:00+00';
SELECT csp.now();
ROLLBACK;
SELECT csp.now();

-- Time negative: a bad value is refused at SET time with 22023
-- (invalid_parameter_value) and the previous value stays in force
SET csp.clock = 'garbage';
\echo :SQLSTATE
SET csp.clock = '2025-13-01 00:00+00';
\echo :SQLSTATE
SET csp.clock = '2025-02-30 10:00+00';
\echo :SQLSTATE
SET csp.clock = 'infinity';
\echo :SQLSTATE
SET csp.clock = '-infinity';
\echo :SQLSTATE
SET csp.clock = 'epoch';
\echo :SQLSTATE
SET csp.clock = '10:00';
\echo :SQLSTATE
-- "now" and "today" are not instants either: they would freeze the clock at
-- the moment of the SET instead of pinning a chosen instant (clock.c says
-- "now", "infinity" and friends are refused)
SET csp.clock = 'now';
\echo :SQLSTATE
SET csp.clock = 'today';
\echo :SQLSTATE
SHOW csp.clock;
SELECT csp.now() = '2025-01-15 10:00:00+00'::timestamptz AS previous_value_kept;
-- a misspelt setting in the reserved csp prefix is refused too
SET csp.clokc = '2025-01-15 10:00+00';
\echo :SQLSTATE

-- Time positive: other literal forms of an instant
SET csp.clock = '2025-01-15T10:00:00Z';
SELECT csp.now() = '2025-01-15 10:00:00+00'::timestamptz AS iso_t_z;
SET csp.clock = '2024-02-29 23:59:59.999999+00';
SELECT csp.now(), csp.utc_date(csp.now());

-- Time positive: csp.clock with an explicit offset is that instant, in UTC
-- 2025-05-31 20:00-07 is 2025-06-01 03:00 UTC, so its date is 2025-06-01
SET csp.clock = '2025-05-31 20:00-07';
SELECT csp.now();
SELECT csp.utc_date(csp.now());
SET csp.clock = '2025-06-01 08:00+09';
SELECT csp.now(), csp.utc_date(csp.now());

-- Time positive: without an offset the value is read in the session's
-- TimeZone when it is set; changing TimeZone later does not move the instant
SET timezone = 'America/Los_Angeles';
SET csp.clock = '2025-05-31 20:00';
SELECT csp.now();
SELECT csp.now() AT TIME ZONE 'UTC' AS utc, csp.utc_date(csp.now()) AS utc_date,
       csp.now()::date AS local_date;
SET timezone = 'Asia/Tokyo';
SELECT csp.now() AT TIME ZONE 'UTC' AS utc, csp.utc_date(csp.now()) AS utc_date;
SET timezone = 'UTC';

-- R4.10 positive: csp.utc_date is the UTC calendar date whatever the
-- session's TimeZone (a purchase at 2025-05-31 20:00-07 starts on 2025-06-01)
SET timezone = 'America/Los_Angeles';
SELECT csp.utc_date('2025-05-31 20:00-07') AS utc_date,
       '2025-05-31 20:00-07'::timestamptz::date AS session_date;
SET timezone = 'Pacific/Kiritimati';
SELECT csp.utc_date('2025-05-31 20:00-07') AS utc_date,
       csp.utc_date('2025-06-01 13:59:59+14') AS just_before_utc_midnight,
       '2025-06-01 13:59:59+14'::timestamptz::date AS session_date;
SET timezone = 'UTC';

-- R4.10 positive: the day boundary is UTC midnight, also before 2000 and 1970
SELECT csp.utc_date('2025-06-01 00:00:00+00') AS midnight,
       csp.utc_date('2025-05-31 23:59:59.999999+00') AS one_usec_before,
       csp.utc_date('1999-12-31 23:59:59.999999+00') AS before_2000,
       csp.utc_date('2000-01-01 00:00:00+00') AS y2k,
       csp.utc_date('1969-12-31 23:00:00-02') AS before_1970;

-- R4.10 negative: infinite or NULL instants have no date (22023)
SELECT csp.utc_date('infinity');
\echo :SQLSTATE
SELECT csp.utc_date(NULL);
\echo :SQLSTATE

-- Time positive: functions that record an instant use csp.now()
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.create_partner('P-CLOCK', 'Clock partner', 'direct_bill', 'NL');
SELECT created_at = '2025-01-15 10:00+00'::timestamptz AS created_at_is_clock
  FROM csp.partner WHERE partner_id = 'P-CLOCK';
SELECT count(*) AS audit_rows, bool_and(at = '2025-01-15 10:00+00'::timestamptz) AS audit_at_is_clock
  FROM csp.audit_log WHERE object_id = 'P-CLOCK';
RESET csp.clock;

-- Time positive: a new session may set csp.clock before the module is
-- loaded; the value is taken when it loads
\c
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET csp.clock = '2025-01-15 10:00+00';
SELECT csp.now();
RESET csp.clock;

DROP EXTENSION csp_billing CASCADE;
