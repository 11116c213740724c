-- verify-grants: the tenant schemas that exist, with their owners.
SELECT
    n.nspname,
    pg_catalog.pg_get_userbyid(n.nspowner) AS owner
FROM pg_catalog.pg_namespace AS n
WHERE n.nspname = any(%(schemas)s);
