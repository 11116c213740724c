-- Copies one tenant from one snapshot (tenancy.copy_tenant_snapshot) and returns each moved table: state, rows, seconds, action.
SELECT
    table_name,
    state,
    rows_copied,
    seconds,
    action
FROM tenancy.copy_tenant_snapshot(%(tenant)s)
