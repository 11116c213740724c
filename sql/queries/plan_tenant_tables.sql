-- What migrating one tenant does to each moved table: its state, the rows to move and the DDL (tenancy.plan_tenant).
SELECT
    table_name,
    state,
    rows_to_move,
    ddl
FROM tenancy.plan_tenant(%(tenant)s)
