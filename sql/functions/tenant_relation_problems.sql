-- tenancy.tenant_relation_problems(schema, tables): tenancy.relation_problems
-- for one tenant schema: why reading or writing these relations of it could
-- run code the tenant's owner controls. One row per problem (table,
-- relation, problem); none when safe. Read-only; raises nothing.
CREATE OR REPLACE FUNCTION tenancy.tenant_relation_problems(p_schema text, p_tables text [])
RETURNS TABLE (table_name text, relation text, problem text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT p.table_name, p.relation, p.problem FROM tenancy.relation_problems(ARRAY[p_schema], p_tables) AS p
$fn$;
COMMENT ON FUNCTION tenancy.tenant_relation_problems(text, text []) IS
'Why touching these tenant relations could run tenant-controlled code (view, owner, rule, trigger, policy, '
'untrusted function/operator/type); one row per problem, none when safe.';
-- The federated reads (owned by tenancy_federation_owner) call it.
GRANT EXECUTE ON FUNCTION tenancy.tenant_relation_problems(text, text []) TO tenancy_federation_owner;
