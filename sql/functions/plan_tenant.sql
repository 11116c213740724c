-- tenancy.plan_tenant(tenant id): what migrating this tenant would do, per
-- table: the rows that would move, the ledger state, and the DDL. Changes
-- nothing (the dry run). One count per table on the tenant key.
CREATE OR REPLACE FUNCTION tenancy.plan_tenant(p_tenant_id text)
RETURNS TABLE (
    tenant_id text, table_name text, ordinal integer, rows_to_move bigint, state text, ddl text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_table    record;
    v_key_type text;
    v_ddl      text [];
BEGIN
    tenant_id := p_tenant_id;
    FOR v_table IN SELECT m.table_name, m.position, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        table_name := v_table.table_name;
        ordinal := v_table.position;
        SELECT format_type(a.atttypid, a.atttypmod) INTO v_key_type
        FROM pg_attribute AS a
        WHERE a.attrelid = format('%I.%I', v_settings.central_schema, v_table.table_name)::regclass
            AND a.attname = v_settings.tenant_key;
        EXECUTE format('SELECT count(*) FROM %I.%I AS s WHERE s.%I = $1::%s', v_settings.central_schema,
                       v_table.table_name, v_settings.tenant_key, v_key_type)
        INTO rows_to_move USING p_tenant_id;
        SELECT coalesce(max(l.state), 'pending') INTO state
        FROM tenancy.ledger AS l WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name;
        EXECUTE format('SELECT tenancy.%1$I($1) || tenancy.%2$I($1) || tenancy.%3$I($1)',
                       v_table.fn_prefix || '__create', v_table.fn_prefix || '__index',
                       v_table.fn_prefix || '__link')
        INTO v_ddl USING v_schema;
        ddl := array_to_string(v_ddl, E';\n') || ';';
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.plan_tenant(text) IS
'Dry run of one tenant: rows to move, ledger state and DDL per table; changes nothing.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.plan_tenant(text) OWNER TO tenancy_engine;
