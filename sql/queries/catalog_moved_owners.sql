-- The owners of the moved tables, and whether each is a superuser: the one
-- owner of them all becomes the owner of tenancy.contract_shared_tables
-- (sql/templates/contract_shared_tables.sql.j2). Used by runner/engine/catalog.py.
SELECT DISTINCT
    r.rolname,
    r.rolsuper
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_roles AS r ON c.relowner = r.oid
WHERE n.nspname = %(schema)s AND c.relname = any(%(tables)s) AND c.relkind IN ('r', 'p')
ORDER BY r.rolname
