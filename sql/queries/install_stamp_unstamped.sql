-- Stamps the tenant tables an older version made (tenancy.stamp_unstamped) and returns each with what was done.
SELECT
    tenant_id,
    table_name,
    action
FROM tenancy.stamp_unstamped()
