-- tenancy.unlock_tenant(tenant id): lets go of the tenant's migration lock
-- that this session took for the session (tenancy.lock_tenant(id, true)),
-- and forgets its note in tenancy.locked_tenants. Returns whether the
-- session held it. For the procedures, which run as their caller and end
-- with it.
CREATE OR REPLACE FUNCTION tenancy.unlock_tenant(p_tenant_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_key bigint := tenancy.lock_key(p_tenant_id);
BEGIN
    PERFORM set_config('tenancy.locked_tenants',
                       replace(coalesce(current_setting('tenancy.locked_tenants', true), ''), ',' || v_key || ',', ','),
                       false);
    RETURN pg_advisory_unlock(v_key);
END
$fn$;
COMMENT ON FUNCTION tenancy.unlock_tenant(text) IS
'Lets go of a tenant''s session-level migration lock taken by this session; returns whether it was held.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.unlock_tenant(text) OWNER TO tenancy_engine;
