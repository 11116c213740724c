-- tenancy.lock_key(tenant id): the advisory lock key that serialises all
-- migration work on one tenant. Immutable.
CREATE OR REPLACE FUNCTION tenancy.lock_key(p_tenant_id text)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $fn$
    SELECT hashtextextended('tenancy:' || p_tenant_id, 0)
$fn$;
COMMENT ON FUNCTION tenancy.lock_key(text) IS
'Advisory lock key of one tenant''s migration (pg_try_advisory_lock / _xact_lock).';
