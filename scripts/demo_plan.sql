-- The plan of the 14-month history (included by demo.sql).
--
-- Nothing here calls the engine: it only fills plain tables in schema demo
--   demo.buy     the purchases (Jan-Feb 2025), drawn with setseed + random()
--   demo.act     what happens to some of them later (cancel, reduce, upgrade, ...)
--   demo.misc    usage, payments, credit note, void and rebill
--   demo.stream  every statement of the history in order: for each instant a
--                SET csp.clock, then the statements due then; demo_month.sql
--                runs one month of it with \gexec.
-- The statements are generic and set-based: each picks, when it runs, the
-- rows of demo.buy / demo.act due at csp.now() and checks the live state
-- (status, cancellation window, csp.reducible_licenses, add-on ratios), so
-- every engine call it makes is a valid one.

SELECT setseed(0.2025);
CREATE TABLE demo.rnd AS
SELECT c, s AS slot, ARRAY[random(), random(), random(), random(), random()] AS r
  FROM generate_series(1, 40) AS c CROSS JOIN generate_series(1, 12) AS s
 ORDER BY c, s;

------------------------------------------------------------------------------
-- Purchases.  Per customer up to twelve "slots":
--  1 E3 (20 % E5) P1Y, monthly or annual, some aligned to the calendar month  January
--  2 E3 P1M monthly, some aligned                                            Jan-Feb
--  3 E5 P1Y monthly, co-terminated with slot 1                               February
--  4 Copilot add-on (at most the base licenses)                              February
--  5 Multi-Geo add-on (at least 5 % of the base licenses)                    February
--  6 Azure plan (usage, USD)                                                 Jan-Feb
--  7 Contoso eSign, ISV SaaS priced in USD, P1Y annual or P1M               February
--  8 Business Premium (one per customer), P1Y or P1M monthly                 Jan-Feb
--  9 E3 P1Y monthly aligned to the calendar month                            February
-- 10 E5 P1M monthly                                                          Jan-Feb
-- 11 E3 P1Y annual, half of them aligned                                     February
-- 12 a second Azure plan                                                     February
------------------------------------------------------------------------------
CREATE TABLE demo.buy (
    n           int PRIMARY KEY,
    c           int NOT NULL,
    slot        int NOT NULL,
    sku         text NOT NULL,
    qty         int,            -- NULL: Multi-Geo, sized when bought
    term        text NOT NULL,
    freq        text NOT NULL,
    align       boolean NOT NULL,
    coterm_slot int,
    at          timestamptz NOT NULL,
    pick        float8 NOT NULL -- for choosing what happens to it later
);

INSERT INTO demo.buy
WITH x AS (
    SELECT r.c, r.slot, r.r, b.r AS br, 10 + floor(b.r[4] ^ 2 * 290)::int AS base_qty
      FROM demo.rnd r JOIN demo.rnd b ON b.c = r.c AND b.slot = 1
), d AS (
    SELECT x.*,
           CASE slot WHEN 1 THEN CASE WHEN r[5] < 0.2 THEN 'M365-E5' ELSE 'M365-E3' END
                     WHEN 2 THEN 'M365-E3' WHEN 3 THEN 'M365-E5' WHEN 4 THEN 'COPILOT'
                     WHEN 5 THEN 'MULTIGEO' WHEN 6 THEN 'AZURE-PLAN' WHEN 7 THEN 'CONTOSO-SIGN'
                     WHEN 8 THEN 'M365-BP' WHEN 9 THEN 'M365-E3' WHEN 10 THEN 'M365-E5'
                     WHEN 11 THEN 'M365-E3' WHEN 12 THEN 'AZURE-PLAN' END AS sku,
           r[1] < (ARRAY[1.0, 0.85, 0.6, 0.55, 0.2, 0.75, 0.45, 0.6, 0.5, 0.5, 0.45, 0.35])[slot] AS wanted,
           CASE WHEN slot = 1 THEN date '2025-01-02' + floor(r[2] * 29)::int
                WHEN slot IN (2, 6, 8, 10) THEN date '2025-01-02' + floor(r[2] * 57)::int
                ELSE date '2025-02-03' + floor(r[2] * 25)::int END AS day,
           make_interval(hours => 9 + floor(r[3] * 8)::int, mins => 15 * (floor(r[3] * 32)::int % 4)) AS tod
      FROM x
)
SELECT row_number() OVER (ORDER BY day + tod, c, slot)::int AS n, c, slot, sku,
       CASE slot WHEN 1 THEN base_qty
                 WHEN 2 THEN 5 + floor(r[4] * 35)::int
                 WHEN 3 THEN 5 + floor(r[4] * base_qty / 3)::int
                 WHEN 4 THEN 5 + floor(r[4] * base_qty / 2)::int
                 WHEN 5 THEN NULL
                 WHEN 6 THEN 1 WHEN 12 THEN 1
                 WHEN 7 THEN 5 + floor(r[4] * 45)::int
                 WHEN 8 THEN 5 + floor(r[4] * 55)::int
                 WHEN 9 THEN 5 + floor(r[4] * 60)::int
                 WHEN 10 THEN 5 + floor(r[4] * 30)::int
                 WHEN 11 THEN 5 + floor(r[4] * 80)::int END,
       CASE WHEN slot IN (2, 6, 10, 12) THEN 'P1M'
            WHEN slot = 7 AND r[5] >= 0.5 THEN 'P1M'
            WHEN slot = 8 AND r[5] >= 0.6 THEN 'P1M'
            ELSE 'P1Y' END,
       CASE WHEN slot = 1 AND r[5] >= 0.2 AND r[5] < 0.5 THEN 'annual'
            WHEN slot = 7 AND r[5] < 0.5 THEN 'annual'
            WHEN slot = 11 THEN 'annual'
            ELSE 'monthly' END,
       CASE WHEN slot = 1 THEN r[5] >= 0.75
            WHEN slot = 2 THEN r[5] < 0.3
            WHEN slot = 9 THEN true
            WHEN slot = 11 THEN r[5] < 0.5
            ELSE false END,
       CASE WHEN slot = 3 THEN 1 END,
       (day + tod)::timestamptz,
       r[5] * 0.5 + r[1] * 0.5
  FROM d
 WHERE wanted;

-- Four trials of E3 (25 seats, one month, free), bought on 6 January.
INSERT INTO demo.buy
SELECT 900 + c, c, 0, 'M365-E3-TRIAL', 25, 'P1M', 'monthly', false, NULL,
       '2025-01-06 11:00+00', 0
  FROM (VALUES (3), (9), (22), (33)) AS t (c);

-- Customers whose add-on ratios a change of base seats could break are
-- left alone by cancellations, reductions, expiries and scheduled changes.
CREATE VIEW demo.quiet_customer AS
SELECT c FROM demo.cust
 WHERE NOT EXISTS (SELECT 1 FROM demo.buy b WHERE b.c = cust.c AND b.sku IN ('COPILOT', 'MULTIGEO'));

------------------------------------------------------------------------------
-- What happens later: demo.act (n = the purchase, kind, when, a quantity)
------------------------------------------------------------------------------
CREATE TABLE demo.act (
    n    int NOT NULL,
    kind text NOT NULL,
    at   timestamptz NOT NULL,
    qty  int,
    PRIMARY KEY (n, kind, at)
);
CREATE VIEW demo.free_buy AS
SELECT b.*, b.c IN (SELECT c FROM demo.quiet_customer) AS quiet,
       csp.term_end(b.at::date, b.term, b.align) AS first_end
  FROM demo.buy b
 WHERE b.slot > 0 AND NOT EXISTS (SELECT 1 FROM demo.act a WHERE a.n = b.n);

-- January-February: cancellations in the window (R6.3, R6.4) and reductions (R5.2)
INSERT INTO demo.act   -- within 24 hours: full refund
SELECT n, 'cancel', at::date + 1 + time '08:00', NULL FROM demo.free_buy
 WHERE slot IN (2, 8, 10) AND quiet ORDER BY pick LIMIT 2;
INSERT INTO demo.act   -- after three whole days: prorated refund
SELECT n, 'cancel', at + interval '3 days 2 hours', NULL FROM demo.free_buy
 WHERE slot IN (8, 9, 11) AND quiet ORDER BY pick LIMIT 3;
INSERT INTO demo.act   -- SaaS billed annually: full credit within 14 days
SELECT n, 'cancel', at + interval '5 days', NULL FROM demo.free_buy
 WHERE slot = 7 AND freq = 'annual' ORDER BY pick LIMIT 1;
INSERT INTO demo.act   -- SaaS billed monthly, after 24 hours: ends at term end
SELECT n, 'cancel', at + interval '3 days', NULL FROM demo.free_buy
 WHERE slot = 7 AND freq = 'monthly' ORDER BY pick LIMIT 1;
INSERT INTO demo.act   -- seats removed two days after purchase
SELECT n, 'reduce', at + interval '2 days 3 hours', ceil(qty * 0.2)::int FROM demo.free_buy
 WHERE slot IN (1, 2, 9, 11) AND quiet AND qty >= 10 ORDER BY pick LIMIT 5;

-- The trials: one converted mid-term to 30 seats, one scheduled to convert
-- to 15 (R9.4), one switched off (it expires), one left to convert itself.
INSERT INTO demo.act VALUES
  (903, 'trial_convert',  '2025-01-27 15:00+00', 30),
  (922, 'schedule_qty',   '2025-01-27 15:00+00', 15),
  (933, 'autorenew_off',  '2025-01-20 12:00+00', NULL);

-- March: upgrades E3 -> E5, all licenses and half of them (R8.3); a transfer (R10)
INSERT INTO demo.act
SELECT n, 'upgrade_full', '2025-03-04 10:00+00', NULL FROM demo.free_buy
 WHERE slot = 1 AND sku = 'M365-E3' ORDER BY pick LIMIT 2;
INSERT INTO demo.act
SELECT n, 'upgrade_partial', '2025-03-05 10:00+00', qty / 2 FROM demo.free_buy
 WHERE slot = 1 AND sku = 'M365-E3' AND qty >= 20 ORDER BY pick LIMIT 2;
INSERT INTO demo.act
SELECT n, 'transfer', '2025-03-11 10:00+00', NULL FROM demo.free_buy b
  JOIN demo.cust c USING (c)
 WHERE slot = 1 AND quiet AND c.partner_id = 'tailspin' ORDER BY pick LIMIT 1;

-- April-May: suspensions (one with its Copilot add-on, R4.8), one reactivated
-- with auto-renew switched on again by hand (R6.2); the others expire.
INSERT INTO demo.act    -- n is the Copilot add-on; the action is on its base
SELECT n, k.kind, k.at::timestamptz, NULL
  FROM (SELECT n FROM demo.free_buy b JOIN demo.cust c USING (c)
         WHERE b.sku = 'COPILOT' AND c.partner_id = 'northwind-nl'
         ORDER BY pick LIMIT 1) s
 CROSS JOIN (VALUES ('suspend_base', '2025-04-07 09:30+00'), ('reactivate_base', '2025-05-06 09:30+00'),
                    ('autorenew_on', '2025-05-06 09:31+00')) AS k (kind, at);
INSERT INTO demo.act
SELECT n, 'suspend', '2025-04-07 09:30+00', NULL FROM demo.free_buy
 WHERE slot IN (8, 9, 11) AND quiet AND term = 'P1Y' ORDER BY pick LIMIT 2;

-- April: changes scheduled for the renewal (R7): seats up or down, one SKU upgrade
INSERT INTO demo.act
SELECT n, 'schedule_qty', '2025-04-14 11:00+00',
       CASE WHEN row_number() OVER (ORDER BY pick) % 2 = 1 THEN qty + 5 ELSE qty - ceil(qty * 0.2)::int END
  FROM (SELECT * FROM demo.free_buy WHERE slot IN (1, 9, 11) AND quiet AND term = 'P1Y'
                                      AND first_end < '2026-02-20'
         ORDER BY pick LIMIT 4) s;
INSERT INTO demo.act
SELECT n, 'schedule_sku', '2025-04-14 11:00+00', NULL FROM demo.free_buy
 WHERE slot IN (9, 11) AND sku = 'M365-E3' AND quiet AND first_end < '2026-02-20' ORDER BY pick LIMIT 1;
INSERT INTO demo.act
SELECT n, 'schedule_qty', '2025-04-14 11:00+00', qty + 3 FROM demo.free_buy
 WHERE slot = 2 AND quiet ORDER BY pick LIMIT 2;

-- May: auto-renew switched off; they expire at their term end (R6.5)
INSERT INTO demo.act
SELECT n, 'autorenew_off', '2025-05-12 16:00+00', NULL FROM demo.free_buy
 WHERE slot IN (2, 10) AND quiet ORDER BY pick LIMIT 3;
INSERT INTO demo.act
SELECT n, 'autorenew_off', '2025-05-12 16:00+00', NULL FROM demo.free_buy
 WHERE slot IN (8, 11) AND quiet AND term = 'P1Y' ORDER BY pick LIMIT 2;

-- September: a monthly-term subscription cancelled two days after its renewal
INSERT INTO demo.act
SELECT n, 'cancel', make_date(2025, 9, extract(day FROM at)::int) + 2 + time '14:00', NULL FROM demo.free_buy
 WHERE slot IN (2, 10) AND quiet AND NOT align AND extract(day FROM at) <= 28 ORDER BY pick LIMIT 1;

-- January-February 2026: in the new term's window, seats reduced and one cancelled
INSERT INTO demo.act
SELECT n, 'reduce', first_end + 3 + time '14:00', ceil(qty * 0.1)::int FROM demo.free_buy
 WHERE slot IN (1, 9, 11) AND quiet AND term = 'P1Y' AND first_end < '2026-02-20'
 ORDER BY pick LIMIT 3;
INSERT INTO demo.act
SELECT n, 'cancel', first_end + 2 + time '15:00', NULL FROM demo.free_buy
 WHERE slot IN (1, 9, 11) AND quiet AND term = 'P1Y' AND first_end BETWEEN '2026-01-31' AND '2026-02-20'
 ORDER BY pick LIMIT 1;

-- March-December: seat increases (R5.1), a few twice (year-end)
INSERT INTO demo.act
SELECT n, 'increase', date '2025-03-03' + floor(pick * 997)::int % 280 + time '10:30',
       1 + ceil(coalesce(qty, 10) * 0.15)::int
  FROM demo.free_buy
 WHERE slot IN (1, 2, 4, 8, 9, 10, 11) ORDER BY pick DESC LIMIT 18;
INSERT INTO demo.act
SELECT a.n, 'increase', date '2025-12-01' + a.n % 14 + time '10:30', a.qty
  FROM demo.act a WHERE a.kind = 'increase' ORDER BY a.n LIMIT 5;

------------------------------------------------------------------------------
-- The subscriptions the history created: n as in demo.buy, 1000 + n for a
-- partial upgrade, 2000 + n for a transfer, 3000 + n for a trial conversion.
------------------------------------------------------------------------------
CREATE TABLE demo.sub (n int PRIMARY KEY, subscription_id uuid NOT NULL UNIQUE, origin text NOT NULL);

-- The add-on ratios of each customer right now (R4.6, R4.7), as the engine counts them.
CREATE VIEW demo.addon_room AS
SELECT c.customer_id,
       coalesce(sum(s.quantity) FILTER (WHERE s.sku_id IN ('M365-E3', 'M365-E5')), 0) AS base,
       coalesce(sum(s.quantity) FILTER (WHERE s.sku_id = 'COPILOT'), 0) AS copilot,
       coalesce(sum(s.quantity) FILTER (WHERE s.sku_id = 'MULTIGEO'), 0) AS multigeo
  FROM demo.cust c
  LEFT JOIN csp.subscriptions s ON s.customer_id = c.customer_id AND s.status IN ('active', 'suspended')
 GROUP BY c.customer_id;

------------------------------------------------------------------------------
-- Statement templates, one per kind of action (ord: order within an instant)
------------------------------------------------------------------------------
CREATE TABLE demo.template (kind text PRIMARY KEY, ord int NOT NULL, stmt text NOT NULL);
INSERT INTO demo.template VALUES
('purchase', 10, $q$
INSERT INTO demo.sub (n, subscription_id, origin)
SELECT b.n, csp.purchase(customer_id => c.customer_id, sku_id => b.sku,
         quantity => coalesce(b.qty, ceil(0.1 * r.base)::int + 1),
         term => b.term, billing_frequency => b.freq,
         invoice_section_id => sec.invoice_section_id,
         coterminate_with => base.subscription_id,
         align_to_calendar_month => b.align,
         reseller_id => CASE WHEN b.sku <> 'M365-E3-TRIAL' THEN c.reseller_id END,
         additional_resellers => CASE WHEN b.sku <> 'M365-E3-TRIAL' THEN c.additional ELSE '{}' END),
       'purchase'
  FROM demo.buy b
  JOIN demo.cust c USING (c)
  JOIN demo.addon_room r ON r.customer_id = c.customer_id
  JOIN csp.partners p ON p.partner_id = c.partner_id
  LEFT JOIN csp.invoice_sections sec ON sec.billing_profile_id = p.billing_profile_id AND sec.name = c.section
  LEFT JOIN demo.buy bb ON bb.c = b.c AND bb.slot = b.coterm_slot
  LEFT JOIN demo.sub base ON base.n = bb.n
 WHERE b.at = csp.now()
 ORDER BY b.n$q$),
('cancel', 20, $q$
SELECT csp.cancel(subscription_id => d.subscription_id)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'cancel' AND a.at = csp.now() AND s.status = 'active' AND s.auto_renew
   AND (csp.now() <= s.cancellation_allowed_until OR s.sku_id = 'CONTOSO-SIGN')
 ORDER BY a.n$q$),
('reduce', 30, $q$
SELECT csp.change_quantity(subscription_id => d.subscription_id, quantity => s.quantity - a.qty)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
  JOIN demo.addon_room r ON r.customer_id = s.customer_id
 CROSS JOIN LATERAL (SELECT r.base - CASE WHEN s.sku_id IN ('M365-E3', 'M365-E5') THEN a.qty ELSE 0 END AS nb,
                            r.copilot - CASE WHEN s.sku_id = 'COPILOT' THEN a.qty ELSE 0 END AS nc,
                            r.multigeo - CASE WHEN s.sku_id = 'MULTIGEO' THEN a.qty ELSE 0 END AS nm) t
 WHERE a.kind = 'reduce' AND a.at = csp.now() AND s.status = 'active' AND s.quantity > a.qty
   AND (SELECT coalesce(sum(l.quantity), 0) FROM csp.reducible_licenses(subscription_id => d.subscription_id) l) >= a.qty
   AND (t.nc = 0 OR t.nc <= t.nb) AND (t.nm = 0 OR t.nm >= ceil(0.05 * t.nb))
 ORDER BY a.n$q$),
('increase', 40, $q$
SELECT csp.change_quantity(subscription_id => d.subscription_id, quantity => s.quantity + a.qty)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
  JOIN demo.addon_room r ON r.customer_id = s.customer_id
 CROSS JOIN LATERAL (SELECT r.base + CASE WHEN s.sku_id IN ('M365-E3', 'M365-E5') THEN a.qty ELSE 0 END AS nb,
                            r.copilot + CASE WHEN s.sku_id = 'COPILOT' THEN a.qty ELSE 0 END AS nc,
                            r.multigeo + CASE WHEN s.sku_id = 'MULTIGEO' THEN a.qty ELSE 0 END AS nm) t
 WHERE a.kind = 'increase' AND a.at = csp.now() AND s.status = 'active' AND NOT s.is_trial
   AND (t.nc = 0 OR t.nc <= t.nb) AND (t.nm = 0 OR t.nm >= ceil(0.05 * t.nb))
 ORDER BY a.n$q$),
('upgrade_full', 50, $q$
SELECT csp.upgrade(subscription_id => d.subscription_id, to_sku => 'M365-E5')
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'upgrade_full' AND a.at = csp.now() AND s.status = 'active' AND s.sku_id = 'M365-E3'
 ORDER BY a.n$q$),
('upgrade_partial', 51, $q$
INSERT INTO demo.sub (n, subscription_id, origin)
SELECT 1000 + a.n, csp.upgrade(subscription_id => d.subscription_id, to_sku => 'M365-E5', quantity => a.qty),
       'partial upgrade of #' || a.n
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'upgrade_partial' AND a.at = csp.now() AND s.status = 'active' AND s.sku_id = 'M365-E3'
   AND s.quantity > a.qty
 ORDER BY a.n$q$),
('transfer', 52, $q$
INSERT INTO demo.sub (n, subscription_id, origin)
SELECT 2000 + a.n, csp.transfer(subscription_id => d.subscription_id, to_partner_id => 'northwind-nl'),
       'transfer of #' || a.n
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'transfer' AND a.at = csp.now() AND s.status = 'active'
 ORDER BY a.n$q$),
('trial_convert', 53, $q$
INSERT INTO demo.sub (n, subscription_id, origin)
SELECT 3000 + a.n, csp.convert_trial(subscription_id => d.subscription_id, quantity => a.qty,
                                     term => 'P1Y', billing_frequency => 'monthly'),
       'conversion of trial #' || a.n
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'trial_convert' AND a.at = csp.now() AND s.status = 'active' AND s.is_trial
 ORDER BY a.n$q$),
('suspend', 60, $q$
SELECT csp.suspend(subscription_id => d.subscription_id)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'suspend' AND a.at = csp.now() AND s.status = 'active'
 ORDER BY a.n$q$),
('suspend_base', 60, $q$
SELECT csp.suspend(subscription_id => x.parent_subscription_id)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions x USING (subscription_id)
  JOIN csp.subscriptions s ON s.subscription_id = x.parent_subscription_id
 WHERE a.kind = 'suspend_base' AND a.at = csp.now() AND s.status = 'active'
 ORDER BY a.n$q$),
('reactivate_base', 61, $q$
SELECT csp.reactivate(subscription_id => x.parent_subscription_id)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions x USING (subscription_id)
  JOIN csp.subscriptions s ON s.subscription_id = x.parent_subscription_id
 WHERE a.kind = 'reactivate_base' AND a.at = csp.now() AND s.status = 'suspended'
 ORDER BY a.n$q$),
('autorenew_on', 62, $q$
SELECT csp.set_auto_renew(subscription_id => s.subscription_id, enabled => true)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions x USING (subscription_id)
  JOIN csp.subscriptions s ON x.parent_subscription_id IN (s.subscription_id, s.parent_subscription_id)
 WHERE a.kind = 'autorenew_on' AND a.at = csp.now() AND s.status = 'active' AND NOT s.auto_renew
 ORDER BY a.n, s.sku_id, s.quantity$q$),
('autorenew_off', 63, $q$
SELECT csp.set_auto_renew(subscription_id => d.subscription_id, enabled => false)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'autorenew_off' AND a.at = csp.now() AND s.status = 'active' AND s.auto_renew
 ORDER BY a.n$q$),
('schedule_qty', 70, $q$
SELECT csp.schedule_change(subscription_id => d.subscription_id, quantity => a.qty)
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'schedule_qty' AND a.at = csp.now() AND s.status = 'active' AND s.auto_renew
 ORDER BY a.n$q$),
('schedule_sku', 71, $q$
SELECT csp.schedule_change(subscription_id => d.subscription_id, sku_id => 'M365-E5')
  FROM demo.act a JOIN demo.sub d USING (n) JOIN csp.subscriptions s USING (subscription_id)
 WHERE a.kind = 'schedule_sku' AND a.at = csp.now() AND s.status = 'active' AND s.auto_renew
 ORDER BY a.n$q$);

------------------------------------------------------------------------------
-- Usage, payments and the other money events (literal statements)
------------------------------------------------------------------------------
CREATE TABLE demo.misc (at timestamptz NOT NULL, ord int NOT NULL, stmt text NOT NULL);

-- R11.3: Azure usage in USD, two meters, recorded on the last day of each month.
INSERT INTO demo.misc
SELECT (date_trunc('month', m) + interval '1 month - 1 day')::date + time '20:00', 80, $q$
SELECT csp.record_usage(subscription_id => d.subscription_id, usage_date => csp.utc_date(csp.now()),
         meter_id => m.meter_id, currency => 'USD', unit_price => m.unit_price,
         quantity => CASE m.meter_id
                       WHEN 'compute-d4s-v5-hours' THEN (d.n * 7919 + k.k::bigint * 104729) % 700 + 50
                       ELSE ((d.n * 31 + k.k * 17) % 400 + 100) / 10.0 END)
  FROM demo.sub d JOIN csp.subscriptions s USING (subscription_id)
 CROSS JOIN (SELECT (extract(year FROM csp.now()) * 12 + extract(month FROM csp.now()))::int AS k) k
 CROSS JOIN (VALUES ('compute-d4s-v5-hours', 0.192), ('storage-premium-p10-gb', 1.536)) AS m (meter_id, unit_price)
 WHERE s.sku_id = 'AZURE-PLAN' AND s.status IN ('active', 'suspended')
 ORDER BY d.n, m.meter_id$q$
  FROM generate_series(date '2025-01-01', date '2026-02-01', interval '1 month') AS m;

-- R11.5: one usage line of September arrives late and lands on the next invoice.
INSERT INTO demo.misc VALUES ('2025-10-03 11:00+00', 81, $q$
SELECT csp.record_usage(subscription_id => d.subscription_id, usage_date => date '2025-09-28',
         meter_id => 'compute-d4s-v5-hours', quantity => 42, unit_price => 0.192, currency => 'USD')
  FROM demo.sub d JOIN csp.subscriptions s USING (subscription_id)
 WHERE s.sku_id = 'AZURE-PLAN' AND s.status = 'active'
 ORDER BY d.n LIMIT 1$q$);

-- Invoices held back from the regular payment run, until a date.
CREATE TABLE demo.hold (pkey text, period_start date, hold_until date, why text);
INSERT INTO demo.hold VALUES
  ('nce',    '2025-05-01', '2025-07-16', 'paid without remittance, allocated in July'),
  ('legacy', '2025-09-12', '2025-11-01', 'partial payment in October'),
  ('se',     '2025-10-01', 'infinity',   'left unpaid: overdue'),
  ('se',     '2026-01-01', 'infinity',   'partial payment'),
  ('legacy', '2026-01-12', 'infinity',   'not paid yet');

-- R14.4: on the 20th every profile pays what is due, one payment with remittance
-- naming each invoice and amount.
INSERT INTO demo.misc
SELECT m + interval '19 days 15 hours', 90, $q$
SELECT csp.record_payment(billing_profile_id => o.billing_profile_id, currency => o.currency,
         amount => sum(o.amount_due),
         remittance => jsonb_agg(jsonb_build_object('invoice', o.invoice_number, 'amount', o.amount_due)
                                 ORDER BY o.invoice_number),
         reference => 'REMIT ' || p.pkey || ' ' || to_char(csp.now(), 'YYYY-MM-DD'))
  FROM csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE o.amount_due > 0
   AND NOT EXISTS (SELECT 1 FROM demo.hold h
                    WHERE h.pkey = p.pkey AND h.period_start = o.period_start
                      AND csp.utc_date(csp.now()) < h.hold_until)
 GROUP BY o.billing_profile_id, o.currency, p.pkey
 ORDER BY o.billing_profile_id, o.currency$q$
  FROM generate_series(timestamptz '2025-01-01', '2026-02-01', interval '1 month') AS m;

CREATE TABLE demo.pay (tag text PRIMARY KEY, payment_id bigint NOT NULL);
INSERT INTO demo.misc VALUES
-- R14.3: a payment without remittance stays unallocated ...
('2025-06-20 16:00+00', 91, $q$
INSERT INTO demo.pay
SELECT 'nce-2025-06', csp.record_payment(billing_profile_id => o.billing_profile_id, amount => o.amount_due,
         currency => o.currency, method => 'bank_transfer', reference => 'NORTHWIND 20250620')
  FROM csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE p.pkey = 'nce' AND o.period_start = '2025-05-01' AND o.document_type = 'invoice'$q$),
-- ... until it is allocated on request
('2025-07-15 10:00+00', 92, $q$
SELECT csp.allocate_payment(payment_id => y.payment_id, invoice_number => o.invoice_number, amount => o.amount_due)
  FROM demo.pay y, csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE y.tag = 'nce-2025-06' AND p.pkey = 'nce' AND o.period_start = '2025-05-01' AND o.amount_due > 0$q$),
-- R14.7: a credit note pays the most recent invoice with an amount due
('2025-08-05 10:00+00', 93, $q$
SELECT csp.apply_credit_note(billing_profile_id => p.billing_profile_id, amount => 2500.00, currency => 'SEK',
         reference => 'Partner incentive 2025-Q2')
  FROM demo.profile p WHERE p.pkey = 'se'$q$),
-- R13.4: the July invoice (already paid) is voided and rebilled with a corrected PO number
('2025-09-10 10:00+00', 94, $q$
SELECT csp.void_and_rebill(invoice_number => o.invoice_number, po_number => 'PO-NW-2025-117')
  FROM csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE p.pkey = 'nce' AND o.period_start = '2025-07-01' AND o.document_type = 'invoice'$q$),
-- R14.4: partial payments, quoting the invoice
('2025-10-20 16:00+00', 95, $q$
SELECT csp.record_payment(billing_profile_id => o.billing_profile_id, currency => o.currency,
         amount => round(o.amount_due * 0.6, 2),
         remittance => jsonb_build_array(jsonb_build_object('invoice', o.invoice_number,
                                                            'amount', round(o.amount_due * 0.6, 2))),
         reference => 'TAILSPIN PART 1')
  FROM csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE p.pkey = 'legacy' AND o.period_start = '2025-09-12' AND o.amount_due > 0$q$),
('2026-02-20 16:00+00', 96, $q$
SELECT csp.record_payment(billing_profile_id => o.billing_profile_id, currency => o.currency,
         amount => round(o.amount_due * 0.5, 2),
         remittance => jsonb_build_array(o.invoice_number),
         reference => 'NORDICS PART 1')
  FROM csp.billing_overview o JOIN demo.profile p USING (billing_profile_id)
 WHERE p.pkey = 'se' AND o.period_start = '2026-01-01' AND o.amount_due > 0$q$),
-- a payment nobody can place: it stays unallocated to the end
('2025-12-22 11:00+00', 97, $q$
SELECT csp.record_payment(billing_profile_id => p.billing_profile_id, amount => 1234.56, currency => 'EUR',
         reference => 'UNMATCHED 2025-12-22')
  FROM demo.profile p WHERE p.pkey = 'legacy'$q$);

------------------------------------------------------------------------------
-- The stream: daily jobs at 00:05 UTC, then the day's events
------------------------------------------------------------------------------
CREATE TABLE demo.stream AS
WITH ev AS (
    SELECT d + time '00:05' AS at, j.ord, j.stmt
      FROM generate_series(date '2025-01-01', date '2026-02-28', interval '1 day') AS d
     CROSS JOIN (SELECT 1 AS ord, 'SELECT csp.tick()' AS stmt) AS j
    UNION ALL
    SELECT b.at, t.ord, t.stmt FROM (SELECT DISTINCT at FROM demo.buy) b
      JOIN demo.template t ON t.kind = 'purchase'
    UNION ALL
    SELECT a.at, t.ord, t.stmt FROM (SELECT DISTINCT at, kind FROM demo.act) a
      JOIN demo.template t USING (kind)
    UNION ALL
    SELECT at, ord, stmt FROM demo.misc
)
SELECT at, ord, stmt FROM ev
UNION ALL
SELECT DISTINCT at, 0, format('SET csp.clock = %L', to_char(at, 'YYYY-MM-DD HH24:MI:SS+00')) FROM ev;
