-- The distributor's world before the history starts (included by demo.sql).
-- Billing accounts and profiles, partners, customers, catalog, prices and
-- exchange rates, all through the csp.* set-up functions with the clock
-- pinned to 2024-12-02.  Output goes to /dev/null (demo.sql turns it off).

SET csp.clock = '2024-12-02 09:00+00';

------------------------------------------------------------------------------
-- R1 Billing accounts and profiles
------------------------------------------------------------------------------
-- The distributor (NL, EUR): an NCE profile with an extra invoice section.
SELECT csp.create_billing_account(name => 'Northwind Distribution BV', country => 'NL',
                                  currency => 'EUR') AS acct_nl \gset
SELECT csp.create_billing_profile(billing_account_id => :acct_nl, name => 'Northwind NL (NCE)',
       po_number => 'PO-NW-2025', email_invoice => true,
       bill_to => '{"street": "Handelskade 12", "city": "Rotterdam", "postal_code": "3011 AA", "country": "NL"}')
       AS prof_nce \gset
SELECT csp.create_invoice_section(billing_profile_id => :prof_nce, name => 'Education') AS sec_edu \gset

-- The distributor's Swedish business (SE, SEK).
SELECT csp.create_billing_account(name => 'Northwind Nordics AB', country => 'SE',
                                  currency => 'SEK') AS acct_se \gset
SELECT csp.create_billing_profile(billing_account_id => :acct_se, name => 'Northwind Nordics',
       bill_to => '{"street": "Kungsgatan 5", "city": "Stockholm", "postal_code": "111 43", "country": "SE"}')
       AS prof_se \gset

-- A direct-bill partner still on the legacy model: anniversary day 12.
SELECT csp.create_billing_account(name => 'Tailspin Toys BV', country => 'NL',
                                  currency => 'EUR') AS acct_ts \gset
SELECT csp.create_billing_profile(billing_account_id => :acct_ts, name => 'Tailspin (legacy)',
       billing_model => 'legacy', anniversary_day => 12,
       bill_to => '{"street": "Stationsplein 1", "city": "Utrecht", "postal_code": "3511 CE", "country": "NL"}')
       AS prof_legacy \gset

CREATE TABLE demo.profile (pkey text PRIMARY KEY, billing_profile_id bigint NOT NULL);
INSERT INTO demo.profile VALUES ('nce', :prof_nce), ('se', :prof_se), ('legacy', :prof_legacy);

------------------------------------------------------------------------------
-- R2 Partners: one direct-bill partner, two indirect providers, three resellers
------------------------------------------------------------------------------
SELECT csp.create_partner(partner_id => 'tailspin', name => 'Tailspin Toys BV',
                          kind => 'direct_bill', country => 'NL');
SELECT csp.create_partner(partner_id => 'northwind-nl', name => 'Northwind Distribution BV',
                          kind => 'indirect_provider', country => 'NL');
SELECT csp.create_partner(partner_id => 'northwind-se', name => 'Northwind Nordics AB',
                          kind => 'indirect_provider', country => 'SE');
SELECT csp.create_partner(partner_id => 'adatum', name => 'Adatum IT Services BV',
                          kind => 'indirect_reseller', country => 'NL', indirect_provider_id => 'northwind-nl');
SELECT csp.create_partner(partner_id => 'litware', name => 'Litware Solutions NV',
                          kind => 'indirect_reseller', country => 'BE', indirect_provider_id => 'northwind-nl');
SELECT csp.create_partner(partner_id => 'fourthcoffee', name => 'Fourth Coffee Konsult AB',
                          kind => 'indirect_reseller', country => 'SE', indirect_provider_id => 'northwind-se');

-- R1.5: each invoiced partner links to one billing account and profile; MCA accepted once.
SELECT csp.link_partner_billing(partner_id => 'northwind-nl', billing_account_id => :acct_nl,
                                billing_profile_id => :prof_nce, accept_mca => true);
SELECT csp.link_partner_billing(partner_id => 'northwind-se', billing_account_id => :acct_se,
                                billing_profile_id => :prof_se, accept_mca => true);
SELECT csp.link_partner_billing(partner_id => 'tailspin', billing_account_id => :acct_ts,
                                billing_profile_id => :prof_legacy, accept_mca => true);

------------------------------------------------------------------------------
-- R3 Customers: 40, MCA attested, approved; PL and TR with registration ID + phone
------------------------------------------------------------------------------
CREATE TABLE demo.cust (
    c               int PRIMARY KEY,
    partner_id      text NOT NULL,
    legal_name      text NOT NULL,
    country         text NOT NULL,
    city            text NOT NULL,
    section         text,
    reseller_id     text,
    additional      text[] NOT NULL DEFAULT '{}',
    registration_id text,
    phone           text,
    customer_id     uuid
);
INSERT INTO demo.cust (c, partner_id, legal_name, country, city, section, reseller_id, additional,
                       registration_id, phone) VALUES
 ( 1, 'northwind-nl', 'Zuiderzee Logistiek BV',       'NL', 'Rotterdam',  NULL,        'adatum',  '{}', NULL, NULL),
 ( 2, 'northwind-nl', 'Grachtenhuis Advocaten',       'NL', 'Amsterdam',  NULL,        'adatum',  '{}', NULL, NULL),
 ( 3, 'northwind-nl', 'Dijkstra Bouw BV',             'NL', 'Utrecht',    NULL,        NULL,      '{}', NULL, NULL),
 ( 4, 'northwind-nl', 'Stedelijk Gymnasium Leiden',   'NL', 'Leiden',     'Education', 'adatum',  '{}', NULL, NULL),
 ( 5, 'northwind-nl', 'Hogeschool Delftzicht',        'NL', 'Delft',      'Education', NULL,      '{}', NULL, NULL),
 ( 6, 'northwind-nl', 'Tulpenveld Kwekerij',          'NL', 'Lisse',      NULL,        'litware', '{}', NULL, NULL),
 ( 7, 'northwind-nl', 'Maasland Zorggroep',           'NL', 'Maastricht', NULL,        NULL,      '{}', NULL, NULL),
 ( 8, 'northwind-nl', 'Polderwind Energie',           'NL', 'Lelystad',   NULL,        'adatum',  '{litware}', NULL, NULL),
 ( 9, 'northwind-nl', 'De Vries Accountants',         'NL', 'Groningen',  NULL,        NULL,      '{}', NULL, NULL),
 (10, 'northwind-nl', 'Kaasmakerij Gouda BV',         'NL', 'Gouda',      NULL,        'litware', '{}', NULL, NULL),
 (11, 'northwind-nl', 'Brugse Brouwerij NV',          'BE', 'Brugge',     NULL,        'litware', '{}', NULL, NULL),
 (12, 'northwind-nl', 'Antwerpse Diamanthandel NV',   'BE', 'Antwerpen',  NULL,        'litware', '{}', NULL, NULL),
 (13, 'northwind-nl', 'Gentse Drukkerij BV',          'BE', 'Gent',       NULL,        NULL,      '{}', NULL, NULL),
 (14, 'northwind-nl', 'Liège Métallurgie SA',         'BE', 'Liège',      NULL,        'litware', '{}', NULL, NULL),
 (15, 'northwind-nl', 'Rheinland Maschinenbau GmbH',  'DE', 'Köln',       NULL,        'adatum',  '{}', NULL, NULL),
 (16, 'northwind-nl', 'Hanse Spedition GmbH',         'DE', 'Hamburg',    NULL,        NULL,      '{}', NULL, NULL),
 (17, 'northwind-nl', 'Bayerisches Brauhaus AG',      'DE', 'München',    NULL,        'adatum',  '{}', NULL, NULL),
 (18, 'northwind-nl', 'Schwarzwald Uhren KG',         'DE', 'Freiburg',   NULL,        NULL,      '{}', NULL, NULL),
 (19, 'northwind-nl', 'Wisła Software sp. z o.o.',    'PL', 'Kraków',     NULL,        NULL,      '{}', 'KRS 0000412345', '+48 12 345 67 89'),
 (20, 'northwind-nl', 'Boğaziçi Tekstil A.Ş.',        'TR', 'İstanbul',   NULL,        'adatum',  '{}', 'MERSIS 0123456789012345', '+90 212 555 01 23'),
 (21, 'northwind-se', 'Norrsken Data AB',             'SE', 'Stockholm',  NULL,        'fourthcoffee', '{}', NULL, NULL),
 (22, 'northwind-se', 'Göta Kanal Rederi AB',         'SE', 'Göteborg',   NULL,        NULL,      '{}', NULL, NULL),
 (23, 'northwind-se', 'Skånska Bagerier AB',          'SE', 'Malmö',      NULL,        'fourthcoffee', '{}', NULL, NULL),
 (24, 'northwind-se', 'Lapplands Gruv AB',            'SE', 'Kiruna',     NULL,        NULL,      '{}', NULL, NULL),
 (25, 'northwind-se', 'Uppsala Bioteknik AB',         'SE', 'Uppsala',    NULL,        'fourthcoffee', '{}', NULL, NULL),
 (26, 'northwind-se', 'Vänern Fiske AB',              'SE', 'Karlstad',   NULL,        NULL,      '{}', NULL, NULL),
 (27, 'northwind-se', 'Dalahäst Design AB',           'SE', 'Mora',       NULL,        'fourthcoffee', '{}', NULL, NULL),
 (28, 'northwind-se', 'Östersjö Shipping AB',         'SE', 'Visby',      NULL,        NULL,      '{}', NULL, NULL),
 (29, 'northwind-se', 'Sundsvall Papper AB',          'SE', 'Sundsvall',  NULL,        'fourthcoffee', '{}', NULL, NULL),
 (30, 'northwind-se', 'Linköping Flygteknik AB',      'SE', 'Linköping',  NULL,        NULL,      '{}', NULL, NULL),
 (31, 'tailspin',     'Amstel Makelaars BV',          'NL', 'Amsterdam',  NULL,        NULL,      '{}', NULL, NULL),
 (32, 'tailspin',     'Veluwe Recreatie BV',          'NL', 'Apeldoorn',  NULL,        NULL,      '{}', NULL, NULL),
 (33, 'tailspin',     'Haagse Consultancy BV',        'NL', 'Den Haag',   NULL,        NULL,      '{}', NULL, NULL),
 (34, 'tailspin',     'Eindhoven Photonics BV',       'NL', 'Eindhoven',  NULL,        NULL,      '{}', NULL, NULL),
 (35, 'tailspin',     'Mosel Weingut GmbH',           'DE', 'Trier',      NULL,        NULL,      '{}', NULL, NULL),
 (36, 'tailspin',     'Ruhr Stahlhandel GmbH',        'DE', 'Essen',      NULL,        NULL,      '{}', NULL, NULL),
 (37, 'tailspin',     'Berliner Gründerhaus GmbH',    'DE', 'Berlin',     NULL,        NULL,      '{}', NULL, NULL),
 (38, 'tailspin',     'Leuven Research NV',           'BE', 'Leuven',     NULL,        NULL,      '{}', NULL, NULL),
 (39, 'tailspin',     'Namur Alimentation SA',        'BE', 'Namur',      NULL,        NULL,      '{}', NULL, NULL),
 (40, 'tailspin',     'Gdańsk Porty S.A.',            'PL', 'Gdańsk',     NULL,        NULL,      '{}', 'KRS 0000987654', '+48 58 123 45 67');

UPDATE demo.cust
   SET customer_id = csp.add_customer(partner_id => partner_id, legal_name => legal_name, country => country,
                         address => jsonb_build_object('street', 'Hoofdstraat ' || c, 'city', city,
                                                       'postal_code', lpad((1000 + 37 * c)::text, 4, '0')),
                         registration_id => registration_id, phone => phone,
                         email => 'it@customer' || c || '.example', mca_attested => true);
SELECT csp.set_customer_verification(customer_id => customer_id, status => 'approved')
  FROM demo.cust ORDER BY c;

------------------------------------------------------------------------------
-- R4 Catalog
------------------------------------------------------------------------------
SELECT csp.add_product(sku_id => 'M365-E3', name => 'Microsoft 365 E3');
SELECT csp.add_product(sku_id => 'M365-E5', name => 'Microsoft 365 E5');
SELECT csp.add_upgrade_path(from_sku => 'M365-E3', to_sku => 'M365-E5');
SELECT csp.add_product(sku_id => 'M365-BP', name => 'Microsoft 365 Business Premium', one_per_customer => true);
SELECT csp.add_product(sku_id => 'M365-E3-TRIAL', name => 'Microsoft 365 E3 (trial)', trial_of => 'M365-E3');
SELECT csp.add_product(sku_id => 'COPILOT', name => 'Microsoft 365 Copilot',
                       addon_of => '{M365-E3,M365-E5}', addon_max_ratio => 1);
SELECT csp.add_product(sku_id => 'MULTIGEO', name => 'Multi-Geo Capabilities in Microsoft 365',
                       addon_of => '{M365-E3,M365-E5}', addon_min_ratio => 0.05);
SELECT csp.add_product(sku_id => 'AZURE-PLAN', name => 'Azure plan', billing_type => 'usage');
SELECT csp.add_product(sku_id => 'CONTOSO-SIGN', name => 'Contoso eSign (SaaS)', publisher => 'contoso-isv');

-- Prices per seat per billing cycle.  P1Y monthly = m, P1Y annual = 12 m,
-- P1M monthly = 1.2 m.  From 2025-07-01 the Microsoft 365 suites cost more.
CREATE TABLE demo.price_list (sku_id text, currency text, valid_from date, monthly numeric);
INSERT INTO demo.price_list VALUES
  ('M365-E3',      'EUR', '-infinity', 33.70), ('M365-E3',      'SEK', '-infinity', 380.00),
  ('M365-E5',      'EUR', '-infinity', 54.70), ('M365-E5',      'SEK', '-infinity', 620.00),
  ('M365-BP',      'EUR', '-infinity', 20.60), ('M365-BP',      'SEK', '-infinity', 232.00),
  ('COPILOT',      'EUR', '-infinity', 28.10), ('COPILOT',      'SEK', '-infinity', 316.00),
  ('MULTIGEO',     'EUR', '-infinity',  2.80), ('MULTIGEO',     'SEK', '-infinity',  31.50),
  ('CONTOSO-SIGN', 'USD', '-infinity', 12.00),
  ('M365-E3',      'EUR', '2025-07-01', 35.40), ('M365-E3',     'SEK', '2025-07-01', 399.00),
  ('M365-E5',      'EUR', '2025-07-01', 57.40), ('M365-E5',     'SEK', '2025-07-01', 651.00),
  ('M365-BP',      'EUR', '2025-07-01', 21.40), ('M365-BP',     'SEK', '2025-07-01', 241.00);
SELECT csp.set_price(sku_id => p.sku_id, term => t.term, billing_frequency => t.freq,
                     currency => p.currency, unit_price => round(p.monthly * t.factor, 2),
                     valid_from => p.valid_from)
  FROM demo.price_list p
 CROSS JOIN (VALUES ('P1M', 'monthly', 1.2), ('P1Y', 'monthly', 1.0), ('P1Y', 'annual', 12.0))
            AS t (term, freq, factor)
 ORDER BY p.sku_id, p.currency, p.valid_from, t.term, t.freq;

-- R12.3: USD rates for every month of the history, dated two business days
-- before the month's first day.
SELECT csp.set_fx_rate(from_currency => 'USD', to_currency => x.cur,
                       rate_date => csp.fx_rate_date(m::date),
                       rate => CASE x.cur WHEN 'EUR' THEN 0.9100 + 0.0037 * ((i * 7) % 11)
                                          ELSE 10.2000 + 0.0830 * ((i * 5) % 13) END)
  FROM generate_series(date '2024-12-01', date '2026-03-01', interval '1 month')
       WITH ORDINALITY AS g (m, i)
 CROSS JOIN (VALUES ('EUR'), ('SEK')) AS x (cur)
 ORDER BY m, x.cur;
