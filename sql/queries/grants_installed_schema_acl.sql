-- verify-grants: what PUBLIC, the tenant groups and the tenant roles hold on the schemas install
-- makes (they should hold nothing).
SELECT
    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
    n.nspname,
    a.privilege_type
FROM pg_catalog.pg_namespace AS n
CROSS JOIN LATERAL aclexplode(n.nspacl) AS a
WHERE n.nspname = any(%(installed)s) AND (a.grantee = 0 OR pg_catalog.pg_get_userbyid(a.grantee) = any(%(tenant_facing)s));
