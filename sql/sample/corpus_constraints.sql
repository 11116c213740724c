-- Foreign keys, CHECKs and unique keys (constraints and unique indexes, with
-- whether they are partial or use an expression) of the tables of one schema,
-- partitions left out. Column lists are in key order. Used by
-- runner/devtools/corpus.py to generate rows that keep them.
SELECT
    c.relname AS table_name,
    k.contype::text AS kind,
    k.conname::text AS name,
    array(
        SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u (attnum, i)
        INNER JOIN pg_attribute AS a ON u.attnum = a.attnum AND k.conrelid = a.attrelid
        ORDER BY u.i
    ) AS columns,
    rn.nspname::text AS ref_schema,
    r.relname::text AS ref_table,
    array(
        SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u (attnum, i)
        INNER JOIN pg_attribute AS a ON u.attnum = a.attnum AND k.confrelid = a.attrelid
        ORDER BY u.i
    ) AS ref_columns,
    pg_get_constraintdef(k.oid) AS definition,
    false AS partial
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_class AS r ON k.confrelid = r.oid
LEFT JOIN pg_namespace AS rn ON r.relnamespace = rn.oid
WHERE n.nspname = %(schema)s AND NOT c.relispartition AND k.contype IN ('f', 'c')
UNION ALL
SELECT
    c.relname AS table_name,
    'u' AS kind,
    i.relname::text AS name,
    array(
        SELECT coalesce(a.attname::text, '') FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS u (attnum, j)
        LEFT JOIN pg_attribute AS a ON u.attnum = a.attnum AND x.indrelid = a.attrelid
        ORDER BY u.j
    ) AS columns,
    NULL AS ref_schema,
    NULL AS ref_table,
    NULL AS ref_columns,
    NULL AS definition,
    x.indpred IS NOT NULL AS partial
FROM pg_index AS x
INNER JOIN pg_class AS c ON x.indrelid = c.oid
INNER JOIN pg_class AS i ON x.indexrelid = i.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = %(schema)s AND NOT c.relispartition AND x.indisunique
ORDER BY table_name, kind, name
