-- tenancy.lock_tenant(tenant id, session): takes the tenant's advisory lock,
-- for the transaction (p_session false) or the session (true). Raises TY004
-- at once when another session holds it: a second runner never waits or copies.
-- The lock is also noted in the setting tenancy.locked_tenants (for the
-- transaction or the session, as the lock), where tenancy.assert_tenants_locked
-- looks for it instead of reading pg_locks, which copies the whole lock table.
CREATE OR REPLACE FUNCTION tenancy.lock_tenant(p_tenant_id text, p_session boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_key    bigint := tenancy.lock_key(p_tenant_id);
    v_holder integer;
BEGIN
    IF (p_session AND pg_try_advisory_lock(v_key))
        OR (NOT p_session AND pg_try_advisory_xact_lock(v_key)) THEN
        PERFORM set_config('tenancy.locked_tenants',
                           coalesce(nullif(current_setting('tenancy.locked_tenants', true), ''), ',') || v_key || ',',
                           NOT p_session);
        RETURN;
    END IF;
    SELECT l.pid INTO v_holder FROM pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.granted
        AND l.classid = ((v_key >> 32) & 4294967295)::oid
        AND l.objid = (v_key & 4294967295)::oid
    LIMIT 1;
    RAISE EXCEPTION USING
        ERRCODE = 'TY004',
        MESSAGE = format('tenant %L is being migrated by another session (pid %s)', p_tenant_id,
                         coalesce(v_holder::text, 'unknown')),
        HINT = 'Wait for that session to finish, or stop it with pg_terminate_backend() and re-run: the ledger resumes.';
END
$fn$;
COMMENT ON FUNCTION tenancy.lock_tenant(text, boolean) IS
'Takes a tenant''s migration lock (transaction or session); raises TY004 if another session has it.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.lock_tenant(text, boolean) OWNER TO tenancy_engine;
