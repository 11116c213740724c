-- The status of every registry tenant, or of the given ones (tenancy.tenant_status): state, tables, rows, validation.
SELECT
    tenant_id,
    schema_name,
    state,
    tables,
    tables_done,
    rows_copied,
    seconds,
    validated,
    validated_at,
    failed_checks,
    last_error
FROM tenancy.tenant_status(%(tenants)s)
