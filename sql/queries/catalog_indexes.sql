-- The indexes of a table that back no constraint: method, key expressions
-- (pg_get_indexdef per column), plain key columns, DESC/NULLS FIRST options,
-- operator classes other than the type's default, INCLUDE columns, predicate,
-- storage parameters, and every column the index uses (plain or in an
-- expression). Run with search_path = pg_catalog. Used by runner/engine/catalog.py.
SELECT
    ic.relname AS name,
    i.indisunique,
    am.amname,
    i.indnkeyatts,
    i.indnatts,
    i.indnullsnotdistinct,
    pg_get_expr(i.indpred, i.indrelid) AS predicate,
    coalesce(ic.reloptions, '{}') AS options,
    array(
        SELECT pg_get_indexdef(i.indexrelid, k, true)
        FROM generate_series(1, i.indnatts) AS k
        ORDER BY k
    ) AS exprs,
    array(
        SELECT coalesce(a.attname, '')
        FROM unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
        LEFT JOIN pg_attribute AS a ON i.indrelid = a.attrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS columns,
    array(
        SELECT k.o
        FROM unnest(i.indoption) WITH ORDINALITY AS k (o, ord)
        ORDER BY k.ord
    ) AS options_per_key,
    array(
        SELECT CASE WHEN oc.opcdefault THEN '' ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END
        FROM unnest(i.indclass) WITH ORDINALITY AS k (opc, ord)
        INNER JOIN pg_opclass AS oc ON k.opc = oc.oid
        INNER JOIN pg_namespace AS ocn ON oc.opcnamespace = ocn.oid
        ORDER BY k.ord
    ) AS opclasses,
    array(
        SELECT DISTINCT a.attname
        FROM pg_depend AS d
        INNER JOIN pg_attribute AS a ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE
            d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
            AND d.refobjsubid > 0
    ) AS referenced
FROM pg_index AS i
INNER JOIN pg_class AS ic ON i.indexrelid = ic.oid
INNER JOIN pg_am AS am ON ic.relam = am.oid
WHERE
    i.indrelid = %(oid)s
    AND NOT EXISTS (
        SELECT 1 FROM pg_constraint AS con
        WHERE
            con.conindid = i.indexrelid
            AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
    )
ORDER BY ic.relname
