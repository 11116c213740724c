-- tenancy.assert_tenant_locked(tenant id): tenancy.assert_tenants_locked for
-- one tenant: raises TY004 unless this session took the tenant's migration
-- lock (tenancy.lock_tenant).
CREATE OR REPLACE FUNCTION tenancy.assert_tenant_locked(p_tenant_id text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM tenancy.assert_tenants_locked(ARRAY[p_tenant_id]);
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenant_locked(text) IS
'Raises TY004 unless this session took the tenant''s migration lock.';
