-- Every table of one schema with its columns (type, NOT NULL, place in the
-- primary key), for `tenancy init --from-database`. Partitions are left out
-- (their partitioned table stands for them), and so are views, foreign tables
-- and every other schema (the tool's own, the tenant schemas). A table without
-- columns comes back once, with a NULL column. Used by runner/engine/discover.py.
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    format_type(a.atttypid, a.atttypmod) AS type_name,
    coalesce(a.attnotnull, false) AS not_null,
    array_position(k.conkey, a.attnum) AS key_position
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint AS k ON c.oid = k.conrelid AND k.contype = 'p'
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
