-- Cuts one tenant over (tenancy.cutover_tenant) and returns a row per table and a summary row (table_name NULL).
SELECT
    table_name,
    row_count,
    replayed,
    fence_ms,
    action
FROM tenancy.cutover_tenant(%(tenant)s, %(lock_timeout)s)
