-- verify-grants, as a superuser only (pg_authid): which of the model's roles have a password.
SELECT
    a.rolname,
    a.rolpassword IS NOT NULL AS has_password
FROM pg_catalog.pg_authid AS a
WHERE a.rolname = any(%(roles)s);
