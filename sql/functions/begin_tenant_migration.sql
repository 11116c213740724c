-- tenancy.begin_tenant_migration(tenant id): the first step of a migration,
-- under the tenant's lock: preflight (raises TY008/TY003/TY007/TY009/TY030
-- before any write: tenancy.migration_refusals), provision the tenant if it
-- is not yet (TY060 when the caller may not: tenancy.provision_to_migrate),
-- mark the tenant migrating, create each tenant table not created yet
-- (tenancy.create_tenant_tables). Returns the schema. Re-running skips what
-- exists. p_central false skips the global check of central foreign keys
-- (TY009), for a caller that made it once for many tenants.

CREATE OR REPLACE FUNCTION tenancy.begin_tenant_migration(p_tenant_id text, p_central boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema  text := tenancy.require_tenant(p_tenant_id);
    v_refusal record;
BEGIN
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    PERFORM tenancy.provision_to_migrate(ARRAY[p_tenant_id], true);
    FOR v_refusal IN SELECT * FROM tenancy.migration_refusals(ARRAY[p_tenant_id], p_central) LOOP
        PERFORM tenancy.raise_refusal(v_refusal.error_code, v_refusal.error, v_refusal.error_detail,
                                      v_refusal.error_hint);
    END LOOP;
    PERFORM tenancy.provision_to_migrate(ARRAY[p_tenant_id], false);
    PERFORM tenancy.create_tenant_tables(ARRAY[p_tenant_id]);
    RETURN v_schema;
END
$fn$;
COMMENT ON FUNCTION tenancy.begin_tenant_migration(text, boolean) IS
'Migration step 1 (needs the tenant lock): preflight, provision, create the tenant tables not created yet.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.begin_tenant_migration(text, boolean) OWNER TO tenancy_engine;
