-- One month of the history (included by demo.sql with :m0, :m1 and :title set):
-- the heading, every statement of demo.stream in [m0, m1) run with \gexec
-- (their results go to /dev/null), then one line of counts for the month.
\echo :title
\o /dev/null
SELECT stmt FROM demo.stream
 WHERE at >= :'m0'::timestamptz AND at < :'m1'::timestamptz
 ORDER BY at, ord, stmt \gexec
\o
SELECT format('   %s  subscriptions: %s active, %s suspended, %s ended | lines posted: %s | invoices made: %s%s | payments and credit notes: %s',
              to_char(:'m0'::date, 'YYYY-MM'), s.active, s.suspended, s.ended, l.lines, i.docs,
              coalesce(' (' || i.amounts || ')', ''), p.payments)
  FROM (SELECT count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE status = 'suspended') AS suspended,
               count(*) FILTER (WHERE status IN ('cancelled', 'expired')) AS ended
          FROM csp.subscriptions) s,
       (SELECT count(*) AS lines FROM csp.line_items
         WHERE posted_at >= :'m0'::timestamptz AND posted_at < :'m1'::timestamptz) l,
       (SELECT sum(n) AS docs, string_agg(currency || ' ' || to_char(total, 'FM999G999G990D00'), ', ' ORDER BY currency) AS amounts
          FROM (SELECT currency, count(*) AS n, sum(total) AS total FROM csp.billing_overview
                 WHERE invoice_date >= :'m0'::date AND invoice_date < :'m1'::date
                   AND document_type = 'invoice'
                 GROUP BY currency) x) i,
       (SELECT count(*) AS payments FROM csp.payment
         WHERE received_at >= :'m0'::timestamptz AND received_at < :'m1'::timestamptz) p;
