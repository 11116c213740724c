-- verify-grants: flags and cluster-wide per-role settings (search_path, timeouts) of the model's roles.
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
    array(
        SELECT c.setting
        FROM pg_catalog.pg_db_role_setting AS s
        CROSS JOIN LATERAL unnest(s.setconfig) AS c (setting)
        WHERE s.setrole = r.oid AND s.setdatabase = 0
    ) AS settings
FROM pg_catalog.pg_roles AS r
WHERE r.rolname = any(%(roles)s);
