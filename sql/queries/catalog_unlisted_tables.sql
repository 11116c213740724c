-- Tables of the central schema that carry the tenant key column, partitions
-- excluded (their partitioned table stands for them). Used by
-- runner/engine/catalog.py to warn about tables the manifest does not list.
SELECT c.relname
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attname = %(key)s AND NOT a.attisdropped
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
