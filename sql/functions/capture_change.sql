-- tenancy.capture_change(tenant id, table, row key, operation): called by the
-- capture triggers for a write to a shared row of a tenant in flight. Takes
-- the tenant's fence lock shared (a cutover in progress makes this writer
-- wait, writers of other tenants never), then looks at the tenant again: a
-- capturing tenant gets the key appended to tenancy.change_log; a cut-over
-- tenant's write is refused with TY050 (the guard policy of the shared
-- tables refuses it first, unless the writer bypasses row-level security;
-- the tool's own writes run with session_replication_role = replica, where
-- this trigger does not fire). Runs as tenancy_capture.
CREATE OR REPLACE FUNCTION tenancy.capture_change(p_tenant_id text, p_table text, p_key jsonb, p_op text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_state text;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(tenancy.fence_key(p_tenant_id));
    -- Read after the lock: a cutover that held the fence has committed by now.
    SELECT o.state INTO v_state FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id;
    IF v_state IS NULL THEN
        RETURN;
    END IF;
    IF v_state = 'cut_over' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY050',
            MESSAGE = format('tenant %L is cut over: its rows of shared table %I are read-only', p_tenant_id, p_table),
            DETAIL = format('%s of a row with key %s refused', p_op, p_key),
            HINT = 'The application must read and write this tenant''s schema now (see docs/online.md).';
    END IF;
    INSERT INTO tenancy.change_log (tenant_id, table_name, row_key) VALUES (p_tenant_id, p_table, p_key);
END
$fn$;
COMMENT ON FUNCTION tenancy.capture_change(text, text, jsonb, text) IS
'Capture of one write to a tenant in flight: log its key, or refuse it (TY050) once the tenant is cut over.';
