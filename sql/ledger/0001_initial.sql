-- Schema tenancy: settings, the registry of rendered tables, and the ledger.
-- Safe to run again: every statement is idempotent, and data is kept.

CREATE SCHEMA IF NOT EXISTS tenancy;
COMMENT ON SCHEMA tenancy IS
'Functions and ledger of the tenancy tool: moves shared tenant_id tables into schema-per-tenant.';

-- The installed version and a checksum of everything that was installed.
CREATE TABLE IF NOT EXISTS tenancy.installed (
    version text NOT NULL,
    checksum text NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version, checksum)
);
COMMENT ON TABLE tenancy.installed IS
'One row per distinct install; reinstalling the same version and checksum is a no-op.';

-- The manifest's values, one row, rewritten at each install.
CREATE TABLE IF NOT EXISTS tenancy.settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tenant_key text NOT NULL,
    central_schema text NOT NULL,
    registry_table text NOT NULL,
    registry_id_column text NOT NULL,
    registry_name_column text,
    schema_prefix text NOT NULL,
    schema_suffix text NOT NULL,
    tenant_id_pattern text NOT NULL,
    max_tenant_id_bytes integer NOT NULL
);
COMMENT ON TABLE tenancy.settings IS
'The manifest as installed: tenant key, registry, schema naming. Read by every function.';

-- One row per moved table, written by the rendered SQL of that table.
CREATE TABLE IF NOT EXISTS tenancy.moved_tables (
    table_name text PRIMARY KEY,
    position integer NOT NULL,
    fn_prefix text NOT NULL,
    batchable boolean NOT NULL,
    foreign_keys integer NOT NULL,
    notes text [] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE tenancy.moved_tables IS
'The moved tables in FK order (parents first), with the prefix of their rendered functions.';

-- Per tenant: its schema and where its migration stands.
CREATE TABLE IF NOT EXISTS tenancy.tenants (
    tenant_id text PRIMARY KEY,
    schema_name text NOT NULL UNIQUE,
    state text NOT NULL DEFAULT 'provisioned',
    started_at timestamptz,
    finished_at timestamptz,
    last_error text,
    CONSTRAINT tenants_state_check CHECK (
        -- syncing / cut_over / contracted are reserved for online mode and cutover.
        state IN ('provisioned', 'migrating', 'migrated', 'failed', 'syncing', 'cut_over', 'contracted')
    )
);
COMMENT ON TABLE tenancy.tenants IS
'Tenants known to tenancy: schema name and migration state (provisioned, migrating, migrated, failed).';

-- Per tenant and moved table: each step, its rows and timings.
CREATE TABLE IF NOT EXISTS tenancy.ledger (
    tenant_id text NOT NULL REFERENCES tenancy.tenants (tenant_id) ON DELETE CASCADE,
    table_name text NOT NULL,
    state text NOT NULL,
    rows_copied bigint NOT NULL DEFAULT 0,
    last_key jsonb,
    batches integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    copy_started_at timestamptz,
    copied_at timestamptz,
    finished_at timestamptz,
    copy_seconds numeric,
    PRIMARY KEY (tenant_id, table_name),
    CONSTRAINT ledger_state_check CHECK (state IN ('created', 'copying', 'copied', 'indexed', 'done'))
);
COMMENT ON TABLE tenancy.ledger IS
'Migration steps per tenant and table: created, copying (batches so far), copied, indexed, done; '
'last_key resumes keyset batches.';

CREATE OR REPLACE VIEW tenancy.status AS
SELECT
    t.tenant_id,
    t.schema_name,
    t.state,
    count(l.table_name) AS tables,
    count(l.table_name) FILTER (WHERE l.state = 'done') AS tables_done,
    coalesce(sum(l.rows_copied), 0) AS rows_copied,
    round(extract(EPOCH FROM coalesce(t.finished_at, clock_timestamp()) - t.started_at)::numeric, 3)
        AS seconds,
    t.last_error
FROM tenancy.tenants AS t
LEFT JOIN tenancy.ledger AS l ON t.tenant_id = l.tenant_id
GROUP BY t.tenant_id, t.schema_name, t.state, t.started_at, t.finished_at, t.last_error;
COMMENT ON VIEW tenancy.status IS 'One row per tenant: state, tables done, rows copied, seconds.';
