-- verify-grants: default privileges in the tenant schemas, or given to or by
-- the model's roles.
SELECT
    d.defaclobjtype::text AS objtype,
    a.privilege_type,
    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
    coalesce(n.nspname, '') AS nspname,
    pg_catalog.pg_get_userbyid(d.defaclrole) AS owner
FROM pg_catalog.pg_default_acl AS d
LEFT JOIN pg_catalog.pg_namespace AS n ON d.defaclnamespace = n.oid
CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) AS a
WHERE
    n.nspname = any(%(schemas)s)
    OR pg_catalog.pg_get_userbyid(a.grantee) = any(%(roles)s)
    OR pg_catalog.pg_get_userbyid(d.defaclrole) = any(%(roles)s);
