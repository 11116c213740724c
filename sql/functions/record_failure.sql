-- tenancy.record_failure(tenant id, error): notes a failed migration in
-- tenancy.tenants, after the failed transaction rolled back (the runner calls
-- it). Creates the tenant's row if preflight stopped it before provisioning.
-- Only under the tenant's lock: when another session holds it (the failure
-- was TY004, "busy"), or holds the tenant's row, that session's state is its
-- own: nothing is written, nor waited for. Returns whether it was recorded.
-- The error is the tenant's last_error; its state says what holds: a tenant
-- whose migration failed (its work rolled back) is failed, one that was past
-- that (migrated, syncing, cut over, contracted: a refused or failed cutover,
-- rollback or re-run) keeps its state.
CREATE OR REPLACE FUNCTION tenancy.record_failure(p_tenant_id text, p_error text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT pg_try_advisory_xact_lock(tenancy.lock_key(p_tenant_id)) THEN
        RETURN false;
    END IF;
    BEGIN
        PERFORM 1 FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;  -- a session holds the tenant's row: recording must not wait for it
    END;
    UPDATE tenancy.tenants AS t
    SET state = CASE WHEN t.state IN ('provisioned', 'migrating', 'failed') THEN 'failed' ELSE t.state END,
        last_error = p_error
    WHERE t.tenant_id = p_tenant_id;
    IF NOT FOUND THEN
        -- No row when another tenant id already holds this schema name: the
        -- failure (TY030) is the runner's result for this tenant, not a row.
        INSERT INTO tenancy.tenants AS t (tenant_id, schema_name, state, last_error)
        VALUES (p_tenant_id, tenancy.tenant_schema(p_tenant_id), 'failed', p_error)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN true;
END
$fn$;
COMMENT ON FUNCTION tenancy.record_failure(text, text) IS
'Marks a tenant''s migration failed with its error, unless another session holds the tenant''s lock.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.record_failure(text, text) OWNER TO tenancy_engine;
