-- tenancy.unproven_tenants(tenant ids, lock mode, tables): tenancy.unproven_tables
-- as refusals: locks the listed tenants' tables (those of p_tables when
-- given) in p_lock_mode and returns
-- one TY040 row per tenant with a table that is not exactly what tenancy
-- made, every such table named in its detail; no rows: all proven. The
-- locks are held until the transaction ends.
CREATE OR REPLACE FUNCTION tenancy.unproven_tenants(
    p_tenant_ids text [], p_lock_mode text, p_tables text [] DEFAULT NULL
)
RETURNS TABLE (tenant_id text, error_code text, error text, error_detail text, error_hint text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT u.tenant_id, 'TY040'::text,
           format('tenant %L: %s of its tables cannot be proven to be what tenancy made; refusing to touch them',
                  u.tenant_id, count(*)),
           string_agg(format('%I.%I %s', u.schema_name, u.table_name, u.problem), E'\n' ORDER BY u.table_name),
           'Someone changed the tenant''s tables outside tenancy (a column, default, constraint, index, trigger, '
           'rule or policy, or the table itself). Undo the change, or roll the tenant back (--force drops '
           'its tables without reading them) and migrate it again; see docs/security.md.'::text
    FROM tenancy.unproven_tables(p_tenant_ids, p_lock_mode, p_tables) AS u
    GROUP BY u.tenant_id
    ORDER BY u.tenant_id
$fn$;
COMMENT ON FUNCTION tenancy.unproven_tenants(text [], text, text []) IS
'Locks the tenants'' tables; a TY040 row per tenant whose tables are not exactly what tenancy made.';
