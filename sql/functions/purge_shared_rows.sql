-- tenancy.purge_shared_rows(tenant id, batch size): after cutover, deletes up
-- to p_batch_size of a cut-over tenant's rows from the shared tables
-- (children first, a parent once its children are empty) and returns the rows deleted; call it again (each call its
-- own transaction) until it returns 0. The fence is not held: the tenant's
-- writers use its schema by now. Idempotent.
CREATE OR REPLACE FUNCTION tenancy.purge_shared_rows(p_tenant_id text, p_batch_size integer DEFAULT 5000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table   record;
    v_rows    bigint := 0;
    v_deleted bigint;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    IF NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id AND t.state = 'cut_over') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is not cut over: its shared rows are still the live ones', p_tenant_id),
            HINT = 'Run `tenancy cutover` for it first.';
    END IF;
    -- Lets the capture trigger pass these deletes of a cut-over tenant's rows.
    PERFORM set_config('tenancy.purging', p_tenant_id, true);
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position DESC LOOP
        EXECUTE format('SELECT tenancy.%I($1, $2)', v_table.fn_prefix || '__purge')
        INTO v_deleted USING p_tenant_id, p_batch_size;
        v_rows := v_rows + v_deleted;
        -- A parent's turn comes once its children are empty: a full batch
        -- means rows may remain here.
        EXIT WHEN p_batch_size IS NOT NULL AND v_deleted >= p_batch_size;
    END LOOP;
    PERFORM set_config('tenancy.purging', '', true);
    RETURN v_rows;
END
$fn$;
COMMENT ON FUNCTION tenancy.purge_shared_rows(text, integer) IS
'After cutover: deletes a batch of the tenant''s shared rows per table (children first); returns rows deleted.';
