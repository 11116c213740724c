-- The moved tables of those of the given tenants that are migrated already, as the ledger has them.
SELECT
    tenant_id,
    table_name,
    state,
    rows_copied,
    seconds
FROM tenancy.migrated_tables(%(tenants)s)
