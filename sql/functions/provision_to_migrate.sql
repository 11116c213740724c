-- tenancy.provision_to_migrate(tenant ids, before preflight): provisions,
-- set-based (tenancy.provision_tenants), those of the listed tenants that a
-- migration cannot go on without. Before the preflight (p_before_preflight):
-- the tenants whose schema exists but the caller may not enter, so that the
-- runner login gets TY060 naming the command to run rather than a permission
-- error in the preflight. After it: those whose schema is missing or that
-- tenancy.tenants does not list yet. The very first tenant also brings what
-- all tenants share; later ones leave that to the runner, which applies it
-- once per run. Grants on the tables created afterwards are checked by
-- tenancy.finish_tenant_migrations.
CREATE OR REPLACE FUNCTION tenancy.provision_to_migrate(p_tenant_ids text [], p_before_preflight boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ids text [];
BEGIN
    v_ids := ARRAY(
        SELECT i.id FROM unnest(p_tenant_ids) AS i (id)
        CROSS JOIN LATERAL (SELECT to_regnamespace(tenancy.schema_name(i.id)) AS nsp) AS s
        WHERE CASE WHEN p_before_preflight
                   THEN s.nsp IS NOT NULL AND NOT has_schema_privilege(s.nsp, 'USAGE')
                   ELSE s.nsp IS NULL OR NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t WHERE t.tenant_id = i.id)
              END
    );
    IF cardinality(v_ids) > 0 THEN
        PERFORM tenancy.provision_tenants(
            v_ids, p_shared => NOT p_before_preflight AND NOT EXISTS (SELECT 1 FROM tenancy.tenants)
        );
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.provision_to_migrate(text [], boolean) IS
'Provisions (set-based) the tenants a migration needs provisioned: before the preflight, schemas the caller may '
'not enter; after it, schemas missing or tenants not registered.';
