/*
 * csp_billing @EXTVERSION@ — install script.
 *
 * Tables, types, views, grants and declarations only: every business rule
 * is in the C module.  Tables are singular (csp.customer); the views of
 * the public contract are plural (csp.customers).  Every tenant-owned table
 * leads its keys with billing_account_id (see README "Scaling out").
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION csp_billing" to load this file. \quit

------------------------------------------------------------------------------
-- Group roles (API.md "Roles"), created if missing; they are cluster-wide
-- (src/roles.c).
------------------------------------------------------------------------------
CREATE FUNCTION csp.ensure_group_roles() RETURNS void
    AS 'MODULE_PATHNAME', 'csp_ensure_group_roles' LANGUAGE C;
COMMENT ON FUNCTION csp.ensure_group_roles() IS 'Creates the csp_* NOLOGIN group roles that are missing (run by CREATE EXTENSION)';
SELECT csp.ensure_group_roles();

------------------------------------------------------------------------------
-- Clock and pure arithmetic (src/clock.c, src/terms_sql.c, src/money.c)
------------------------------------------------------------------------------
CREATE FUNCTION csp.now() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'csp_now_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION csp.now() IS
    'The engine''s current time: csp.clock when set, else the transaction start';

CREATE FUNCTION csp.term_end(start date, term text, align_to_calendar_month boolean DEFAULT false)
    RETURNS date AS 'MODULE_PATHNAME', 'csp_term_end' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION csp.billing_cycle(term_start date, term_end date, term text,
                                  billing_frequency text, on_date date,
                                  OUT cycle_start date, OUT cycle_end date, OUT days_in_cycle int)
    AS 'MODULE_PATHNAME', 'csp_billing_cycle' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION csp.billing_cycles(term_start date, term_end date, term text, billing_frequency text)
    RETURNS TABLE (cycle_start date, cycle_end date, days_in_cycle int)
    AS 'MODULE_PATHNAME', 'csp_billing_cycles' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION csp.billing_cycles(date,date,text,text) IS 'R11: every billing cycle of a term, first one clipped; days_in_cycle is the proration divisor';

CREATE FUNCTION csp.prorate(unit_price numeric, quantity bigint, days int, days_in_cycle int, currency text)
    RETURNS numeric AS 'MODULE_PATHNAME', 'csp_prorate_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION csp.round_money(amount numeric, currency text)
    RETURNS numeric AS 'MODULE_PATHNAME', 'csp_round_money_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION csp.round_money(numeric,text) IS 'R12: rounds an amount half away from zero to the currency''s minor unit';

CREATE FUNCTION csp.currency_exponent(currency text)
    RETURNS int AS 'MODULE_PATHNAME', 'csp_currency_exponent_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION csp.currency_exponent(text) IS 'R12: minor-unit exponent of an ISO 4217 currency (EUR 2, JPY 0)';

CREATE FUNCTION csp.fx_rate_date(month date)
    RETURNS date AS 'MODULE_PATHNAME', 'csp_fx_rate_date' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION csp.utc_date(at timestamptz)
    RETURNS date AS 'MODULE_PATHNAME', 'csp_utc_date' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION csp.utc_date(timestamp with time zone) IS 'R4.10: the UTC calendar date of an instant';

CREATE FUNCTION csp.whole_days(from_at timestamptz, to_at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_whole_days' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION csp.whole_days(timestamp with time zone,timestamp with time zone) IS 'R5.3: whole days between two instants';

CREATE FUNCTION csp.invoice_period(on_date date, anniversary_day int DEFAULT NULL,
                                   OUT period_start date, OUT period_end date,
                                   OUT invoice_date date, OUT published_on date, OUT due_date date)
    AS 'MODULE_PATHNAME', 'csp_invoice_period' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION csp.term_end(date, text, boolean) IS
    'Natural term end (start + duration - 1 day) or, aligned, the last day of the month before it unless it already is a month end';
COMMENT ON FUNCTION csp.billing_cycle(date, date, text, text, date) IS
    'The billing cycle containing on_date (anchored at term_end + 1, first cycle clipped); days_in_cycle is the proration divisor';
COMMENT ON FUNCTION csp.prorate(numeric, bigint, int, int, text) IS
    'unit_price x quantity x days / days_in_cycle, rounded half away from zero to the currency''s minor unit, exactly';
COMMENT ON FUNCTION csp.fx_rate_date(date) IS
    'R12.3: the date whose rate applies to a month: two business days before its first day';
COMMENT ON FUNCTION csp.invoice_period(date, int) IS
    'Billing period containing on_date with invoice_date, published_on and due_date (NCE when anniversary_day is NULL)';

------------------------------------------------------------------------------
-- Audit log: append-only, written by the audit trigger on every state table
-- (src/audit.c)
------------------------------------------------------------------------------
CREATE FUNCTION csp.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_audit_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.audit_trigger() IS 'Trigger: writes one audit row per changed row';
CREATE FUNCTION csp.audit_buffer_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_audit_buffer_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.audit_buffer_trigger() IS 'Trigger: buffers audit rows of a statement and writes them when it ends';
CREATE FUNCTION csp.append_only_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_append_only_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.append_only_trigger() IS 'Trigger: refuses UPDATE, DELETE and TRUNCATE on append-only tables (audit log, ledger)';

CREATE SEQUENCE csp.audit_id_seq;
CREATE TABLE csp.audit_log (
    audit_id            bigint      NOT NULL DEFAULT nextval('csp.audit_id_seq') PRIMARY KEY,
    billing_account_id  bigint,
    at                  timestamptz NOT NULL,
    actor               name        NOT NULL,
    action              text        NOT NULL,
    operation           text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    object_type         text        NOT NULL,
    object_id           text        NOT NULL,
    before              jsonb,
    after               jsonb,
    transaction_id      xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- the real time of the write, beside the business instant "at" (a back-fill shows)
    written_at          timestamptz NOT NULL DEFAULT transaction_timestamp()
);
CREATE INDEX ON csp.audit_log (object_type, object_id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON csp.audit_log
    FOR EACH ROW EXECUTE FUNCTION csp.append_only_trigger();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON csp.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION csp.append_only_trigger();
COMMENT ON TABLE csp.audit_log IS
    'Every state change: who, when (csp.now()), which API action, the row before and after. Append-only.';

------------------------------------------------------------------------------
-- R1 Billing hierarchy (src/accounts.c; account roles: src/roles.c)
------------------------------------------------------------------------------
CREATE SEQUENCE csp.billing_account_id_seq;
CREATE TABLE csp.billing_account (
    billing_account_id  bigint      NOT NULL DEFAULT nextval('csp.billing_account_id_seq') PRIMARY KEY,
    name                text        NOT NULL,
    country             text        NOT NULL,
    currency            text        NOT NULL,
    mca_accepted_at     timestamptz,
    mca_accepted_by     name,
    created_by          name        NOT NULL,
    created_at          timestamptz NOT NULL
);
COMMENT ON TABLE csp.billing_account IS 'Billing accounts (R1.1); written by csp.create_billing_account';

-- R1.1: who may act on a billing account (its creator by default).
CREATE TABLE csp.billing_account_role (
    billing_account_id  bigint      NOT NULL REFERENCES csp.billing_account,
    member              name        NOT NULL,
    account_role        text        NOT NULL CHECK (account_role IN ('owner', 'contributor', 'reader')),
    granted_by          name        NOT NULL,
    granted_at          timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, member)
);
COMMENT ON TABLE csp.billing_account_role IS 'Who may act on a billing account: owner, contributor or reader (R1.1)';

CREATE SEQUENCE csp.billing_profile_id_seq;
CREATE TABLE csp.billing_profile (
    billing_account_id  bigint      NOT NULL REFERENCES csp.billing_account,
    billing_profile_id  bigint      NOT NULL DEFAULT nextval('csp.billing_profile_id_seq'),
    name                text        NOT NULL,
    currency            text        NOT NULL,
    po_number           text,
    email_invoice       boolean     NOT NULL DEFAULT false,
    bill_to             jsonb       NOT NULL DEFAULT '{}',
    billing_model       text        NOT NULL DEFAULT 'nce' CHECK (billing_model IN ('nce', 'legacy')),
    anniversary_day     int         CHECK (anniversary_day BETWEEN 1 AND 28),
    payment_methods     text[]      NOT NULL DEFAULT '{wire_transfer}',
    created_at          timestamptz NOT NULL,
    -- the instant of the latest payment, allocation or invoice action (NC016)
    last_event_at       timestamptz NOT NULL DEFAULT csp.now(),
    PRIMARY KEY (billing_account_id, billing_profile_id),
    CHECK ((billing_model = 'legacy') = (anniversary_day IS NOT NULL))
);
COMMENT ON TABLE csp.billing_profile IS 'Billing profiles: one invoice per profile, currency and period (R1.2)';
CREATE INDEX ON csp.billing_profile (billing_profile_id);

CREATE SEQUENCE csp.invoice_section_id_seq;
CREATE TABLE csp.invoice_section (
    billing_account_id  bigint      NOT NULL,
    invoice_section_id  bigint      NOT NULL DEFAULT nextval('csp.invoice_section_id_seq'),
    billing_profile_id  bigint      NOT NULL,
    name                text        NOT NULL,
    is_default          boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, invoice_section_id),
    UNIQUE (billing_account_id, billing_profile_id, name),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile
);
COMMENT ON TABLE csp.invoice_section IS 'Invoice sections of billing profiles (R1.3)';
CREATE INDEX ON csp.invoice_section (invoice_section_id);
-- R1.3: exactly one default section per profile
CREATE UNIQUE INDEX invoice_section_one_default
    ON csp.invoice_section (billing_account_id, billing_profile_id) WHERE is_default;

CREATE FUNCTION csp.create_billing_account(name text, country text, currency text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_create_billing_account' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.create_billing_account(text,text,text) IS 'R1.1: creates a billing account; the caller becomes its owner; returns its id';

CREATE FUNCTION csp.grant_billing_account_role(billing_account_id bigint, member name,
                                               account_role text DEFAULT 'owner')
    RETURNS void AS 'MODULE_PATHNAME', 'csp_grant_billing_account_role' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.grant_billing_account_role(bigint,name,text) IS 'R1.1: gives a role owner, contributor or reader rights on a billing account (owners only)';

CREATE FUNCTION csp.create_billing_profile(billing_account_id bigint, name text, currency text DEFAULT NULL,
                                           po_number text DEFAULT NULL, email_invoice boolean DEFAULT false,
                                           bill_to jsonb DEFAULT '{}', billing_model text DEFAULT 'nce',
                                           anniversary_day int DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_create_billing_profile' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.create_billing_profile(bigint,text,text,text,boolean,jsonb,text,integer) IS 'R1.2, R1.3: creates a billing profile (NCE or legacy) with its Default invoice section; returns its id';

CREATE FUNCTION csp.create_invoice_section(billing_profile_id bigint, name text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_create_invoice_section' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.create_invoice_section(bigint,text) IS 'R1.3: adds an invoice section to a billing profile; returns its id';

------------------------------------------------------------------------------
-- R2 Partners (src/partners.c)
------------------------------------------------------------------------------
CREATE TYPE csp.partner_kind AS ENUM ('direct_bill', 'indirect_provider', 'indirect_reseller');

CREATE TABLE csp.partner (
    partner_id              text        NOT NULL PRIMARY KEY,
    name                    text        NOT NULL,
    kind                    csp.partner_kind NOT NULL,
    country                 text        NOT NULL,
    status                  text        NOT NULL CHECK (status IN ('active', 'pending', 'suspended', 'inactive')),
    indirect_provider_id    text        REFERENCES csp.partner,
    -- R1.5: the current link; purchases record the profile they were made under
    billing_account_id      bigint,
    billing_profile_id      bigint,
    linked_at               timestamptz,
    created_at              timestamptz NOT NULL,
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile,
    CHECK ((billing_account_id IS NULL) = (billing_profile_id IS NULL))
);
COMMENT ON TABLE csp.partner IS 'Partners and their billing link (R1.5, R2)';

CREATE FUNCTION csp.create_partner(partner_id text, name text, kind csp.partner_kind, country text,
                                   status text DEFAULT 'active', indirect_provider_id text DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'csp_create_partner' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.create_partner(text,text,csp.partner_kind,text,text,text) IS 'R2: creates a partner (direct bill, indirect provider or reseller); returns its id';

CREATE FUNCTION csp.set_partner_status(partner_id text, status text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_set_partner_status' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.set_partner_status(text,text) IS 'R1.5: sets a partner''s status (active, pending, suspended, inactive)';

CREATE FUNCTION csp.link_partner_billing(partner_id text, billing_account_id bigint,
                                         billing_profile_id bigint, accept_mca boolean DEFAULT false)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_link_partner_billing' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.link_partner_billing(text,bigint,bigint,boolean) IS 'R1.5: links a partner to the billing account and profile its purchases are billed to';

------------------------------------------------------------------------------
-- R3 Customers (src/customers.c)
------------------------------------------------------------------------------
CREATE TABLE csp.customer (
    customer_id             uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    partner_id              text        NOT NULL REFERENCES csp.partner,
    legal_name              text        NOT NULL,
    country                 text        NOT NULL,
    address                 jsonb       NOT NULL DEFAULT '{}',
    registration_id         text,
    phone                   text,
    email                   text,
    mca_attested            boolean     NOT NULL DEFAULT false,
    mca_attested_at         timestamptz,
    verification_status     text        NOT NULL DEFAULT 'pending'
                                        CHECK (verification_status IN ('pending', 'approved', 'rejected')),
    verification_changed_at timestamptz NOT NULL,
    created_at              timestamptz NOT NULL
);
COMMENT ON TABLE csp.customer IS 'Customers of partners (R3)';
CREATE INDEX ON csp.customer (partner_id);

CREATE FUNCTION csp.add_customer(partner_id text, legal_name text, country text, address jsonb DEFAULT '{}',
                                 registration_id text DEFAULT NULL, phone text DEFAULT NULL,
                                 email text DEFAULT NULL, mca_attested boolean DEFAULT false)
    RETURNS uuid AS 'MODULE_PATHNAME', 'csp_add_customer' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.add_customer(text,text,text,jsonb,text,text,text,boolean) IS 'R3.1-R3.3: adds a customer of a partner (pending verification); returns its id';

CREATE FUNCTION csp.update_customer(customer_id uuid, legal_name text DEFAULT NULL, address jsonb DEFAULT NULL,
                                    registration_id text DEFAULT NULL, phone text DEFAULT NULL,
                                    email text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_update_customer' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.update_customer(uuid,text,jsonb,text,text,text) IS 'R3.4: updates a customer''s details';

CREATE FUNCTION csp.attest_mca(customer_id uuid)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_attest_mca' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.attest_mca(uuid) IS 'R3.3: records the partner''s attestation that the customer accepted the MCA';

CREATE FUNCTION csp.set_customer_verification(customer_id uuid, status text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_set_customer_verification' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.set_customer_verification(uuid,text) IS 'R3.4: sets a customer''s verification status (pending, approved, rejected)';

------------------------------------------------------------------------------
-- R4 Catalog, prices and exchange rates: global reference tables (src/catalog.c)
------------------------------------------------------------------------------
CREATE TABLE csp.product (
    sku_id              text        NOT NULL PRIMARY KEY,
    name                text        NOT NULL,
    publisher           text        NOT NULL DEFAULT 'microsoft',
    billing_type        text        NOT NULL DEFAULT 'license' CHECK (billing_type IN ('license', 'usage')),
    one_per_customer    boolean     NOT NULL DEFAULT false,
    trial_of            text        REFERENCES csp.product,
    addon_of            text[],
    addon_min_ratio     numeric     CHECK (addon_min_ratio > 0),
    addon_max_ratio     numeric     CHECK (addon_max_ratio > 0),
    created_at          timestamptz NOT NULL,
    CHECK (addon_of IS NOT NULL OR (addon_min_ratio IS NULL AND addon_max_ratio IS NULL)),
    CHECK (addon_min_ratio IS NULL OR addon_max_ratio IS NULL OR addon_min_ratio <= addon_max_ratio)
);
COMMENT ON TABLE csp.product IS 'The catalog: SKUs (R4)';

CREATE TABLE csp.upgrade_path (
    from_sku            text        NOT NULL REFERENCES csp.product,
    to_sku              text        NOT NULL REFERENCES csp.product,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (from_sku, to_sku),
    CHECK (from_sku <> to_sku)
);
COMMENT ON TABLE csp.upgrade_path IS 'Allowed upgrades between SKUs (R8.1)';

CREATE TABLE csp.price (
    sku_id              text        NOT NULL REFERENCES csp.product,
    term                text        NOT NULL CHECK (term IN ('P1M', 'P1Y', 'P3Y')),
    billing_frequency   text        NOT NULL CHECK (billing_frequency IN ('monthly', 'annual', 'triennial', 'one_time')),
    currency            text        NOT NULL,
    valid_from          date        NOT NULL,
    unit_price          numeric     NOT NULL CHECK (unit_price >= 0),
    set_at              timestamptz NOT NULL,
    PRIMARY KEY (sku_id, term, billing_frequency, currency, valid_from)
);
COMMENT ON TABLE csp.price IS 'Prices by SKU, term, frequency, currency and valid_from (R4.3)';

CREATE TABLE csp.fx_rate (
    from_currency       text        NOT NULL,
    to_currency         text        NOT NULL,
    rate_date           date        NOT NULL,
    rate                numeric     NOT NULL CHECK (rate > 0),
    set_at              timestamptz NOT NULL,
    PRIMARY KEY (from_currency, to_currency, rate_date),
    CHECK (from_currency <> to_currency)
);
COMMENT ON TABLE csp.fx_rate IS 'Exchange rates by date (R12.3)';

CREATE FUNCTION csp.add_product(sku_id text, name text, publisher text DEFAULT 'microsoft',
                                billing_type text DEFAULT 'license', one_per_customer boolean DEFAULT false,
                                trial_of text DEFAULT NULL, addon_of text[] DEFAULT NULL,
                                addon_min_ratio numeric DEFAULT NULL, addon_max_ratio numeric DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'csp_add_product' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.add_product(text,text,text,text,boolean,text,text[],numeric,numeric) IS 'R4: adds a SKU to the catalog (licence or usage, trial, add-on ratios); returns the SKU id';

CREATE FUNCTION csp.add_upgrade_path(from_sku text, to_sku text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_add_upgrade_path' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.add_upgrade_path(text,text) IS 'R8.1: allows upgrades from one SKU to another';

CREATE FUNCTION csp.set_price(sku_id text, term text, billing_frequency text, currency text,
                              unit_price numeric, valid_from date DEFAULT '-infinity')
    RETURNS void AS 'MODULE_PATHNAME', 'csp_set_price' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.set_price(text,text,text,text,numeric,date) IS 'R4.3: sets a SKU''s price for a term, frequency and currency from valid_from';

CREATE FUNCTION csp.set_fx_rate(from_currency text, to_currency text, rate_date date, rate numeric)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_set_fx_rate' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.set_fx_rate(text,text,date,numeric) IS 'R12.3: records an exchange rate for a date';

------------------------------------------------------------------------------
-- R4-R10 Subscriptions and seat lots (rows: src/subscription_store.c; rules:
-- the subscription rooms, see README "Development")
------------------------------------------------------------------------------
CREATE FUNCTION csp.subscription_lifecycle_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_subscription_lifecycle_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.subscription_lifecycle_trigger() IS 'Trigger: enforces the subscription state machine (R6.1)';
CREATE FUNCTION csp.charge_ledger_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'csp_charge_ledger_trigger' LANGUAGE C;
COMMENT ON FUNCTION csp.charge_ledger_trigger() IS 'Trigger: the charge ledger is append-only; a line is never changed or deleted';

CREATE TABLE csp.subscription (
    billing_account_id      bigint      NOT NULL,
    subscription_id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    billing_profile_id      bigint      NOT NULL,
    invoice_section_id      bigint      NOT NULL,
    customer_id             uuid        NOT NULL REFERENCES csp.customer,
    partner_id              text        NOT NULL REFERENCES csp.partner,
    sku_id                  text        NOT NULL REFERENCES csp.product,
    friendly_name           text,
    quantity                int         NOT NULL CHECK (quantity >= 0),
    status                  text        NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled', 'expired')),
    is_trial                boolean     NOT NULL DEFAULT false,
    auto_renew              boolean     NOT NULL,
    term                    text        NOT NULL CHECK (term IN ('P1M', 'P1Y', 'P3Y')),
    billing_frequency       text        NOT NULL CHECK (billing_frequency IN ('monthly', 'annual', 'triennial', 'one_time')),
    term_start              date        NOT NULL,
    term_end                date        NOT NULL,
    term_started_at         timestamptz NOT NULL,
    cancellation_allowed_until timestamptz NOT NULL,
    unit_price              numeric     NOT NULL CHECK (unit_price >= 0),
    currency                text        NOT NULL,
    pricing_currency        text        NOT NULL,
    parent_subscription_id  uuid,
    reseller_id             text        REFERENCES csp.partner,
    additional_resellers    text[]      NOT NULL DEFAULT '{}',
    promotion_id            text,
    update_count            int         NOT NULL DEFAULT 0 CHECK (update_count BETWEEN 0 AND 1200),
    scheduled_change        jsonb,
    -- start of the next billing cycle not charged yet; NULL when the term has none left
    next_charge_date        date,
    purchased_at            timestamptz NOT NULL,
    suspended_at            timestamptz,
    ended_at                timestamptz,
    -- the instant of the latest event recorded for the subscription: nothing may
    -- be posted before it (NC016); jobs move it to the items they post
    last_event_at           timestamptz NOT NULL DEFAULT csp.now(),
    PRIMARY KEY (billing_account_id, subscription_id),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile,
    FOREIGN KEY (billing_account_id, invoice_section_id) REFERENCES csp.invoice_section,
    CHECK (term_end >= term_start),
    CHECK (cardinality(additional_resellers) <= 5)
);
COMMENT ON TABLE csp.subscription IS 'Subscriptions (R4-R9)';
CREATE INDEX ON csp.subscription (subscription_id);
CREATE INDEX ON csp.subscription (customer_id, sku_id);
CREATE INDEX ON csp.subscription (parent_subscription_id) WHERE parent_subscription_id IS NOT NULL;
-- what renewals and cycle charges scan, in the jobs' keyset order: a job's
-- next batch starts after the last (date, id) it took, so it never walks
-- back over the rows it has already done
CREATE INDEX subscription_live_by_end ON csp.subscription (term_end, subscription_id)
    WHERE status IN ('active', 'suspended');
CREATE INDEX subscription_charge_due ON csp.subscription (next_charge_date, subscription_id)
    WHERE next_charge_date IS NOT NULL AND status IN ('active', 'suspended');
CREATE TRIGGER lifecycle BEFORE INSERT OR UPDATE OR DELETE ON csp.subscription
    FOR EACH ROW EXECUTE FUNCTION csp.subscription_lifecycle_trigger();

-- R5.2: every increase of seats is a lot with its own 168-hour window
CREATE SEQUENCE csp.seat_lot_id_seq;
CREATE TABLE csp.seat_lot (
    billing_account_id      bigint      NOT NULL,
    lot_id                  bigint      NOT NULL DEFAULT nextval('csp.seat_lot_id_seq'),
    subscription_id         uuid        NOT NULL,
    term_start              date        NOT NULL,
    source                  text        NOT NULL CHECK (source IN ('purchase', 'increase', 'renewal', 'conversion', 'transfer', 'upgrade')),
    added_at                timestamptz NOT NULL,
    reducible_until         timestamptz NOT NULL,
    quantity_added          int         NOT NULL CHECK (quantity_added > 0),
    quantity                int         NOT NULL CHECK (quantity BETWEEN 0 AND quantity_added),
    PRIMARY KEY (billing_account_id, lot_id),
    FOREIGN KEY (billing_account_id, subscription_id) REFERENCES csp.subscription
);
COMMENT ON TABLE csp.seat_lot IS 'Seat lots: every increase of seats with its own 168-hour window (R5.2)';
CREATE INDEX ON csp.seat_lot (billing_account_id, subscription_id, term_start);

CREATE FUNCTION csp.purchase(customer_id uuid, sku_id text, quantity int, term text DEFAULT 'P1Y',
                             billing_frequency text DEFAULT 'monthly', auto_renew boolean DEFAULT true,
                             invoice_section_id bigint DEFAULT NULL, coterminate_with uuid DEFAULT NULL,
                             align_to_calendar_month boolean DEFAULT false, reseller_id text DEFAULT NULL,
                             additional_resellers text[] DEFAULT '{}', friendly_name text DEFAULT NULL)
    RETURNS uuid AS 'MODULE_PATHNAME', 'csp_purchase' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.purchase(uuid,text,integer,text,text,boolean,bigint,uuid,boolean,text,text[],text) IS 'R3-R5, R9, R11: buys a subscription and posts its first charge; returns the subscription id';

CREATE FUNCTION csp.change_quantity(subscription_id uuid, quantity int)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_change_quantity' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.change_quantity(uuid,integer) IS 'R5: changes the seats; increases charge prorated, reductions only within 168 hours of a lot (R5.2)';

CREATE FUNCTION csp.reducible_licenses(subscription_id uuid)
    RETURNS TABLE (quantity int, reducible_until timestamptz)
    AS 'MODULE_PATHNAME', 'csp_reducible_licenses' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.reducible_licenses(uuid) IS 'R5.4: the seats still reducible per lot and until when';

CREATE FUNCTION csp.suspend(subscription_id uuid)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_suspend' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.suspend(uuid) IS 'R6.2: suspends a subscription';

CREATE FUNCTION csp.reactivate(subscription_id uuid)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_reactivate' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.reactivate(uuid) IS 'R6.2: reactivates a suspended subscription';

CREATE FUNCTION csp.cancel(subscription_id uuid)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_cancel' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.cancel(uuid) IS 'R6.3, R6.4: cancels a subscription inside its cancellation window, with a prorated refund';

CREATE FUNCTION csp.set_auto_renew(subscription_id uuid, enabled boolean)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_set_auto_renew' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.set_auto_renew(uuid,boolean) IS 'R6.5: turns renewal at term end on or off';

CREATE FUNCTION csp.rename(subscription_id uuid, friendly_name text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_rename' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.rename(uuid,text) IS 'Sets the subscription''s friendly name';

CREATE FUNCTION csp.schedule_change(subscription_id uuid, sku_id text DEFAULT NULL, quantity int DEFAULT NULL,
                                    term text DEFAULT NULL, billing_frequency text DEFAULT NULL,
                                    coterm_end date DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_schedule_change' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.schedule_change(uuid,text,integer,text,text,date) IS 'R7: schedules a SKU, quantity, term or frequency change for the renewal';

CREATE FUNCTION csp.clear_scheduled_change(subscription_id uuid)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_clear_scheduled_change' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.clear_scheduled_change(uuid) IS 'R7: removes the change scheduled for the renewal';

CREATE FUNCTION csp.upgrade(subscription_id uuid, to_sku text, quantity int DEFAULT NULL,
                            target_subscription_id uuid DEFAULT NULL)
    RETURNS uuid AS 'MODULE_PATHNAME', 'csp_upgrade' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.upgrade(uuid,text,integer,uuid) IS 'R8: upgrades seats to another SKU; returns the target subscription';

CREATE FUNCTION csp.convert_trial(subscription_id uuid, quantity int DEFAULT 25, term text DEFAULT 'P1Y',
                                  billing_frequency text DEFAULT 'monthly',
                                  target_subscription_id uuid DEFAULT NULL)
    RETURNS uuid AS 'MODULE_PATHNAME', 'csp_convert_trial' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.convert_trial(uuid,integer,text,text,uuid) IS 'R9.3: converts a trial into a paid subscription; returns the paid subscription';

CREATE FUNCTION csp.transfer(subscription_id uuid, to_partner_id text)
    RETURNS uuid AS 'MODULE_PATHNAME', 'csp_transfer' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.transfer(uuid,text) IS 'R10: transfers a subscription to another partner; returns the new subscription';

------------------------------------------------------------------------------
-- R11-R12 The charge ledger (src/ledger.c; usage lines: src/usage.c)
------------------------------------------------------------------------------
-- Append-only; a line is only ever attached to an invoice
CREATE SEQUENCE csp.charge_id_seq;
CREATE TABLE csp.charge (
    billing_account_id      bigint      NOT NULL,
    charge_id               bigint      NOT NULL DEFAULT nextval('csp.charge_id_seq'),
    billing_profile_id      bigint      NOT NULL,
    invoice_section_id      bigint      NOT NULL,
    partner_id              text        NOT NULL,
    customer_id             uuid        NOT NULL,
    subscription_id         uuid        NOT NULL,
    sku_id                  text        NOT NULL,
    charge_type             text        NOT NULL CHECK (charge_type IN (
                                'new', 'renew', 'cycleCharge', 'addQuantity', 'removeQuantity',
                                'moveQuantity', 'cancelImmediate', 'convert', 'changeBillingPlan',
                                'customerCredit', 'extendTerm', 'usage')),
    charge_start            date        NOT NULL,
    charge_end              date        NOT NULL,
    cycle_start             date        NOT NULL,
    posted_at               timestamptz NOT NULL,
    quantity                numeric     NOT NULL,
    unit_price              numeric     NOT NULL,
    days_charged            int         NOT NULL CHECK (days_charged >= 0),
    days_in_cycle           int         NOT NULL CHECK (days_in_cycle > 0 AND days_charged <= days_in_cycle),
    amount                  numeric     NOT NULL,
    currency                text        NOT NULL,
    pricing_currency        text        NOT NULL,
    fx_rate                 numeric     NOT NULL CHECK (fx_rate > 0),
    reference_id            uuid        NOT NULL,
    lot_id                  bigint,
    refunds_charge_id       bigint,
    meter_id                text,
    -- the real time the line was written, beside posted_at (the business instant)
    written_at              timestamptz NOT NULL DEFAULT transaction_timestamp(),
    -- R11.5, decided when the line is posted: the start of the billing period it is
    -- billed in (the period containing posted_at, or the first later one without an
    -- invoice).  Its invoice is that period's (csp.line_items.invoice_number).
    billing_period_start    date        NOT NULL,
    PRIMARY KEY (billing_account_id, charge_id),
    FOREIGN KEY (billing_account_id, subscription_id) REFERENCES csp.subscription,
    FOREIGN KEY (billing_account_id, refunds_charge_id) REFERENCES csp.charge,
    CHECK (charge_end >= charge_start)
);
COMMENT ON TABLE csp.charge IS 'The charge ledger: append-only; a line''s billing period is decided when it is posted, and its invoice is that period''s (R11, R11.5)';
CREATE INDEX ON csp.charge (billing_account_id, subscription_id, charge_start);
-- the lines of a document: its profile, currency and period (csp.invoice_lines);
-- posted_at: the late lines an open period holds (run_invoicing's closing NOTICE)
CREATE INDEX charge_by_period ON csp.charge (billing_account_id, billing_profile_id, currency, billing_period_start, posted_at);
-- one charge per subscription and billing cycle for the full-cycle charge types
CREATE UNIQUE INDEX charge_one_per_cycle ON csp.charge (billing_account_id, subscription_id, cycle_start)
    WHERE charge_type IN ('new', 'renew', 'cycleCharge');
CREATE TRIGGER ledger BEFORE UPDATE OR DELETE ON csp.charge
    FOR EACH ROW EXECUTE FUNCTION csp.charge_ledger_trigger();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON csp.charge
    FOR EACH STATEMENT EXECUTE FUNCTION csp.append_only_trigger();

-- The billing periods that have lines and no invoice yet, one row per profile,
-- currency and period: what month close reads (src/invoicing.c), so that it
-- never scans the billed history.  A line's post adds its period (ON CONFLICT
-- DO NOTHING); the invoice that closes the period removes it.
CREATE TABLE csp.open_period (
    billing_account_id      bigint      NOT NULL,
    billing_profile_id      bigint      NOT NULL,
    currency                text        NOT NULL,
    period_start            date        NOT NULL,
    PRIMARY KEY (billing_account_id, billing_profile_id, currency, period_start),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile
);
COMMENT ON TABLE csp.open_period IS 'Billing periods with lines and no invoice yet (R11.5, R13.1): the work list of csp.run_invoicing';

CREATE FUNCTION csp.record_usage(subscription_id uuid, usage_date date, meter_id text, quantity numeric,
                                 unit_price numeric, currency text DEFAULT 'USD')
    RETURNS void AS 'MODULE_PATHNAME', 'csp_record_usage' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.record_usage(uuid, date, text, numeric, numeric, text) IS
    'R11.3: posts a usage line (unit_price in currency, converted at the rate of the usage month, R12.3) to a usage-based subscription';

------------------------------------------------------------------------------
-- R13-R14 Invoices, payments and credit notes (src/invoice_store.c,
-- src/invoicing.c; src/payment_store.c, src/payments.c)
------------------------------------------------------------------------------
-- Document numbers: G and nine digits, never reused (the sequence never cycles).
CREATE SEQUENCE csp.invoice_number_seq MINVALUE 1 MAXVALUE 999999999 NO CYCLE;

-- R13: one row per document.  An invoice bills the ledger lines attached to
-- it (the lines of its profile, currency and billing period,
-- csp.charge.billing_period_start); a void note and a rebill (R13.4) bill the
-- lines of the invoice named in lines_invoice_number, the void note negated,
-- since the append-only ledger never moves a line.  csp.invoice_lines lists
-- every document's lines; total = their sum, computed from them when the
-- document is made.  paid is the sum of the document's allocations.
CREATE TABLE csp.invoice (
    billing_account_id      bigint      NOT NULL,
    invoice_number          text        NOT NULL CHECK (invoice_number ~ '^G[0-9]{9}$'),
    billing_profile_id      bigint      NOT NULL,
    document_type           text        NOT NULL CHECK (document_type IN ('invoice', 'void_note', 'rebill')),
    replaces_invoice_number text,
    lines_invoice_number    text        NOT NULL,
    period_start            date        NOT NULL,
    period_end              date        NOT NULL,
    invoice_date            date        NOT NULL,
    published_on            date        NOT NULL,
    due_date                date,
    currency                text        NOT NULL,
    total                   numeric     NOT NULL,
    paid                    numeric     NOT NULL DEFAULT 0,
    po_number               text,
    bill_to                 jsonb       NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL,
    -- R13.4: set once, when a void note and a rebill replace the document
    replaced_by             text,
    voided_at               timestamptz,
    PRIMARY KEY (billing_account_id, invoice_number),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile,
    FOREIGN KEY (billing_account_id, replaces_invoice_number) REFERENCES csp.invoice,
    FOREIGN KEY (billing_account_id, lines_invoice_number) REFERENCES csp.invoice,
    FOREIGN KEY (billing_account_id, replaced_by) REFERENCES csp.invoice,
    CHECK (period_end >= period_start),
    CHECK ((document_type = 'invoice') = (replaces_invoice_number IS NULL)),
    CHECK ((document_type = 'invoice') = (lines_invoice_number = invoice_number)),
    CHECK ((document_type = 'void_note') = (due_date IS NULL)),
    CHECK (document_type <> 'void_note' OR replaced_by IS NULL),
    CHECK ((replaced_by IS NULL) = (voided_at IS NULL)),
    -- allocations never exceed what a document bills; a void document holds none
    CHECK (paid >= 0 AND paid <= GREATEST(total, 0)),
    CHECK (replaced_by IS NULL OR paid = 0)
);
CREATE INDEX ON csp.invoice (invoice_number);
-- one invoice per profile, currency and billing period: what makes run_invoicing idempotent
CREATE UNIQUE INDEX invoice_one_per_period
    ON csp.invoice (billing_account_id, billing_profile_id, currency, period_start)
    WHERE document_type = 'invoice';
-- R13.4: a document is voided once, by one void note and one rebill
CREATE UNIQUE INDEX invoice_replaced_once
    ON csp.invoice (billing_account_id, replaces_invoice_number, document_type)
    WHERE replaces_invoice_number IS NOT NULL;
CREATE INDEX invoice_by_profile ON csp.invoice (billing_account_id, billing_profile_id, invoice_date);

-- R14: payments and credit notes (R14.7: a credit note pays invoices like a
-- payment).  allocated is the sum of the payment's allocations.
CREATE SEQUENCE csp.payment_id_seq;
CREATE TABLE csp.payment (
    billing_account_id      bigint      NOT NULL,
    payment_id              bigint      NOT NULL DEFAULT nextval('csp.payment_id_seq'),
    billing_profile_id      bigint      NOT NULL,
    kind                    text        NOT NULL CHECK (kind IN ('payment', 'credit_note')),
    method                  text        NOT NULL CHECK (method IN ('wire_transfer', 'bank_transfer', 'credit_note')),
    reference               text,
    currency                text        NOT NULL,
    amount                  numeric     NOT NULL CHECK (amount > 0),
    allocated               numeric     NOT NULL DEFAULT 0,
    received_at             timestamptz NOT NULL,
    recorded_at             timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, payment_id),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile,
    CHECK ((kind = 'credit_note') = (method = 'credit_note')),
    -- R14.3/R14.4: never more allocated than paid
    CHECK (allocated >= 0 AND allocated <= amount)
);
CREATE INDEX ON csp.payment (payment_id);
CREATE INDEX ON csp.payment (billing_account_id, billing_profile_id, currency);

CREATE SEQUENCE csp.payment_allocation_id_seq;
CREATE TABLE csp.payment_allocation (
    billing_account_id      bigint      NOT NULL,
    allocation_id           bigint      NOT NULL DEFAULT nextval('csp.payment_allocation_id_seq'),
    payment_id              bigint      NOT NULL,
    -- the document paid: moves to the rebill when the invoice is voided (R13.4)
    invoice_number          text        NOT NULL,
    amount                  numeric     NOT NULL CHECK (amount > 0),
    allocated_at            timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, allocation_id),
    FOREIGN KEY (billing_account_id, payment_id) REFERENCES csp.payment,
    FOREIGN KEY (billing_account_id, invoice_number) REFERENCES csp.invoice
);
CREATE INDEX ON csp.payment_allocation (billing_account_id, payment_id);
CREATE INDEX ON csp.payment_allocation (billing_account_id, invoice_number);

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.invoice
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('invoice_number');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.payment
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('payment_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.payment_allocation
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('allocation_id');
COMMENT ON TABLE csp.invoice IS
    'Invoices, void notes and rebills (R13); written by csp.run_invoicing and csp.void_and_rebill';
COMMENT ON TABLE csp.payment IS
    'Payments and credit notes of a billing profile (R14); allocated <= amount';
COMMENT ON TABLE csp.payment_allocation IS
    'What part of a payment or credit note pays which document (R14.3, R14.4, R14.7)';

SELECT pg_catalog.pg_extension_config_dump('csp.invoice', '');
SELECT pg_catalog.pg_extension_config_dump('csp.invoice_number_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.payment', '');
SELECT pg_catalog.pg_extension_config_dump('csp.payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.payment_allocation', '');
SELECT pg_catalog.pg_extension_config_dump('csp.payment_allocation_id_seq', '');

CREATE FUNCTION csp.run_invoicing(as_of timestamptz DEFAULT csp.now())
    RETURNS int AS 'MODULE_PATHNAME', 'csp_run_invoicing' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.run_invoicing(timestamptz) IS
    'R13.1: invoices every billing period that ended before as_of''s date, one invoice per profile, currency and period; returns the invoices made';

CREATE FUNCTION csp.void_and_rebill(invoice_number text, po_number text DEFAULT NULL, bill_to jsonb DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'csp_void_and_rebill' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.void_and_rebill(text, text, jsonb) IS
    'R13.4: a void note of minus the total and a rebill replacing the document, payments carried over; returns the rebill''s number';

CREATE FUNCTION csp.record_payment(billing_profile_id bigint, amount numeric, currency text,
                                   received_at timestamptz DEFAULT csp.now(), remittance jsonb DEFAULT NULL,
                                   method text DEFAULT 'wire_transfer', reference text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_record_payment' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.record_payment(bigint, numeric, text, timestamptz, jsonb, text, text) IS
    'R14.1-R14.4: records a wire or bank transfer, allocated as the remittance says; the rest stays unallocated';

CREATE FUNCTION csp.allocate_payment(payment_id bigint, invoice_number text, amount numeric)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_allocate_payment' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.allocate_payment(bigint, text, numeric) IS
    'R14.3: allocates part of an unallocated payment or credit note to an invoice';

CREATE FUNCTION csp.apply_credit_note(billing_profile_id bigint, amount numeric, currency text,
                                      allocations jsonb DEFAULT NULL, reference text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'csp_apply_credit_note' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.apply_credit_note(bigint, numeric, text, jsonb, text) IS
    'R14.7: a credit note paying the most recent invoices with an amount due, or as allocated';

CREATE VIEW csp.billing_overview WITH (security_invoker = true) AS
    SELECT i.billing_account_id, i.billing_profile_id, i.invoice_number, i.document_type,
           i.replaces_invoice_number, i.period_start, i.period_end, i.invoice_date, i.published_on,
           i.due_date, i.currency, i.total, csp.round_money(i.paid, i.currency) AS paid,
           csp.round_money(CASE WHEN v.void THEN 0 ELSE GREATEST(i.total - i.paid, 0) END, i.currency)
               AS amount_due,
           CASE WHEN v.void THEN 'void'
                WHEN i.paid >= i.total THEN 'paid'
                WHEN i.due_date < (SELECT csp.utc_date(csp.now())) THEN 'overdue'
                WHEN i.paid > 0 THEN 'partially_paid'
                ELSE 'unpaid' END AS status
      FROM csp.invoice i
     CROSS JOIN LATERAL (SELECT i.document_type = 'void_note' OR i.replaced_by IS NOT NULL AS void) v;
COMMENT ON VIEW csp.billing_overview IS 'Every invoice, void note and rebill with what is paid and due (R13, R14)';
COMMENT ON COLUMN csp.billing_overview.billing_account_id IS 'Billing account of the profile';
COMMENT ON COLUMN csp.billing_overview.billing_profile_id IS 'Billing profile invoiced (R1.2: one invoice per profile and period)';
COMMENT ON COLUMN csp.billing_overview.invoice_number IS 'Document number: G and nine digits, never reused';
COMMENT ON COLUMN csp.billing_overview.document_type IS 'invoice, void_note or rebill (R13.4)';
COMMENT ON COLUMN csp.billing_overview.replaces_invoice_number IS 'For a void note or rebill: the document it voids and replaces';
COMMENT ON COLUMN csp.billing_overview.period_start IS 'First day of the billing period (NCE: the 1st; legacy: the anniversary day)';
COMMENT ON COLUMN csp.billing_overview.period_end IS 'Last day of the billing period, inclusive';
COMMENT ON COLUMN csp.billing_overview.invoice_date IS 'Invoice date: the day after the period (R13.1); for void notes and rebills the day they were made';
COMMENT ON COLUMN csp.billing_overview.published_on IS 'When the document is available: NCE the 8th, legacy two days after the invoice date (R13.1)';
COMMENT ON COLUMN csp.billing_overview.due_date IS 'invoice_date + 60 days (R13.3); NULL for void notes';
COMMENT ON COLUMN csp.billing_overview.currency IS 'Billing currency (R12.1)';
COMMENT ON COLUMN csp.billing_overview.total IS 'Sum of the document''s lines (csp.invoice_lines); negative for void notes';
COMMENT ON COLUMN csp.billing_overview.paid IS 'Payments and credit notes allocated to the document';
COMMENT ON COLUMN csp.billing_overview.amount_due IS 'total - paid, at least 0; 0 for void documents. Unallocated payments do not reduce it (R14.3)';
COMMENT ON COLUMN csp.billing_overview.status IS 'unpaid, partially_paid, paid, overdue (past due_date with an amount due, R13.3) or void (voided originals and void notes, R13.4)';

CREATE VIEW csp.account_balance WITH (security_invoker = true) AS
    WITH documents AS (
        SELECT billing_account_id, billing_profile_id, currency,
               sum(total) AS invoiced, sum(paid) AS paid,
               sum(CASE WHEN due_date < (SELECT csp.utc_date(csp.now()))
                        THEN GREATEST(total - paid, 0) ELSE 0 END) AS overdue
          FROM csp.invoice
         WHERE document_type IN ('invoice', 'rebill') AND replaced_by IS NULL
         GROUP BY billing_account_id, billing_profile_id, currency
    ), payments AS (
        SELECT billing_account_id, billing_profile_id, currency, sum(amount - allocated) AS unallocated
          FROM csp.payment
         GROUP BY billing_account_id, billing_profile_id, currency
    )
    SELECT billing_account_id, billing_profile_id, currency,
           csp.round_money(coalesce(d.invoiced, 0), currency) AS invoiced,
           csp.round_money(coalesce(d.paid, 0), currency) AS paid,
           csp.round_money(coalesce(d.invoiced, 0) - coalesce(d.paid, 0), currency) AS balance,
           csp.round_money(coalesce(d.overdue, 0), currency) AS overdue,
           csp.round_money(coalesce(p.unallocated, 0), currency) AS unallocated
      FROM documents d
      FULL JOIN payments p USING (billing_account_id, billing_profile_id, currency);
COMMENT ON VIEW csp.account_balance IS 'Balance per billing profile and currency (R14.2); only the latest document of each period counts (R13.4)';
COMMENT ON COLUMN csp.account_balance.billing_account_id IS 'Billing account of the profile';
COMMENT ON COLUMN csp.account_balance.billing_profile_id IS 'Billing profile';
COMMENT ON COLUMN csp.account_balance.currency IS 'Currency of the invoices and payments summed';
COMMENT ON COLUMN csp.account_balance.invoiced IS 'Sum of the totals of current invoices and rebills; voided originals and void notes are excluded';
COMMENT ON COLUMN csp.account_balance.paid IS 'Payments and credit notes allocated to those documents';
COMMENT ON COLUMN csp.account_balance.balance IS 'invoiced - paid: the amount due (R14.2)';
COMMENT ON COLUMN csp.account_balance.overdue IS 'Part of the balance past its due date (R13.3)';
COMMENT ON COLUMN csp.account_balance.unallocated IS 'Payments and credit notes not allocated to an invoice; they do not reduce the balance (R14.3)';

CREATE VIEW csp.unallocated_payments WITH (security_invoker = true) AS
    SELECT payment_id, billing_profile_id, received_at, method, reference, currency, amount,
           csp.round_money(allocated, currency) AS allocated,
           csp.round_money(amount - allocated, currency) AS unallocated
      FROM csp.payment
     WHERE amount > allocated;
COMMENT ON VIEW csp.unallocated_payments IS 'Payments and credit notes with an unallocated amount (R14.3), to allocate with csp.allocate_payment';
COMMENT ON COLUMN csp.unallocated_payments.payment_id IS 'Payment or credit note id';
COMMENT ON COLUMN csp.unallocated_payments.billing_profile_id IS 'Billing profile that paid';
COMMENT ON COLUMN csp.unallocated_payments.received_at IS 'When the payment was received';
COMMENT ON COLUMN csp.unallocated_payments.method IS 'wire_transfer, bank_transfer or credit_note (R14.1, R14.7)';
COMMENT ON COLUMN csp.unallocated_payments.reference IS 'The payer''s reference, if any';
COMMENT ON COLUMN csp.unallocated_payments.currency IS 'Currency of the payment';
COMMENT ON COLUMN csp.unallocated_payments.amount IS 'Amount received or credited';
COMMENT ON COLUMN csp.unallocated_payments.allocated IS 'Part allocated to invoices';
COMMENT ON COLUMN csp.unallocated_payments.unallocated IS 'amount - allocated: not yet allocated; does not reduce any amount due (R14.3)';

CREATE VIEW csp.invoice_lines WITH (security_invoker = true) AS
    SELECT d.billing_account_id, d.invoice_number, d.document_type, d.billing_profile_id,
           c.invoice_section_id, c.charge_id, c.customer_id, c.subscription_id, c.sku_id, c.charge_type,
           c.charge_start, c.charge_end, c.posted_at, c.quantity,
           CASE WHEN d.document_type = 'void_note' THEN -c.amount ELSE c.amount END AS amount, c.currency
      FROM csp.invoice d
      JOIN csp.charge c ON c.billing_account_id = d.billing_account_id
                       AND c.billing_profile_id = d.billing_profile_id
                       AND c.currency = d.currency
                       AND c.billing_period_start = d.period_start;
COMMENT ON VIEW csp.invoice_lines IS 'The lines of every document: an invoice''s ledger lines, repeated by its rebills and negated by its void notes (R13.4); they sum to the document''s total';
COMMENT ON COLUMN csp.invoice_lines.billing_account_id IS 'Billing account';
COMMENT ON COLUMN csp.invoice_lines.invoice_number IS 'Document number';
COMMENT ON COLUMN csp.invoice_lines.document_type IS 'invoice, void_note or rebill';
COMMENT ON COLUMN csp.invoice_lines.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.invoice_lines.invoice_section_id IS 'Invoice section the line is grouped under (R1.3)';
COMMENT ON COLUMN csp.invoice_lines.charge_id IS 'Ledger line (csp.line_items.charge_id)';
COMMENT ON COLUMN csp.invoice_lines.customer_id IS 'Customer (R13.2)';
COMMENT ON COLUMN csp.invoice_lines.subscription_id IS 'Subscription charged';
COMMENT ON COLUMN csp.invoice_lines.sku_id IS 'Product SKU';
COMMENT ON COLUMN csp.invoice_lines.charge_type IS 'Reconciliation charge type (csp.line_items)';
COMMENT ON COLUMN csp.invoice_lines.charge_start IS 'First day charged';
COMMENT ON COLUMN csp.invoice_lines.charge_end IS 'Last day charged, inclusive';
COMMENT ON COLUMN csp.invoice_lines.posted_at IS 'When the line was posted: it is billed in that period, or the next open one (R11.5)';
COMMENT ON COLUMN csp.invoice_lines.quantity IS 'Seats or metered quantity charged';
COMMENT ON COLUMN csp.invoice_lines.amount IS 'The line''s amount on this document: negated on a void note';
COMMENT ON COLUMN csp.invoice_lines.currency IS 'Billing currency';

CREATE VIEW csp.invoice_section_totals WITH (security_invoker = true) AS
    SELECT l.invoice_number, l.billing_profile_id, l.invoice_section_id, s.name AS section_name,
           l.currency, count(*) AS lines, sum(l.amount) AS total
      FROM csp.invoice_lines l
      JOIN csp.invoice_section s ON s.billing_account_id = l.billing_account_id
                                AND s.invoice_section_id = l.invoice_section_id
     GROUP BY l.invoice_number, l.billing_profile_id, l.invoice_section_id, s.name, l.currency;
COMMENT ON VIEW csp.invoice_section_totals IS 'Each document''s charges grouped by invoice section (R1.3)';
COMMENT ON COLUMN csp.invoice_section_totals.invoice_number IS 'Document number';
COMMENT ON COLUMN csp.invoice_section_totals.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.invoice_section_totals.invoice_section_id IS 'Invoice section';
COMMENT ON COLUMN csp.invoice_section_totals.section_name IS 'Name of the section';
COMMENT ON COLUMN csp.invoice_section_totals.currency IS 'Billing currency';
COMMENT ON COLUMN csp.invoice_section_totals.lines IS 'Number of lines of the section on the document';
COMMENT ON COLUMN csp.invoice_section_totals.total IS 'Sum of those lines; the sections of a document sum to its total';

------------------------------------------------------------------------------
-- Jobs (src/jobs.c, src/renewals.c, src/job_batch.c, src/invoicing.c; pg_cron:
-- src/cron.c): run_renewals, run_cycle_charges, tick, and their schedule.
-- DROP EXTENSION unschedules the jobs first (an event trigger).
------------------------------------------------------------------------------

CREATE FUNCTION csp.run_cycle_charges(as_of timestamptz DEFAULT csp.now())
    RETURNS int AS 'MODULE_PATHNAME', 'csp_run_cycle_charges' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.run_cycle_charges(timestamp with time zone) IS 'R11.1: posts every billing-cycle charge due up to as_of; returns the charges posted';

CREATE FUNCTION csp.run_renewals(as_of timestamptz DEFAULT csp.now())
    RETURNS int AS 'MODULE_PATHNAME', 'csp_run_renewals' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.run_renewals(timestamp with time zone) IS 'R6.6, R6.7: renews (or expires) every term that ended before as_of''s date; returns the subscriptions processed';

-- All three jobs, in order, as of one instant (what a scheduler calls).  A
-- plain SQL function: it only sequences the C jobs, each idempotent.
CREATE FUNCTION csp.tick(as_of timestamptz DEFAULT csp.now()) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT csp.run_renewals(as_of);
        SELECT csp.run_cycle_charges(as_of);
        SELECT csp.run_invoicing(as_of);
    END;

COMMENT ON FUNCTION csp.tick(timestamptz) IS
    'Runs csp.run_renewals, csp.run_cycle_charges and csp.run_invoicing as of one instant';

-- pg_cron: run with the caller's rights, so the jobs belong to the caller
CREATE FUNCTION csp.schedule_jobs()
    RETURNS void AS 'MODULE_PATHNAME', 'csp_schedule_jobs' LANGUAGE C SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION csp.unschedule_jobs()
    RETURNS void AS 'MODULE_PATHNAME', 'csp_unschedule_jobs' LANGUAGE C SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION csp.schedule_jobs() IS
    'Registers the pg_cron job csp_billing_daily: csp.tick() at 00:05 UTC every day (renewals, cycle charges, and invoicing of every period that has ended, R6.6, R13.1); removes the jobs of earlier versions';

COMMENT ON FUNCTION csp.unschedule_jobs() IS
    'Removes the billing jobs from pg_cron (DROP EXTENSION csp_billing does it too)';

CREATE FUNCTION csp.drop_jobs_trigger() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'csp_drop_jobs_trigger' LANGUAGE C;

COMMENT ON FUNCTION csp.drop_jobs_trigger() IS
    'Event trigger: DROP EXTENSION csp_billing unschedules the billing jobs first, so none is left behind';

CREATE EVENT TRIGGER csp_billing_drop_jobs ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION csp.drop_jobs_trigger();

------------------------------------------------------------------------------
-- Billing-profile roles and row-level security (API.md "Roles"; src/profile_roles.c)
------------------------------------------------------------------------------
-- Who holds which role on a billing profile, keyed by role OID (regrole:
-- shows the current name; a rename keeps the limit, a new role created
-- with an old name gets nothing).  A role holding any of them is limited to
-- those profiles everywhere money or personal data shows.  A row is live
-- while its member holds USAGE on schema csp granted directly (given and
-- taken back by the functions below): that grant is what DROP ROLE
-- respects (see src/profile_roles.c).
CREATE TABLE csp.billing_profile_role (
    billing_account_id  bigint      NOT NULL,
    billing_profile_id  bigint      NOT NULL,
    member              regrole     NOT NULL,
    profile_role        text        NOT NULL
                                    CHECK (profile_role IN ('owner', 'contributor', 'reader', 'invoice_manager')),
    granted_by          name        NOT NULL,
    granted_at          timestamptz NOT NULL,
    PRIMARY KEY (billing_account_id, billing_profile_id, member, profile_role),
    FOREIGN KEY (billing_account_id, billing_profile_id) REFERENCES csp.billing_profile
);
CREATE INDEX ON csp.billing_profile_role (billing_profile_id);
CREATE INDEX ON csp.billing_profile_role (member);
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.billing_profile_role
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('member');
COMMENT ON TABLE csp.billing_profile_role IS
    'Billing-profile roles (owner, contributor, reader, invoice_manager); written by csp.grant_profile_role and csp.revoke_profile_role';
SELECT pg_catalog.pg_extension_config_dump('csp.billing_profile_role', '');

CREATE FUNCTION csp.grant_profile_role(billing_profile_id bigint, member name, profile_role text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_grant_profile_role' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.grant_profile_role(bigint, name, text) IS
    'Gives member the owner, contributor, reader or invoice_manager role on a billing profile (account owners only); member then sees only its profiles';
CREATE FUNCTION csp.revoke_profile_role(billing_profile_id bigint, member name, profile_role text)
    RETURNS void AS 'MODULE_PATHNAME', 'csp_revoke_profile_role' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.revoke_profile_role(bigint, name, text) IS
    'Takes a billing-profile role back; with its last one in this database the member loses this database''s USAGE on schema csp';

-- The row-level security test, run as the querying role: members of the
-- group roles holding no profile role see every profile; a role holding a
-- profile role sees the profiles it holds one on.  The body is parsed here,
-- so the caller's search_path cannot change it.  (Kept for callers; the
-- policies use csp.profile_scope() directly.)
CREATE FUNCTION csp.profile_scope() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'csp_profile_scope' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION csp.profile_scope() IS
    'Row-level security: NULL when the current role sees every billing profile, else the profiles it may see (issue 12: the one rule)';
CREATE FUNCTION csp.visible_profile(billing_profile_id bigint) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN (SELECT s.scope IS NULL OR visible_profile.billing_profile_id = ANY (s.scope)
          FROM csp.profile_scope() AS s (scope));
COMMENT ON FUNCTION csp.visible_profile(bigint) IS
    'Row-level security: may the current role see this billing profile''s money?';

-- Reading only: no table has a policy for writing, and only the writing
-- functions (owned by the superuser that installed the extension) write.
-- Every policy is the one rule: the profile is in csp.profile_scope(),
-- taken once per query in a sub-select (an InitPlan), never per row.
ALTER TABLE csp.invoice ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.payment ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.payment_allocation ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.charge ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.open_period ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.invoice_section ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.subscription ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.seat_lot ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.billing_profile ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.billing_profile_role ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.customer ENABLE ROW LEVEL SECURITY;
ALTER TABLE csp.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_profile ON csp.invoice FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.payment FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.payment_allocation FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR EXISTS (SELECT 1 FROM csp.payment p
                       WHERE p.billing_account_id = payment_allocation.billing_account_id
                         AND p.payment_id = payment_allocation.payment_id));
CREATE POLICY by_profile ON csp.charge FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.open_period FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.invoice_section FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.subscription FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
CREATE POLICY by_profile ON csp.seat_lot FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR EXISTS (SELECT 1 FROM csp.subscription s
                       WHERE s.billing_account_id = seat_lot.billing_account_id
                         AND s.subscription_id = seat_lot.subscription_id));
CREATE POLICY by_profile ON csp.billing_profile FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
-- item 4: only the holders of one's own profiles' roles
CREATE POLICY by_profile ON csp.billing_profile_role FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL OR billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[]));
-- item 4: only the customers behind one's own profiles' subscriptions
CREATE POLICY by_profile ON csp.customer FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR customer_id IN (SELECT s.customer_id FROM csp.subscription s
                               WHERE s.billing_profile_id = ANY ((SELECT csp.profile_scope())::bigint[])));
-- the audit row of an object names its profile in before/after (audit.c keeps it in updates)
CREATE POLICY by_profile ON csp.audit_log FOR SELECT
    USING ((SELECT csp.profile_scope()) IS NULL
           OR (coalesce(after ->> 'billing_profile_id', before ->> 'billing_profile_id'))::bigint
              = ANY ((SELECT csp.profile_scope())::bigint[]));

------------------------------------------------------------------------------
-- Audit every state table (src/audit.c)
------------------------------------------------------------------------------
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.billing_account
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('billing_account_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.billing_account_role
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('member');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.billing_profile
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('billing_profile_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.invoice_section
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('invoice_section_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.partner
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('partner_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.customer
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('customer_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.product
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('sku_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.upgrade_path
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('from_sku');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.price
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('sku_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.fx_rate
    FOR EACH ROW EXECUTE FUNCTION csp.audit_trigger('from_currency');
-- the tables the jobs write in bulk: the same audit rows, buffered per row and
-- written with one INSERT when the statement ends (src/audit.c)
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.subscription
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('subscription_id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON csp.seat_lot
    FOR EACH ROW EXECUTE FUNCTION csp.audit_buffer_trigger('lot_id');

------------------------------------------------------------------------------
-- Views of the public contract (security_invoker: the caller's rights apply)
------------------------------------------------------------------------------
CREATE VIEW csp.customers WITH (security_invoker = true) AS
    SELECT customer_id, partner_id, legal_name, country, verification_status, mca_attested
      FROM csp.customer;
COMMENT ON VIEW csp.customers IS 'Customers of every partner (R3)';
COMMENT ON COLUMN csp.customers.customer_id IS 'Customer id (uuid) used by every subscription function';
COMMENT ON COLUMN csp.customers.partner_id IS 'The partner that added the customer';
COMMENT ON COLUMN csp.customers.legal_name IS 'Legal name of the customer''s organisation';
COMMENT ON COLUMN csp.customers.country IS 'ISO 3166-1 alpha-2 country of the customer';
COMMENT ON COLUMN csp.customers.verification_status IS 'pending, approved or rejected (R3.4): only approved customers can buy or manage';
COMMENT ON COLUMN csp.customers.mca_attested IS 'The partner attested that the customer accepted the MCA (R3.3)';

CREATE VIEW csp.invoice_sections WITH (security_invoker = true) AS
    SELECT invoice_section_id, billing_profile_id, name
      FROM csp.invoice_section;
COMMENT ON VIEW csp.invoice_sections IS 'Invoice sections of every billing profile (R1.3)';
COMMENT ON COLUMN csp.invoice_sections.invoice_section_id IS 'Section id, to assign subscriptions to';
COMMENT ON COLUMN csp.invoice_sections.billing_profile_id IS 'The billing profile whose invoice shows the section';
COMMENT ON COLUMN csp.invoice_sections.name IS 'Section name; every profile has one called Default';

CREATE VIEW csp.partners WITH (security_invoker = true) AS
    SELECT partner_id, name, kind, country, status, indirect_provider_id,
           billing_account_id, billing_profile_id, linked_at
      FROM csp.partner;
COMMENT ON VIEW csp.partners IS 'Partners and their current billing link (R1.5, R2)';
COMMENT ON COLUMN csp.partners.partner_id IS 'Partner id (MPN-like text key)';
COMMENT ON COLUMN csp.partners.name IS 'Partner name';
COMMENT ON COLUMN csp.partners.kind IS 'direct_bill, indirect_provider or indirect_reseller (R2)';
COMMENT ON COLUMN csp.partners.country IS 'ISO 3166-1 alpha-2 country of the partner';
COMMENT ON COLUMN csp.partners.status IS 'active, pending, suspended or inactive (R1.5)';
COMMENT ON COLUMN csp.partners.indirect_provider_id IS 'For an indirect reseller: its indirect provider (R2.3)';
COMMENT ON COLUMN csp.partners.billing_account_id IS 'Billing account the partner is currently linked to (R1.5), or NULL';
COMMENT ON COLUMN csp.partners.billing_profile_id IS 'Billing profile new purchases are billed to (R1.5), or NULL';
COMMENT ON COLUMN csp.partners.linked_at IS 'When the current billing link was made';

CREATE VIEW csp.billing_profiles WITH (security_invoker = true) AS
    SELECT p.billing_account_id, a.name AS billing_account_name, p.billing_profile_id, p.name,
           p.currency, p.po_number, p.email_invoice, p.bill_to, p.billing_model, p.anniversary_day,
           a.mca_accepted_at
      FROM csp.billing_profile p
      JOIN csp.billing_account a USING (billing_account_id);
COMMENT ON VIEW csp.billing_profiles IS 'Billing profiles with their billing account (R1.1, R1.2)';
COMMENT ON COLUMN csp.billing_profiles.billing_account_id IS 'Billing account of the profile (R1.1)';
COMMENT ON COLUMN csp.billing_profiles.billing_account_name IS 'Name of the billing account';
COMMENT ON COLUMN csp.billing_profiles.billing_profile_id IS 'Billing profile id (R1.2)';
COMMENT ON COLUMN csp.billing_profiles.name IS 'Profile name';
COMMENT ON COLUMN csp.billing_profiles.currency IS 'Billing currency of the profile''s invoices (R12.1)';
COMMENT ON COLUMN csp.billing_profiles.po_number IS 'Purchase order number printed on the invoices';
COMMENT ON COLUMN csp.billing_profiles.email_invoice IS 'Invoices are sent by email';
COMMENT ON COLUMN csp.billing_profiles.bill_to IS 'Bill-to address (jsonb object) printed on the invoices';
COMMENT ON COLUMN csp.billing_profiles.billing_model IS 'nce (calendar-month periods) or legacy (anniversary-day periods), R13.1';
COMMENT ON COLUMN csp.billing_profiles.anniversary_day IS 'Legacy profiles: day of the month a billing period starts (1-28); NULL for NCE';
COMMENT ON COLUMN csp.billing_profiles.mca_accepted_at IS 'When the Microsoft Customer Agreement was accepted for the billing account (R1.5)';

CREATE VIEW csp.subscriptions WITH (security_invoker = true) AS
    SELECT s.subscription_id, s.customer_id, s.partner_id, s.sku_id, s.quantity, s.status,
           s.is_trial, s.auto_renew, s.term, s.billing_frequency, s.term_start, s.term_end,
           s.cancellation_allowed_until, s.parent_subscription_id, s.invoice_section_id,
           s.update_count, s.scheduled_change
      FROM csp.subscription s;
COMMENT ON VIEW csp.subscriptions IS 'Every subscription with its term, state and scheduled change (R4-R9)';
COMMENT ON COLUMN csp.subscriptions.subscription_id IS 'Subscription id (uuid)';
COMMENT ON COLUMN csp.subscriptions.customer_id IS 'The customer the subscription was sold to';
COMMENT ON COLUMN csp.subscriptions.partner_id IS 'The partner of record';
COMMENT ON COLUMN csp.subscriptions.sku_id IS 'The product SKU';
COMMENT ON COLUMN csp.subscriptions.quantity IS 'Licenses (seats); 1 for usage-based subscriptions';
COMMENT ON COLUMN csp.subscriptions.status IS 'active, suspended, cancelled or expired (R6.1)';
COMMENT ON COLUMN csp.subscriptions.is_trial IS 'A free 25-seat P1M trial (R9)';
COMMENT ON COLUMN csp.subscriptions.auto_renew IS 'Renews at the end of the term (R6.5)';
COMMENT ON COLUMN csp.subscriptions.term IS 'Term duration: P1M, P1Y or P3Y';
COMMENT ON COLUMN csp.subscriptions.billing_frequency IS 'monthly, annual, triennial or one_time';
COMMENT ON COLUMN csp.subscriptions.term_start IS 'First day of the current term (UTC date)';
COMMENT ON COLUMN csp.subscriptions.term_end IS 'Last day of the current term, inclusive (UTC date)';
COMMENT ON COLUMN csp.subscriptions.cancellation_allowed_until IS 'End of the window in which cancel refunds (R6.3, R6.4)';
COMMENT ON COLUMN csp.subscriptions.parent_subscription_id IS 'The base subscription of an add-on (R4.8)';
COMMENT ON COLUMN csp.subscriptions.invoice_section_id IS 'The invoice section the charges are grouped under (R1.3)';
COMMENT ON COLUMN csp.subscriptions.update_count IS 'Updates so far; at most 1,200 (R4.9)';
COMMENT ON COLUMN csp.subscriptions.scheduled_change IS 'Change to apply at renewal (R7), or NULL';

CREATE VIEW csp.subscriptions_export WITH (security_invoker = true) AS
    SELECT s.subscription_id, s.customer_id, coalesce(s.friendly_name, p.name) AS name, s.quantity,
           s.status, s.auto_renew, s.term_end + 1 AS renewal_date, s.term,
           s.billing_frequency AS billing_cycle, s.promotion_id, s.reseller_id
      FROM csp.subscription s
      JOIN csp.product p ON p.sku_id = s.sku_id;
COMMENT ON VIEW csp.subscriptions_export IS 'The subscription export of the partner portal ([S] "export subscription data")';
COMMENT ON COLUMN csp.subscriptions_export.subscription_id IS 'Subscription id';
COMMENT ON COLUMN csp.subscriptions_export.customer_id IS 'Customer id';
COMMENT ON COLUMN csp.subscriptions_export.name IS 'Friendly name, or the product name';
COMMENT ON COLUMN csp.subscriptions_export.quantity IS 'Licenses';
COMMENT ON COLUMN csp.subscriptions_export.status IS 'active, suspended, cancelled or expired';
COMMENT ON COLUMN csp.subscriptions_export.auto_renew IS 'Renews at term end';
COMMENT ON COLUMN csp.subscriptions_export.renewal_date IS 'The day after the term end: when the renewal happens (R6.6)';
COMMENT ON COLUMN csp.subscriptions_export.term IS 'Term duration';
COMMENT ON COLUMN csp.subscriptions_export.billing_cycle IS 'Billing frequency';
COMMENT ON COLUMN csp.subscriptions_export.promotion_id IS 'Promotion applied, if any';
COMMENT ON COLUMN csp.subscriptions_export.reseller_id IS 'Indirect reseller attached (R2.3)';

CREATE VIEW csp.line_items WITH (security_invoker = true) AS
    SELECT i.invoice_number, c.billing_profile_id, c.invoice_section_id, c.partner_id, c.customer_id,
           cu.legal_name AS customer_name, c.subscription_id, c.sku_id, c.charge_type,
           c.charge_start, c.charge_end, c.posted_at, c.quantity, c.unit_price, c.days_charged,
           c.days_in_cycle, c.amount, c.currency, c.pricing_currency, c.fx_rate, c.reference_id,
           c.charge_id, c.written_at
      FROM csp.charge c
      JOIN csp.customer cu ON cu.customer_id = c.customer_id
      -- the line's invoice: the one of its profile, currency and billing period
      LEFT JOIN csp.invoice i ON i.billing_account_id = c.billing_account_id
                             AND i.billing_profile_id = c.billing_profile_id
                             AND i.currency = c.currency
                             AND i.period_start = c.billing_period_start
                             AND i.document_type = 'invoice';
COMMENT ON VIEW csp.line_items IS 'The charge ledger in reconciliation-file form (R11, R13.2)';
COMMENT ON COLUMN csp.line_items.invoice_number IS 'Invoice the line is billed on; NULL while unbilled';
COMMENT ON COLUMN csp.line_items.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.line_items.invoice_section_id IS 'Invoice section the line is grouped under';
COMMENT ON COLUMN csp.line_items.partner_id IS 'Partner of record';
COMMENT ON COLUMN csp.line_items.customer_id IS 'Customer (R13.2: reconciliation lines carry the CustomerId)';
COMMENT ON COLUMN csp.line_items.customer_name IS 'Customer legal name';
COMMENT ON COLUMN csp.line_items.subscription_id IS 'Subscription charged';
COMMENT ON COLUMN csp.line_items.sku_id IS 'Product SKU';
COMMENT ON COLUMN csp.line_items.charge_type IS 'new, renew, cycleCharge, addQuantity, removeQuantity, moveQuantity, cancelImmediate, convert, changeBillingPlan, customerCredit, extendTerm or usage';
COMMENT ON COLUMN csp.line_items.charge_start IS 'First day charged (UTC date)';
COMMENT ON COLUMN csp.line_items.charge_end IS 'Last day charged, inclusive';
COMMENT ON COLUMN csp.line_items.posted_at IS 'Business instant of the line: csp.now() of the action, or the instant a job item fell due (a cycle''s start, the day after a term''s end)';
COMMENT ON COLUMN csp.line_items.quantity IS 'Seats charged; the signed delta for quantity changes and refunds';
COMMENT ON COLUMN csp.line_items.unit_price IS 'Price per seat per full billing cycle, in the pricing currency';
COMMENT ON COLUMN csp.line_items.days_charged IS 'Days charged: charge_end - charge_start + 1';
COMMENT ON COLUMN csp.line_items.days_in_cycle IS 'Days in the full billing cycle: the proration divisor';
COMMENT ON COLUMN csp.line_items.amount IS 'round(unit_price * fx_rate * quantity * days_charged / days_in_cycle) to the currency''s minor unit; a refund gives back its line''s part after the days used, as a difference of rounded amounts: within one minor unit of the formula, never more than was charged';
COMMENT ON COLUMN csp.line_items.currency IS 'Billing currency (the profile''s)';
COMMENT ON COLUMN csp.line_items.pricing_currency IS 'Currency of unit_price (USD for USD-priced products, R12.2)';
COMMENT ON COLUMN csp.line_items.fx_rate IS 'Pricing to billing currency rate of the posting month (R12.3); 1 when the same';
COMMENT ON COLUMN csp.line_items.reference_id IS 'Shared by the lines of one action';
COMMENT ON COLUMN csp.line_items.charge_id IS 'Ledger line id';
COMMENT ON COLUMN csp.line_items.written_at IS 'Real time the line was written (transaction_timestamp()); differs from posted_at for back-fills and for due items posted by a late job';

CREATE VIEW csp.unbilled_charges WITH (security_invoker = true) AS
    SELECT * FROM csp.line_items WHERE invoice_number IS NULL;
COMMENT ON VIEW csp.unbilled_charges IS 'Charges not yet on an invoice (R11.4)';
COMMENT ON COLUMN csp.unbilled_charges.invoice_number IS 'Invoice the line is billed on; NULL while unbilled';
COMMENT ON COLUMN csp.unbilled_charges.billing_profile_id IS 'Billing profile invoiced';
COMMENT ON COLUMN csp.unbilled_charges.invoice_section_id IS 'Invoice section the line is grouped under';
COMMENT ON COLUMN csp.unbilled_charges.partner_id IS 'Partner of record';
COMMENT ON COLUMN csp.unbilled_charges.customer_id IS 'Customer (R13.2: reconciliation lines carry the CustomerId)';
COMMENT ON COLUMN csp.unbilled_charges.customer_name IS 'Customer legal name';
COMMENT ON COLUMN csp.unbilled_charges.subscription_id IS 'Subscription charged';
COMMENT ON COLUMN csp.unbilled_charges.sku_id IS 'Product SKU';
COMMENT ON COLUMN csp.unbilled_charges.charge_type IS 'new, renew, cycleCharge, addQuantity, removeQuantity, moveQuantity, cancelImmediate, convert, changeBillingPlan, customerCredit, extendTerm or usage';
COMMENT ON COLUMN csp.unbilled_charges.charge_start IS 'First day charged (UTC date)';
COMMENT ON COLUMN csp.unbilled_charges.charge_end IS 'Last day charged, inclusive';
COMMENT ON COLUMN csp.unbilled_charges.posted_at IS 'When the line was posted (csp.now())';
COMMENT ON COLUMN csp.unbilled_charges.quantity IS 'Seats charged; the signed delta for quantity changes and refunds';
COMMENT ON COLUMN csp.unbilled_charges.unit_price IS 'Price per seat per full billing cycle, in the pricing currency';
COMMENT ON COLUMN csp.unbilled_charges.days_charged IS 'Days charged: charge_end - charge_start + 1';
COMMENT ON COLUMN csp.unbilled_charges.days_in_cycle IS 'Days in the full billing cycle: the proration divisor';
COMMENT ON COLUMN csp.unbilled_charges.amount IS 'round(unit_price * fx_rate * quantity * days_charged / days_in_cycle) to the currency''s minor unit';
COMMENT ON COLUMN csp.unbilled_charges.currency IS 'Billing currency (the profile''s)';
COMMENT ON COLUMN csp.unbilled_charges.pricing_currency IS 'Currency of unit_price (USD for USD-priced products, R12.2)';
COMMENT ON COLUMN csp.unbilled_charges.fx_rate IS 'Pricing to billing currency rate of the posting month (R12.3); 1 when the same';
COMMENT ON COLUMN csp.unbilled_charges.reference_id IS 'Shared by the lines of one action';
COMMENT ON COLUMN csp.unbilled_charges.charge_id IS 'Ledger line id';
COMMENT ON COLUMN csp.unbilled_charges.written_at IS 'Real time the line was written (transaction_timestamp()); differs from posted_at for back-fills and for due items posted by a late job';

------------------------------------------------------------------------------
-- pg_dump keeps the data of every table and sequence
------------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('csp.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('csp.audit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.billing_account', '');
SELECT pg_catalog.pg_extension_config_dump('csp.billing_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.billing_account_role', '');
SELECT pg_catalog.pg_extension_config_dump('csp.billing_profile', '');
SELECT pg_catalog.pg_extension_config_dump('csp.billing_profile_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.invoice_section', '');
SELECT pg_catalog.pg_extension_config_dump('csp.invoice_section_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.partner', '');
SELECT pg_catalog.pg_extension_config_dump('csp.customer', '');
SELECT pg_catalog.pg_extension_config_dump('csp.product', '');
SELECT pg_catalog.pg_extension_config_dump('csp.upgrade_path', '');
SELECT pg_catalog.pg_extension_config_dump('csp.price', '');
SELECT pg_catalog.pg_extension_config_dump('csp.fx_rate', '');
SELECT pg_catalog.pg_extension_config_dump('csp.subscription', '');
SELECT pg_catalog.pg_extension_config_dump('csp.seat_lot', '');
SELECT pg_catalog.pg_extension_config_dump('csp.seat_lot_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('csp.charge', '');
SELECT pg_catalog.pg_extension_config_dump('csp.open_period', '');
SELECT pg_catalog.pg_extension_config_dump('csp.charge_id_seq', '');

------------------------------------------------------------------------------
-- Reconciliation files in Partner Center's vocabulary (issue 14, R13.2;
-- src/recon.c)
------------------------------------------------------------------------------
-- Columns spelled and ordered as Partner Center's files, so a finance
-- team's spreadsheets read them unchanged:
--   COPY (SELECT * FROM csp.recon_invoice_line_items('G000000001'))
--     TO STDOUT WITH (FORMAT csv, HEADER)
-- Columns the engine does not model are NULL (README "Reconciliation
-- files").  They run with their owner's rights (src/entry.c): a finance user
-- limited to one billing profile cannot read customers, products or
-- subscriptions; src/recon.c applies csp.visible_profile as the caller, and a document or profile the
-- caller may not see is NC404.
CREATE FUNCTION csp.recon_invoice_line_items(invoice_number text)
    RETURNS TABLE ("PartnerId" text, "CustomerId" uuid, "CustomerName" text, "CustomerDomainName" text,
                   "CustomerCountry" text, "InvoiceNumber" text, "MpnId" text, "ResellerMpnId" text,
                   "OrderId" text, "OrderDate" date, "ProductId" text, "SkuId" text,
                   "AvailabilityId" text, "SkuName" text, "ProductName" text, "ChargeType" text,
                   "UnitPrice" numeric, "Quantity" numeric, "Subtotal" numeric, "TaxTotal" numeric,
                   "Total" numeric, "Currency" text, "PriceAdjustmentDescription" text,
                   "PublisherName" text, "PublisherId" text, "SubscriptionDescription" text,
                   "SubscriptionId" uuid, "ChargeStartDate" date, "ChargeEndDate" date,
                   "TermAndBillingCycle" text, "EffectiveUnitPrice" numeric, "UnitType" text,
                   "AlternateId" text, "BillableQuantity" numeric, "BillingFrequency" text,
                   "PricingCurrency" text, "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date,
                   "MeterDescription" text, "ReservationOrderId" text, "CreditReasonCode" text,
                   "SubscriptionStartDate" date, "SubscriptionEndDate" date, "ReferenceId" uuid,
                   "ProductQualifiers" text, "PromotionId" text)
    AS 'MODULE_PATHNAME', 'csp_recon_invoice_line_items' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_invoice_line_items(text) IS
    'Partner Center''s BilledOneTimeInvoiceLineItems file of one document (invoice, void note or rebill): one row per line, Total sums to the document''s total; unmodelled columns empty';

CREATE FUNCTION csp.recon_unbilled_line_items(billing_profile_id bigint,
                                              on_date date DEFAULT csp.utc_date(csp.now()))
    RETURNS TABLE ("PartnerId" text, "CustomerId" uuid, "CustomerName" text, "CustomerDomainName" text,
                   "CustomerCountry" text, "InvoiceNumber" text, "MpnId" text, "ResellerMpnId" text,
                   "OrderId" text, "OrderDate" date, "ProductId" text, "SkuId" text,
                   "AvailabilityId" text, "SkuName" text, "ProductName" text, "ChargeType" text,
                   "UnitPrice" numeric, "Quantity" numeric, "Subtotal" numeric, "TaxTotal" numeric,
                   "Total" numeric, "Currency" text, "PriceAdjustmentDescription" text,
                   "PublisherName" text, "PublisherId" text, "SubscriptionDescription" text,
                   "SubscriptionId" uuid, "ChargeStartDate" date, "ChargeEndDate" date,
                   "TermAndBillingCycle" text, "EffectiveUnitPrice" numeric, "UnitType" text,
                   "AlternateId" text, "BillableQuantity" numeric, "BillingFrequency" text,
                   "PricingCurrency" text, "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date,
                   "MeterDescription" text, "ReservationOrderId" text, "CreditReasonCode" text,
                   "SubscriptionStartDate" date, "SubscriptionEndDate" date, "ReferenceId" uuid,
                   "ProductQualifiers" text, "PromotionId" text)
    AS 'MODULE_PATHNAME', 'csp_recon_unbilled_line_items' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_unbilled_line_items(bigint, date) IS
    'The unbilled variant of csp.recon_invoice_line_items: lines of the profile not billed yet, posted up to the end of the billing period containing on_date (default today); InvoiceNumber empty';

CREATE FUNCTION csp.recon_daily_rated_usage(invoice_number text)
    RETURNS TABLE ("PartnerId" text, "PartnerName" text, "CustomerId" uuid, "CustomerName" text,
                   "CustomerDomainName" text, "CustomerCountry" text, "MpnId" text, "Tier2MpnId" text,
                   "InvoiceNumber" text, "ProductId" text, "SkuId" text, "AvailabilityId" text,
                   "SkuName" text, "ProductName" text, "PublisherName" text, "PublisherId" text,
                   "SubscriptionDescription" text, "SubscriptionId" uuid, "ChargeStartDate" date,
                   "ChargeEndDate" date, "UsageDate" date, "MeterType" text, "MeterCategory" text,
                   "MeterId" text, "MeterSubCategory" text, "MeterName" text, "MeterRegion" text,
                   "Unit" text, "ResourceLocation" text, "ConsumedService" text, "ResourceGroup" text,
                   "ResourceURI" text, "ChargeType" text, "UnitPrice" numeric, "Quantity" numeric,
                   "UnitType" text, "BillingPreTaxTotal" numeric, "BillingCurrency" text,
                   "PricingPreTaxTotal" numeric, "PricingCurrency" text, "ServiceInfo1" text,
                   "ServiceInfo2" text, "Tags" text, "AdditionalInfo" text, "EffectiveUnitPrice" numeric,
                   "PCToBCExchangeRate" numeric, "PCToBCExchangeRateDate" date, "EntitlementId" text,
                   "EntitlementDescription" text, "PartnerEarnedCreditPercentage" text,
                   "CreditPercentage" text, "CreditType" text, "BenefitOrderId" text, "BenefitId" text,
                   "BenefitType" text)
    AS 'MODULE_PATHNAME', 'csp_recon_daily_rated_usage' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.recon_daily_rated_usage(text) IS
    'Partner Center''s DailyRatedUsage file of one document: one row per usage day and meter of its pay-as-you-go lines; BillingPreTaxTotal sums to the document''s usage lines';

------------------------------------------------------------------------------
-- The invoice document (issue 14 item 2; src/invoice_document.c)
------------------------------------------------------------------------------
CREATE FUNCTION csp.invoice_document(invoice_number text) RETURNS text
    AS 'MODULE_PATHNAME', 'csp_invoice_document' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION csp.invoice_document(text) IS
    'The document as one self-contained HTML page: bill-to, PO number, period and dates, lines by invoice section (R1.3), totals, amount due, payment instructions with the invoice number as remittance reference, void and rebill references (R13.4)';

------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; each group role gets what API.md grants it.
-- Every GRANT and REVOKE of the extension is here, in the order of the
-- sections above, so who may do what reads as one table.
------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA csp FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA csp FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA csp FROM PUBLIC;
REVOKE ALL ON SCHEMA csp FROM PUBLIC;

GRANT USAGE ON SCHEMA csp TO csp_global_admin, csp_admin_agent, csp_sales_agent,
                             csp_helpdesk_agent, csp_billing_admin, csp_reader;

-- Views are security_invoker, so readers need SELECT on the tables beneath.
GRANT SELECT ON ALL TABLES IN SCHEMA csp TO csp_global_admin, csp_admin_agent, csp_sales_agent,
                                            csp_helpdesk_agent, csp_billing_admin, csp_reader;

GRANT EXECUTE ON FUNCTION
    csp.now(), csp.term_end(date, text, boolean),
    csp.billing_cycle(date, date, text, text, date), csp.billing_cycles(date, date, text, text),
    csp.prorate(numeric, bigint, int, int, text), csp.round_money(numeric, text),
    csp.currency_exponent(text), csp.fx_rate_date(date), csp.utc_date(timestamptz),
    csp.whole_days(timestamptz, timestamptz), csp.invoice_period(date, int)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader;

GRANT EXECUTE ON FUNCTION
    csp.create_partner(text, text, csp.partner_kind, text, text, text),
    csp.set_partner_status(text, text),
    csp.create_billing_account(text, text, text),
    csp.grant_billing_account_role(bigint, name, text),
    csp.create_billing_profile(bigint, text, text, text, boolean, jsonb, text, int),
    csp.create_invoice_section(bigint, text),
    csp.link_partner_billing(text, bigint, bigint, boolean),
    csp.set_customer_verification(uuid, text),
    csp.add_product(text, text, text, text, boolean, text, text[], numeric, numeric),
    csp.add_upgrade_path(text, text),
    csp.set_price(text, text, text, text, numeric, date),
    csp.set_fx_rate(text, text, date, numeric)
    TO csp_global_admin;

-- subscriptions: every agent role but the reader
GRANT EXECUTE ON FUNCTION
    csp.purchase(uuid, text, int, text, text, boolean, bigint, uuid, boolean, text, text[], text),
    csp.change_quantity(uuid, int), csp.reducible_licenses(uuid),
    csp.suspend(uuid), csp.reactivate(uuid), csp.cancel(uuid),
    csp.set_auto_renew(uuid, boolean), csp.rename(uuid, text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent, csp_billing_admin;

GRANT EXECUTE ON FUNCTION
    csp.schedule_change(uuid, text, int, text, text, date), csp.clear_scheduled_change(uuid),
    csp.upgrade(uuid, text, int, uuid), csp.convert_trial(uuid, int, text, text, uuid),
    csp.transfer(uuid, text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent, csp_billing_admin;

GRANT EXECUTE ON FUNCTION csp.run_cycle_charges(timestamptz), csp.run_renewals(timestamptz),
    csp.tick(timestamptz),
    csp.schedule_jobs(), csp.unschedule_jobs()
    TO csp_global_admin;

GRANT EXECUTE ON FUNCTION
    csp.add_customer(text, text, text, jsonb, text, text, text, boolean),
    csp.update_customer(uuid, text, jsonb, text, text, text),
    csp.attest_mca(uuid)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent;

-- Billing-profile roles: the row-level security test is run as the querying
-- role; csp_profile_member reads the money views (scoped by row-level
-- security) and may call the money-writing functions, which refuse a
-- profile the caller holds no writing role on (R1.4: payments need owner,
-- contributor or invoice_manager; credit notes and void and rebill owner
-- or contributor).
GRANT EXECUTE ON FUNCTION csp.grant_profile_role(bigint, name, text),
    csp.revoke_profile_role(bigint, name, text)
    TO csp_global_admin;
GRANT EXECUTE ON FUNCTION csp.visible_profile(bigint), csp.profile_scope()
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;
-- No USAGE on the schema for csp_profile_member: each holder gets it in
-- this database from csp.grant_profile_role (issue 12 item 8), so the
-- cluster-wide membership alone opens nothing.
GRANT SELECT ON csp.invoice, csp.payment, csp.payment_allocation, csp.charge, csp.invoice_section,
    csp.billing_profile_role, csp.subscription, csp.seat_lot,
    csp.billing_overview, csp.account_balance, csp.unallocated_payments, csp.invoice_lines,
    csp.invoice_section_totals, csp.line_items, csp.unbilled_charges, csp.subscriptions
    TO csp_profile_member;
GRANT SELECT (customer_id, legal_name) ON csp.customer TO csp_profile_member;
GRANT EXECUTE ON FUNCTION csp.now(), csp.round_money(numeric, text), csp.utc_date(timestamptz),
    csp.record_payment(bigint, numeric, text, timestamptz, jsonb, text, text),
    csp.allocate_payment(bigint, text, numeric),
    csp.apply_credit_note(bigint, numeric, text, jsonb, text),
    csp.void_and_rebill(text, text, jsonb)
    TO csp_profile_member;

GRANT EXECUTE ON FUNCTION csp.run_invoicing(timestamptz) TO csp_global_admin;

GRANT EXECUTE ON FUNCTION
    csp.void_and_rebill(text, text, jsonb),
    csp.record_payment(bigint, numeric, text, timestamptz, jsonb, text, text),
    csp.allocate_payment(bigint, text, numeric),
    csp.apply_credit_note(bigint, numeric, text, jsonb, text)
    TO csp_global_admin, csp_billing_admin;

GRANT EXECUTE ON FUNCTION csp.record_usage(uuid, date, text, numeric, numeric, text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_billing_admin;

REVOKE ALL ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION csp.recon_invoice_line_items(text), csp.recon_unbilled_line_items(bigint, date),
    csp.recon_daily_rated_usage(text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;

REVOKE ALL ON FUNCTION csp.drop_jobs_trigger() FROM PUBLIC;

REVOKE ALL ON FUNCTION csp.invoice_document(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION csp.invoice_document(text)
    TO csp_global_admin, csp_admin_agent, csp_sales_agent, csp_helpdesk_agent,
       csp_billing_admin, csp_reader, csp_profile_member;
