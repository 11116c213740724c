-- tenancy.finish_tenant_migration(tenant id): migration step 3, under the
-- tenant's lock, once every table is copied: build keys and indexes, then
-- foreign keys, set sequences past the copied ids, verify that each table's
-- source still has the rows copied (raises TY010 when rows were added or
-- removed during the copy; the row-by-row comparison is validate_tenant's
-- job), provision so grants and owners cover the new tables, and mark the
-- tenant migrated. Returns one row per table. Re-running skips finished tables.
CREATE OR REPLACE FUNCTION tenancy.finish_tenant_migration(p_tenant_id text)
RETURNS TABLE (table_name text, state text, rows_copied bigint, seconds numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_table  record;
    v_rows   bigint;
BEGIN
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    IF EXISTS (SELECT 1 FROM tenancy.ledger AS l WHERE l.tenant_id = p_tenant_id AND l.state IN ('created', 'copying')) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L still has tables to copy', p_tenant_id),
            HINT = 'Run tenancy.migrate_tenant() (or CALL tenancy.migrate_tenant_batched()) to finish the copy.';
    END IF;
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix, l.state, l.rows_copied
        FROM tenancy.moved_tables AS m
        JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
        WHERE l.state = 'copied' ORDER BY m.position
    LOOP
        -- Verify before building anything: the source must still hold the rows
        -- copied (an index scan; validate_tenant compares the rows themselves).
        EXECUTE format('SELECT tenancy.%I($1)', v_table.fn_prefix || '__source_count')
        INTO v_rows USING p_tenant_id;
        IF v_rows <> v_table.rows_copied THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY010',
                MESSAGE = format('copy of %I for tenant %L does not match its source', v_table.table_name, p_tenant_id),
                DETAIL = format('source: %s rows; copied: %s rows', v_rows, v_table.rows_copied),
                HINT = 'The shared rows changed during the copy. Stop writes, run `tenancy rollback`, then migrate again.';
        END IF;
        EXECUTE format('SELECT tenancy.run_statements(tenancy.%I($1))', v_table.fn_prefix || '__index') USING v_schema;
        UPDATE tenancy.ledger AS l SET state = 'indexed'
        WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name;
        PERFORM tenancy.report_progress(p_tenant_id, v_table.table_name, 'index');
    END LOOP;
    -- Foreign keys only once every table has its keys: parents must be indexed.
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m
        JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
        WHERE l.state = 'indexed' ORDER BY m.position
    LOOP
        EXECUTE format('SELECT tenancy.run_statements(tenancy.%I($1))', v_table.fn_prefix || '__link') USING v_schema;
        PERFORM tenancy.reset_sequences(v_schema, v_table.table_name);
        UPDATE tenancy.ledger AS l SET state = 'done', finished_at = clock_timestamp()
        WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name;
        PERFORM tenancy.report_progress(p_tenant_id, v_table.table_name, 'link');
    END LOOP;
    -- The shared privileges are the runner's (or provision's) business: taking
    -- their lock here would serialise parallel tenants for a whole migration.
    PERFORM tenancy.provision_tenant(p_tenant_id, p_shared => false);
    UPDATE tenancy.tenants AS t SET state = 'migrated', finished_at = clock_timestamp()
    WHERE t.tenant_id = p_tenant_id;
    PERFORM tenancy.report_progress(p_tenant_id, NULL, 'done');
    RETURN QUERY
        SELECT l.table_name, l.state, l.rows_copied, l.copy_seconds
        FROM tenancy.ledger AS l JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        WHERE l.tenant_id = p_tenant_id ORDER BY m.position;
END
$fn$;
COMMENT ON FUNCTION tenancy.finish_tenant_migration(text) IS
'Migration step 3 (needs the tenant lock): verify copies, build keys, indexes and FKs, reset sequences.';
