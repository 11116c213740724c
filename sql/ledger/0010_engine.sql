-- The engine role and the stamps of the tenant tables. Safe to run again.
--
-- Role tenancy_engine (NOLOGIN) owns the tool's entry points: the SECURITY
-- DEFINER functions a runner login (a member of tenancy_migrator) or a DBA
-- calls. It alone is a member of the tenant owner roles (provisioning grants
-- each owner role to it), and it alone writes the ledger: the migrator can
-- neither act as a tenant owner nor change the record of a migration.
-- Because it holds every tenant owner, no statement of it touches a tenant
-- table before the table is locked and proven identical to what the tool
-- made (tenancy.tenant_table_changes, from the stamps below).
DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_engine') THEN
        CREATE ROLE tenancy_engine NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS INHERIT;
        COMMENT ON ROLE tenancy_engine IS
        'tenancy: owns the entry points of schema tenancy; member of every tenant owner role; writes the ledger.';
    END IF;
EXCEPTION
    -- Another database of the same cluster created it a moment ago.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$do$;

-- What the engine's routines do in schema tenancy: call the tool's routines,
-- write the ledger, and make the staging tables of the one-pass copy.
GRANT USAGE, CREATE ON SCHEMA tenancy TO tenancy_engine;
GRANT SELECT ON ALL TABLES IN SCHEMA tenancy TO tenancy_engine;
GRANT INSERT, UPDATE, DELETE ON
tenancy.tenants, tenancy.ledger, tenancy.online_tenants, tenancy.change_log, tenancy.contraction,
tenancy.placements, tenancy.reference_tables
TO tenancy_engine;

-- The federated reads compare a tenant table with its stamp before reading it.
GRANT SELECT ON tenancy.ledger TO tenancy_federation_owner;

-- The copy back of a rollback after cutover must not fire the application's
-- triggers on the shared tables (nor the capture): it runs with
-- session_replication_role = replica, as logical replication and pg_restore
-- do. Only a superuser may set it unless granted (PostgreSQL 15+).
DO $do$
BEGIN
    EXECUTE 'GRANT SET ON PARAMETER session_replication_role TO tenancy_engine';
END
$do$;

-- The stamp of each tenant table: its OID and a digest of everything that
-- could run code on access (tenancy.relation_stamps), taken in the
-- transaction that last changed the table's definition through the tool.
ALTER TABLE tenancy.ledger
ADD COLUMN IF NOT EXISTS relid oid,
ADD COLUMN IF NOT EXISTS stamp jsonb;
COMMENT ON COLUMN tenancy.ledger.relid IS
'OID of the tenant table the tool made (NULL until made).';
COMMENT ON COLUMN tenancy.ledger.stamp IS
'Digest of the tenant table''s definition as the tool left it (tenancy.relation_stamps); '
'every later use locks the table and compares.';

-- What cutover proved under the fence, per tenant and table: the count (in
-- rows_copied) and the checksum of the tenant's shared rows, which the
-- tenant table equalled. The shared rows stay (read-only, behind the guard)
-- until contract, which checks them against this before it drops anything.
ALTER TABLE tenancy.ledger ADD COLUMN IF NOT EXISTS cutover_checksum numeric;
COMMENT ON COLUMN tenancy.ledger.cutover_checksum IS
'Checksum of the tenant''s shared rows of the table proved equal to the tenant table at cutover.';

-- The guard of the shared tables (row-level security, enabled at the first
-- cutover) reads which tenants are cut over, as whoever queries the shared
-- table: the application's roles. Tenant ids and states only.
GRANT SELECT ON tenancy.online_tenants TO PUBLIC;
