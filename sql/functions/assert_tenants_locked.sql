-- tenancy.assert_tenants_locked(tenant ids): tenancy.assert_tenant_locked for
-- many tenants with one read of pg_locks (which copies the whole lock table:
-- once per batch, not once per tenant). Raises TY004 naming the tenants this
-- session does not hold the migration lock of.
CREATE OR REPLACE FUNCTION tenancy.assert_tenants_locked(p_tenant_ids text [])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_missing text [];
BEGIN
    WITH mine AS (
        SELECT l.classid, l.objid FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted AND l.objsubid = 1
    )
    SELECT array_agg(i.id ORDER BY i.id) INTO v_missing
    FROM unnest(p_tenant_ids) AS i (id)
    CROSS JOIN LATERAL (SELECT tenancy.lock_key(i.id) AS k) AS key
    WHERE NOT EXISTS (
        SELECT 1 FROM mine AS m
        WHERE m.classid = ((key.k >> 32) & 4294967295)::oid AND m.objid = (key.k & 4294967295)::oid
    );
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY004',
            MESSAGE = format('tenant(s) %s not locked by this session', array_to_string(v_missing, ', ')),
            HINT = 'Call tenancy.migrate_tenants() or tenancy.migrate_tenant(), not the step functions.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenants_locked(text []) IS
'Raises TY004 unless this session holds the migration lock of every listed tenant (one read of pg_locks).';
