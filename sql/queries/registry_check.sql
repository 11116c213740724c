-- The registry recorded at install, and whether its table and id column still exist.
SELECT
    s.registry_id_column AS id_column,
    format('%I.%I', s.central_schema, s.registry_table) AS registry_table,
    to_regclass(format('%I.%I', s.central_schema, s.registry_table)) IS NOT NULL AS has_table,
    exists(
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE
            a.attrelid = to_regclass(format('%I.%I', s.central_schema, s.registry_table))
            AND a.attname = s.registry_id_column AND a.attnum > 0 AND NOT a.attisdropped
    ) AS has_column
FROM tenancy.settings AS s
