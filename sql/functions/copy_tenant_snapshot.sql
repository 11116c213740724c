-- tenancy.copy_tenant_snapshot(tenant id): online migration step 2, in a
-- REPEATABLE READ transaction started after tenancy.start_capture() returned
-- (TY052 otherwise): proves the tenant's tables (TY040), copies every table of the tenant from that one snapshot,
-- proves each copy against the shared rows of the same snapshot (count and
-- checksum; TY010 on any difference), builds keys and indexes, applies the
-- tenant's grants and marks it syncing. Foreign keys and sequences come at
-- cutover, after the last replay. Tables already copied are skipped.
-- Returns one row per table.
CREATE OR REPLACE FUNCTION tenancy.copy_tenant_snapshot(p_tenant_id text)
RETURNS TABLE (table_name text, state text, rows_copied bigint, seconds numeric, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_table    record;
    v_started  timestamptz;
    v_copied   bigint;
    v_last_key jsonb;
BEGIN
    IF current_setting('transaction_isolation') = 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY052',
            MESSAGE = format('the copy of tenant %L must read one snapshot', p_tenant_id),
            HINT = 'Run it as BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM tenancy.copy_tenant_snapshot(...); COMMIT;';
    END IF;
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    IF NOT EXISTS (SELECT 1 FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is not capturing its writes', p_tenant_id),
            HINT = format('CALL tenancy.start_capture(%L) first.', p_tenant_id);
    END IF;
    -- Made by start_capture in an earlier transaction: prove them before writing.
    PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE');
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m
        JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
        WHERE l.state = 'created' ORDER BY m.position
    LOOP
        v_started := clock_timestamp();
        EXECUTE format('SELECT * FROM tenancy.%I($1, $2)', v_table.fn_prefix || '__copy')
        INTO v_copied, v_last_key USING p_tenant_id, v_schema;
        PERFORM tenancy.report_progress(p_tenant_id, v_table.table_name, 'copy', v_copied);
        PERFORM tenancy.assert_same_rows(
            p_tenant_id, v_schema, v_table.fn_prefix,
            format('copy of %I for tenant %L does not match its snapshot', v_table.table_name, p_tenant_id),
            'Nothing was committed. Check the table for triggers or rules that change copied rows.'
        );
        EXECUTE format('SELECT tenancy.run_statements(tenancy.%I($1))', v_table.fn_prefix || '__index') USING v_schema;
        UPDATE tenancy.ledger AS l
        SET state = 'indexed', rows_copied = v_copied, batches = 1, copy_started_at = v_started,
            copied_at = clock_timestamp(),
            copy_seconds = round(extract(EPOCH FROM clock_timestamp() - v_started)::numeric, 3)
        WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name;
        PERFORM tenancy.report_progress(p_tenant_id, v_table.table_name, 'index');
    END LOOP;
    PERFORM tenancy.stamp_tenant_tables(ARRAY[p_tenant_id]);
    PERFORM tenancy.provision_tenant(p_tenant_id, p_shared => false);
    UPDATE tenancy.tenants AS t SET state = 'syncing' WHERE t.tenant_id = p_tenant_id AND t.state = 'migrating';
    RETURN QUERY
        SELECT l.table_name, l.state, l.rows_copied, l.copy_seconds,
               CASE WHEN l.copied_at >= transaction_timestamp() THEN 'copied' ELSE 'skipped' END
        FROM tenancy.ledger AS l JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        WHERE l.tenant_id = p_tenant_id ORDER BY m.position;
END
$fn$;
COMMENT ON FUNCTION tenancy.copy_tenant_snapshot(text) IS
'Online step 2 (REPEATABLE READ): copy all of a tenant''s tables from one snapshot, prove them, build keys.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.copy_tenant_snapshot(text) OWNER TO tenancy_engine;
