-- Migrates one tenant (tenancy.migrate_tenant) and returns each of its moved tables: state, rows, seconds, action.
SELECT
    table_name,
    state,
    rows_copied,
    seconds,
    action
FROM tenancy.migrate_tenant(%(tenant)s)
