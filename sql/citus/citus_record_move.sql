-- tenancy.citus_record_move(tenant id): after citus_schema_move, records the
-- worker now holding the tenant. Raises TY074 when the tenant is not
-- distributed. Returns the worker (host:port).
CREATE OR REPLACE FUNCTION tenancy.citus_record_move(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_node   text := tenancy.citus_tenant_node(v_schema);
BEGIN
    UPDATE tenancy.placements AS p SET node = v_node, state = 'moved', moved_at = clock_timestamp()
    WHERE p.tenant_id = p_tenant_id;
    IF NOT FOUND OR v_node IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY074',
            MESSAGE = format('tenant %L is not distributed', p_tenant_id),
            HINT = 'Run `tenancy distribute --tenant <id>` first; see `tenancy placement`.';
    END IF;
    RETURN v_node;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_record_move(text) IS
'Records the worker now holding a tenant after citus_schema_move.';
