-- A table of the central schema (plain or partitioned), or no row: its oid,
-- kind, storage parameters (its TOAST table's as toast.*), partition key and
-- partition key columns, whether row-level security is on, and whether the
-- tool's own guard opened it (its policy tenancy_open, docs/online.md).
-- Used by runner/engine/catalog.py.
SELECT
    c.oid,
    c.relkind,
    coalesce(c.reloptions, '{}')
    || array(
        SELECT 'toast.' || o.opt
        FROM pg_class AS t CROSS JOIN LATERAL unnest(t.reloptions) AS o (opt)
        WHERE t.oid = c.reltoastrelid
    ) AS options,
    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
    array(
        SELECT a.attname
        FROM pg_partitioned_table AS p
        CROSS JOIN LATERAL unnest(p.partattrs::int2 []) AS k (attnum)
        INNER JOIN pg_attribute AS a ON p.partrelid = a.attrelid AND k.attnum = a.attnum
        WHERE p.partrelid = c.oid
    ) AS partition_columns,
    c.relrowsecurity AS row_security,
    coalesce((
        SELECT true FROM pg_policy AS p WHERE p.polrelid = c.oid AND p.polname = 'tenancy_open'
    ), false) AS guard_open
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND c.relkind IN ('r', 'p')
