-- The registry tenants whose ids map to one schema name, each with that name and every id of its group.
SELECT
    tenant_id,
    schema_name,
    tenant_ids
FROM tenancy.schema_collisions()
