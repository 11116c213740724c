-- tenancy.copy_tenant_table(tenant id, table, batch size): migration step 2
-- for one table, under the tenant's lock. Copies every remaining row (batch
-- size NULL, or a table without a primary key) or the next keyset batch, and
-- records rows and last key in the ledger in the same transaction,
-- so a crash loses nothing and duplicates nothing. The tenant table is
-- proven to be what tenancy made first (tenancy.prove_tenant_tables). Returns true while rows
-- may remain.
CREATE OR REPLACE FUNCTION tenancy.copy_tenant_table(p_tenant_id text, p_table text, p_batch_size integer DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_ledger   tenancy.ledger;
    v_table    tenancy.moved_tables;
    v_limit    integer;
    v_copied   bigint;
    v_last_key jsonb;
    v_done     boolean;
    v_started  timestamptz := clock_timestamp();
BEGIN
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE', ARRAY[p_table]);
    SELECT * INTO v_table FROM tenancy.moved_tables AS m WHERE m.table_name = p_table;
    SELECT * INTO v_ledger FROM tenancy.ledger AS l
    WHERE l.tenant_id = p_tenant_id AND l.table_name = p_table FOR UPDATE;
    IF v_ledger.state IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('table %I of tenant %L has not been created', p_table, p_tenant_id),
            HINT = 'Run tenancy.begin_tenant_migration() first (migrate does).';
    END IF;
    IF v_ledger.state NOT IN ('created', 'copying') THEN
        RETURN false;
    END IF;
    v_limit := CASE WHEN v_table.batchable THEN p_batch_size END;
    EXECUTE format('SELECT * FROM tenancy.%I($1, $2, $3, $4)', v_table.fn_prefix || '__copy')
    INTO v_copied, v_last_key
    USING p_tenant_id, v_schema, v_ledger.last_key, v_limit;
    v_done := v_limit IS NULL OR v_copied < v_limit;
    UPDATE tenancy.ledger AS l
    SET state = CASE WHEN v_done THEN 'copied' ELSE 'copying' END,
        rows_copied = l.rows_copied + v_copied,
        last_key = coalesce(v_last_key, l.last_key),
        batches = l.batches + 1,
        copy_started_at = coalesce(l.copy_started_at, v_started),
        copied_at = CASE WHEN v_done THEN clock_timestamp() END,
        copy_seconds = CASE WHEN v_done THEN
            round(extract(EPOCH FROM clock_timestamp() - coalesce(l.copy_started_at, v_started))::numeric, 3)
        END
    WHERE l.tenant_id = p_tenant_id AND l.table_name = p_table;
    PERFORM tenancy.report_progress(p_tenant_id, p_table, 'copy', v_copied);
    RETURN NOT v_done;
END
$fn$;
COMMENT ON FUNCTION tenancy.copy_tenant_table(text, text, integer) IS
'Migration step 2 (needs the tenant lock): copy all remaining rows, or one keyset batch, of one table.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.copy_tenant_table(text, text, integer) OWNER TO tenancy_engine;
