--
-- Seeded randomized replay, short run (issue 6, item 6): a few hundred
-- random operations over three simulated months through the public API
-- (test/sql/include/replay.sql), with the invariants checked after every
-- simulated day: invoice total = sum of lines (R13), allocations within the
-- payment and the invoice (R14.3, R14.4), refunds never more than charged
-- (R5.3, R6.3: net seat-days >= 0 per subscription and cycle), quantity =
-- live seat lots (R5.2), no day charged twice by full-cycle lines (R11.1),
-- balance = sum of amounts due of the latest documents (R13.4, R14.2), and
-- refused calls change nothing (API.md "Errors").  Only the seed and the
-- invariant booleans are shown; `SEED=... make soak` replays any seed longer.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
\set seed 0.4242
\set months 3
\set ops 4
SELECT :seed AS seed, :months AS months;
\i test/sql/include/replay.sql
SELECT count(*) > 200 AS hundreds_of_operations,
       count(*) FILTER (WHERE outcome = 'done') > 100 AS most_accepted,
       count(*) FILTER (WHERE outcome NOT IN ('done', 'skipped')) > 10 AS some_refused
  FROM replay_stat;
SELECT i AS invariant, NOT EXISTS (SELECT FROM replay_violation v WHERE v.invariant = i) AS holds
  FROM unnest(ARRAY['invoice_total_is_sum_of_lines', 'allocations_within_payment', 'allocations_within_invoice',
                    'net_seat_days_not_negative', 'quantity_is_sum_of_lots', 'full_cycle_lines_do_not_overlap',
                    'balance_is_invoiced_minus_paid', 'refusal_has_specific_sqlstate', 'refused_call_changes_nothing']) AS i;
SELECT count(*) AS unknown_violations FROM replay_violation
 WHERE invariant NOT IN ('invoice_total_is_sum_of_lines', 'allocations_within_payment', 'allocations_within_invoice',
                         'net_seat_days_not_negative', 'quantity_is_sum_of_lots', 'full_cycle_lines_do_not_overlap',
                         'balance_is_invoiced_minus_paid', 'refusal_has_specific_sqlstate', 'refused_call_changes_nothing');
DROP EXTENSION csp_billing CASCADE;
