-- The Alumate-like hybrid database built by `tenancy sample` (runner/devtools/sample.py):
-- central tables, the twelve shared tables that the migration moves into the
-- tenant schemas, and the hybrid tables that stay central with tenant_id.
--
-- Tables are created with their keys, UNIQUE and CHECK constraints; foreign
-- keys and secondary indexes come in constraints.sql, after the load, because
-- checking or maintaining them row by row would cost more than the load itself.
-- The ids are written by data.sql and the sequences moved past them at the end.

-- Central -------------------------------------------------------------------

CREATE TABLE tenants (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamp NOT NULL
);

CREATE TABLE domains (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    domain      text NOT NULL UNIQUE
);

CREATE TABLE roles (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE
);

CREATE TABLE permissions (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE
);

CREATE TABLE institutions (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        text NOT NULL
);

CREATE TABLE companies (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    website     text
);

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL,
    email           text NOT NULL UNIQUE,
    -- NULL for super-admins and for alumni not tied to one institution.
    institution_id  bigint,
    role_id         bigint NOT NULL,
    created_at      timestamp NOT NULL
);

-- Moved to tenant_<id>.<table> by the migration --------------------------

CREATE TABLE templates (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        varchar(255) NOT NULL,
    slug        varchar(255) NOT NULL,
    category    text,
    structure   jsonb NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamp,
    updated_at  timestamp,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE template_variants (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    template_id bigint NOT NULL,
    name        text NOT NULL,
    weight      integer NOT NULL DEFAULT 50 CHECK (weight BETWEEN 0 AND 100),
    overrides   jsonb,
    created_at  timestamp,
    updated_at  timestamp
);

CREATE TABLE landing_pages (
    id                bigserial PRIMARY KEY,
    tenant_id         text NOT NULL,
    title             varchar(255) NOT NULL,
    slug              varchar(255) NOT NULL,
    content           jsonb,
    template_id       bigint,
    is_published      boolean NOT NULL DEFAULT false,
    published_at      timestamp,
    meta_title        text,
    meta_description  text,
    created_at        timestamp,
    updated_at        timestamp,
    UNIQUE (tenant_id, slug),
    -- Slugs become URL path segments.
    CONSTRAINT landing_pages_slug_no_slash CHECK (slug NOT LIKE '%/%')
);

CREATE TABLE component_themes (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        varchar(255) NOT NULL,
    slug        varchar(255) NOT NULL,
    -- Keys colors, fonts, spacing (what the app validates before use).
    config      jsonb NOT NULL,
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamp,
    updated_at  timestamp,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE analytics_events (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    event_type  varchar(100) NOT NULL,
    event_data  jsonb,
    -- Loose references, as in the app: events outlive pages and users.
    page_id     bigint,
    user_id     bigint,
    session_id  varchar(255),
    ip_address  inet,
    user_agent  text,
    occurred_at timestamp NOT NULL,
    created_at  timestamp
);

CREATE TABLE template_performance_dashboards (
    id               bigserial PRIMARY KEY,
    tenant_id        text NOT NULL,
    template_id      bigint NOT NULL,
    period_start     date NOT NULL,
    views            integer NOT NULL DEFAULT 0,
    conversions      integer NOT NULL DEFAULT 0,
    conversion_rate  numeric(6, 4),
    -- json, not jsonb, on purpose: json has no equality or hash, which the
    -- migration's copy and checksum code must cope with.
    metrics          json,
    created_at       timestamp,
    updated_at       timestamp
);

CREATE TABLE brand_colors (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        text NOT NULL,
    hex         char(7) NOT NULL CHECK (hex ~ '^#[0-9a-f]{6}$'),
    created_at  timestamp,
    updated_at  timestamp
);

CREATE TABLE brand_configs (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    key         text NOT NULL,
    value       jsonb NOT NULL,
    created_at  timestamp,
    updated_at  timestamp,
    UNIQUE (tenant_id, key)
);

CREATE TABLE brand_fonts (
    -- An identity column, not bigserial, so the migration meets both kinds.
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL,
    family      text NOT NULL,
    weight      smallint NOT NULL DEFAULT 400,
    url         text,
    created_at  timestamp,
    updated_at  timestamp
);

CREATE TABLE email_sequences (
    id             bigserial PRIMARY KEY,
    tenant_id      text NOT NULL,
    name           text NOT NULL,
    slug           text NOT NULL,
    trigger_event  text,
    is_active      boolean NOT NULL DEFAULT true,
    created_at     timestamp,
    updated_at     timestamp,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE sequence_emails (
    id           bigserial PRIMARY KEY,
    tenant_id    text NOT NULL,
    sequence_id  bigint NOT NULL,
    position     integer NOT NULL,
    subject      text NOT NULL,
    body         text,
    delay_hours  integer NOT NULL DEFAULT 24,
    created_at   timestamp,
    updated_at   timestamp
);

CREATE TABLE sequence_enrollments (
    id            bigserial PRIMARY KEY,
    tenant_id     text NOT NULL,
    sequence_id   bigint NOT NULL,
    -- Users stay central: after the migration this is a cross-schema reference.
    user_id       bigint NOT NULL,
    status        text NOT NULL DEFAULT 'active',
    enrolled_at   timestamp NOT NULL,
    completed_at  timestamp,
    created_at    timestamp,
    updated_at    timestamp
);

-- Hybrid: stay central with tenant_id -------------------------------------

CREATE TABLE employers (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        text NOT NULL,
    company_id  bigint,
    created_at  timestamp
);

CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    tenant_id    text NOT NULL,
    employer_id  bigint,
    title        text NOT NULL,
    location     text,
    job_type     text NOT NULL,
    salary_min   integer,
    salary_max   integer,
    status       text NOT NULL DEFAULT 'active',
    -- Public postings are readable by every tenant (tenancy.toml [hybrid]).
    is_public    boolean NOT NULL DEFAULT false,
    created_at   timestamp NOT NULL
);

CREATE TABLE leads (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    email       text NOT NULL,
    source      text,
    status      text,
    created_at  timestamp
);
