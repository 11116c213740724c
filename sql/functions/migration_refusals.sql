-- tenancy.migration_refusals(tenant ids, central): why the migration of each
-- listed tenant may not start, one refusal row per refused tenant (none: all
-- may start), before anything is written: TY008 for a tenant that is
-- syncing, cut over or contracted; otherwise its preflight problems
-- (tenancy.preflight_tenant) as one error, the most specific code winning: a
-- schema shared by two tenant ids (TY030), central foreign keys (TY009, only
-- checked when p_central), name clashes (TY007), then rows (TY003). The ids
-- are not validated here (callers did). Read-only.
CREATE OR REPLACE FUNCTION tenancy.migration_refusals(p_tenant_ids text [], p_central boolean DEFAULT true)
RETURNS TABLE (tenant_id text, error_code text, error text, error_detail text, error_hint text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    SELECT t.tenant_id, 'TY008'::text,
           format('tenant %L is %s; its migration cannot start again', t.tenant_id, t.state),
           NULL::text,
           CASE WHEN t.state = 'syncing'
               THEN 'It is migrated online: run `tenancy migrate --online` to catch up, `tenancy cutover`, '
                    'or `tenancy rollback`.'
               ELSE 'See `tenancy status`.' END
    FROM tenancy.tenants AS t
    WHERE t.tenant_id = ANY (p_tenant_ids) AND t.state IN ('syncing', 'cut_over', 'contracted')
    ORDER BY t.tenant_id;
    RETURN QUERY
    SELECT p.tenant_id,
           -- The most specific code wins.
           CASE WHEN bool_or(p.check_name = 'schema name shared') THEN 'TY030'
                WHEN bool_or(p.check_name LIKE 'central foreign key%') THEN 'TY009'
                WHEN bool_or(p.check_name = 'table already exists') THEN 'TY007'
                ELSE 'TY003' END,
           format('preflight failed for tenant %L: %s problem(s), nothing was changed', p.tenant_id, count(*)),
           string_agg(format('%s%s%s (%s)', p.table_name || ': ', p.check_name,
                             coalesce(format(', %s rows', p.problem_rows), ''), p.detail), E'\n'),
           min(p.hint)
    FROM unnest(p_tenant_ids) AS i (id)
    CROSS JOIN LATERAL tenancy.preflight_tenant(i.id, p_central) AS p
    WHERE NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t
                      WHERE t.tenant_id = i.id AND t.state IN ('syncing', 'cut_over', 'contracted'))
    GROUP BY p.tenant_id
    ORDER BY p.tenant_id;
END
$fn$;
COMMENT ON FUNCTION tenancy.migration_refusals(text [], boolean) IS
'Why each tenant''s migration may not start (TY008, preflight TY030/TY009/TY007/TY003): one row per refused tenant.';
