-- Migrates a batch of tenants (tenancy.migrate_tenants) and returns each one's moved tables, or its error.
SELECT
    tenant_id,
    table_name,
    state,
    rows_copied,
    seconds,
    action,
    error_code,
    error,
    error_detail,
    error_hint
FROM tenancy.migrate_tenants(%(tenants)s)
