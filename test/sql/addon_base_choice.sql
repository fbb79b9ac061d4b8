--
-- R4.8, R4.5: which base an add-on aligns with (issue 12 item 9).  A valid
-- Copilot purchase was refused with 22023 under load: the add-on took the
-- customer's latest-ending base whatever its term, and a P3Y base (or a base
-- bought by a session whose day was later) ends after a P1Y add-on's
-- natural end.  The add-on now aligns with the latest-ending base its own
-- term can reach.
--
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION csp_billing;
\i test/sql/include/engine_setup.sql
SELECT csp.set_price('M365', 'P3Y', 'monthly', 'EUR', 9.00) \gset
SELECT csp.add_product('COPILOT', 'Microsoft 365 Copilot', addon_of => ARRAY['M365'], addon_max_ratio => 1) \gset
SELECT csp.set_price('COPILOT', 'P1Y', 'monthly', 'EUR', 30.00) \gset
SELECT csp.set_price('COPILOT', 'P1M', 'monthly', 'EUR', 31.00) \gset

SET csp.clock = '2025-01-15 10:00+00';
-- two bases: P1Y ends 2026-01-14, P3Y ends 2028-01-14
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10) AS base_1y \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'M365', quantity => 10, term => 'P3Y') AS base_3y \gset

-- R4.8 positive: a P1Y Copilot aligns with the P1Y base (was 22023: it took the P3Y base's end)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'COPILOT', quantity => 10) AS copilot \gset
SELECT parent_subscription_id = :'base_1y' AS on_the_1y_base, term_start, term_end
  FROM csp.subscriptions WHERE subscription_id = :'copilot';

-- R4.8 positive: a P3Y Copilot aligns with the P3Y base (the latest it can reach)
SELECT csp.set_price('COPILOT', 'P3Y', 'monthly', 'EUR', 28.00) \gset
SELECT csp.purchase(customer_id => :'cust', sku_id => 'COPILOT', quantity => 5, term => 'P3Y') AS copilot_3y \gset
SELECT parent_subscription_id = :'base_3y' AS on_the_3y_base, term_end
  FROM csp.subscriptions WHERE subscription_id = :'copilot_3y';

-- R4.5 negative: a P1M Copilot reaches no base's end: still 22023 (a
-- co-terminous end must lie within the add-on's own term)
SELECT csp.purchase(customer_id => :'cust', sku_id => 'COPILOT', quantity => 1, term => 'P1M');
\echo :LAST_ERROR_SQLSTATE

-- R4.8 negative: coterminate_with naming a base the term cannot reach is refused, not redirected
SELECT csp.purchase(customer_id => :'cust', sku_id => 'COPILOT', quantity => 1, coterminate_with => :'base_3y');
\echo :LAST_ERROR_SQLSTATE

DROP EXTENSION csp_billing CASCADE;
