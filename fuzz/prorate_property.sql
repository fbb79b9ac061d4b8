-- A randomized property check of csp.prorate against exact arithmetic, run by
-- scripts/sqlsmith.sh (make sqlsmith) as the superuser before sqlsmith.
--
-- csp_prorate (src/money.c) needs the backend's numeric, so it cannot be
-- linked into a libFuzzer harness; this checks it where it runs.  For a result
-- r in major units, exponent e, N = price x quantity x days x 10^e and
-- D = days_in_cycle (all products exact in numeric), r is right iff
--   scale(r) = e, and d = N - r x 10^e x D satisfies 2|d| < D,
--   or 2|d| = D (a tie) and d has the opposite sign of N (half away from zero).
-- Output: one line "prorate: <cases> cases, <wrong> wrong", then up to 10 of
-- the wrong ones.  :cases sets the number of random cases (default 200000).
\set QUIET on
\if :{?cases}
\else
\set cases 200000
\endif
\o /dev/null
SELECT setseed(0.4711);
\o
CREATE TEMP TABLE prorate_cases AS
WITH cur(code, e) AS (VALUES ('USD', 2), ('JPY', 0), ('KWD', 3), ('EUR', 2), ('CLP', 0), ('BHD', 3)),
g AS (
    SELECT i,
           (SELECT code FROM cur OFFSET floor(random() * 6)::int LIMIT 1) AS code,
           1 + floor(random() * CASE WHEN random() < 0.5 THEN 31 ELSE 1096 END)::int AS dic,
           random() AS rd, random() AS kind
      FROM generate_series(1, :cases) i
)
SELECT i, g.code AS currency, cur.e,
       CASE WHEN kind < 0.25
            -- a tie candidate: (k + 1/2) minor units, a whole cycle
            THEN ((floor(random() * 100000) + 0.5) / 10 ^ cur.e)::numeric * (CASE WHEN random() < 0.3 THEN -1 ELSE 1 END)
            ELSE round(((random() * 2 - 1) * 10 ^ (random() * 14))::numeric, floor(random() * 7)::int)
       END AS unit_price,
       CASE WHEN kind < 0.25 THEN 1
            WHEN random() < 0.05 THEN (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END) * (10::bigint ^ floor(random() * 12)::int)::bigint
            ELSE floor((random() * 2 - 1) * 10 ^ (random() * 6))::bigint
       END AS quantity,
       CASE WHEN kind < 0.25 THEN g.dic ELSE floor(rd * (g.dic + 1))::int END AS days,
       g.dic AS days_in_cycle
  FROM g JOIN cur ON cur.code = g.code;

CREATE TEMP TABLE prorate_results AS
SELECT c.*, r.got,
       c.unit_price * c.quantity * c.days * 10::numeric ^ c.e AS n,
       c.unit_price * c.quantity * c.days * 10::numeric ^ c.e - r.got * 10::numeric ^ c.e * c.days_in_cycle AS d
  FROM prorate_cases c,
       LATERAL (SELECT csp.prorate(c.unit_price, c.quantity, c.days, c.days_in_cycle, c.currency) AS got) r;

\pset format unaligned
\pset tuples_only on
SELECT format('prorate: %s cases (%s ties), %s wrong',
              count(*),
              count(*) FILTER (WHERE 2 * abs(d) = days_in_cycle AND d <> 0),
              count(*) FILTER (WHERE NOT (scale(got) = e AND
                    (2 * abs(d) < days_in_cycle OR (2 * abs(d) = days_in_cycle AND sign(d) = -sign(n))))))
  FROM prorate_results;
SELECT format('  wrong: csp.prorate(%s, %s, %s, %s, %L) = %s (N = %s)',
              unit_price, quantity, days, days_in_cycle, currency, got, n)
  FROM prorate_results
 WHERE NOT (scale(got) = e AND
            (2 * abs(d) < days_in_cycle OR (2 * abs(d) = days_in_cycle AND sign(d) = -sign(n))))
 ORDER BY i LIMIT 10;
