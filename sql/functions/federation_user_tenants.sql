CREATE OR REPLACE FUNCTION tenancy_federation.user_tenants(p_user_id bigint)
RETURNS TABLE (tenant_id text, tenant_name text, reasons text [])
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * The tenants central user p_user_id can reach, one row per tenant ordered
 * by tenant_id, with why (reasons, in this order):
 *   'super-admin'  the user's role is super-admin: every registered tenant;
 *   'institution'  the tenant of the user's institution (institutions.<tenant key>);
 *   'graduate'     for a user with role alumni: every tenant whose schema has
 *                  a graduate with user_id = p_user_id (one query over the
 *                  tenant schemas, not one per tenant).
 * The reasons add up: an alumnus tied to one institution also reaches the
 * other tenants that list them as a graduate.
 * Reads the central tables users, roles and institutions (the Alumate
 * names) in the manifest's central schema. No row for an unknown user.
 * Read-only.
 */
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_found    boolean;
    v_role     text;
    v_home     text;
    v_branches text;
    v_alumni   text [] := '{}'::text [];
BEGIN
    EXECUTE format(
        'SELECT true, r.name::text, i.%I::text FROM %I.users AS u'
        ' LEFT JOIN %I.roles AS r ON r.id = u.role_id'
        ' LEFT JOIN %I.institutions AS i ON i.id = u.institution_id'
        ' WHERE u.id = $1',
        v_settings.tenant_key, v_settings.central_schema, v_settings.central_schema,
        v_settings.central_schema
    ) INTO v_found, v_role, v_home USING p_user_id;
    IF v_found IS NULL THEN
        RETURN;
    END IF;

    IF v_role = 'alumni' THEN
        SELECT string_agg(
            format('SELECT %L::text WHERE EXISTS (SELECT 1 FROM %I.graduates AS g WHERE g.user_id = $1)',
                   t.tenant_id, t.schema_name),
            E'\nUNION ALL\n' ORDER BY t.tenant_id
        )
        INTO v_branches
        FROM tenancy_federation.tenants(NULL, ARRAY['graduates']) AS t
        -- Locked and proven until the statement's transaction ends.
        WHERE 'graduates' = ANY (tenancy.readable_tables(t.tenant_id, t.tables));
        IF v_branches IS NOT NULL THEN
            EXECUTE 'SELECT coalesce(array_agg(f.tenant_id), ''{}'') FROM (' || v_branches
                    || ') AS f (tenant_id)'
            INTO v_alumni USING p_user_id;
        END IF;
    END IF;

    RETURN QUERY
    SELECT t.tenant_id, t.tenant_name,
           array_remove(ARRAY[
               CASE WHEN v_role = 'super-admin' THEN 'super-admin' END,
               CASE WHEN t.tenant_id = v_home THEN 'institution' END,
               CASE WHEN t.tenant_id = ANY (v_alumni) THEN 'graduate' END
           ], NULL)
    FROM tenancy_federation.tenants(NULL, '{}') AS t
    WHERE v_role = 'super-admin' OR t.tenant_id = v_home OR t.tenant_id = ANY (v_alumni)
    ORDER BY t.tenant_id;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.user_tenants(bigint) IS
'Tenants a central user can reach (super-admin: all; institution''s tenant; alumni: tenants with '
'their graduate record), with the reasons.';
REVOKE ALL ON FUNCTION tenancy_federation.user_tenants(bigint) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.user_tenants(bigint) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.user_tenants(bigint) TO tenancy_federation;
