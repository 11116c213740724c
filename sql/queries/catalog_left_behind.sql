-- What is attached to a table or to its partitions that a tenant table does
-- not get, so that the plan can name each: rules, row-level security policies
-- (but the tool's own guard: tenancy_cut_over, tenancy_open, tenancy_owner_open), extended
-- statistics, and the indexes, constraints and triggers that a partition has
-- of its own (not inherited from the partitioned table). One row each: kind,
-- name, the relation it is on, whether that is a partition.
-- Used by runner/engine/catalog.py.
WITH RECURSIVE rels AS (
    SELECT
        c.oid,
        c.relname,
        false AS partition
    FROM pg_class AS c
    WHERE c.oid = %(oid)s
    UNION ALL
    SELECT
        i.inhrelid AS oid,
        c.relname,
        true AS partition
    FROM rels AS r
    INNER JOIN pg_inherits AS i ON r.oid = i.inhparent
    INNER JOIN pg_class AS c ON i.inhrelid = c.oid
)

SELECT
    'rule' AS kind,
    w.rulename::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_rewrite AS w ON r.oid = w.ev_class
UNION ALL
SELECT
    'policy' AS kind,
    p.polname::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_policy AS p ON r.oid = p.polrelid
WHERE p.polname NOT IN ('tenancy_cut_over', 'tenancy_open', 'tenancy_owner_open')
UNION ALL
SELECT
    'statistics' AS kind,
    s.stxname::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_statistic_ext AS s ON r.oid = s.stxrelid
UNION ALL
SELECT
    CASE WHEN x.indisunique THEN 'unique index' ELSE 'index' END AS kind,
    ic.relname::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_index AS x ON r.oid = x.indrelid
INNER JOIN pg_class AS ic ON x.indexrelid = ic.oid
WHERE
    r.partition
    AND NOT EXISTS (SELECT 1 FROM pg_inherits AS h WHERE h.inhrelid = x.indexrelid)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
UNION ALL
SELECT
    CASE k.contype
        WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint' WHEN 'f' THEN 'foreign key'
        WHEN 'c' THEN 'check constraint' WHEN 'x' THEN 'exclusion constraint'
    END AS kind,
    k.conname::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_constraint AS k ON r.oid = k.conrelid
WHERE r.partition AND k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conparentid = 0 AND k.coninhcount = 0
UNION ALL
SELECT
    'trigger' AS kind,
    g.tgname::text AS name,
    r.relname::text AS relation,
    r.partition
FROM rels AS r
INNER JOIN pg_trigger AS g ON r.oid = g.tgrelid
WHERE r.partition AND NOT g.tgisinternal AND g.tgparentid = 0
ORDER BY 1, 2, 3
