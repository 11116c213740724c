-- The types of some columns of one schema's tables, without their modifiers
-- (pairs given as two arrays; missing ones are missing from the result). Run
-- with search_path = pg_catalog, so types come back schema-qualified. Used by
-- runner/engine/catalog.py for the row-level security lookups' types.
SELECT
    w.tbl,
    w.col,
    format_type(a.atttypid, NULL) AS type
FROM unnest(%(tables)s::text [], %(columns)s::text []) AS w (tbl, col)
INNER JOIN pg_class AS c ON w.tbl = c.relname
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND w.col = a.attname AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %(schema)s
