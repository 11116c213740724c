-- verify-grants: flags and cluster-wide search_path of the model's roles.
SELECT
    r.rolname,
    r.rolcanlogin,
    r.rolconnlimit,
    r.rolsuper,
    r.rolcreatedb,
    r.rolcreaterole,
    r.rolreplication,
    r.rolbypassrls,
    r.rolinherit,
    (
        SELECT substr(c.setting, length('search_path=') + 1)
        FROM pg_catalog.pg_db_role_setting AS s
        CROSS JOIN LATERAL unnest(s.setconfig) AS c (setting)
        WHERE s.setrole = r.oid AND s.setdatabase = 0 AND c.setting LIKE 'search_path=%%'
    ) AS search_path
FROM pg_catalog.pg_roles AS r
WHERE r.rolname = any(%(roles)s);
