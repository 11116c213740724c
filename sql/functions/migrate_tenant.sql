-- tenancy.migrate_tenant(tenant id): moves one tenant's rows from the shared
-- tables into its schema, in one transaction: all of it happens or none of
-- it. Takes the tenant's lock (TY004 if busy), preflights before any write
-- (TY003/TY007/TY009), copies each table with one INSERT ... SELECT,
-- validates every copy row by row against its source (count and checksum;
-- TY010, and nothing is committed), builds keys, indexes and FKs after the
-- load and resets sequences. The shared side of the validation is read after
-- the copy, so a row written meanwhile shows as a difference. A tenant already
-- migrated is skipped; one migrated before a table was added to [move]
-- gets that table moved (tenancy.migration_complete()). For huge tenants,
-- CALL tenancy.migrate_tenant_batched() commits in batches.

CREATE OR REPLACE FUNCTION tenancy.migrate_tenant(p_tenant_id text)
RETURNS TABLE (tenant_id text, table_name text, state text, rows_copied bigint, seconds numeric, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table text;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    tenant_id := p_tenant_id;
    IF tenancy.migration_complete(p_tenant_id) THEN
        FOR table_name, state, rows_copied, seconds IN
            SELECT l.table_name, l.state, l.rows_copied, l.copy_seconds
            FROM tenancy.ledger AS l JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
            WHERE l.tenant_id = p_tenant_id ORDER BY m.position
        LOOP
            action := 'skipped';
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    PERFORM tenancy.begin_tenant_migration(p_tenant_id);
    FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        PERFORM tenancy.copy_tenant_table(p_tenant_id, v_table, NULL);
    END LOOP;
    FOR table_name, state, rows_copied, seconds IN
        SELECT f.table_name, f.state, f.rows_copied, f.seconds FROM tenancy.finish_tenant_migration(p_tenant_id) AS f
    LOOP
        action := 'migrated';
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.migrate_tenant(text) IS
'Moves one tenant''s rows into its schema in one transaction (preflight, copy, validate, index); idempotent.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.migrate_tenant(text) OWNER TO tenancy_engine;
