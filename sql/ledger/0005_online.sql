-- Online mode: the tenants whose shared rows are captured (or fenced off after
-- cutover), the change log the capture triggers write, and the role that owns
-- the capture trigger functions. Safe to run again: idempotent, data kept.

-- Which moved tables can be captured (those with a primary key without the
-- tenant key): written by each table's rendered SQL.
ALTER TABLE tenancy.moved_tables ADD COLUMN IF NOT EXISTS captured boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS tenancy.online_tenants (
    tenant_id text PRIMARY KEY REFERENCES tenancy.tenants (tenant_id) ON DELETE CASCADE,
    state text NOT NULL DEFAULT 'capturing',
    since timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT online_tenants_state_check CHECK (state IN ('capturing', 'cut_over'))
);
COMMENT ON TABLE tenancy.online_tenants IS
'Tenants in flight: capturing (writes to their shared rows are logged) or cut_over (such writes are refused). '
'The capture triggers look a tenant up here and return at once when it is absent.';

CREATE TABLE IF NOT EXISTS tenancy.change_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL,
    table_name text NOT NULL,
    row_key jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS change_log_tenant_id_idx ON tenancy.change_log (tenant_id, id);
COMMENT ON TABLE tenancy.change_log IS
'Keys of shared rows written while their tenant is capturing; replay re-reads each row by key (order-free).';

-- When the shared tables were contracted, and where they went (NULL: dropped).
CREATE TABLE IF NOT EXISTS tenancy.contraction (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    archive_schema text,
    contracted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE tenancy.contraction IS
'Set by tenancy.contract(): the shared tables are gone (or moved to archive_schema).';

-- The capture triggers run as whoever writes the shared tables (the
-- application): their functions are SECURITY DEFINER, owned by this role,
-- which may only read online_tenants and append to change_log.
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_capture') THEN
        CREATE ROLE tenancy_capture NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE tenancy_capture IS
        'Owns the capture trigger functions of tenancy: reads tenancy.online_tenants, appends to tenancy.change_log.';
    END IF;
EXCEPTION
    -- Another database of the same cluster created it a moment ago.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$do$;
GRANT USAGE ON SCHEMA tenancy TO tenancy_capture;
GRANT SELECT ON tenancy.online_tenants TO tenancy_capture;
GRANT INSERT ON tenancy.change_log TO tenancy_capture;
