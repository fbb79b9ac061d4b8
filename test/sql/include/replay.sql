-- Seeded randomized replay (issue 6, item 6): the generator and checker,
-- included by test/sql/replay_short.sql (short run, part of make test) and
-- by test/soak/run.sh (long run).  psql variables: seed (a float in
-- [-1, 1] for setseed), months (simulated months), ops (operations per
-- simulated day, on average).  Test code only: the random plan is drawn into
-- a temp table with setseed()/random() and replayed through the public API
-- with \gexec, one simulated day at a time; the invariants are checked after
-- every day and violations collected in replay_violation.  Silent (no echo,
-- no results): the including script shows the seed and the verdicts.
\set ECHO none
\o /dev/null
SELECT csp.add_product('E5', 'Microsoft 365 E5') \gset
SELECT csp.set_price('E5', 'P1Y', 'monthly', 'EUR', 20.00) \gset
SELECT csp.set_price('E5', 'P1Y', 'annual', 'EUR', 240.00) \gset
SELECT csp.set_price('E5', 'P1M', 'monthly', 'EUR', 24.00) \gset
SELECT csp.add_upgrade_path('M365', 'E5') \gset
SELECT csp.add_product('AZ', 'Azure plan', billing_type => 'usage') \gset
SELECT csp.add_customer('p1', 'Beta BV', 'NL', mca_attested => true) AS cust2 \gset
SELECT csp.set_customer_verification(:'cust2', 'approved') \gset

CREATE TEMP TABLE replay_violation (day date, invariant text, detail text);
CREATE TEMP TABLE replay_stat (kind text, outcome text, n int DEFAULT 1);

-- the plan: per day, a random number of operations at random minutes
SELECT setseed(:seed);
CREATE TEMP TABLE replay_plan AS
SELECT d::date AS day, o AS seq,
       d + (floor(random() * 1380) + 30) * interval '1 minute' AS at,
       (ARRAY['purchase', 'purchase', 'seats_up', 'seats_down', 'seats_down', 'cancel', 'suspend',
              'reactivate', 'auto_renew', 'upgrade', 'usage', 'payment', 'payment', 'credit_note',
              'void_rebill', 'allocate', 'bad_input'])[1 + floor(random() * 17)::int] AS kind,
       random() AS r1, random() AS r2, random() AS r3
  FROM generate_series('2025-01-01 00:00+00'::timestamptz,
                       '2025-01-01 00:00+00'::timestamptz + (:months * interval '1 month') - interval '1 day',
                       interval '1 day') AS d,
       LATERAL generate_series(1, (floor(random() * 2 * :ops) + 1)::int) AS o;

-- md5 of every table of schema csp (the list comes from pg_class)
CREATE FUNCTION pg_temp.all_sum() RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; h text; acc text := '';
BEGIN
    FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
              WHERE c.relnamespace = 'csp'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s t', r.t) INTO h;
        acc := acc || h;
    END LOOP;
    RETURN md5(acc);
END $$;

-- the n-th (by r) row of a deterministic ordering
CREATE FUNCTION pg_temp.pick_sub(r float8, statuses text[], sku text DEFAULT NULL) RETURNS uuid LANGUAGE sql AS $$
    SELECT subscription_id FROM csp.subscription
     WHERE status = ANY (statuses) AND NOT is_trial AND (sku IS NULL OR sku_id = sku)
     ORDER BY friendly_name, sku_id, purchased_at, term_start, quantity
    OFFSET floor(r * (SELECT count(*) FROM csp.subscription WHERE status = ANY (statuses) AND NOT is_trial
                                                        AND (sku IS NULL OR sku_id = sku)))
     LIMIT 1
$$;
CREATE FUNCTION pg_temp.pick_invoice(r float8, open_only boolean) RETURNS text LANGUAGE sql AS $$
    SELECT invoice_number FROM csp.billing_overview
     WHERE document_type <> 'void_note' AND status <> 'void' AND (NOT open_only OR amount_due > 0)
     ORDER BY invoice_number
    OFFSET floor(r * (SELECT count(*) FROM csp.billing_overview WHERE document_type <> 'void_note' AND status <> 'void'
                                                              AND (NOT open_only OR amount_due > 0)))
     LIMIT 1
$$;

-- one operation through the public API; a refusal must carry an NC code or
-- 22023 and must change nothing (checked on a sample of the refused calls)
CREATE FUNCTION pg_temp.op(kind text, r1 float8, r2 float8, r3 float8, bp bigint, c1 uuid, c2 uuid)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s uuid; q int; inv text; pay bigint; amt numeric; st text; msg text; pre text; sql text;
BEGIN
    sql := CASE kind
      WHEN 'purchase' THEN format('SELECT csp.purchase(customer_id => %L, sku_id => %L, quantity => %s, term => %L, billing_frequency => %L, align_to_calendar_month => %L, friendly_name => %L)',
             CASE WHEN r1 < 0.5 THEN c1 ELSE c2 END,
             CASE WHEN r2 < 0.15 THEN 'AZ' WHEN r2 < 0.35 THEN 'E5' ELSE 'M365' END,
             CASE WHEN r2 < 0.15 THEN 1 ELSE 1 + floor(r3 * 40)::int END,
             CASE WHEN r3 < 0.3 THEN 'P1M' ELSE 'P1Y' END,
             CASE WHEN r3 >= 0.3 AND r1 > 0.8 THEN 'annual' ELSE 'monthly' END,
             r1 BETWEEN 0.4 AND 0.6,
             'r' || lpad((SELECT count(*) + 1 FROM csp.subscription)::text, 6, '0'))
      WHEN 'seats_up' THEN (SELECT format('SELECT csp.change_quantity(%L, %s)', subscription_id, quantity + 1 + floor(r2 * 10)::int)
                              FROM csp.subscription WHERE subscription_id = pg_temp.pick_sub(r1, '{active}'))
      WHEN 'seats_down' THEN (SELECT format('SELECT csp.change_quantity(%L, %s)', subscription_id, greatest(1, quantity - 1 - floor(r2 * 5)::int))
                                FROM csp.subscription WHERE subscription_id = pg_temp.pick_sub(r1, '{active}'))
      WHEN 'cancel' THEN format('SELECT csp.cancel(%L)', pg_temp.pick_sub(r1, '{active,suspended}'))
      WHEN 'suspend' THEN format('SELECT csp.suspend(%L)', pg_temp.pick_sub(r1, '{active}'))
      WHEN 'reactivate' THEN format('SELECT csp.reactivate(%L)', pg_temp.pick_sub(r1, '{suspended}'))
      WHEN 'auto_renew' THEN format('SELECT csp.set_auto_renew(%L, %L)', pg_temp.pick_sub(r1, '{active}'), r2 < 0.7)
      WHEN 'upgrade' THEN (SELECT format('SELECT csp.upgrade(%L, ''E5'', quantity => %s)', subscription_id,
                                         CASE WHEN r2 < 0.5 THEN quantity ELSE greatest(1, floor(quantity * r3)::int) END)
                             FROM csp.subscription WHERE subscription_id = pg_temp.pick_sub(r1, '{active}', 'M365'))
      WHEN 'usage' THEN format('SELECT csp.record_usage(%L, csp.utc_date(csp.now()), ''compute'', %s, 0.05, ''EUR'')',
                               pg_temp.pick_sub(r1, '{active}', 'AZ'), round((r2 * 1000)::numeric, 3))
      WHEN 'payment' THEN CASE WHEN r2 < 0.3
                             THEN format('SELECT csp.record_payment(%s, %s, ''EUR'')', bp, round((r3 * 500)::numeric, 2) + 0.01)
                             ELSE format('SELECT csp.record_payment(%s, %s, ''EUR'', remittance => %L)', bp,
                                         round((r3 * 500)::numeric, 2) + 0.01, json_build_array(pg_temp.pick_invoice(r1, true)))
                           END
      WHEN 'credit_note' THEN format('SELECT csp.apply_credit_note(%s, %s, ''EUR'')', bp, round((r3 * 100)::numeric, 2) + 0.01)
      WHEN 'void_rebill' THEN CASE WHEN r2 < 0.3 THEN format('SELECT csp.void_and_rebill(%L, po_number => %L)', pg_temp.pick_invoice(r1, false), 'PO-' || floor(r3 * 1000)) END
      WHEN 'allocate' THEN (SELECT format('SELECT csp.allocate_payment(%s, %L, %s)', payment_id, pg_temp.pick_invoice(r1, true),
                                          least(unallocated, round((r3 * 200)::numeric, 2) + 0.01))
                              FROM csp.unallocated_payments ORDER BY payment_id
                             OFFSET floor(r2 * (SELECT count(*) FROM csp.unallocated_payments)) LIMIT 1)
      WHEN 'bad_input' THEN (ARRAY[
             format('SELECT csp.change_quantity(%L, 0)', pg_temp.pick_sub(r1, '{active}')),
             format('SELECT csp.purchase(customer_id => %L, sku_id => ''M365'', quantity => 5, term => ''P2Y'')', c1),
             format('SELECT csp.record_payment(%s, -1, ''EUR'')', bp),
             format('SELECT csp.record_payment(%s, 10, ''EUR'', remittance => ''{"x": 1}'')', bp),
             format('SELECT csp.allocate_payment(999999, ''G000000001'', 1)'),
             format('SELECT csp.cancel(%L)', pg_temp.pick_sub(r1, '{cancelled,expired}'))])[1 + floor(r2 * 6)::int]
    END;
    -- nothing to act on (no subscription or invoice of that kind yet)
    IF sql IS NULL OR sql LIKE '%(NULL%' OR sql LIKE '%[null]%' OR sql LIKE '%, NULL, %' THEN
        INSERT INTO replay_stat VALUES (kind, 'skipped');
        RETURN;
    END IF;
    -- the all-table checksum is costly: taken for the bad_input calls and a
    -- 10 % sample of the others
    IF kind = 'bad_input' OR r3 < 0.1 THEN pre := pg_temp.all_sum(); END IF;
    BEGIN
        EXECUTE sql;
        INSERT INTO replay_stat VALUES (kind, 'done');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        INSERT INTO replay_stat VALUES (kind, st);
        IF st NOT LIKE 'NC%' AND st <> '22023' THEN
            INSERT INTO replay_violation VALUES (csp.utc_date(csp.now()), 'refusal_has_specific_sqlstate', st || ': ' || msg || ' <- ' || sql);
        END IF;
        IF pre IS NOT NULL AND pg_temp.all_sum() IS DISTINCT FROM pre THEN
            INSERT INTO replay_violation VALUES (csp.utc_date(csp.now()), 'refused_call_changes_nothing', sql);
        END IF;
    END;
END $$;

-- the invariants, after every simulated day
CREATE FUNCTION pg_temp.check_day() RETURNS void LANGUAGE sql AS $$
    INSERT INTO replay_violation
    -- invoice total = sum of its lines (csp.invoice_lines)
    SELECT csp.utc_date(csp.now()), 'invoice_total_is_sum_of_lines', i.invoice_number || ' ' || i.total || ' <> ' || coalesce(l.s, 0)
      FROM csp.invoice i LEFT JOIN (SELECT invoice_number, sum(amount) AS s FROM csp.invoice_lines GROUP BY 1) l USING (invoice_number)
     WHERE i.total <> coalesce(l.s, 0)
    UNION ALL
    -- allocations <= payment amount (and = its allocated column)
    SELECT csp.utc_date(csp.now()), 'allocations_within_payment', p.payment_id || ' ' || p.amount || ' ' || p.allocated || ' ' || coalesce(a.s, 0)
      FROM csp.payment p LEFT JOIN (SELECT payment_id, sum(amount) AS s FROM csp.payment_allocation GROUP BY 1) a USING (payment_id)
     WHERE coalesce(a.s, 0) > p.amount OR coalesce(a.s, 0) <> p.allocated
    UNION ALL
    -- allocations <= invoice total (and = its paid column)
    SELECT csp.utc_date(csp.now()), 'allocations_within_invoice', i.invoice_number || ' ' || i.total || ' ' || i.paid || ' ' || coalesce(a.s, 0)
      FROM csp.invoice i LEFT JOIN (SELECT invoice_number, sum(amount) AS s FROM csp.payment_allocation GROUP BY 1) a USING (invoice_number)
     WHERE coalesce(a.s, 0) > greatest(i.total, 0) OR coalesce(a.s, 0) <> i.paid
    UNION ALL
    -- refunds never exceed what was charged: net seat-days >= 0 per
    -- subscription and billing cycle, and net amount >= 0
    SELECT csp.utc_date(csp.now()), 'net_seat_days_not_negative', c.subscription_id || ' cycle ' || c.cycle_start || ' seat-days ' || sum(c.quantity * c.days_charged) || ' amount ' || sum(c.amount)
      FROM csp.charge c WHERE c.charge_type <> 'usage'
     GROUP BY c.subscription_id, c.cycle_start
    HAVING sum(c.quantity * c.days_charged) < 0 OR sum(c.amount) < 0
    UNION ALL
    -- refunds never exceed the charged line (issue 12 item 6): for every
    -- line, its refunds (refunds_charge_id) take back at most its amount and
    -- never turn it the other way
    SELECT csp.utc_date(csp.now()), 'refunds_within_charged_line', c.charge_id || ' ' || c.amount || ' refunded ' || r.amount
      FROM csp.charge c
      JOIN (SELECT billing_account_id, refunds_charge_id, sum(amount) AS amount
              FROM csp.charge WHERE refunds_charge_id IS NOT NULL GROUP BY 1, 2) r
        ON r.billing_account_id = c.billing_account_id AND r.refunds_charge_id = c.charge_id
     WHERE (c.amount >= 0 AND (r.amount > 0 OR c.amount + r.amount < 0))
        OR (c.amount < 0 AND (r.amount < 0 OR c.amount + r.amount > 0))
    UNION ALL
    -- quantity = sum of the live seat lots of the current term
    SELECT csp.utc_date(csp.now()), 'quantity_is_sum_of_lots', s.subscription_id || ' ' || s.quantity || ' <> ' || coalesce(l.q, 0)
      FROM csp.subscription s
      LEFT JOIN (SELECT subscription_id, term_start, sum(quantity) AS q FROM csp.seat_lot GROUP BY 1, 2) l
             ON l.subscription_id = s.subscription_id AND l.term_start = s.term_start
     WHERE s.status IN ('active', 'suspended') AND s.quantity <> coalesce(l.q, 0)
    UNION ALL
    -- no subscription charged twice for a day by full-cycle lines
    SELECT csp.utc_date(csp.now()), 'full_cycle_lines_do_not_overlap', a.subscription_id || ' ' || a.charge_id || '/' || b.charge_id
      FROM csp.charge a JOIN csp.charge b
        ON a.subscription_id = b.subscription_id AND a.charge_id < b.charge_id
       AND daterange(a.charge_start, a.charge_end, '[]') && daterange(b.charge_start, b.charge_end, '[]')
     WHERE a.charge_type IN ('new', 'renew', 'cycleCharge') AND b.charge_type IN ('new', 'renew', 'cycleCharge')
    UNION ALL
    -- balance identity (R14.2): account_balance.balance = invoiced - paid over
    -- the latest documents (invoices and rebills not voided).  Not the sum of
    -- amount_due: a month whose refunds exceed its charges makes a credit
    -- invoice (negative total, nothing due) that lowers the balance.
    SELECT csp.utc_date(csp.now()), 'balance_is_invoiced_minus_paid', b.billing_profile_id || ' ' || b.balance || ' <> ' || coalesce(o.s, 0)
      FROM csp.account_balance b
      LEFT JOIN (SELECT billing_profile_id, currency, sum(total - paid) AS s FROM csp.billing_overview
                  WHERE document_type IN ('invoice', 'rebill') AND status <> 'void' GROUP BY 1, 2) o
             USING (billing_profile_id, currency)
     WHERE b.balance <> coalesce(o.s, 0)
$$;

-- the replay: for each day, each operation at its minute, then the jobs at
-- the end of the day (and at 00:00:01 of the next), then the checks
SELECT x.stmt FROM (
    SELECT day, 1 AS phase, seq, format('SET csp.clock = %L', at) AS stmt FROM replay_plan
    UNION ALL
    SELECT day, 1, seq, format('SELECT pg_temp.op(%L, %s, %s, %s, %s, %L, %L)', kind, r1, r2, r3, :bp, :'cust', :'cust2') FROM replay_plan
    UNION ALL
    SELECT DISTINCT day, 2, 0, format('SELECT csp.tick(%L::timestamptz)', day + interval '1 day' + interval '1 second') FROM replay_plan
    UNION ALL
    SELECT DISTINCT day, 3, 0, format('SET csp.clock = %L', day + interval '1 day' + interval '2 seconds') FROM replay_plan
    UNION ALL
    SELECT DISTINCT day, 4, 0, 'SELECT pg_temp.check_day()' FROM replay_plan
) x ORDER BY x.day, x.phase, x.seq, x.stmt LIKE 'SELECT%' \gexec
\o
\set ECHO all
