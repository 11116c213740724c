-- The triggers of a table that the application made: not the internal ones
-- (foreign keys') and not the tool's own (whose function lives in schema
-- tenancy, e.g. the capture). Per trigger: its definition as
-- pg_get_triggerdef prints it (run with search_path = pg_catalog, so every
-- name in it is schema-qualified), the table (and its schema) and the FROM
-- table of a constraint trigger as that definition names them, whether it is enabled
-- ('O' origin, 'D' disabled, 'R' replica, 'A' always), the columns of UPDATE
-- OF, every column it uses (UPDATE OF and WHEN, from pg_depend), whether it
-- has a WHEN clause, its function and whether the function may be trusted
-- (it and its schema owned by a superuser, the owner of the central schema
-- or the owner of the table), and the function's source text.
-- Used by runner/engine/catalog.py.
SELECT
    g.tgname AS name,
    pg_get_triggerdef(g.oid) AS definition,
    g.tgenabled AS enabled,
    format('%%I.%%I', n.nspname, c.relname) AS on_name,
    quote_ident(n.nspname) AS on_schema,
    rn.nspname AS from_schema,
    rc.relname AS from_table,
    CASE WHEN rc.oid IS NOT NULL THEN format('%%I.%%I', rn.nspname, rc.relname) END AS from_name,
    g.tgqual IS NOT NULL AS has_when,
    array(
        SELECT a.attname
        FROM unnest(g.tgattr) WITH ORDINALITY AS k (attnum, ord)
        INNER JOIN pg_attribute AS a ON g.tgrelid = a.attrelid AND k.attnum = a.attnum
        ORDER BY k.ord
    ) AS update_columns,
    array(
        SELECT DISTINCT a.attname
        FROM pg_depend AS d
        INNER JOIN pg_attribute AS a ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
        WHERE
            d.classid = 'pg_trigger'::regclass AND d.objid = g.oid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjid = g.tgrelid
            AND d.refobjsubid > 0
    ) AS referenced,
    p.oid::regprocedure::text AS function,
    (
        p.proowner IN (SELECT r.oid FROM pg_roles AS r WHERE r.rolsuper) OR p.proowner IN (cn.nspowner, c.relowner)
    ) AND (
        pn.nspowner IN (SELECT r.oid FROM pg_roles AS r WHERE r.rolsuper) OR pn.nspowner IN (cn.nspowner, c.relowner)
    ) AS trusted,
    p.prosrc AS source
FROM pg_trigger AS g
INNER JOIN pg_class AS c ON g.tgrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_namespace AS cn ON cn.nspname = %(schema)s
INNER JOIN pg_proc AS p ON g.tgfoid = p.oid
INNER JOIN pg_namespace AS pn ON p.pronamespace = pn.oid
LEFT JOIN pg_class AS rc ON g.tgconstrrelid = rc.oid
LEFT JOIN pg_namespace AS rn ON rc.relnamespace = rn.oid
WHERE g.tgrelid = %(oid)s AND NOT g.tgisinternal AND pn.nspname <> 'tenancy'
ORDER BY g.tgname
