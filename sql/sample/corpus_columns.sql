-- The columns of every table of one schema (partitioned tables, not their
-- partitions), with what runner/devtools/corpus.py needs to generate a value
-- for each: the base type of a domain, its category and modifier, the labels
-- of an enum. Types come back schema-qualified when the
-- caller's search_path is pg_catalog.
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    format_type(a.atttypid, a.atttypmod) AS type_name,
    format_type(b.oid, NULL) AS base_type,
    b.typcategory AS category,
    array(SELECT e.enumlabel::text FROM pg_enum AS e WHERE e.enumtypid = b.oid ORDER BY e.enumsortorder) AS enum_labels,
    a.attnotnull AS not_null,
    a.atthasdef AS has_default,
    (
        a.attidentity <> '' OR a.attgenerated <> ''
        OR starts_with(coalesce(pg_get_expr(d.adbin, d.adrelid), ''), 'nextval(')
    ) AS automatic,
    -- The type modifier (length of varchar(n), precision and scale of numeric(p, s)).
    CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped
INNER JOIN pg_type AS t ON a.atttypid = t.oid
INNER JOIN pg_type AS b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_attrdef AS d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
