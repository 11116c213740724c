-- tenancy.create_tenant_tables(tenant ids, keys): migration step 1 after
-- the checks, under each tenant's lock: marks the tenants migrating and
-- creates each tenant table not created yet (the rendered <table>__create
-- DDL), with one ledger row 'created' per table, written for all tenants at
-- once. The tables are made by the engine (a member of every tenant owner
-- role) and given to the schema's owner (the tenant's owner role once
-- provisioned), with their partitions and the sequences their columns own,
-- and the tenant roles get their access to them (tenancy.provision_tenants)
-- here, early in the transaction: each grant invalidates the table's cached
-- plans, and every plan the session has kept by the end of the migration
-- is walked for each (tenancy.finish_tenant_migrations checks them again,
-- which changes nothing then). With p_keys, the tables the copy fills per
-- tenant (not routed by the split copy: tenancy.split_routed) with few rows
-- each get their keys and indexes (<table>__index) here too, before their
-- rows: building them now, while the session has planned few statements,
-- costs less than after the copy (each index made walks every plan the
-- session keeps);
-- tenancy.finish_tenant_migrations builds those of the others. Per tenant,
-- two statement batches: its tables, then their owner and keys. Then each
-- table is stamped (tenancy.stamp_tenant_tables): what exists at commit is
-- what the tool made. Re-running skips what exists.
CREATE OR REPLACE FUNCTION tenancy.create_tenant_tables(p_tenant_ids text [], p_keys boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_tenant  record;
    v_ddl     text [];
    v_created text [] := '{}'::text [];
    v_tables  text [] := '{}'::text [];
    v_keyed   text [] := '{}'::text [];
    v_count   bigint;
BEGIN
    PERFORM tenancy.assert_tenants_locked(p_tenant_ids);
    IF p_keys THEN
        -- The tables whose keys are built now: those the copy fills per tenant
        -- with few rows each, 16 kB a tenant on average (a larger copy costs
        -- less with its indexes built after it).
        EXECUTE (SELECT format('SELECT count(*) FROM %I.%I', st.central_schema, st.registry_table)
                 FROM tenancy.settings AS st) INTO v_count;
        v_keyed := ARRAY(
            SELECT m.table_name FROM tenancy.moved_tables AS m
            WHERE NOT tenancy.split_routed(m.table_name)
                AND tenancy.shared_bytes(m.table_name) <= 16384 * greatest(v_count, 1)
        );
    END IF;
    SELECT i.id INTO v_tenant FROM unnest(p_tenant_ids) AS i (id)
    WHERE to_regnamespace(tenancy.schema_name(i.id)) IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L has no schema %I to create its tables in', v_tenant.id,
                             tenancy.schema_name(v_tenant.id)),
            HINT = 'Provision it first (`tenancy provision`), or call tenancy.begin_tenant_migration(), which does.';
    END IF;
    UPDATE tenancy.tenants AS t
    SET state = 'migrating', started_at = coalesce(t.started_at, clock_timestamp()), last_error = NULL
    WHERE t.tenant_id = ANY (p_tenant_ids);
    FOR v_tenant IN
        SELECT i.id, s.schema_name, pg_get_userbyid(n.nspowner) AS owner,
               array_agg(m.table_name ORDER BY m.position) AS tables,
               array_agg(m.fn_prefix || '__create' ORDER BY m.position) AS functions
        FROM unnest(p_tenant_ids) WITH ORDINALITY AS i (id, ord)
        CROSS JOIN LATERAL (SELECT tenancy.schema_name(i.id) AS schema_name) AS s
        JOIN pg_catalog.pg_namespace AS n ON n.nspname = s.schema_name
        JOIN tenancy.moved_tables AS m
            ON NOT EXISTS (SELECT 1 FROM tenancy.ledger AS l WHERE l.tenant_id = i.id AND l.table_name = m.table_name)
        GROUP BY i.ord, i.id, s.schema_name, n.nspowner
        ORDER BY i.ord
    LOOP
        -- Every DDL statement of the tenant's missing tables, from one call.
        v_ddl := tenancy.rendered_ddl(v_tenant.schema_name, v_tenant.functions);
        EXECUTE array_to_string(v_ddl, E';\n');
        -- Every table and partition just made is the engine's: give them to the
        -- owner; then the keys and indexes built now (they take the table's owner).
        v_ddl := ARRAY(
            WITH RECURSIVE made AS (
                SELECT to_regclass(format('%I.%I', v_tenant.schema_name, t.name))::oid AS relid
                FROM unnest(v_tenant.tables) AS t (name)
                UNION ALL
                SELECT i.inhrelid FROM made AS d JOIN pg_catalog.pg_inherits AS i ON i.inhparent = d.relid
            )
            SELECT format('ALTER TABLE %s OWNER TO %I', d.relid::regclass, v_tenant.owner) FROM made AS d
        ) || tenancy.rendered_ddl(v_tenant.schema_name, ARRAY(
            SELECT m.fn_prefix || '__index' FROM tenancy.moved_tables AS m
            WHERE m.table_name = ANY (v_tenant.tables) AND m.table_name = ANY (v_keyed)
            ORDER BY m.position
        ));
        EXECUTE array_to_string(v_ddl, E';\n');
        v_created := v_created || array_fill(v_tenant.id, ARRAY[cardinality(v_tenant.tables)]);
        v_tables := v_tables || v_tenant.tables;
    END LOOP;
    -- The shared privileges are the runner's (or provision's) business: taking
    -- their lock here would serialise parallel batches for a whole migration.
    IF cardinality(v_created) > 0 THEN
        PERFORM tenancy.provision_tenants(ARRAY(SELECT DISTINCT c.id FROM unnest(v_created) AS c (id)), false);
    END IF;
    INSERT INTO tenancy.ledger (tenant_id, table_name, state)
    SELECT c.id, c.table_name, 'created' FROM unnest(v_created, v_tables) AS c (id, table_name);
    PERFORM tenancy.stamp_tenant_tables(v_created, v_tables);
    PERFORM tenancy.report_progress(c.id, c.table_name, 'create') FROM unnest(v_created, v_tables) AS c (id, table_name);
END
$fn$;
COMMENT ON FUNCTION tenancy.create_tenant_tables(text [], boolean) IS
'Migration step 1 (needs the tenants'' locks): mark the tenants migrating, create their tables not created yet '
'(with p_keys, the keys of those copied per tenant too).';
