-- tenancy.incomplete_tenants(): migrated tenants that miss a table now listed
-- under [move] (added to the manifest after they migrated), with those
-- tables. The next migrate moves them. Read-only.
CREATE OR REPLACE FUNCTION tenancy.incomplete_tenants()
RETURNS TABLE (tenant_id text, missing_tables text [])
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    SELECT i.tenant_id, i.missing
    FROM (
        SELECT t.tenant_id, tenancy.missing_tables(t.tenant_id) AS missing
        FROM tenancy.tenants AS t
        WHERE t.state = 'migrated'
    ) AS i
    WHERE cardinality(i.missing) > 0
    ORDER BY i.tenant_id;
END
$fn$;
COMMENT ON FUNCTION tenancy.incomplete_tenants() IS
'Migrated tenants missing tables added to [move] later, with those tables; the next migrate moves them.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.incomplete_tenants() OWNER TO tenancy_engine;
