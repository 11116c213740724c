-- verify-grants: foreign keys from a hybrid table to a secured table without the tenant key;
-- each needs its tenant-safe reference policy (tenancy.secure_hybrid_tables()).
SELECT
    c.relname,
    k.conname
FROM pg_catalog.pg_constraint AS k
INNER JOIN pg_catalog.pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_catalog.pg_class AS rc ON k.confrelid = rc.oid
WHERE
    k.contype = 'f'
    AND c.relnamespace = %(central)s::regnamespace AND c.relname = any(%(hybrid)s)
    AND rc.relnamespace = %(central)s::regnamespace AND rc.relname = any(%(secured)s)
    AND NOT EXISTS(
        SELECT 1 FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = k.conrelid AND a.attnum = any(k.conkey) AND a.attname = %(key)s
    );
