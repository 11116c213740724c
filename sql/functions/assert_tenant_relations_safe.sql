-- tenancy.assert_tenant_relations_safe(tenant id): raises TY040 when a moved
-- table of the tenant's schema could run code its owner controls (a view, a
-- rule, a trigger, a policy, another owner, an untrusted function: see
-- tenancy.unsafe_tenants). Called before any statement that reads or writes
-- the tenant's tables (copy, finish, rollback), so such code never runs with
-- the caller's rights. Read-only.
CREATE OR REPLACE FUNCTION tenancy.assert_tenant_relations_safe(p_tenant_id text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_refusal record;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    FOR v_refusal IN SELECT * FROM tenancy.unsafe_tenants(ARRAY[p_tenant_id]) LOOP
        PERFORM tenancy.raise_refusal(v_refusal.error_code, v_refusal.error, v_refusal.error_detail,
                                      v_refusal.error_hint);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenant_relations_safe(text) IS
'Raises TY040 when a tenant table is a view, has a rule, trigger or policy, another owner or untrusted code.';
