-- tenancy.central_references(): foreign keys from tables that are not moved
-- into moved tables. Such a table would point at rows that leave the central
-- schema; every one blocks the migration (TY009). The partitions of a moved
-- table move with it: their inherited foreign keys are not central. Read-only.
-- The foreign keys into each moved table are found through pg_depend (indexed
-- by the referenced table), not by scanning pg_constraint, which holds every
-- tenant's constraints: the cost does not grow with the number of tenants.
CREATE OR REPLACE FUNCTION tenancy.central_references()
RETURNS TABLE (table_name text, constraint_name text, referencing_table text)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT mv.table_name, c.conname::text, c.conrelid::regclass::text
    FROM (
        SELECT m.table_name, to_regclass(format('%I.%I', (SELECT s.central_schema FROM tenancy.settings AS s),
                                                m.table_name)) AS rel
        FROM tenancy.moved_tables AS m
    ) AS mv
    -- A lateral DISTINCT: one index scan of pg_depend per moved table.
    CROSS JOIN LATERAL (
        SELECT DISTINCT d.objid FROM pg_depend AS d
        WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = mv.rel AND d.classid = 'pg_constraint'::regclass
    ) AS k
    JOIN pg_constraint AS c ON c.oid = k.objid
    WHERE c.contype = 'f' AND c.confrelid = mv.rel
        AND coalesce(pg_partition_root(c.conrelid), c.conrelid) <> ALL (ARRAY(
            SELECT to_regclass(format('%I.%I', s.central_schema, m.table_name))
            FROM tenancy.moved_tables AS m CROSS JOIN tenancy.settings AS s
        ))
    ORDER BY 1, 2
$fn$;
COMMENT ON FUNCTION tenancy.central_references() IS
'Foreign keys from tables that stay (central, hybrid, others) into moved tables; each blocks migration.';
