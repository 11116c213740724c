-- verify-grants: EXECUTE that the tenant groups and tenant roles hold on routines of the
-- schemas install makes (PUBLIC's is read by grants_installed_routines.sql).
SELECT
    n.nspname,
    p.oid::regprocedure::text AS signature,
    pg_catalog.pg_get_userbyid(a.grantee) AS grantee
FROM pg_catalog.pg_proc AS p
INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
CROSS JOIN LATERAL aclexplode(p.proacl) AS a
WHERE
    n.nspname = any(%(installed)s)
    AND a.privilege_type = 'EXECUTE'
    AND pg_catalog.pg_get_userbyid(a.grantee) = any(%(tenant_facing)s);
