-- The time-zone scenario (included by time_zones.sql once per TimeZone,
-- inside a transaction that is rolled back).  Every instant is written with
-- an explicit +00 offset, so the instants are the same in every zone; only
-- the session's TimeZone differs.  Purchases and seat changes sit within
-- minutes of midnight UTC, where the local date differs from the UTC date.
-- The jobs (csp.tick) run every day one second before and one second after
-- midnight UTC (table tz_ticks), in time order with the other calls.
-- R4.10: all dates are UTC dates.  (Statements and results are not echoed:
-- time_zones.sql shows what they produced.)
\o /dev/null
\set ECHO none
-- a P1M monthly bought on Jan 31 at 23:30 UTC, renewed for 25 months (R6.6)
SET LOCAL csp.clock = '2025-01-31 23:30+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 3, term => 'P1M', friendly_name => 'tz-p1m-jan31') AS tz_a \gset
SELECT format('SELECT csp.tick(%L::timestamptz)', t) FROM tz_ticks WHERE t > '2025-01-31 23:30+00' AND t < '2025-05-31 23:30+00' ORDER BY t \gexec
-- a P1Y monthly bought 2025-05-31 23:30 UTC (2025-05-31 16:30 in Los Angeles,
-- 2025-06-01 13:30 at Kiritimati, 2025-06-01 05:00 in Kolkata): starts 2025-05-31
SET LOCAL csp.clock = '2025-05-31 23:30+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10, friendly_name => 'tz-p1y') AS tz_b \gset
SELECT format('SELECT csp.tick(%L::timestamptz)', t) FROM tz_ticks WHERE t > '2025-05-31 23:30+00' AND t < '2025-06-01 00:10+00' ORDER BY t \gexec
-- a P1M aligned to the calendar month bought 2025-06-01 00:10 UTC (2025-05-31 in Los Angeles)
SET LOCAL csp.clock = '2025-06-01 00:10+00';
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 5, term => 'P1M', align_to_calendar_month => true, friendly_name => 'tz-p1m-aligned') AS tz_c \gset
SELECT format('SELECT csp.tick(%L::timestamptz)', t) FROM tz_ticks WHERE t > '2025-06-01 00:10+00' AND t < '2025-06-30 23:59+00' ORDER BY t \gexec
-- R5.1: +3 seats at 2025-06-30 23:59 UTC; R5.2/R5.3: -2 at 2025-07-01 00:01
-- UTC (2 minutes later: full refund of the new lot only)
SET LOCAL csp.clock = '2025-06-30 23:59+00';
SELECT csp.change_quantity(:'tz_b', 13) \gset
SELECT format('SELECT csp.tick(%L::timestamptz)', t) FROM tz_ticks WHERE t > '2025-06-30 23:59+00' AND t < '2025-07-01 00:01+00' ORDER BY t \gexec
SET LOCAL csp.clock = '2025-07-01 00:01+00';
SELECT csp.change_quantity(:'tz_b', 11) \gset
SELECT format('SELECT csp.tick(%L::timestamptz)', t) FROM tz_ticks WHERE t > '2025-07-01 00:01+00' ORDER BY t \gexec
\o
\set ECHO all
