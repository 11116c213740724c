-- tenancy.policy_stamp(statement, policy): the comment
-- tenancy.secure_hybrid_tables() leaves on a policy it made: a hash of the
-- CREATE POLICY statement it ran and of the policy as the catalog holds it
-- (command, permissive, roles, USING and WITH CHECK as PostgreSQL prints them).
-- A policy whose comment is not the stamp of the statement the manifest calls
-- for was made by an older version, made by someone else, changed since
-- (ALTER POLICY), or re-created by Citus: tenancy.hybrid_policies() marks it
-- not current, and secure_hybrid_tables() replaces it. NULL when the policy
-- does not exist. Read-only.
CREATE OR REPLACE FUNCTION tenancy.policy_stamp(p_statement text, p_policy oid)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT 'tenancy: made by tenancy.secure_hybrid_tables(); fingerprint ' || md5(concat_ws(
        chr(10),
        p_statement,
        p.polcmd::text,
        p.polpermissive::text,
        (SELECT string_agg(r.name, ',' ORDER BY r.name)
         FROM (SELECT CASE WHEN x.oid = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.oid)::text END AS name
               FROM unnest(p.polroles) AS x (oid)) AS r),
        quote_nullable(pg_get_expr(p.polqual, p.polrelid)),
        quote_nullable(pg_get_expr(p.polwithcheck, p.polrelid))
    ))
    FROM pg_policy AS p
    WHERE p.oid = p_policy
$fn$;
COMMENT ON FUNCTION tenancy.policy_stamp(text, oid) IS
'The comment secure_hybrid_tables() leaves on a policy it made: a hash of its statement and catalog definition.';
