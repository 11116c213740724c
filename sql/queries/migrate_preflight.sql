-- The problems that stop every tenant's migration, one row each (tenancy.preflight); none when it may start.
SELECT
    table_name,
    check_name,
    problem_rows,
    detail,
    hint
FROM tenancy.preflight()
