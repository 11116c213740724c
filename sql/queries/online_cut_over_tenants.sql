-- Those of the given tenants that are cut over or contracted already.
SELECT tenant_id
FROM tenancy.tenants
WHERE tenant_id = any(%(tenants)s) AND state IN ('cut_over', 'contracted')
