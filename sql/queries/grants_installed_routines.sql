-- verify-grants: routines of the schemas install makes, their owner, and whether PUBLIC may run them.
SELECT
    n.nspname,
    p.oid::regprocedure::text AS signature,
    pg_catalog.pg_get_userbyid(p.proowner) AS owner,
    exists(
        SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
        WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'
    ) AS public_execute
FROM pg_catalog.pg_proc AS p
INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
WHERE n.nspname = any(%(installed)s);
