-- tenancy.source_sums(tenant ids): the shared side of validation for many
-- tenants at once: {"<tenant>": {"<table>": [rows, checksum], ...}, ...}, with
-- [0, 0] for a table where a tenant has no rows. Reads each shared table once
-- (a tenant's rows are spread over the whole table, so one pass for all
-- tenants costs about what one tenant's rows cost). The checksum is the same
-- sum of row hashes as the tenant side's (<table>__target_sum). After
-- contract, '{}'. Read-only.
CREATE OR REPLACE FUNCTION tenancy.source_sums(p_tenant_ids text [])
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id       text;
    v_table    record;
    v_part     jsonb;
    v_by_table jsonb := '{}'::jsonb;
BEGIN
    -- Every id is checked before any of them reaches a cast in the sums below.
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        PERFORM tenancy.require_tenant(v_id);
    END LOOP;
    -- After contract the shared tables are gone: every tenant is cut over, nothing to read.
    IF EXISTS (SELECT 1 FROM tenancy.contraction) THEN
        RETURN '{}'::jsonb;
    END IF;
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        EXECUTE format(
            'SELECT coalesce(jsonb_object_agg(x.tenant_id, jsonb_build_array(x.row_count, x.checksum)), ''{}'') '
            'FROM tenancy.%I($1) AS x', v_table.fn_prefix || '__source_sums'
        ) INTO v_part USING p_tenant_ids;
        v_by_table := v_by_table || jsonb_build_object(v_table.table_name, v_part);
    END LOOP;
    RETURN (
        SELECT coalesce(jsonb_object_agg(t.id, (
            SELECT coalesce(jsonb_object_agg(e.key, coalesce(e.value -> t.id, '[0, 0]'::jsonb)), '{}'::jsonb)
            FROM jsonb_each(v_by_table) AS e
        )), '{}'::jsonb)
        FROM unnest(p_tenant_ids) AS t (id)
    );
END
$fn$;
COMMENT ON FUNCTION tenancy.source_sums(text []) IS
'Row count and checksum of each listed tenant''s rows in each shared table, one pass per table.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.source_sums(text []) OWNER TO tenancy_engine;
