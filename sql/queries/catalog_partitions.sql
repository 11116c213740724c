-- The partitions of a partitioned table: name, bound (FOR VALUES ... or
-- DEFAULT, as pg_get_expr prints it), kind ('p': partitioned again) and
-- storage parameters. Used by runner/engine/catalog.py.
SELECT
    c.relname AS name,
    c.relkind,
    pg_get_expr(c.relpartbound, c.oid) AS bound,
    coalesce(c.reloptions, '{}') AS options
FROM pg_inherits AS i
INNER JOIN pg_class AS c ON i.inhrelid = c.oid
WHERE i.inhparent = %(oid)s
ORDER BY c.relname
