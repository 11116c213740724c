-- tenancy.central_references(): foreign keys from tables that are not moved
-- into moved tables. Such a table would point at rows that leave the central
-- schema; every one blocks the migration (TY009). The partitions of a moved
-- table move with it: their inherited foreign keys are not central. Read-only;
-- one scan of pg_constraint, whatever the number of tenant schemas.
CREATE OR REPLACE FUNCTION tenancy.central_references()
RETURNS TABLE (table_name text, constraint_name text, referencing_table text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    WITH moved AS (
        SELECT m.table_name, to_regclass(format('%I.%I', s.central_schema, m.table_name)) AS rel
        FROM tenancy.moved_tables AS m CROSS JOIN tenancy.settings AS s
    )
    SELECT mv.table_name, c.conname::text, c.conrelid::regclass::text
    FROM pg_constraint AS c
    JOIN moved AS mv ON c.confrelid = mv.rel
    WHERE c.contype = 'f'
        AND NOT EXISTS (SELECT 1 FROM moved AS x WHERE x.rel = coalesce(pg_partition_root(c.conrelid), c.conrelid))
    ORDER BY 1, 2
$fn$;
COMMENT ON FUNCTION tenancy.central_references() IS
'Foreign keys from tables that stay (central, hybrid, others) into moved tables; each blocks migration.';
