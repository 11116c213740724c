-- Names of the tables and views of one schema, to suggest the nearest one
-- when the manifest names a table that does not exist. Used by
-- runner/engine/catalog.py.
SELECT c.relname
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
ORDER BY c.relname
