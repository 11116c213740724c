-- tenancy.preflight(): problems that concern every tenant, checked once per
-- run: rows of moved tables whose tenant key is NULL or not in the registry
-- (they belong to no tenant and would be left behind), and foreign keys from
-- tables that stay central into moved tables. Returns one row per problem;
-- no rows means none. Read-only; scans each moved table once.
CREATE OR REPLACE FUNCTION tenancy.preflight()
RETURNS TABLE (table_name text, check_name text, problem_rows bigint, detail text, hint text)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_table    text;
    v_null     bigint;
    v_unknown  bigint;
    v_referencing text;
BEGIN
    FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        EXECUTE format(
            $q$SELECT count(*) FILTER (WHERE s.%1$I IS NULL),
                      count(*) FILTER (WHERE s.%1$I IS NOT NULL AND r.%4$I IS NULL)
               FROM %2$I.%3$I AS s
               LEFT JOIN %2$I.%5$I AS r ON r.%4$I::text = s.%1$I::text$q$,
            v_settings.tenant_key, v_settings.central_schema, v_table,
            v_settings.registry_id_column, v_settings.registry_table
        ) INTO v_null, v_unknown;
        IF v_null > 0 THEN
            table_name := v_table;
            check_name := 'tenant key is NULL';
            problem_rows := v_null;
            detail := format('%s rows of %I.%I have %I NULL', v_null, v_settings.central_schema, v_table,
                             v_settings.tenant_key);
            hint := format('Assign them to a tenant or delete them: SELECT * FROM %I.%I WHERE %I IS NULL',
                           v_settings.central_schema, v_table, v_settings.tenant_key);
            RETURN NEXT;
        END IF;
        IF v_unknown > 0 THEN
            table_name := v_table;
            check_name := 'tenant not in registry';
            problem_rows := v_unknown;
            detail := format('%s rows of %I.%I name a tenant that %I.%I does not list', v_unknown,
                             v_settings.central_schema, v_table, v_settings.central_schema,
                             v_settings.registry_table);
            hint := 'Register those tenants or delete their rows; otherwise they would be left behind.';
            RETURN NEXT;
        END IF;
    END LOOP;
    FOR table_name, check_name, v_referencing, detail IN
        SELECT c.table_name, 'central foreign key ' || c.constraint_name, c.referencing_table,
               format('%s references %I.%I, which moves to tenant schemas', c.referencing_table,
                      v_settings.central_schema, c.table_name)
        FROM tenancy.central_references() AS c
    LOOP
        problem_rows := NULL;
        hint := tenancy.central_reference_hint(v_referencing, table_name);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.preflight() IS
'Problems for every tenant: rows with a NULL or unregistered tenant key, central FKs into moved tables.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.preflight() OWNER TO tenancy_engine;
