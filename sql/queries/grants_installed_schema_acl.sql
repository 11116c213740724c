-- verify-grants: what PUBLIC holds on the schemas install makes (it should hold nothing).
SELECT
    'PUBLIC' AS grantee,
    n.nspname,
    a.privilege_type
FROM pg_catalog.pg_namespace AS n
CROSS JOIN LATERAL aclexplode(n.nspacl) AS a
WHERE n.nspname = any(%(installed)s) AND a.grantee = 0;
