-- tenancy.finish_tenant_migration(tenant id, source sums): migration step 3,
-- under the tenant's lock, once every table is copied. First it validates each
-- copy row by row: count and order-independent checksum of the tenant table
-- against those of the tenant's shared rows, and raises TY010 on any
-- difference, so that (in migrate_tenant's single transaction) a tenant is
-- only ever committed identical to its source. The shared side comes from
-- p_source_sums ({"table": [rows, checksum]}, as tenancy.source_sums() gives
-- it for many tenants in one pass; read after the copy, or a row changed
-- after its copy goes unseen) or, when NULL, is read here for this tenant. Then it builds keys and indexes, foreign keys, sets sequences past
-- the copied ids, provisions so grants cover the new tables, and marks the
-- tenant migrated. Returns one row per table. Re-running skips finished tables.

CREATE OR REPLACE FUNCTION tenancy.finish_tenant_migration(p_tenant_id text, p_source_sums jsonb DEFAULT NULL)
RETURNS TABLE (table_name text, state text, rows_copied bigint, seconds numeric)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_table  record;
    v_src_rows bigint;
    v_src_sum  numeric;
    v_dst_rows bigint;
    v_dst_sum  numeric;
    v_now_rows bigint;
BEGIN
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    PERFORM tenancy.assert_tenant_relations_safe(p_tenant_id);
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
        -- Validate before building anything (no index to maintain yet, and the
        -- rows are still this transaction's own in migrate_tenant).
        v_now_rows := NULL;
        IF p_source_sums IS NULL THEN
            EXECUTE format('SELECT * FROM tenancy.%I($1)', v_table.fn_prefix || '__source_sum')
            INTO v_src_rows, v_src_sum USING p_tenant_id;
        ELSE
            v_src_rows := coalesce((p_source_sums -> v_table.table_name ->> 0)::bigint, 0);
            v_src_sum := coalesce((p_source_sums -> v_table.table_name ->> 1)::numeric, 0);
            -- Sums read for the whole batch: rows written since then must show too.
            EXECUTE format('SELECT tenancy.%I($1)', v_table.fn_prefix || '__source_count')
            INTO v_now_rows USING p_tenant_id;
        END IF;
        EXECUTE format('SELECT * FROM tenancy.%I($1)', v_table.fn_prefix || '__target_sum')
        INTO v_dst_rows, v_dst_sum USING v_schema;
        IF v_src_rows <> v_dst_rows OR v_src_sum <> v_dst_sum OR v_dst_rows <> v_table.rows_copied
            OR v_now_rows <> v_src_rows THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY010',
                MESSAGE = format('copy of %I for tenant %L does not match its source', v_table.table_name, p_tenant_id),
                DETAIL = format('source: %s rows (%s now), checksum %s; tenant table: %s rows, checksum %s; copied: %s rows',
                                v_src_rows, coalesce(v_now_rows, v_src_rows), v_src_sum, v_dst_rows, v_dst_sum,
                                v_table.rows_copied),
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
COMMENT ON FUNCTION tenancy.finish_tenant_migration(text, jsonb) IS
'Migration step 3 (needs the tenant lock): validate each copy against its source, build keys, indexes and FKs.';
