-- verify-grants: role memberships that involve a role of the model.
SELECT
    pg_catalog.pg_get_userbyid(m.member) AS member,
    pg_catalog.pg_get_userbyid(m.roleid) AS role
FROM pg_catalog.pg_auth_members AS m
WHERE
    pg_catalog.pg_get_userbyid(m.member) = any(%(roles)s)
    OR pg_catalog.pg_get_userbyid(m.roleid) = any(%(roles)s);
