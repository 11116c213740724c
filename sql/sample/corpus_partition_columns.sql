-- The columns of the partition key of each partitioned table of one schema
-- (an expression in the key adds no column). Used by runner/devtools/corpus.py:
-- these columns always get a generated value, never their default.
SELECT
    c.relname AS table_name,
    array(
        SELECT a.attname::text FROM unnest(p.partattrs) AS u (attnum)
        INNER JOIN pg_attribute AS a ON u.attnum = a.attnum AND p.partrelid = a.attrelid
    ) AS columns
FROM pg_partitioned_table AS p
INNER JOIN pg_class AS c ON p.partrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = %(schema)s AND NOT c.relispartition
ORDER BY c.relname
