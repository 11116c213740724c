-- tenancy.fence_key(tenant id): the advisory lock key of a tenant's write
-- fence. The capture triggers take it shared for each write of a tenant in
-- flight; cutover and rollback take it exclusively, so only that tenant's
-- writers wait. Distinct from tenancy.lock_key() (the runner's lock). Immutable.
CREATE OR REPLACE FUNCTION tenancy.fence_key(p_tenant_id text)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $fn$
    SELECT hashtextextended('tenancy:fence:' || p_tenant_id, 0)
$fn$;
COMMENT ON FUNCTION tenancy.fence_key(text) IS
'Advisory lock key of one tenant''s write fence (shared: writers; exclusive: cutover, rollback).';
