-- verify-grants: schema ACLs. Tenant schemas whole; elsewhere grants to the
-- model's roles; CREATE on the central schema for anyone but its owner.
SELECT
    n.nspname,
    a.privilege_type,
    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee
FROM pg_catalog.pg_namespace AS n
CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) AS a
WHERE
    a.grantee <> n.nspowner
    AND (
        n.nspname = any(%(schemas)s)
        OR pg_catalog.pg_get_userbyid(a.grantee) = any(%(roles)s)
        OR (n.nspname = %(central)s AND a.privilege_type = 'CREATE')
    );
