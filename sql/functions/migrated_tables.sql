-- tenancy.migrated_tables(tenant ids): the ledger rows of the listed tenants
-- whose migration is complete (migrated, and every table now under [move]
-- done: tenancy.migration_complete() for all of them at once), in one read:
-- a re-run skips them without a call per tenant. Read-only.
CREATE OR REPLACE FUNCTION tenancy.migrated_tables(p_tenant_ids text [])
RETURNS TABLE (tenant_id text, table_name text, state text, rows_copied bigint, seconds numeric)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT l.tenant_id, l.table_name, l.state, l.rows_copied, l.copy_seconds
    FROM tenancy.tenants AS t
    JOIN tenancy.ledger AS l ON l.tenant_id = t.tenant_id
    JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
    WHERE t.state = 'migrated' AND t.tenant_id = ANY (p_tenant_ids)
        AND NOT EXISTS (SELECT 1 FROM tenancy.moved_tables AS x
                        WHERE NOT EXISTS (SELECT 1 FROM tenancy.ledger AS d
                                          WHERE d.tenant_id = t.tenant_id AND d.table_name = x.table_name
                                              AND d.state = 'done'))
    ORDER BY l.tenant_id, m.position
$fn$;
COMMENT ON FUNCTION tenancy.migrated_tables(text []) IS
'Ledger rows of the listed tenants already migrated (what a re-run skips), in one read.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.migrated_tables(text []) OWNER TO tenancy_engine;
