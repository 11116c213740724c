-- The exclusion constraints of a table: the definition as
-- pg_get_constraintdef prints it, and each part of it: index method, per key
-- the element (a column name or an expression, as pg_get_indexdef prints
-- it), the plain column when it is one, the operator class when it is not
-- the type's default and the operator; INCLUDE columns, predicate, storage
-- parameters of its index, DEFERRABLE, and every column it uses (plain or in
-- an expression or the predicate). Run with search_path = pg_catalog.
-- Used by runner/engine/catalog.py.
SELECT
    con.conname AS name,
    pg_get_constraintdef(con.oid) AS definition,
    am.amname AS method,
    con.condeferrable,
    con.condeferred,
    i.indnkeyatts,
    i.indnatts,
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
        SELECT CASE WHEN oc.opcdefault THEN '' ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END
        FROM unnest(i.indclass) WITH ORDINALITY AS k (opc, ord)
        INNER JOIN pg_opclass AS oc ON k.opc = oc.oid
        INNER JOIN pg_namespace AS ocn ON oc.opcnamespace = ocn.oid
        ORDER BY k.ord
    ) AS opclasses,
    array(
        SELECT 'OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')'
        FROM unnest(con.conexclop) WITH ORDINALITY AS k (opr, ord)
        INNER JOIN pg_operator AS o ON k.opr = o.oid
        INNER JOIN pg_namespace AS opn ON o.oprnamespace = opn.oid
        ORDER BY k.ord
    ) AS operators,
    array(
        SELECT o.oprname
        FROM unnest(con.conexclop) WITH ORDINALITY AS k (opr, ord)
        INNER JOIN pg_operator AS o ON k.opr = o.oid
        ORDER BY k.ord
    ) AS operator_names,
    array(
        SELECT DISTINCT a.attname
        FROM pg_depend AS d
        INNER JOIN pg_attribute AS a ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE
            d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
            AND d.refobjsubid > 0
    ) AS referenced
FROM pg_constraint AS con
INNER JOIN pg_index AS i ON con.conindid = i.indexrelid
INNER JOIN pg_class AS ic ON i.indexrelid = ic.oid
INNER JOIN pg_am AS am ON ic.relam = am.oid
WHERE con.conrelid = %(oid)s AND con.contype = 'x'
ORDER BY con.conname
