-- The migrated tenants that miss tables added to [move] later, each with those tables (tenancy.incomplete_tenants).
SELECT
    tenant_id,
    missing_tables
FROM tenancy.incomplete_tenants()
