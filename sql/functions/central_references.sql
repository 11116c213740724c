-- tenancy.central_references(): foreign keys from tables that are not moved
-- into moved tables. Such a table would point at rows that leave the central
-- schema; every one blocks the migration (TY009). Read-only.
CREATE OR REPLACE FUNCTION tenancy.central_references()
RETURNS TABLE (table_name text, constraint_name text, referencing_table text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT m.table_name, c.conname::text, format('%I.%I', n.nspname, r.relname)
    FROM tenancy.moved_tables AS m
    CROSS JOIN tenancy.settings AS s
    JOIN pg_namespace AS mn ON mn.nspname = s.central_schema
    JOIN pg_class AS mc ON mc.relnamespace = mn.oid AND mc.relname = m.table_name
    JOIN pg_constraint AS c ON c.confrelid = mc.oid AND c.contype = 'f'
    JOIN pg_class AS r ON r.oid = c.conrelid
    JOIN pg_namespace AS n ON n.oid = r.relnamespace
    WHERE NOT (n.nspname = s.central_schema AND r.relname IN (SELECT x.table_name FROM tenancy.moved_tables AS x))
    ORDER BY 1, 2
$fn$;
COMMENT ON FUNCTION tenancy.central_references() IS
'Foreign keys from tables that stay (central, hybrid, others) into moved tables; each blocks migration.';
