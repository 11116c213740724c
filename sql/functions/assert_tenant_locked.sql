-- tenancy.assert_tenant_locked(tenant id): raises TY004 unless this session
-- holds the tenant's advisory lock. Guards the step functions, so that two
-- sessions can never copy the same tenant at once.
CREATE OR REPLACE FUNCTION tenancy.assert_tenant_locked(p_tenant_id text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_key bigint := tenancy.lock_key(p_tenant_id);
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
            AND l.classid = ((v_key >> 32) & 4294967295)::oid
            AND l.objid = (v_key & 4294967295)::oid
            AND l.objsubid = 1
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY004',
            MESSAGE = format('tenant %L is not locked by this session', p_tenant_id),
            HINT = 'Call tenancy.migrate_tenant() or CALL tenancy.migrate_tenant_batched(), not the step functions.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenant_locked(text) IS
'Raises TY004 unless this session holds the tenant''s migration lock.';
