-- The foreign keys of the tables of one schema (those a partitioned table
-- clones onto its partitions, or for a referenced table's partitions, left
-- out), with their columns in key order, for `tenancy init --from-database`.
-- Used by runner/engine/discover.py.
SELECT
    c.relname AS table_name,
    k.conname AS name,
    array(
        SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u (attnum, i)
        INNER JOIN pg_attribute AS a ON u.attnum = a.attnum AND k.conrelid = a.attrelid
        ORDER BY u.i
    ) AS columns,
    rn.nspname AS ref_schema,
    r.relname AS ref_table,
    array(
        SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u (attnum, i)
        INNER JOIN pg_attribute AS a ON u.attnum = a.attnum AND k.confrelid = a.attrelid
        ORDER BY u.i
    ) AS ref_columns
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_class AS r ON k.confrelid = r.oid
INNER JOIN pg_namespace AS rn ON r.relnamespace = rn.oid
WHERE n.nspname = %(schema)s AND k.contype = 'f' AND k.conparentid = 0 AND NOT c.relispartition
ORDER BY c.relname, k.conname
