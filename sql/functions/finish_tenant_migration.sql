-- tenancy.finish_tenant_migration(tenant id): migration step 3
-- for one tenant, under its lock, once every table is copied: proves its
-- tables (tenancy.prove_tenant_tables, TY040), then
-- tenancy.finish_tenant_migrations for that tenant, raising what it refuses
-- (TY008, TY010 for a copy that differs from its source, so that in
-- migrate_tenant's single transaction a tenant is only ever committed
-- identical to its source). The shared side is read here, after the copy.
-- Returns one row per table. Re-running skips finished tables.

CREATE OR REPLACE FUNCTION tenancy.finish_tenant_migration(p_tenant_id text)
RETURNS TABLE (table_name text, state text, rows_copied bigint, seconds numeric)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_row record;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE');
    FOR v_row IN
        SELECT * FROM tenancy.finish_tenant_migrations(ARRAY[p_tenant_id])
    LOOP
        IF v_row.error_code IS NOT NULL THEN
            PERFORM tenancy.raise_refusal(v_row.error_code, v_row.error, v_row.error_detail, v_row.error_hint);
        END IF;
        table_name := v_row.table_name;
        state := v_row.state;
        rows_copied := v_row.rows_copied;
        seconds := v_row.seconds;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.finish_tenant_migration(text) IS
'Migration step 3 (needs the tenant lock): validate each copy against its source, build keys, indexes and FKs.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.finish_tenant_migration(text) OWNER TO tenancy_engine;
