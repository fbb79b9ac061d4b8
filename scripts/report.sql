-- The billing history at a glance (issue 14 item 3): one self-contained HTML
-- page, plain HTML and inline SVG, printed to stdout by psql.  Run by
-- scripts/report.sh (make demo writes demo/report.html); by hand:
--
--   psql -X -q -At -v ON_ERROR_STOP=1 -v as_of='2026-02-28 20:00+00' -f scripts/report.sql > report.html
--
-- Presentation only: every figure is read from the public views
-- (csp.billing_overview, csp.account_balance, csp.unallocated_payments,
-- csp.billing_profiles, csp.line_items, csp.unbilled_charges) and the
-- catalog's product names; nothing is computed here that the views do not
-- already say, and nothing is written (it also runs on a standby).  Any role
-- that reads the views and csp.product is enough (csp_reader).
--
-- Rules kept by the page:
--   * Money is printed as the exact numeric text of the view (to_char with as
--     many decimals as the value's scale, so nothing is rounded); only the
--     SVG geometry (bar heights, point positions) uses float arithmetic.
--   * "Today" is csp.utc_date(csp.now()), the views' own notion of today
--     (status overdue, account_balance.overdue); as_of pins csp.clock for
--     this session so that a replayed or demo history is reported as of its
--     own day, never the wall clock.
--   * Every text from the database (profile and product names, payment
--     references) is HTML-escaped; amounts, dates and codes are formatted
--     here.  No script, no link, no font or style sheet from elsewhere.
--   * Deterministic: every aggregate is ordered, so the same history gives
--     the same bytes.
--
-- psql variables: as_of (optional) -- an instant for csp.clock; empty or
-- absent: csp.now() as the session has it (real time unless csp.clock is set
-- for the database or role).

\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
SET TimeZone = 'UTC';
-- to_char's G and D: ',' and '.' whatever the server's locale
SET lc_numeric = 'C';
SET client_min_messages = warning;

\if :{?as_of}
\else
\set as_of ''
\endif
SELECT :'as_of' <> '' AS pin_clock \gset
\if :pin_clock
SET csp.clock = :'as_of';
\endif
SELECT csp.utc_date(csp.now()) AS today \gset

-- Head: the page's own style sheet; system fonts only (DejaVu Sans on a bare
-- Debian server, fonts-dejavu-core).
SELECT format($html$<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Billing report: %1$s as of %2$s</title>
<style>
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1d2733; margin: 24px 40px; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px 0; }
h2 { font-size: 18px; margin: 28px 0 8px 0; padding-bottom: 4px; border-bottom: 2px solid #d5dbe3; }
h3 { font-size: 14px; margin: 12px 0 2px 0; }
p.meta, p.note { color: #4f5d6b; margin: 4px 0 8px 0; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7ec; text-align: left; }
th { background: #f2f4f7; font-weight: bold; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; }
svg text { font-family: "DejaVu Sans", Arial, sans-serif; fill: #1d2733; }
svg .axis { stroke: #8a96a3; stroke-width: 1; }
svg .grid { stroke: #e3e7ec; stroke-width: 1; }
svg .tick { font-size: 10px; fill: #4f5d6b; }
svg .label { font-size: 10px; }
.seats { display: grid; grid-template-columns: repeat(3, 380px); gap: 8px 20px; }
.seats h3 { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
</style>
</head>
<body>
<h1>The billing history at a glance</h1>
<p class="meta">Database <strong>%1$s</strong>, as of <strong>%2$s</strong> (UTC, csp.now()). Made by scripts/report.sql from the views of csp_billing; amounts are exact, in each document's billing currency.</p>$html$,
    replace(replace(replace(replace(replace(current_database(),
        '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;'),
    :'today');

-- 1. Revenue by month and currency (R13): Σ total of every document of the
-- billing periods starting in that month -- invoices, void notes (negative)
-- and rebills, so a voided and rebilled period counts once, as rebilled.
-- One panel per currency, each on its own scale (amounts in different
-- currencies are not comparable); the months are those of all panels.
WITH docs AS (
    SELECT date_trunc('month', period_start)::date AS month, currency, sum(total) AS revenue
      FROM csp.billing_overview
     GROUP BY 1, 2
), months AS (
    SELECT m::date AS month, (row_number() OVER (ORDER BY m) - 1)::int AS i, count(*) OVER () AS n
      FROM generate_series((SELECT min(month) FROM docs), (SELECT max(month) FROM docs), interval '1 month') m
), cur AS (
    SELECT currency, row_number() OVER (ORDER BY currency) AS k,
           least(min(revenue), 0) AS lo, greatest(max(revenue), 0) AS hi
      FROM docs
     GROUP BY currency
), step AS (
    -- a round axis step (1, 2 or 5 times a power of ten), about four per panel
    SELECT c.*, r.raw, m.mag,
           m.mag * CASE WHEN r.raw / m.mag <= 1 THEN 1 WHEN r.raw / m.mag <= 2 THEN 2
                        WHEN r.raw / m.mag <= 5 THEN 5 ELSE 10 END AS step
      FROM cur c
     CROSS JOIN LATERAL (SELECT greatest((c.hi - c.lo) / 4, 1) AS raw) r
     CROSS JOIN LATERAL (SELECT power(10::numeric, floor(log(r.raw))) AS mag) m
), scale AS (
    SELECT s.currency, s.k, trim_scale(s.step) AS step,
           trim_scale(floor(s.lo / s.step) * s.step) AS bottom,
           -- at least one step high: a currency whose months all total 0
           trim_scale(greatest(ceil(s.hi / s.step), floor(s.lo / s.step) + 1) * s.step) AS top,
           (ARRAY['#2f6db5', '#d9822b', '#3a9a5b', '#a34ca3', '#c0392b', '#6b7b8c'])[1 + (s.k - 1) % 6] AS colour
      FROM step s
), geo AS (
    -- plot area: x 100..1160, y 30..200 (SVG 1180 x 240)
    SELECT 100.0::float8 AS x0, 1160.0::float8 AS x1, 30.0::float8 AS y0, 200.0::float8 AS y1
), panel AS (
    SELECT s.currency, s.k,
           format('<h3>%s</h3>' || E'\n'
                  || '<svg class="chart revenue" data-currency="%s" width="1180" height="240" viewBox="0 0 1180 240" role="img" aria-label="Revenue by month in %s">' || E'\n'
                  || '%s%s%s%s</svg>',
                  s.currency, s.currency, s.currency,
                  -- grid lines and their amounts
                  (SELECT string_agg(format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>' || E'\n',
                                            g.x0, y, g.x1, y, g.x0 - 6, round((y + 3.5)::numeric, 1),
                                            to_char(t, 'FM999G999G999G999G999G990' || CASE WHEN scale(t) > 0 THEN 'D' || repeat('0', scale(t)) ELSE '' END)),
                                     '' ORDER BY t)
                     FROM generate_series(s.bottom, s.top, s.step) t
                    CROSS JOIN LATERAL (SELECT round((g.y1 - (t - s.bottom)::float8 / (s.top - s.bottom)::float8 * (g.y1 - g.y0))::numeric, 1) AS y) yy),
                  -- the bars, each with its exact amount above (or below, if negative)
                  (SELECT string_agg(format('<rect class="bar" data-currency="%s" data-month="%s" data-amount="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %s</title></rect>'
                                            || '<text class="label amount" x="%s" y="%s" text-anchor="middle">%s</text>' || E'\n',
                                            s.currency, to_char(m.month, 'YYYY-MM'), d.revenue,
                                            round(bx::numeric, 1), round(least(yv, yz)::numeric, 1),
                                            round(bw::numeric, 1), round(abs(yz - yv)::numeric, 1), s.colour,
                                            s.currency, to_char(m.month, 'YYYY-MM'), lbl,
                                            round((bx + bw / 2)::numeric, 1),
                                            round((CASE WHEN d.revenue >= 0 THEN yv - 4 ELSE yv + 11 END)::numeric, 1), lbl),
                                     '' ORDER BY m.month)
                     FROM docs d
                     JOIN months m ON m.month = d.month
                    CROSS JOIN LATERAL (SELECT (g.x1 - g.x0) / m.n AS slot) sl
                    CROSS JOIN LATERAL (SELECT g.x0 + m.i * sl.slot + sl.slot * 0.12 AS bx, sl.slot * 0.76 AS bw,
                                               g.y1 - (d.revenue - s.bottom)::float8 / (s.top - s.bottom)::float8 * (g.y1 - g.y0) AS yv,
                                               g.y1 - (0 - s.bottom)::float8 / (s.top - s.bottom)::float8 * (g.y1 - g.y0) AS yz,
                                               to_char(d.revenue, 'FM999G999G999G999G999G990'
                                                       || CASE WHEN scale(d.revenue) > 0 THEN 'D' || repeat('0', scale(d.revenue)) ELSE '' END) AS lbl) b
                    WHERE d.currency = s.currency),
                  -- the month axis
                  (SELECT string_agg(format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>' || E'\n',
                                            round((g.x0 + (m.i + 0.5) * (g.x1 - g.x0) / m.n)::numeric, 1), g.y1 + 16,
                                            to_char(m.month, 'YYYY-MM')),
                                     '' ORDER BY m.month)
                     FROM months m),
                  format('<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>' || E'\n', g.x0,
                         round((g.y1 - (0 - s.bottom)::float8 / (s.top - s.bottom)::float8 * (g.y1 - g.y0))::numeric, 1),
                         g.x1, round((g.y1 - (0 - s.bottom)::float8 / (s.top - s.bottom)::float8 * (g.y1 - g.y0))::numeric, 1))) AS html
      FROM scale s, geo g
)
SELECT '<h2>Revenue by month and currency</h2>' || E'\n'
       || '<p class="note">Σ total of the invoices, void notes and rebills of each billing period, by the month the period starts (csp.billing_overview); a voided and rebilled period counts once. Each currency on its own scale.</p>' || E'\n'
       || coalesce((SELECT string_agg(html, E'\n' ORDER BY k) FROM panel), '<p class="note">No invoices yet.</p>')
       || coalesce((SELECT E'\n<p class="note">Not billed yet (csp.unbilled_charges): '
                           || string_agg(currency || ' ' || to_char(amount, 'FM999G999G999G999G999G990'
                                         || CASE WHEN scale(amount) > 0 THEN 'D' || repeat('0', scale(amount)) ELSE '' END), ', ' ORDER BY currency)
                           || '.</p>'
                      FROM (SELECT currency, sum(amount) AS amount FROM csp.unbilled_charges GROUP BY currency) u), '');

-- 2. Invoice status and aging of amounts due (R13.3, R14.2).  Status as the
-- view says (overdue: past the due date with an amount due).  Aging: the
-- amount due of each document by the days since its invoice date as of
-- today -- 0-30, 31-60, more than 60 (due 60 days after the invoice date:
-- the last bucket is what is past due).
WITH st(status, ord, colour) AS (
    VALUES ('unpaid', 1, '#2f6db5'), ('partially_paid', 2, '#d9822b'), ('overdue', 3, '#c0392b'),
           ('paid', 4, '#3a9a5b'), ('void', 5, '#8a96a3')
), counts AS (
    SELECT st.status, st.ord, st.colour, count(o.invoice_number) AS n
      FROM st
      LEFT JOIN csp.billing_overview o ON o.status = st.status
     GROUP BY st.status, st.ord, st.colour
), maxn AS (
    SELECT greatest(max(n), 1) AS m FROM counts
), aged AS (
    SELECT o.currency,
           csp.round_money(coalesce(sum(o.amount_due) FILTER (WHERE :'today'::date - o.invoice_date <= 30), 0), o.currency) AS b0,
           csp.round_money(coalesce(sum(o.amount_due) FILTER (WHERE :'today'::date - o.invoice_date BETWEEN 31 AND 60), 0), o.currency) AS b1,
           csp.round_money(coalesce(sum(o.amount_due) FILTER (WHERE :'today'::date - o.invoice_date > 60), 0), o.currency) AS b2,
           csp.round_money(coalesce(sum(o.amount_due), 0), o.currency) AS due
      FROM csp.billing_overview o
     GROUP BY o.currency
), aged_row AS (
    SELECT a.currency,
           format('<tr><td>%s</td>%s<td class="num due" data-currency="%s" data-bucket="total">%s</td><td>%s</td></tr>',
                  a.currency,
                  (SELECT string_agg(format('<td class="num due" data-currency="%s" data-bucket="%s">%s</td>', a.currency, b.bucket,
                                            to_char(b.v, 'FM999G999G999G999G999G990' || CASE WHEN scale(b.v) > 0 THEN 'D' || repeat('0', scale(b.v)) ELSE '' END)),
                                     '' ORDER BY b.ord)
                     FROM (VALUES (1, '0-30', a.b0), (2, '31-60', a.b1), (3, '60+', a.b2)) b(ord, bucket, v)),
                  a.currency,
                  to_char(a.due, 'FM999G999G999G999G999G990' || CASE WHEN scale(a.due) > 0 THEN 'D' || repeat('0', scale(a.due)) ELSE '' END),
                  -- a stacked bar of the three buckets, 300 px for the amount due
                  CASE WHEN a.due > 0 THEN
                      format('<svg class="aging" width="300" height="14" viewBox="0 0 300 14"><rect x="0" y="1" width="%s" height="12" fill="#2f6db5"/><rect x="%s" y="1" width="%s" height="12" fill="#d9822b"/><rect x="%s" y="1" width="%s" height="12" fill="#c0392b"/></svg>',
                             round((a.b0 / a.due * 300)::numeric, 1),
                             round((a.b0 / a.due * 300)::numeric, 1), round((a.b1 / a.due * 300)::numeric, 1),
                             round(((a.b0 + a.b1) / a.due * 300)::numeric, 1), round((a.b2 / a.due * 300)::numeric, 1))
                  ELSE '' END) AS html
      FROM aged a
)
SELECT '<h2>Invoice status and aging of amounts due</h2>' || E'\n'
       || format('<p class="note">Documents by status as of %s (csp.billing_overview).</p>', :'today') || E'\n'
       || '<svg class="chart status" width="1180" height="' || (SELECT 10 + 26 * count(*) FROM counts) || '" viewBox="0 0 1180 '
       || (SELECT 10 + 26 * count(*) FROM counts) || '" role="img" aria-label="Documents by status">' || E'\n'
       || (SELECT string_agg(format('<text x="150" y="%s" text-anchor="end">%s</text><rect class="status-bar" data-status="%s" data-count="%s" x="160" y="%s" width="%s" height="18" fill="%s"/><text class="label" x="%s" y="%s">%s</text>' || E'\n',
                                    26 * (c.ord - 1) + 23, c.status, c.status, c.n, 26 * (c.ord - 1) + 9,
                                    round((c.n::float8 / x.m * 900)::numeric, 1), c.colour,
                                    round((166 + c.n::float8 / x.m * 900)::numeric, 1), 26 * (c.ord - 1) + 22, c.n),
                             '' ORDER BY c.ord)
             FROM counts c, maxn x)
       || '</svg>' || E'\n'
       || format('<p class="note">Amount due by days since the invoice date, as of %s; payment is due 60 days after the invoice date, so the last column is past due (R13.3). The amounts due sum to the balance (csp.account_balance, R14.2); unallocated payments do not reduce them (R14.3).</p>', :'today') || E'\n'
       || '<table class="aging"><tr><th>Currency</th><th class="num">0–30 days</th><th class="num">31–60 days</th><th class="num">60+ days (past due)</th><th class="num">Amount due</th><th>0–30 / 31–60 / 60+</th></tr>' || E'\n'
       || coalesce((SELECT string_agg(html, E'\n' ORDER BY currency) FROM aged_row), '<tr><td colspan="6">No documents yet.</td></tr>')
       || E'\n</table>';

-- 3. Unallocated payments (R14.3): what was received and not yet placed on
-- an invoice, to allocate with csp.allocate_payment.
WITH p AS (
    SELECT u.payment_id, u.billing_profile_id, u.received_at, u.currency, u.amount, u.allocated, u.unallocated,
           e.profile, e.method, e.reference
      FROM csp.unallocated_payments u
      LEFT JOIN csp.billing_profiles b ON b.billing_profile_id = u.billing_profile_id
     CROSS JOIN LATERAL (
         SELECT replace(replace(replace(replace(replace(coalesce(b.name, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') AS profile,
                replace(replace(replace(replace(replace(coalesce(u.method, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') AS method,
                replace(replace(replace(replace(replace(coalesce(u.reference, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') AS reference) e
)
SELECT '<h2>Unallocated payments</h2>' || E'\n'
       || '<p class="note">Payments and credit notes not (fully) allocated to invoices (csp.unallocated_payments); they do not reduce any amount due until allocated (R14.3).</p>' || E'\n'
       || coalesce((SELECT '<table class="unallocated"><tr><th class="num">Payment</th><th>Billing profile</th><th>Received (UTC)</th><th>Method</th><th>Reference</th><th>Currency</th><th class="num">Amount</th><th class="num">Allocated</th><th class="num">Unallocated</th></tr>' || E'\n'
                           || string_agg(format('<tr class="payment"><td class="num">%s</td><td>%s (%s)</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num unallocated" data-currency="%s">%s</td></tr>',
                                                payment_id, profile, billing_profile_id, to_char(received_at, 'YYYY-MM-DD HH24:MI'),
                                                method, reference, currency,
                                                to_char(amount, 'FM999G999G999G999G999G990' || CASE WHEN scale(amount) > 0 THEN 'D' || repeat('0', scale(amount)) ELSE '' END),
                                                to_char(allocated, 'FM999G999G999G999G999G990' || CASE WHEN scale(allocated) > 0 THEN 'D' || repeat('0', scale(allocated)) ELSE '' END),
                                                currency,
                                                to_char(unallocated, 'FM999G999G999G999G999G990' || CASE WHEN scale(unallocated) > 0 THEN 'D' || repeat('0', scale(unallocated)) ELSE '' END)),
                                         E'\n' ORDER BY received_at, payment_id)
                           || E'\n</table>'
                      FROM p),
                   '<p class="note">None: every payment is allocated.</p>');

-- 4. Seats by product over time (R5, R11): the licenses charged for the
-- last day of each month (today for the current month), i.e. Σ quantity of
-- the ledger lines whose charged days cover that day -- new, renewals and
-- cycle charges count their seats, seat changes and refunds their signed
-- delta.  Usage lines are not seats.  One small line chart per product on
-- its own scale.
WITH lic AS (
    SELECT sku_id, charge_start, charge_end, quantity
      FROM csp.line_items
     WHERE charge_type <> 'usage'
), months AS (
    SELECT m::date AS month, least((m + interval '1 month' - interval '1 day')::date, :'today'::date) AS day,
           (row_number() OVER (ORDER BY m) - 1)::int AS i, count(*) OVER () AS n
      FROM generate_series(date_trunc('month', (SELECT min(charge_start) FROM lic)),
                           date_trunc('month', :'today'::date), interval '1 month') m
), seats AS (
    SELECT s.sku_id, m.month, m.i, m.n,
           (SELECT coalesce(sum(l.quantity), 0) FROM lic l
             WHERE l.sku_id = s.sku_id AND m.day BETWEEN l.charge_start AND l.charge_end) AS seats
      FROM (SELECT DISTINCT sku_id FROM lic) s, months m
), prod AS (
    SELECT s.sku_id, row_number() OVER (ORDER BY s.sku_id) AS k, greatest(max(s.seats), 1) AS hi,
           replace(replace(replace(replace(replace(coalesce(p.name, s.sku_id), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') AS name,
           replace(replace(replace(replace(replace(s.sku_id, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;') AS sku
      FROM seats s
      LEFT JOIN csp.product p ON p.sku_id = s.sku_id
     GROUP BY s.sku_id, p.name
), scale AS (
    -- the axis top: the maximum rounded up to 1, 2 or 5 times a power of ten
    SELECT p.*, trim_scale(m.mag * CASE WHEN p.hi / m.mag <= 1 THEN 1 WHEN p.hi / m.mag <= 2 THEN 2
                                        WHEN p.hi / m.mag <= 5 THEN 5 ELSE 10 END) AS top
      FROM prod p
     CROSS JOIN LATERAL (SELECT power(10::numeric, floor(log(p.hi::numeric))) AS mag) m
), geo AS (
    -- plot area: x 50..360, y 12..150 (SVG 380 x 190)
    SELECT 50.0::float8 AS x0, 360.0::float8 AS x1, 12.0::float8 AS y0, 150.0::float8 AS y1
), pt AS (
    SELECT s.sku_id, s.month, s.i, s.n, s.seats,
           round((g.x0 + (s.i + 0.5) * (g.x1 - g.x0) / s.n)::numeric, 1) AS x,
           round((g.y1 - s.seats::float8 / c.top::float8 * (g.y1 - g.y0))::numeric, 1) AS y
      FROM seats s JOIN scale c USING (sku_id), geo g
), panel AS (
    SELECT c.k,
           format('<div><h3 title="%s">%s</h3>' || E'\n'
                  || '<svg class="chart seats-chart" data-sku="%s" width="380" height="190" viewBox="0 0 380 190" role="img" aria-label="Seats of %s by month">' || E'\n'
                  || '<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>' || E'\n'
                  || '<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>' || E'\n'
                  || '<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/><text class="tick" x="%s" y="%s" text-anchor="end">0</text>' || E'\n'
                  || '<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>' || E'\n'
                  || '<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' || E'\n'
                  || '%s%s<text class="label" x="%s" y="%s" text-anchor="end">%s seats</text>' || E'\n'
                  || '</svg></div>',
                  c.sku, c.name, c.sku, c.name,
                  g.x0, g.y0, g.x1, g.y0, g.x0 - 4, g.y0 + 3.5, to_char(c.top, 'FM999G999G999G990'),
                  g.x0, (g.y0 + g.y1) / 2, g.x1, (g.y0 + g.y1) / 2, g.x0 - 4, (g.y0 + g.y1) / 2 + 3.5,
                  to_char(trim_scale(c.top / 2), 'FM999G999G999G990' || CASE WHEN scale(trim_scale(c.top / 2)) > 0 THEN 'D' || repeat('0', scale(trim_scale(c.top / 2))) ELSE '' END),
                  g.x0, g.y1, g.x1, g.y1, g.x0 - 4, g.y1 + 3.5,
                  (g.x0 + g.x1) / 2, g.y1 + 16, c.sku,
                  colour,
                  (SELECT string_agg(x || ',' || y, ' ' ORDER BY i) FROM pt WHERE pt.sku_id = c.sku_id),
                  (SELECT string_agg(format('<circle class="point" data-sku="%s" data-month="%s" data-seats="%s" cx="%s" cy="%s" r="2.5" fill="%s"><title>%s %s: %s seats</title></circle>' || E'\n',
                                            c.sku, to_char(month, 'YYYY-MM'), seats, x, y, colour, c.sku, to_char(month, 'YYYY-MM'), seats),
                                     '' ORDER BY i)
                     FROM pt WHERE pt.sku_id = c.sku_id),
                  -- first and last month under the axis
                  (SELECT string_agg(format('<text class="tick" x="%s" y="%s" text-anchor="%s">%s</text>',
                                            x, g.y1 + 16, CASE WHEN i = 0 THEN 'start' ELSE 'end' END, to_char(month, 'YYYY-MM')),
                                     '' ORDER BY i)
                     FROM pt WHERE pt.sku_id = c.sku_id AND (i = 0 OR i = n - 1)),
                  g.x1, g.y0 + 14,
                  (SELECT to_char(seats, 'FM999G999G999G990') FROM pt WHERE pt.sku_id = c.sku_id AND i = n - 1)) AS html
      FROM scale c, geo g
     CROSS JOIN LATERAL (SELECT (ARRAY['#2f6db5', '#d9822b', '#3a9a5b', '#a34ca3', '#c0392b', '#6b7b8c'])[1 + (c.k - 1) % 6] AS colour) pc
)
SELECT '<h2>Seats by product over time</h2>' || E'\n'
       || format('<p class="note">Licenses charged for the last day of each month (for the current month: %s), from the ledger lines covering that day (csp.line_items, usage excluded). Each product on its own scale; the last figure is the seats in force today.</p>', :'today') || E'\n'
       || coalesce('<div class="seats">' || E'\n' || (SELECT string_agg(html, E'\n' ORDER BY k) FROM panel) || E'\n</div>',
                   '<p class="note">No licenses charged yet.</p>')
       || E'\n</body>\n</html>';
