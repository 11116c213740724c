-- tenancy.unsafe_tenants(tenant ids): the listed tenants whose moved tables
-- could run code their owner planted (a view, a rule, a trigger, a policy,
-- another owner, an untrusted function: tenancy.relation_problems, one read
-- of the catalogs for all of them), one refusal row each: TY040 with every
-- problem in its detail. No rows: all safe. The ids are not validated here
-- (callers did). Read-only.
CREATE OR REPLACE FUNCTION tenancy.unsafe_tenants(p_tenant_ids text [])
RETURNS TABLE (tenant_id text, error_code text, error text, error_detail text, error_hint text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    WITH t AS (
        SELECT i.id, tenancy.schema_name(i.id) AS schema_name FROM unnest(p_tenant_ids) AS i (id)
    )
    SELECT t.id, 'TY040'::text,
           format('tenant %L: %s problem(s) with its tables; refusing to touch them', t.id, count(*)),
           string_agg(format('%s %s', p.relation, p.problem), E'\n' ORDER BY p.table_name, p.relation, p.problem),
           'Someone changed the tenant''s tables by hand: remove the view, rule, trigger or policy '
           '(or restore the owner), check the tenant with `tenancy validate`, then re-run.'::text
    FROM t
    JOIN tenancy.relation_problems(
        ARRAY(SELECT x.schema_name FROM t AS x), ARRAY(SELECT m.table_name FROM tenancy.moved_tables AS m)
    ) AS p ON p.schema_name = t.schema_name
    GROUP BY t.id
    ORDER BY t.id;
END
$fn$;
COMMENT ON FUNCTION tenancy.unsafe_tenants(text []) IS
'TY040 refusal rows for the tenants whose tables could run tenant-controlled code (one catalog read for all).';
