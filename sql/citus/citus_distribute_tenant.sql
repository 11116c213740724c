-- tenancy.citus_distribute_tenant(tenant id): moves one migrated tenant
-- schema onto a Citus worker, in one transaction: takes the tenant's lock,
-- blocks writes to its tables, proves them safe to read (TY040: the tables
-- tenancy made by their stamps, the others by tenancy.relation_problems),
-- reads every table's rows and checksum, runs
-- citus_schema_distribute, reads them again through the coordinator (now
-- from the worker's shards), raises TY073 on any difference, truncates the
-- local copy Citus leaves behind, stamps the tables anew, and records the placement. A run killed
-- part-way leaves nothing (the transaction rolls back) and is simply run
-- again. A tenant already distributed is returned as it is (idempotent).
-- Returns one row: schema, worker, tables, rows verified, action.
-- Preflight (tenancy.citus_preflight) is the caller's job; a problem it would
-- have found surfaces here as Citus's own error.
CREATE OR REPLACE FUNCTION tenancy.citus_distribute_tenant(p_tenant_id text)
RETURNS TABLE (schema_name text, node text, tables integer, rows_verified bigint, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_before jsonb;
    v_after  jsonb;
    v_table  text;
    v_diff   text [];
    v_problems text;
BEGIN
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    schema_name := v_schema;
    IF EXISTS (SELECT 1 FROM pg_dist_schema AS s WHERE s.schemaid = to_regnamespace(quote_ident(v_schema)))
        AND EXISTS (SELECT 1 FROM tenancy.placements AS p WHERE p.tenant_id = p_tenant_id) THEN
        SELECT p.tables, p.rows_verified INTO tables, rows_verified FROM tenancy.placements AS p
        WHERE p.tenant_id = p_tenant_id;
        node := tenancy.citus_tenant_node(v_schema);
        action := 'already distributed';
        RETURN NEXT;
        RETURN;
    END IF;

    PERFORM tenancy.lock_tables(ARRAY(
        SELECT c.oid::regclass FROM pg_class AS c
        WHERE c.relnamespace = to_regnamespace(quote_ident(v_schema)) AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
        ORDER BY c.relname
    ), 'EXCLUSIVE', 'the tenant tables');
    -- Every table is read below (as the caller): proven first, under the lock.
    SELECT string_agg(x.problem, E'\n') INTO v_problems FROM (
        SELECT format('%I.%I %s', u.schema_name, u.table_name, u.problem) AS problem
        FROM tenancy.unproven_tables(ARRAY[p_tenant_id], 'EXCLUSIVE') AS u
        UNION ALL
        SELECT format('%s %s', p.relation, p.problem)
        FROM tenancy.relation_problems(ARRAY[v_schema], ARRAY(
            SELECT c.relname::text FROM pg_class AS c
            WHERE c.relnamespace = to_regnamespace(quote_ident(v_schema)) AND c.relkind IN ('r', 'p')
                AND NOT c.relispartition
                AND NOT EXISTS (SELECT 1 FROM tenancy.ledger AS l
                                WHERE l.tenant_id = p_tenant_id AND l.table_name = c.relname)
        )) AS p
    ) AS x;
    IF v_problems IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY040',
            MESSAGE = format('tenant %L: tables of schema %I cannot be proven safe to read; nothing was distributed',
                             p_tenant_id, v_schema),
            DETAIL = v_problems,
            HINT = 'Undo the change to those tables (tenancy validate shows the problem), then distribute again.';
    END IF;
    v_before := tenancy.citus_schema_sums(v_schema);
    IF NOT EXISTS (SELECT 1 FROM pg_dist_schema AS s WHERE s.schemaid = to_regnamespace(quote_ident(v_schema))) THEN
        PERFORM citus_schema_distribute(quote_ident(v_schema)::regnamespace);
    END IF;
    v_after := tenancy.citus_schema_sums(v_schema);
    SELECT array_agg(k ORDER BY k) INTO v_diff
    FROM (SELECT jsonb_object_keys(v_before) AS k UNION SELECT jsonb_object_keys(v_after)) AS keys
    WHERE v_before -> k IS DISTINCT FROM v_after -> k;
    IF v_diff IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY073',
            MESSAGE = format('tenant %L: the distributed copy of %s differs from the local tables', p_tenant_id,
                             array_to_string(v_diff, ', ')),
            DETAIL = format('before: %s; after: %s', v_before, v_after),
            HINT = 'Nothing was changed (the distribution was rolled back). Check the worker''s log, then re-run.';
    END IF;

    FOR v_table IN SELECT jsonb_object_keys(v_before) LOOP
        PERFORM truncate_local_data_after_distributing_table(format('%I.%I', v_schema, v_table)::regclass);
    END LOOP;

    -- Citus changed the tables (shards, triggers): what is now is the tool's doing.
    PERFORM tenancy.stamp_tenant_tables(ARRAY[p_tenant_id]);
    node := tenancy.citus_tenant_node(v_schema);
    SELECT count(*)::integer, coalesce(sum((v.value ->> 0)::bigint), 0) INTO tables, rows_verified
    FROM jsonb_each(v_before) AS v;
    INSERT INTO tenancy.placements AS p (tenant_id, schema_name, state, node, tables, rows_verified, distributed_at)
    VALUES (p_tenant_id, v_schema, 'distributed', node, tables, rows_verified, clock_timestamp())
    ON CONFLICT (tenant_id) DO UPDATE SET
        schema_name = excluded.schema_name, state = excluded.state, node = excluded.node, tables = excluded.tables,
        rows_verified = excluded.rows_verified, distributed_at = excluded.distributed_at, moved_at = NULL;
    action := 'distributed';
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_distribute_tenant(text) IS
'Distributes one tenant schema (citus_schema_distribute), verifies the copy, truncates the local copy, records the placement.';
