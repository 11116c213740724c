-- tenancy.split_routed(table): whether the one-pass split copy routes this
-- moved table (tenancy.split_copy_table): its shared table, with its
-- partitions, is at least tenancy.split_min_bytes large (a custom setting;
-- default: shared_buffers). A smaller one is cached: reading it once per
-- tenant costs little, while routing costs four DDL statements per tenant
-- table and doubles the cost of each insert, so it is copied per tenant (and
-- when it holds few rows a tenant, a batch of tenancy.migrate_tenants() gives
-- its tenant tables their keys and indexes when it makes them:
-- tenancy.create_tenant_tables). Read-only.
CREATE OR REPLACE FUNCTION tenancy.split_routed(p_table text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN tenancy.shared_bytes(p_table)
        >= pg_size_bytes(coalesce(nullif(current_setting('tenancy.split_min_bytes', true), ''),
                                  current_setting('shared_buffers')));
END
$fn$;
COMMENT ON FUNCTION tenancy.split_routed(text) IS
'Whether the split copy routes this moved table (its shared table is at least tenancy.split_min_bytes large).';
