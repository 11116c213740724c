-- tenancy.missing_tables(tenant id): the tables now listed under [move] that
-- are not done for this tenant, in FK order. Empty once its migration has
-- moved every one; a table added to the manifest later shows up here.
-- Read-only.
CREATE OR REPLACE FUNCTION tenancy.missing_tables(p_tenant_id text)
RETURNS text []
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT coalesce(array_agg(m.table_name ORDER BY m.position), '{}')
    FROM tenancy.moved_tables AS m
    WHERE NOT EXISTS (SELECT 1 FROM tenancy.ledger AS l
                      WHERE l.tenant_id = p_tenant_id AND l.table_name = m.table_name AND l.state = 'done')
$fn$;
COMMENT ON FUNCTION tenancy.missing_tables(text) IS
'Moved tables not done for a tenant (FK order); empty once it has every table of the manifest.';
