-- Validates a chunk of tenants against their shared rows' sums (tenancy.validate_tenants): one row per check.
SELECT
    tenant_id,
    table_name,
    check_name,
    expected,
    actual,
    passed
FROM tenancy.validate_tenants(%(tenants)s, %(sums)s)
