-- The constraints of a table (primary key, unique, foreign key, check; the
-- exclusion constraints are read by catalog_exclusions.sql): definition, columns in key order, referenced table and columns,
-- actions, INCLUDE columns, NULLS NOT DISTINCT and storage parameters of the
-- backing index. Run with search_path = pg_catalog. Used by runner/engine/catalog.py.
SELECT
    con.conname,
    con.contype,
    con.condeferrable,
    con.condeferred,
    con.convalidated,
    pg_get_constraintdef(con.oid) AS definition,
    array(
        SELECT a.attname
        FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_attribute AS a ON con.conrelid = a.attrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS columns,
    fn.nspname AS ref_schema,
    fc.relname AS ref_table,
    array(
        SELECT a.attname
        FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_attribute AS a ON con.confrelid = a.attrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS ref_columns,
    con.confupdtype,
    con.confdeltype,
    con.confmatchtype,
    con.conindid,
    array(
        SELECT a.attname
        FROM pg_index AS i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_attribute AS a ON i.indrelid = a.attrelid AND k.attnum = a.attnum
        WHERE i.indexrelid = con.conindid AND k.ord > i.indnkeyatts
        ORDER BY k.ord
    ) AS include,
    coalesce(
        (SELECT i.indnullsnotdistinct FROM pg_index AS i WHERE i.indexrelid = con.conindid), false
    ) AS nulls_not_distinct,
    coalesce((SELECT ic.reloptions FROM pg_class AS ic WHERE ic.oid = con.conindid), '{}') AS index_options
FROM pg_constraint AS con
LEFT JOIN pg_class AS fc ON con.confrelid = fc.oid
LEFT JOIN pg_namespace AS fn ON fc.relnamespace = fn.oid
WHERE con.conrelid = %(oid)s AND con.contype IN ('p', 'u', 'f', 'c')
ORDER BY con.conname
