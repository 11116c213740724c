-- tenancy.schema_collisions(): registry tenants whose ids map to one schema
-- name (`ab-1` and `ab_1` both become tenant_ab_1). One row per such tenant,
-- with the schema and every id that shares it. Neither tenant of such a group
-- can be migrated until one is renamed; the others are not affected.
-- Read-only; one pass over the registry (ids the naming rule refuses are
-- left to TY001 when that tenant is worked on).
CREATE OR REPLACE FUNCTION tenancy.schema_collisions()
RETURNS TABLE (tenant_id text, schema_name text, tenant_ids text [])
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
BEGIN
    RETURN QUERY EXECUTE format(
        $q$WITH named AS (
               SELECT r.%3$I::text AS id, tenancy.tenant_schema(r.%3$I::text) AS schema_name
               FROM %1$I.%2$I AS r
               WHERE r.%3$I::text ~ $1 AND octet_length(r.%3$I::text) <= $2
           ),
           shared AS (
               SELECT n.schema_name, array_agg(n.id ORDER BY n.id) AS ids
               FROM named AS n GROUP BY n.schema_name HAVING count(*) > 1
           )
           SELECT u.id, s.schema_name, s.ids
           FROM shared AS s CROSS JOIN LATERAL unnest(s.ids) AS u (id)
           ORDER BY u.id$q$,
        v_settings.central_schema, v_settings.registry_table, v_settings.registry_id_column
    ) USING v_settings.tenant_id_pattern, v_settings.max_tenant_id_bytes;
END
$fn$;
COMMENT ON FUNCTION tenancy.schema_collisions() IS
'Registry tenants whose ids map to the same schema name, each with every id sharing it.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.schema_collisions() OWNER TO tenancy_engine;
