-- tenancy.finish_tenant_migration(tenant id, source sums): migration step 3
-- for one tenant, under its lock, once every table is copied:
-- tenancy.finish_tenant_migrations for that tenant, raising what it refuses
-- (TY040, TY008, TY010 for a copy that differs from its source, so that in
-- migrate_tenant's single transaction a tenant is only ever committed
-- identical to its source). p_source_sums is the tenant's part of
-- tenancy.source_sums() ({"table": [rows, checksum]}, read after the copy) or
-- NULL (read here). Returns one row per table. Re-running skips finished tables.

CREATE OR REPLACE FUNCTION tenancy.finish_tenant_migration(p_tenant_id text, p_source_sums jsonb DEFAULT NULL)
RETURNS TABLE (table_name text, state text, rows_copied bigint, seconds numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_row record;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    FOR v_row IN
        SELECT * FROM tenancy.finish_tenant_migrations(
            ARRAY[p_tenant_id], CASE WHEN p_source_sums IS NOT NULL THEN jsonb_build_object(p_tenant_id, p_source_sums) END
        )
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
COMMENT ON FUNCTION tenancy.finish_tenant_migration(text, jsonb) IS
'Migration step 3 (needs the tenant lock): validate each copy against its source, build keys, indexes and FKs.';
