-- verify-grants: column privileges in the central schema, to model roles or PUBLIC.
SELECT
    c.relname || '.' || a.attname AS name,
    x.privilege_type,
    CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee) END AS grantee
FROM pg_catalog.pg_attribute AS a
INNER JOIN pg_catalog.pg_class AS c ON a.attrelid = c.oid
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
CROSS JOIN LATERAL aclexplode(a.attacl) AS x
WHERE
    n.nspname = %(central)s
    AND a.attacl IS NOT null
    AND (x.grantee = 0 OR pg_catalog.pg_get_userbyid(x.grantee) = any(%(roles)s));
