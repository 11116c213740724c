-- tenancy.migration_complete(tenant id): true when the tenant is migrated and
-- every table now listed under [move] is done for it. A table added to the
-- manifest after the tenant migrated makes this false again, so the next
-- migration moves that table too instead of skipping the tenant. Read-only.
CREATE OR REPLACE FUNCTION tenancy.migration_complete(p_tenant_id text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN EXISTS (SELECT 1 FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id AND t.state = 'migrated')
        AND cardinality(tenancy.missing_tables(p_tenant_id)) = 0;
END
$fn$;
COMMENT ON FUNCTION tenancy.migration_complete(text) IS
'True when the tenant is migrated and every moved table is done for it (a table added later makes it false).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.migration_complete(text) OWNER TO tenancy_engine;
