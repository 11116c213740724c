-- tenancy.tenant_status(tenant ids): one row per tenant of the registry (or
-- per registered id of p_tenant_ids; NULL = all), whether tenancy has touched
-- it or not: its schema, its state ('new' when tenancy has no row for it
-- yet), moved tables and rows from the ledger, seconds, and its validation.
-- validated is true when the last recorded validation passed, false when it
-- failed, NULL when there is none newer than the tenant's migration; then
-- validated_at and failed_checks are NULL too. Rows in tenant id order as
-- text (the runner sorts numbers naturally). Read-only.
CREATE OR REPLACE FUNCTION tenancy.tenant_status(p_tenant_ids text [] DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, schema_name text, state text, tables bigint, tables_done bigint, rows_copied numeric,
    seconds numeric, validated boolean, validated_at timestamptz, failed_checks integer, last_error text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT r.id, t.schema_name, coalesce(t.state, %L),'
        ' coalesce(s.tables, 0), coalesce(s.tables_done, 0), coalesce(s.rows_copied, 0), s.seconds,'
        ' CASE WHEN t.validated_at >= t.finished_at THEN t.validation_passed END,'
        ' CASE WHEN t.validated_at >= t.finished_at THEN t.validated_at END,'
        ' CASE WHEN t.validated_at >= t.finished_at THEN t.failed_checks END,'
        ' t.last_error'
        ' FROM (SELECT DISTINCT x.%I::text AS id FROM %I.%I AS x'
        '       WHERE $1 IS NULL OR x.%I::text = ANY ($1)) AS r'
        ' LEFT JOIN tenancy.tenants AS t ON t.tenant_id = r.id'
        ' LEFT JOIN tenancy.status AS s ON s.tenant_id = r.id'
        ' ORDER BY r.id',
        'new', v_settings.registry_id_column, v_settings.central_schema, v_settings.registry_table,
        v_settings.registry_id_column
    ) USING p_tenant_ids;
END
$fn$;
COMMENT ON FUNCTION tenancy.tenant_status(text []) IS
'Every registry tenant: state (new when untouched), tables, rows, seconds, and whether it is validated and when.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.tenant_status(text []) OWNER TO tenancy_engine;
