-- The columns of several tables (or views) of one schema, by name (those that do not
-- exist, or are not tables, are missing from the result). Install checks the
-- manifest against it before changing anything. Used by runner/engine/catalog.py.
SELECT
    c.relname,
    array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %(schema)s AND c.relname = any(%(tables)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
GROUP BY c.relname
