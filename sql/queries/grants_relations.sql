-- verify-grants: tables and sequences of the tenant schemas and the central
-- schema, with their owners (runner/access/drift.py).
SELECT
    n.nspname,
    c.relname,
    CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
    pg_catalog.pg_get_userbyid(c.relowner) AS owner
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND (n.nspname = any(%(schemas)s) OR n.nspname = %(central)s)
    -- An extension's objects (e.g. Citus's views in the central schema) are not the model's.
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS e
        WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e'
    )
ORDER BY kind, n.nspname, c.relname;
