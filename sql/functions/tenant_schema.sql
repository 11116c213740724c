-- tenancy.tenant_schema(tenant id): the tenant's schema name.
-- Validates the id with the manifest's rule (raises TY001), does not look at
-- the registry. Immutable in effect; declared STABLE since it reads settings.
CREATE OR REPLACE FUNCTION tenancy.tenant_schema(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
BEGIN
    IF p_tenant_id IS NULL OR p_tenant_id !~ v_settings.tenant_id_pattern THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY001',
            MESSAGE = format('invalid tenant id %s', coalesce(quote_literal(p_tenant_id), 'NULL')),
            DETAIL = format('Tenant ids must match %s.', v_settings.tenant_id_pattern),
            HINT = tenancy.error_hint('TY001');
    END IF;
    IF octet_length(p_tenant_id) > v_settings.max_tenant_id_bytes THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY001',
            MESSAGE = format('invalid tenant id %L: longer than %s bytes', p_tenant_id,
                             v_settings.max_tenant_id_bytes),
            DETAIL = 'The tenant schema name must fit PostgreSQL''s 63-byte identifier limit.',
            HINT = tenancy.error_hint('TY001');
    END IF;
    RETURN tenancy.schema_name(p_tenant_id);
END
$fn$;
COMMENT ON FUNCTION tenancy.tenant_schema(text) IS
'Schema name of a tenant id (raises TY001 for an id the manifest''s rule refuses).';
