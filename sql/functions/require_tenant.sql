-- tenancy.require_tenant(tenant id): the tenant's schema name, after checking
-- that the id is valid (TY001) and present in the tenant registry (TY002).
CREATE OR REPLACE FUNCTION tenancy.require_tenant(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_schema   text := tenancy.tenant_schema(p_tenant_id);
    v_found    boolean;
BEGIN
    -- Compared as text, so a malformed id never fails a cast of a uuid or bigint key.
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM %I.%I AS r WHERE r.%I::text = $1)',
        v_settings.central_schema, v_settings.registry_table, v_settings.registry_id_column
    ) INTO v_found USING p_tenant_id;
    IF NOT v_found THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY002',
            MESSAGE = format('unknown tenant %L', p_tenant_id),
            DETAIL = format('No row of %I.%I has %I = %L.', v_settings.central_schema,
                            v_settings.registry_table, v_settings.registry_id_column, p_tenant_id),
            HINT = 'Check the id against the tenant registry named in the manifest.';
    END IF;
    RETURN v_schema;
END
$fn$;
COMMENT ON FUNCTION tenancy.require_tenant(text) IS
'Schema name of a registered tenant; raises TY001 (bad id) or TY002 (not in the registry).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.require_tenant(text) OWNER TO tenancy_engine;
