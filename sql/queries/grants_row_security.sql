-- verify-grants: row-level security and policies of the hybrid and row-filtered central tables.
SELECT
    c.relname,
    c.relrowsecurity,
    p.polname,
    CASE p.polcmd
        WHEN 'r' THEN 'SELECT'
        WHEN 'a' THEN 'INSERT'
        WHEN 'w' THEN 'UPDATE'
        WHEN 'd' THEN 'DELETE'
        ELSE 'ALL'
    END AS command,
    array(
        SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r) END
        FROM unnest(p.polroles) AS r
    ) AS roles
FROM pg_catalog.pg_class AS c
INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_catalog.pg_policy AS p ON c.oid = p.polrelid
WHERE n.nspname = %(central)s AND c.relname = any(%(secured)s);
