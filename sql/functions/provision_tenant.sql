-- tenancy.provision_tenant(tenant id): makes sure the tenant's schema exists
-- and that tenancy knows the tenant. Idempotent; creates no tables.
-- Returns one row per object with what was done.
CREATE OR REPLACE FUNCTION tenancy.provision_tenant(p_tenant_id text)
RETURNS TABLE (object_type text, object_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_owner  text;
BEGIN
    SELECT t.tenant_id INTO v_owner FROM tenancy.tenants AS t
    WHERE t.schema_name = v_schema AND t.tenant_id <> p_tenant_id;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY007',
            MESSAGE = format('tenant %L maps to schema %I, which belongs to tenant %L', p_tenant_id, v_schema, v_owner),
            HINT = 'Tenant ids that differ only by ''-'' and ''_'' share a schema name; rename one of them.';
    END IF;
    object_type := 'schema';
    object_name := v_schema;
    IF EXISTS (SELECT 1 FROM pg_namespace AS n WHERE n.nspname = v_schema) THEN
        action := 'exists';
    ELSE
        EXECUTE format('CREATE SCHEMA %I', v_schema);
        action := 'created';
    END IF;
    RETURN NEXT;
    INSERT INTO tenancy.tenants (tenant_id, schema_name) VALUES (p_tenant_id, v_schema)
    ON CONFLICT (tenant_id) DO NOTHING;
END
$fn$;
COMMENT ON FUNCTION tenancy.provision_tenant(text) IS
'Creates the tenant''s schema if missing and registers the tenant with tenancy; idempotent.';
