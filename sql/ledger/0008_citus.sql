-- Citus placement of each distributed tenant schema (tenancy distribute / move).
-- Safe to run again: idempotent, data kept. Written only on a Citus coordinator.

CREATE TABLE IF NOT EXISTS tenancy.placements (
    tenant_id text PRIMARY KEY REFERENCES tenancy.tenants (tenant_id) ON DELETE CASCADE,
    schema_name text NOT NULL,
    state text NOT NULL,
    node text,
    tables integer NOT NULL DEFAULT 0,
    rows_verified bigint NOT NULL DEFAULT 0,
    distributed_at timestamptz,
    moved_at timestamptz,
    CONSTRAINT placements_state_check CHECK (state IN ('distributed', 'moved'))
);
COMMENT ON TABLE tenancy.placements IS
'Tenant schemas distributed over Citus: worker (host:port), tables, rows verified after the copy, '
'when distributed and last moved. A row exists only once the copy was verified and the local copy '
'truncated.';

CREATE TABLE IF NOT EXISTS tenancy.reference_tables (
    table_name text PRIMARY KEY,
    made_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    made_by text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE tenancy.reference_tables IS
'Central tables that tenancy distribute turned into Citus reference tables, with the consent of '
'whom (--make-reference), and when.';
