-- tenancy.preflight_tenant(tenant id): what would stop this tenant's
-- migration, one row per problem, before anything is written: rows its tenant
-- tables would refuse (keys and foreign keys the shared tables do not enforce
-- per tenant), tables of the same name already in its schema that tenancy did
-- not create, another tenant id that already holds its schema name (`ab-1`
-- and `ab_1`; tenancy.schema_collisions() finds such pairs in the whole
-- registry), and (unless p_central is false: a caller that checked
-- tenancy.central_references() once for many tenants) central foreign keys
-- into moved tables. No rows: none. Read-only.

CREATE OR REPLACE FUNCTION tenancy.preflight_tenant(p_tenant_id text, p_central boolean DEFAULT true)
RETURNS TABLE (
    tenant_id text, table_name text, check_name text, problem_rows bigint, detail text, hint text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_table  record;
    v_referencing text;
BEGIN
    tenant_id := p_tenant_id;
    FOR check_name, detail IN
        SELECT 'schema name shared',
               format('tenant ids %L and %L both map to schema %I', t.tenant_id, p_tenant_id, v_schema)
        FROM tenancy.tenants AS t
        WHERE t.schema_name = v_schema AND t.tenant_id <> p_tenant_id
    LOOP
        table_name := NULL;
        problem_rows := NULL;
        hint := 'Give one of the two tenants another id in the registry: each tenant needs a schema of its own.';
        RETURN NEXT;
    END LOOP;
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        table_name := v_table.table_name;
        -- Looked up in the catalog, not by name: the schema may not be the engine's to enter yet.
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                   JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                   WHERE n.nspname = v_schema AND c.relname = v_table.table_name)
            AND NOT EXISTS (SELECT 1 FROM tenancy.ledger AS l
                            WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name) THEN
            check_name := 'table already exists';
            problem_rows := NULL;
            detail := format('%I.%I exists and was not created by tenancy', v_schema, v_table.table_name);
            hint := 'Rename or drop that table, or take this table out of [move].';
            RETURN NEXT;
        END IF;
        FOR check_name, problem_rows, detail, hint IN
            EXECUTE format('SELECT * FROM tenancy.%I($1)', v_table.fn_prefix || '__preflight') USING p_tenant_id
        LOOP
            RETURN NEXT;
        END LOOP;
    END LOOP;
    FOR table_name, check_name, v_referencing, detail IN
        SELECT c.table_name, 'central foreign key ' || c.constraint_name, c.referencing_table,
               format('%s references the moved table %s', c.referencing_table, c.table_name)
        FROM tenancy.central_references() AS c
        WHERE p_central
    LOOP
        problem_rows := NULL;
        hint := tenancy.central_reference_hint(v_referencing, table_name);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.preflight_tenant(text, boolean) IS
'Problems that block one tenant''s migration (rows the tenant tables would refuse, name clashes, central FKs).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.preflight_tenant(text, boolean) OWNER TO tenancy_engine;
