CREATE OR REPLACE FUNCTION tenancy_federation.analytics_summary(p_tenant_ids text [] DEFAULT NULL)
RETURNS TABLE (
    scope            text,
    tenant_id        text,
    tenant_name      text,
    graduates        bigint,
    events           bigint,
    page_views       bigint,
    events_in_schema boolean
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * Graduates, analytics events and page views (event_type 'page_view') per
 * tenant and in total, in one query over the tenant schemas: one row per
 * tenant (scope 'tenant', ordered by tenant_id) then one row scope 'total'
 * (tenant_id NULL) summing them.
 * Events are read from <tenant schema>.analytics_events only. A tenant whose
 * analytics_events has not been moved yet counts 0 events and 0 page views
 * and has events_in_schema = false: the shared table is not read, so the
 * totals cover migrated tenants only (events_in_schema of the total row is
 * true only when every tenant is migrated). A tenant without graduates
 * table counts 0 graduates.
 * Raises TY002 for unknown ids in p_tenant_ids. Read-only.
 */
DECLARE
    v_branches text;
BEGIN
    SELECT string_agg(
        format(
            'SELECT %L::text, %L::text, %s, %s',
            t.tenant_id, t.tenant_name,
            CASE WHEN 'graduates' = ANY (t.tables)
                THEN format('(SELECT count(*) FROM %I.graduates)', t.schema_name)
                ELSE '0::bigint' END,
            CASE WHEN 'analytics_events' = ANY (t.tables)
                THEN format('e.events, e.page_views, true FROM (SELECT count(*),'
                            ' count(*) FILTER (WHERE a.event_type = $1) FROM %I.analytics_events AS a)'
                            ' AS e (events, page_views)', t.schema_name)
                ELSE '0::bigint, 0::bigint, false' END
        ),
        E'\nUNION ALL\n' ORDER BY t.tenant_id
    )
    INTO v_branches
    FROM tenancy_federation.tenants(p_tenant_ids, ARRAY['graduates', 'analytics_events']) AS t;

    RETURN QUERY EXECUTE
        'SELECT CASE WHEN grouping(f.tenant_id) = 0 THEN ''tenant'' ELSE ''total'' END,'
        ' f.tenant_id, f.tenant_name,'
        ' coalesce(sum(f.graduates), 0)::bigint, coalesce(sum(f.events), 0)::bigint,'
        ' coalesce(sum(f.page_views), 0)::bigint, coalesce(bool_and(f.events_in_schema), false)'
        ' FROM (' || coalesce(v_branches, 'SELECT NULL::text, NULL::text, 0::bigint, 0::bigint,'
                                        ' 0::bigint, false WHERE false') || ')'
        ' AS f (tenant_id, tenant_name, graduates, events, page_views, events_in_schema)'
        ' GROUP BY GROUPING SETS ((f.tenant_id, f.tenant_name), ())'
        ' ORDER BY grouping(f.tenant_id), f.tenant_id'
    USING 'page_view'::text;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.analytics_summary(text []) IS
'Graduates, events and page views per tenant and in total, in one query; '
'events come from migrated tenant schemas only (events_in_schema).';
REVOKE ALL ON FUNCTION tenancy_federation.analytics_summary(text []) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy_federation.analytics_summary(text []) TO tenancy_federation;
