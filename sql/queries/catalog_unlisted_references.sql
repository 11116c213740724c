-- install: foreign keys of the moved tables (and their partitions' own) to
-- tables of the central schema that the manifest lists nowhere. The tenant
-- tables keep those keys, so the engine needs REFERENCES on their targets,
-- which the privilege model grants on what [central], [hybrid] and the
-- registry list.
SELECT DISTINCT
    src.relname::text AS moved_table,
    ref.relname::text AS referenced_table
FROM pg_catalog.pg_class AS src
INNER JOIN pg_catalog.pg_namespace AS n ON src.relnamespace = n.oid
INNER JOIN pg_catalog.pg_constraint AS k ON src.oid = k.conrelid AND k.contype = 'f'
INNER JOIN pg_catalog.pg_class AS ref ON k.confrelid = ref.oid
WHERE
    n.nspname = %(schema)s
    AND src.relname = any(%(moved)s)
    AND ref.relnamespace = n.oid
    AND NOT ref.relname = any(%(listed)s)
ORDER BY 1, 2;
