-- tenancy.finish_tenant_migrations(tenant ids, source sums): migration step 3
-- for many tenants, under their locks, once every table is copied, and
-- once the caller made their tables in this transaction or proved them
-- (tenancy.unproven_tenants, SHARE UPDATE EXCLUSIVE). First it refuses, one
-- row each, the tenants that still have tables to copy (TY008). Then it validates each copy row by row: count and
-- order-independent checksum of the tenant table against those of the
-- tenant's shared rows; a tenant with any difference is a TY010 row (its
-- first different table) and nothing more is done for it here: its caller
-- rolls it back (tenancy.migrate_tenants) or raises (finish_tenant_migration),
-- so a copy is never committed unvalidated. The shared side comes from
-- p_source_sums ({"tenant": {"table": [rows, checksum]}}, as
-- tenancy.source_sums() gives it for many tenants in one pass; read after the
-- copy, or a row changed after its copy goes unseen), plus a count of the
-- shared rows now; when NULL it is read here (tenancy.source_sums). For the
-- other tenants it builds the keys and indexes not built yet, then foreign
-- keys (to central tables last, for all tenants at once: each locks its
-- central table against writes until commit), sets sequences past the copied
-- ids, checks the grants of the new tables (tenancy.provision_tenants, one
-- call), stamps the tables (tenancy.stamp_tenant_tables) and marks the
-- tenants migrated. Returns one row per table of each finished tenant and
-- one per refused tenant (its error_code set). Re-running skips finished
-- tables.

CREATE OR REPLACE FUNCTION tenancy.finish_tenant_migrations(p_tenant_ids text [], p_source_sums jsonb DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, table_name text, state text, rows_copied bigint, seconds numeric,
    error_code text, error text, error_detail text, error_hint text
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_failed   text [] := '{}'::text [];
    v_ok       text [];
    v_refusal  record;
    v_id       text;
    v_table    record;
    v_central  boolean;
    v_ddl      text [];
    v_sums     jsonb;
    v_ids      text [];
    v_schemas  text [];
    v_copied   bigint;
    v_src_rows bigint;
    v_src_sum  numeric;
    v_now_rows bigint;
    v_dst_rows bigint;
    v_dst_sum  numeric;
    v_done_ids    text [] := '{}'::text [];
    v_done_tables text [] := '{}'::text [];
BEGIN
    PERFORM tenancy.assert_tenants_locked(p_tenant_ids);
    FOR v_refusal IN
        SELECT l.tenant_id, 'TY008' AS error_code, format('tenant %L still has tables to copy', l.tenant_id) AS error,
               NULL AS error_detail,
               'Run tenancy.migrate_tenant() (or CALL tenancy.migrate_tenant_batched()) to finish the copy.'
                   AS error_hint
        FROM tenancy.ledger AS l
        WHERE l.tenant_id = ANY (p_tenant_ids) AND l.state IN ('created', 'copying')
        GROUP BY l.tenant_id
        ORDER BY 1
    LOOP
        CONTINUE WHEN v_refusal.tenant_id = ANY (v_failed);
        v_failed := v_failed || v_refusal.tenant_id;
        RETURN QUERY SELECT v_refusal.tenant_id, NULL::text, NULL::text, NULL::bigint, NULL::numeric,
                            v_refusal.error_code, v_refusal.error, v_refusal.error_detail, v_refusal.error_hint;
    END LOOP;

    -- Validate before building anything (no index to maintain yet): per
    -- moved table, one statement for all the tenants still in, comparing
    -- each tenant table (count, checksum) with the tenant's shared rows as
    -- read after the copy, and with the number of its shared rows now. A
    -- tenant's first different table (in table order) fails it.
    v_sums := coalesce(p_source_sums, tenancy.source_sums(ARRAY(
        SELECT i.id FROM unnest(p_tenant_ids) AS i (id) WHERE NOT i.id = ANY (v_failed)
    )));
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        SELECT array_agg(l.tenant_id ORDER BY l.tenant_id), array_agg(tenancy.schema_name(l.tenant_id) ORDER BY l.tenant_id)
        INTO v_ids, v_schemas
        FROM tenancy.ledger AS l
        WHERE l.table_name = v_table.table_name AND l.tenant_id = ANY (p_tenant_ids) AND l.state = 'copied'
            AND NOT l.tenant_id = ANY (v_failed);
        CONTINUE WHEN v_ids IS NULL;
        FOR v_id, v_copied, v_src_rows, v_src_sum, v_now_rows, v_dst_rows, v_dst_sum IN EXECUTE format($q$
            SELECT c.id, c.copied, c.src_rows, c.src_sum, c.now_rows, c.dst_rows, c.dst_sum FROM (
                SELECT i.id, l.rows_copied AS copied,
                       coalesce(($3 -> i.id -> $4 ->> 0)::bigint, 0) AS src_rows,
                       coalesce(($3 -> i.id -> $4 ->> 1)::numeric, 0) AS src_sum,
                       coalesce(n.row_count, 0) AS now_rows,
                       coalesce(d.row_count, 0) AS dst_rows, coalesce(d.checksum, 0) AS dst_sum
                FROM unnest($1, $2) AS i (id, schema_name)
                JOIN tenancy.ledger AS l ON l.tenant_id = i.id AND l.table_name = $4
                LEFT JOIN tenancy.%I($2, $1) AS d ON d.tenant_id = i.id
                LEFT JOIN tenancy.%I($1) AS n ON n.tenant_id = i.id
            ) AS c
            WHERE c.src_rows <> c.dst_rows OR c.src_sum <> c.dst_sum OR c.dst_rows <> c.copied
                OR c.now_rows <> c.src_rows
            ORDER BY c.id
        $q$, v_table.fn_prefix || '__target_sums', v_table.fn_prefix || '__source_count')
        USING v_ids, v_schemas, v_sums, v_table.table_name
        LOOP
            v_failed := v_failed || v_id;
            RETURN QUERY SELECT
                v_id, NULL::text, NULL::text, NULL::bigint, NULL::numeric, 'TY010'::text,
                format('copy of %I for tenant %L does not match its source', v_table.table_name, v_id),
                format('source: %s rows (%s now), checksum %s; tenant table: %s rows, checksum %s; copied: %s rows',
                       v_src_rows, v_now_rows, v_src_sum, v_dst_rows, v_dst_sum, v_copied),
                'The shared rows changed during the copy. Stop writes, run `tenancy rollback`, then migrate again.'::text;
        END LOOP;
    END LOOP;
    v_ok := ARRAY(
        SELECT i.id FROM unnest(p_tenant_ids) WITH ORDINALITY AS i (id, ord)
        WHERE NOT i.id = ANY (v_failed) ORDER BY i.ord
    );

    -- Keys and indexes of each copied table that has none yet (those copied per
    -- tenant in a batch got theirs with the table: tenancy.create_tenant_tables):
    -- one batch of statements per tenant.
    FOREACH v_id IN ARRAY v_ok LOOP
        v_ddl := tenancy.rendered_ddl(tenancy.schema_name(v_id), ARRAY(
            SELECT m.fn_prefix || '__index' FROM tenancy.moved_tables AS m
            JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = v_id
            WHERE l.state = 'copied'
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index AS x
                                WHERE x.indrelid = to_regclass(format('%I.%I', tenancy.schema_name(v_id),
                                                                      m.table_name)))
            ORDER BY m.position
        ));
        IF cardinality(v_ddl) > 0 THEN
            EXECUTE array_to_string(v_ddl, E';\n');
        END IF;
    END LOOP;
    FOR v_table IN
        UPDATE tenancy.ledger AS l SET state = 'indexed'
        WHERE l.tenant_id = ANY (v_ok) AND l.state = 'copied'
        RETURNING l.tenant_id, l.table_name
    LOOP
        PERFORM tenancy.report_progress(v_table.tenant_id, v_table.table_name, 'index');
    END LOOP;

    -- Foreign keys once every table has its keys (parents must be indexed),
    -- and sequences past the copied ids; foreign keys to central tables last,
    -- for every tenant of the call at once, as close to the commit as can be.
    FOREACH v_central IN ARRAY ARRAY[false, true] LOOP
        FOREACH v_id IN ARRAY v_ok LOOP
            v_ddl := tenancy.rendered_ddl(tenancy.schema_name(v_id), ARRAY(
                SELECT m.fn_prefix || '__link' FROM tenancy.moved_tables AS m
                JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = v_id
                WHERE l.state = 'indexed' AND (NOT v_central OR m.foreign_keys > 0) ORDER BY m.position
            ), v_central);
            IF cardinality(v_ddl) > 0 THEN
                EXECUTE array_to_string(v_ddl, E';\n');
            END IF;
        END LOOP;
        CONTINUE WHEN v_central;
        PERFORM tenancy.reset_sequences(ARRAY(
            SELECT to_regclass(format('%I.%I', tenancy.schema_name(l.tenant_id), l.table_name))
            FROM tenancy.ledger AS l
            JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
            WHERE l.tenant_id = ANY (v_ok) AND l.state = 'indexed'
            ORDER BY l.tenant_id, m.position
        ));
    END LOOP;
    FOR v_table IN
        UPDATE tenancy.ledger AS l SET state = 'done', finished_at = clock_timestamp()
        WHERE l.tenant_id = ANY (v_ok) AND l.state = 'indexed'
        RETURNING l.tenant_id, l.table_name
    LOOP
        v_done_ids := v_done_ids || v_table.tenant_id;
        v_done_tables := v_done_tables || v_table.table_name;
        PERFORM tenancy.report_progress(v_table.tenant_id, v_table.table_name, 'link');
    END LOOP;
    -- The grants on the new tables, made with them (tenancy.create_tenant_tables),
    -- checked: tables an older version made get theirs here.
    IF cardinality(v_ok) > 0 THEN
        PERFORM tenancy.provision_tenants(v_ok, false);
    END IF;
    PERFORM tenancy.stamp_tenant_tables(v_done_ids, v_done_tables);
    UPDATE tenancy.tenants AS t SET state = 'migrated', finished_at = clock_timestamp()
    WHERE t.tenant_id = ANY (v_ok);
    PERFORM tenancy.report_progress(i.id, NULL, 'done') FROM unnest(v_ok) AS i (id);
    RETURN QUERY
        SELECT l.tenant_id, l.table_name, l.state, l.rows_copied, l.copy_seconds,
               NULL::text, NULL::text, NULL::text, NULL::text
        FROM unnest(v_ok) WITH ORDINALITY AS i (id, ord)
        JOIN tenancy.ledger AS l ON l.tenant_id = i.id
        JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        ORDER BY i.ord, m.position;
END
$fn$;
COMMENT ON FUNCTION tenancy.finish_tenant_migrations(text [], jsonb) IS
'Migration step 3 for many tenants (needs their locks): validate each copy, build keys, indexes and FKs; '
'a refused tenant is a row.';
