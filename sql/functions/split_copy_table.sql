-- tenancy.split_copy_table(table, tenant ids): migration step 2 for one table
-- and a batch of tenants, under each tenant's lock: every listed tenant whose
-- table is created and still empty gets its rows in one pass over the shared
-- table (the rendered <table>__split routes them through a staging table
-- partitioned by the tenant key), and its ledger row is marked copied with
-- the rows copied, in the same transaction. A listed tenant whose table is
-- part-copied by keyset batches (state copying, from migrate_tenant_batched)
-- gets its remaining rows on its own (copy_tenant_table). Tenants in another
-- state are left alone.
-- A shared table smaller than the setting tenancy.split_min_bytes (default:
-- shared_buffers) is copied per tenant instead (<table>__copy;
-- tenancy.split_routed says which). Returns the rows copied per tenant. This
-- is the copy step of a migration whatever came before it (e.g. change
-- capture already on).
CREATE OR REPLACE FUNCTION tenancy.split_copy_table(p_table text, p_tenant_ids text [])
RETURNS TABLE (tenant_id text, rows_copied bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table   tenancy.moved_tables;
    v_ids     text [];
    v_n       bigint;
    v_schemas text [];
    v_done    text [];
    v_rows    bigint [];
    v_total   bigint;
    v_seconds numeric;
    v_started timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO v_table FROM tenancy.moved_tables AS m WHERE m.table_name = p_table;
    IF v_table.table_name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY080',
            MESSAGE = format('table %I is not a moved table', p_table),
            HINT = 'See tenancy.moved_tables for the tables this install moves.';
    END IF;
    SELECT array_agg(l.tenant_id ORDER BY l.tenant_id), array_agg(t.schema_name ORDER BY l.tenant_id)
    INTO v_ids, v_schemas
    FROM tenancy.ledger AS l
    JOIN tenancy.tenants AS t ON t.tenant_id = l.tenant_id
    WHERE l.table_name = p_table AND l.tenant_id = ANY (p_tenant_ids)
        AND l.state = 'created' AND l.batches = 0;
    FOR v_done IN
        SELECT ARRAY[l.tenant_id] FROM tenancy.ledger AS l
        WHERE l.table_name = p_table AND l.tenant_id = ANY (p_tenant_ids)
            AND l.state = 'copying'
        ORDER BY l.tenant_id
    LOOP
        PERFORM tenancy.assert_tenants_locked(v_done);
        PERFORM tenancy.copy_tenant_table(v_done[1], p_table, NULL);
        RETURN QUERY SELECT l.tenant_id, l.rows_copied FROM tenancy.ledger AS l
            WHERE l.tenant_id = v_done[1] AND l.table_name = p_table;
    END LOOP;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM tenancy.assert_tenants_locked(v_ids);
    IF NOT tenancy.split_routed(p_table) THEN
        v_done := v_ids;
        v_rows := '{}'::bigint [];
        FOR v_i IN 1 .. cardinality(v_ids) LOOP
            EXECUTE format('SELECT c.copied FROM tenancy.%I($1, $2) AS c', v_table.fn_prefix || '__copy')
            INTO v_n USING v_ids[v_i], v_schemas[v_i];
            v_rows := v_rows || v_n;
        END LOOP;
    ELSE
        EXECUTE format('SELECT array_agg(x.tenant_id), array_agg(x.copied) FROM tenancy.%I($1, $2, $3) AS x',
                       v_table.fn_prefix || '__split')
        INTO v_done, v_rows
        USING format('split_%s_%s', pg_backend_pid(), v_table.position), v_schemas, v_ids;
    END IF;
    v_seconds := extract(EPOCH FROM clock_timestamp() - v_started)::numeric;
    v_total := (SELECT sum(r) FROM unnest(v_rows) AS r);
    -- One ledger write for the batch; one statement copied them all, so each
    -- tenant is given its share of the statement's time, by rows.
    UPDATE tenancy.ledger AS l
    SET state = 'copied',
        rows_copied = d.n,
        batches = 1,
        copy_started_at = v_started,
        copied_at = clock_timestamp(),
        copy_seconds = round(v_seconds * d.n / greatest(v_total, 1), 3)
    FROM unnest(v_done, v_rows) AS d (id, n)
    WHERE l.tenant_id = d.id AND l.table_name = p_table;
    FOR tenant_id, rows_copied IN SELECT d.id, d.n FROM unnest(v_done, v_rows) AS d (id, n) LOOP
        PERFORM tenancy.report_progress(tenant_id, p_table, 'copy', rows_copied);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.split_copy_table(text, text []) IS
'Migration step 2 for a batch of tenants: one pass over a shared table routes each tenant''s rows to its table.';
