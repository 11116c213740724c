-- tenancy.validate_tenants(tenant ids): tenancy.validate_tenant for many
-- tenants, reading each shared table once: one pass per table computes the
-- count and checksum of every listed tenant's rows, then each tenant table is
-- read and compared. Validating every tenant this way costs about one scan of
-- the shared tables plus one of the tenant tables, instead of one scan of
-- every shared table per tenant. Same rows as validate_tenant. Read-only.
CREATE OR REPLACE FUNCTION tenancy.validate_tenants(p_tenant_ids text [])
RETURNS TABLE (
    tenant_id text, table_name text, check_name text, expected text, actual text, passed boolean
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id    text;
    v_table record;
    v_part  jsonb;
    v_all   jsonb := '{}'::jsonb;
BEGIN
    -- Every id is checked before any of them reaches a cast in the sums below.
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        PERFORM tenancy.require_tenant(v_id);
    END LOOP;
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        EXECUTE format(
            'SELECT coalesce(jsonb_object_agg(x.tenant_id, jsonb_build_array(x.row_count, x.checksum)), ''{}'') '
            'FROM tenancy.%I($1) AS x', v_table.fn_prefix || '__source_sums'
        ) INTO v_part USING p_tenant_ids;
        v_all := v_all || jsonb_build_object(v_table.table_name, v_part);
    END LOOP;
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        RETURN QUERY
            SELECT * FROM tenancy.validate_tenant(
                v_id,
                (SELECT jsonb_object_agg(e.key, coalesce(e.value -> v_id, '[0, 0]'))
                 FROM jsonb_each(v_all) AS e)
            );
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.validate_tenants(text []) IS
'validate_tenant for many tenants, hashing each shared table once for all of them.';
