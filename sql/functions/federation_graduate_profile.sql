CREATE OR REPLACE FUNCTION tenancy_federation.graduate_profile(
    p_tenant_id   text,
    p_graduate_id bigint
)
RETURNS TABLE (
    tenant_id       text,
    tenant_name     text,
    graduate_id     bigint,
    name            text,
    email           text,
    phone           text,
    address         text,
    graduation_year integer,
    course_id       bigint,
    course_code     text,
    course_name     text,
    user_id         bigint,
    created_at      timestamp,
    updated_at      timestamp
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * One graduate of one tenant with its course (from that tenant's courses):
 * one row, or no row when the tenant has no graduate with that id.
 * Raises TY002 for a tenant not in the registry, 42P01 when the tenant's
 * schema has no graduates table. Read-only.
 */
DECLARE
    v_tenant record;
    v_tables text [];
BEGIN
    SELECT t.* INTO v_tenant
    FROM tenancy_federation.tenants(ARRAY[p_tenant_id], ARRAY['graduates', 'courses']) AS t;
    -- Locked and proven until the statement's transaction ends.
    v_tables := tenancy.readable_tables(p_tenant_id, v_tenant.tables);
    IF NOT 'graduates' = ANY (v_tables) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_table',
            MESSAGE = format('tenant %L has no table %I.graduates', p_tenant_id, v_tenant.schema_name),
            HINT = 'Create the tenant''s schema and tables (provision the tenant) first.';
    END IF;

    RETURN QUERY EXECUTE format(
        'SELECT %L::text, %L::text, g.id::bigint, g.name::text, g.email::text, g.phone::text,'
        ' g.address::text, g.graduation_year::integer, g.course_id::bigint, %s,'
        ' g.user_id::bigint, g.created_at::timestamp, g.updated_at::timestamp'
        ' FROM %I.graduates AS g%s WHERE g.id = $1',
        v_tenant.tenant_id, v_tenant.tenant_name,
        CASE WHEN 'courses' = ANY (v_tables) THEN 'c.code::text, c.name::text'
            ELSE 'NULL::text, NULL::text' END,
        v_tenant.schema_name,
        CASE WHEN 'courses' = ANY (v_tables)
            THEN format(' LEFT JOIN %I.courses AS c ON c.id = g.course_id', v_tenant.schema_name)
            ELSE '' END
    ) USING p_graduate_id;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.graduate_profile(text, bigint) IS
'One graduate of one tenant with its course; no row when absent; TY002 for an unknown tenant.';
REVOKE ALL ON FUNCTION tenancy_federation.graduate_profile(text, bigint) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.graduate_profile(text, bigint) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.graduate_profile(text, bigint) TO tenancy_federation;
