-- The columns of a table in order: type, collation (when not the type's own),
-- NOT NULL, identity, generated, default and the sequence a serial column
-- owns. Run with search_path = pg_catalog, so types and expressions come back
-- schema-qualified. Used by runner/engine/catalog.py.
SELECT
    a.attnum,
    a.attname,
    format_type(a.atttypid, a.atttypmod) AS type,
    CASE
        WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN format('%%I.%%I', cn.nspname, co.collname)
    END AS collation,
    a.atttypid AS type_oid,
    a.attnotnull,
    a.attidentity,
    a.attgenerated,
    pg_get_expr(d.adbin, d.adrelid) AS default_expr,
    pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) AS owned_seq
FROM pg_attribute AS a
INNER JOIN pg_type AS t ON a.atttypid = t.oid
LEFT JOIN pg_collation AS co ON a.attcollation = co.oid
LEFT JOIN pg_namespace AS cn ON co.collnamespace = cn.oid
LEFT JOIN pg_attrdef AS d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
