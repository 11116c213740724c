-- The state of one tenant in the ledger; no row when the ledger does not know it.
SELECT state
FROM tenancy.tenants
WHERE tenant_id = %(tenant)s
