-- The problems that stop one tenant's migration, one row each (tenancy.preflight_tenant, not raising them).
SELECT
    table_name,
    check_name,
    problem_rows,
    detail,
    hint
FROM tenancy.preflight_tenant(%(tenant)s, false)
