-- tenancy.begin_tenant_migration(tenant id): the first step of a migration,
-- under the tenant's lock: preflight (raises TY003/TY007/TY009/TY030 before any
-- write), provision the tenant if it is not yet (TY060 when the caller may
-- not), mark the tenant migrating, create each tenant
-- table not created yet. Returns the schema. Re-running skips what exists.
-- p_central false skips the global check of central foreign keys (TY009),
-- for a caller that made it once for many tenants.

CREATE OR REPLACE FUNCTION tenancy.begin_tenant_migration(p_tenant_id text, p_central boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_state    text;
    v_problems text;
    v_code     text;
    v_hint     text;
    v_count    integer;
    v_table    record;
    v_owner    text;
    v_ddl      text [];
    v_stmt     text;
    v_caller   text := current_user;
BEGIN
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id;
    IF v_state IN ('syncing', 'cut_over', 'contracted') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is %s; its migration cannot start again', p_tenant_id, v_state),
            HINT = CASE WHEN v_state = 'syncing'
                THEN 'It is migrated online: run `tenancy migrate --online` to catch up, `tenancy cutover`, '
                     'or `tenancy rollback`.'
                ELSE 'See `tenancy status`.' END;
    END IF;

    -- A schema the caller may not enter is not provisioned for it: provisioning
    -- decides (for the runner login, TY060 naming the command to run) before
    -- the preflight reads that schema.
    IF to_regnamespace(v_schema) IS NOT NULL AND NOT has_schema_privilege(v_schema, 'USAGE') THEN
        PERFORM tenancy.provision_tenant(p_tenant_id, p_shared => false);
    END IF;

    SELECT count(*),
           string_agg(format('%s%s%s (%s)', p.table_name || ': ', p.check_name,
                             coalesce(format(', %s rows', p.problem_rows), ''), p.detail), E'\n'),
           -- The most specific code wins: a schema shared by two tenant ids,
           -- central FKs, then name clashes, then rows.
           CASE WHEN bool_or(p.check_name = 'schema name shared') THEN 'TY030'
                WHEN bool_or(p.check_name LIKE 'central foreign key%') THEN 'TY009'
                WHEN bool_or(p.check_name = 'table already exists') THEN 'TY007'
                ELSE 'TY003' END,
           min(p.hint)
    INTO v_count, v_problems, v_code, v_hint
    FROM tenancy.preflight_tenant(p_tenant_id, p_central) AS p;
    IF v_count > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = v_code,
            MESSAGE = format('preflight failed for tenant %L: %s problem(s), nothing was changed', p_tenant_id, v_count),
            DETAIL = v_problems,
            HINT = v_hint;
    END IF;

    -- A schema that exists is enough to create tables in; its owner and grants
    -- are (re)applied by finish_tenant_migration once the tables exist.
    IF to_regnamespace(v_schema) IS NULL OR NOT EXISTS (
        SELECT 1 FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id
    ) THEN
        -- The very first tenant also brings what all tenants share; later ones
        -- leave that to the runner, which applies it once per run.
        PERFORM tenancy.provision_tenant(p_tenant_id, p_shared => NOT EXISTS (SELECT 1 FROM tenancy.tenants));
    END IF;
    UPDATE tenancy.tenants AS t
    SET state = 'migrating', started_at = coalesce(t.started_at, clock_timestamp()), last_error = NULL
    WHERE t.tenant_id = p_tenant_id;

    -- Tables are created by the schema's owner (the tenant's owner role once
    -- provisioned): they are its own from the start and its default
    -- privileges grant the tenant roles their access, with nothing to repair.
    -- Only the DDL runs as that role: it has no access to schema tenancy.
    SELECT pg_get_userbyid(n.nspowner) INTO v_owner FROM pg_namespace AS n WHERE n.nspname = v_schema;
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m
        WHERE NOT EXISTS (SELECT 1 FROM tenancy.ledger AS l
                          WHERE l.tenant_id = p_tenant_id AND l.table_name = m.table_name)
        ORDER BY m.position
    LOOP
        EXECUTE format('SELECT tenancy.%I($1)', v_table.fn_prefix || '__create') INTO v_ddl USING v_schema;
        EXECUTE format('SET LOCAL ROLE %I', v_owner);
        FOREACH v_stmt IN ARRAY v_ddl LOOP
            EXECUTE v_stmt;
        END LOOP;
        EXECUTE format('SET LOCAL ROLE %I', v_caller);
        INSERT INTO tenancy.ledger (tenant_id, table_name, state) VALUES (p_tenant_id, v_table.table_name, 'created');
        PERFORM tenancy.report_progress(p_tenant_id, v_table.table_name, 'create');
    END LOOP;
    RETURN v_schema;
END
$fn$;
COMMENT ON FUNCTION tenancy.begin_tenant_migration(text, boolean) IS
'Migration step 1 (needs the tenant lock): preflight, provision, create the tenant tables not created yet.';
