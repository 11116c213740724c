-- verify-grants: table and sequence ACLs. In tenant schemas whole; elsewhere
-- grants to the model's roles; grants to PUBLIC in the central schema. Not
-- an extension's objects (e.g. Citus's views in the central schema).
SELECT
    n.nspname,
    c.relname,
    a.privilege_type,
    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
    CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
WHERE
    a.grantee <> c.relowner
    AND (
        n.nspname = any(%(schemas)s)
        OR pg_catalog.pg_get_userbyid(a.grantee) = any(%(roles)s)
        OR (n.nspname = %(central)s AND a.grantee = 0)
    )
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS e
        WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e'
    );
