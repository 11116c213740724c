-- tenancy.rollback_tenant(tenant id): undoes a tenant's migration before
-- cutover: drops the tenant tables tenancy created (children first) and the
-- tenant's ledger rows. The shared tables are not touched, and tables that
-- were in the schema before (created by anyone else) are never dropped. On a
-- Citus coordinator the dropped tables' shards go with them, and the schema
-- is then undistributed (tenancy.citus_undistribute_tenant).
-- Under the tenant's lock. Returns one row per table.
CREATE OR REPLACE FUNCTION tenancy.rollback_tenant(p_tenant_id text)
RETURNS TABLE (table_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema       text := tenancy.require_tenant(p_tenant_id);
    v_state        text;
    -- Present on a Citus coordinator only (sql/citus/).
    v_undistribute regprocedure := to_regprocedure('tenancy.citus_undistribute_tenant(text)');
BEGIN
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    PERFORM tenancy.assert_tenant_relations_safe(p_tenant_id);
    SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id;
    IF v_state IN ('cut_over', 'contracted') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is %s: its shared rows are gone, dropping its tables would lose data', p_tenant_id, v_state),
            HINT = 'Roll back the cutover first (copy the rows back), then roll back the migration.';
    END IF;
    FOR table_name IN
        SELECT l.table_name FROM tenancy.ledger AS l
        LEFT JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        WHERE l.tenant_id = p_tenant_id
        ORDER BY m.position DESC NULLS FIRST, l.table_name
    LOOP
        IF to_regclass(format('%I.%I', v_schema, table_name)) IS NULL THEN
            action := 'absent';
        ELSE
            EXECUTE format('DROP TABLE %I.%I', v_schema, table_name);
            action := 'dropped';
        END IF;
        RETURN NEXT;
    END LOOP;
    -- On Citus, what is left of the schema comes back to the coordinator.
    IF v_undistribute IS NOT NULL THEN
        EXECUTE format('SELECT %s($1)', v_undistribute::oid::regproc) USING p_tenant_id;
    END IF;
    DELETE FROM tenancy.ledger AS l WHERE l.tenant_id = p_tenant_id;
    UPDATE tenancy.tenants AS t
    SET state = 'provisioned', started_at = NULL, finished_at = NULL, last_error = NULL
    WHERE t.tenant_id = p_tenant_id;
END
$fn$;
COMMENT ON FUNCTION tenancy.rollback_tenant(text) IS
'Before cutover: drops the tenant tables tenancy created and their ledger rows; shared tables untouched.';
