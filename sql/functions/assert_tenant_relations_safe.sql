-- tenancy.assert_tenant_relations_safe(tenant id): raises TY040 when a moved
-- table of the tenant's schema could run code its owner controls (a view, a
-- rule, a trigger, a policy, another owner, an untrusted function: see
-- tenancy.tenant_relation_problems). Called before any statement that reads
-- or writes the tenant's tables (copy, finish, rollback), so such code never
-- runs with the caller's rights. Read-only.
CREATE OR REPLACE FUNCTION tenancy.assert_tenant_relations_safe(p_tenant_id text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_count    integer;
    v_problems text;
BEGIN
    SELECT count(*), string_agg(format('%s %s', p.relation, p.problem), E'\n')
    INTO v_count, v_problems
    FROM tenancy.tenant_relation_problems(
        v_schema, ARRAY(SELECT m.table_name FROM tenancy.moved_tables AS m)
    ) AS p;
    IF v_count > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY040',
            MESSAGE = format('tenant %L: %s problem(s) with its tables; refusing to touch them', p_tenant_id, v_count),
            DETAIL = v_problems,
            HINT = 'Someone changed the tenant''s tables by hand: remove the view, rule, trigger or policy '
                   '(or restore the owner), check the tenant with `tenancy validate`, then re-run.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenant_relations_safe(text) IS
'Raises TY040 when a tenant table is a view, has a rule, trigger or policy, another owner or untrusted code.';
