-- Rolls back one tenant (tenancy.rollback_tenant) and returns what it did to each of its tables.
SELECT
    table_name,
    action
FROM tenancy.rollback_tenant(%(tenant)s, %(force)s)
