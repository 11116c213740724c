CREATE OR REPLACE FUNCTION tenancy_federation.tenants(
    p_tenant_ids text [] DEFAULT NULL,
    p_tables     text [] DEFAULT '{}'
)
RETURNS TABLE (tenant_id text, tenant_name text, schema_name text, tables text [])
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * The tenants a federated read covers, from the tenant registry (so a new
 * tenant is included as soon as it is registered): every registered tenant,
 * or those of p_tenant_ids (NULL = all). For each: its name (the id when the
 * manifest names no name column), its schema, and which of p_tables exist in
 * that schema (empty when the schema does not exist yet) and the owner of
 * these functions may read; an unprovisioned tenant's tables are left out.
 * Listing is not reading: each function locks and proves a tenant's tables
 * right before it reads them (tenancy.readable_tables), so a tenant's view,
 * rule or untrusted function never runs with these functions' rights.
 * Raises TY002 naming the ids of p_tenant_ids that are not registered.
 * Read-only; used by the other tenancy_federation functions.
 */
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_unknown  text [];
BEGIN
    IF p_tenant_ids IS NOT NULL THEN
        EXECUTE format(
            'SELECT array_agg(DISTINCT w.id ORDER BY w.id) FROM unnest($1) AS w (id)'
            ' WHERE w.id IS NULL OR NOT EXISTS (SELECT 1 FROM %I.%I AS r WHERE r.%I::text = w.id)',
            v_settings.central_schema, v_settings.registry_table, v_settings.registry_id_column
        ) INTO v_unknown USING p_tenant_ids;
        IF v_unknown IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY002',
                MESSAGE = format('unknown tenant(s) %s', array_to_string(
                    array(SELECT coalesce(left(quote_literal(u), 80), 'NULL') FROM unnest(v_unknown) AS u), ', ')),
                DETAIL = format('No row of %I.%I has %I equal to them.', v_settings.central_schema,
                                v_settings.registry_table, v_settings.registry_id_column),
                HINT = 'Check the ids against the tenant registry named in the manifest.';
        END IF;
    END IF;
    FOR tenant_id, tenant_name, schema_name, tables IN EXECUTE format(
        $q$
        WITH registry AS (
            SELECT r.%1$I::text AS tenant_id, %2$s AS tenant_name
            FROM %3$I.%4$I AS r
            WHERE $1 IS NULL OR r.%1$I::text = ANY ($1)
        ),
        named AS (
            SELECT g.tenant_id, g.tenant_name,
                   tenancy.schema_name(g.tenant_id) AS schema_name
            FROM registry AS g
            -- Ids the manifest's rule refuses have no schema to read.
            WHERE g.tenant_id ~ $3 AND octet_length(g.tenant_id) <= $4
        )
        SELECT d.tenant_id, d.tenant_name, d.schema_name,
               coalesce(array(
                   SELECT c.relname::text
                   FROM pg_catalog.pg_namespace AS n
                   JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid
                   WHERE n.nspname = d.schema_name
                       AND c.relname = ANY ($2)
                       AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                       AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
                   ORDER BY c.relname
               ), '{}') AS tables
        FROM named AS d
        ORDER BY d.tenant_id
        $q$,
        v_settings.registry_id_column,
        CASE WHEN v_settings.registry_name_column IS NULL
            THEN format('r.%I::text', v_settings.registry_id_column)
            ELSE format('r.%I::text', v_settings.registry_name_column)
        END,
        v_settings.central_schema,
        v_settings.registry_table
    ) USING p_tenant_ids, p_tables, v_settings.tenant_id_pattern, v_settings.max_tenant_id_bytes
    LOOP
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.tenants(text [], text []) IS
'Registered tenants (all, or the listed ids; TY002 for unknown ids) with schema and which of the given tables it has.';
REVOKE ALL ON FUNCTION tenancy_federation.tenants(text [], text []) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.tenants(text [], text []) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.tenants(text [], text []) TO tenancy_federation;
