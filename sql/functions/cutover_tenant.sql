-- tenancy.cutover_tenant(tenant id, lock timeout): online migration step 4,
-- in one transaction. Puts the guard on the shared tables if it is not on
-- yet (tenancy.shared_guard), proves the tenant's tables (TY040), takes the
-- tenant's write fence (its writers wait; other tenants' writers never do;
-- p_lock_timeout bounds the wait for writers in progress), replays the whole
-- change log (nothing can change under the fence), adds the foreign keys,
-- moves sequences past the copied ids, validates count and checksum of every
-- table against the shared rows (TY010 on any difference: nothing is
-- committed, the fence is lifted), records what it proved (count and checksum
-- per table) and marks the tenant cut_over. At commit the fence is released,
-- and from then on every statement that reaches the tenant's shared rows,
-- reads included, fails with TY050; the rows stay, unchanged, until
-- contract. A refusal or failure changes no state. A tenant already cut over
-- is skipped. Returns one row per table; fence_ms is the time writers of
-- this tenant were held, up to the end of this function.
CREATE OR REPLACE FUNCTION tenancy.cutover_tenant(p_tenant_id text, p_lock_timeout text DEFAULT '5s')
RETURNS TABLE (table_name text, row_count bigint, replayed bigint, fence_ms numeric, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_state    text;
    v_fenced   timestamptz;
    v_replayed bigint;
    v_table    record;
    v_dst_rows bigint;
    v_dst_sum  numeric;
    v_floors   jsonb [] := '{}'::jsonb [];
    v_tables   regclass [] := '{}'::regclass [];
    v_floor    jsonb;
BEGIN
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id;
    IF v_state IN ('cut_over', 'contracted') THEN
        FOR table_name, row_count IN
            SELECT l.table_name, l.rows_copied FROM tenancy.ledger AS l
            JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
            WHERE l.tenant_id = p_tenant_id ORDER BY m.position
        LOOP
            action := 'skipped';
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    IF v_state IS DISTINCT FROM 'syncing' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is %s, not syncing: it cannot be cut over', p_tenant_id,
                             coalesce(v_state, 'not migrated')),
            HINT = 'Run `tenancy migrate --online` for it first (a tenant migrated without --online: roll it back, '
                   'then migrate it with --online).';
    END IF;
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    -- The guard on the shared tables (the first cutover puts it on; it locks
    -- them briefly: tenancy.guard_shared_tables() does it ahead, on its own).
    PERFORM tenancy.shared_guard(true);
    -- Proven before the fence is taken, so the fence is not held for it.
    PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE');
    PERFORM pg_advisory_xact_lock(tenancy.fence_key(p_tenant_id));
    v_fenced := clock_timestamp();
    v_replayed := tenancy.apply_changes(p_tenant_id, NULL);
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m
        JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
        ORDER BY m.position
    LOOP
        SELECT * INTO v_dst_rows, v_dst_sum FROM tenancy.assert_same_rows(
            p_tenant_id, v_schema, v_table.fn_prefix,
            format('tenant %L: %I does not match its shared rows under the fence', p_tenant_id, v_table.table_name),
            'Nothing was committed and writes go on to the shared rows. Roll the tenant back and '
            'migrate it again with --online.'
        );
        EXECUTE format('SELECT tenancy.run_statements(tenancy.%I($1))', v_table.fn_prefix || '__link') USING v_schema;
        EXECUTE format('SELECT tenancy.%I()', v_table.fn_prefix || '__sequence_floors') INTO v_floor;
        v_tables := v_tables || format('%I.%I', v_schema, v_table.table_name)::regclass;
        v_floors := v_floors || v_floor;
        UPDATE tenancy.ledger AS l
        SET state = 'done', rows_copied = v_dst_rows, cutover_checksum = v_dst_sum, finished_at = clock_timestamp()
        WHERE l.tenant_id = p_tenant_id AND l.table_name = v_table.table_name;
        table_name := v_table.table_name;
        row_count := v_dst_rows;
        RETURN NEXT;
    END LOOP;
    PERFORM tenancy.reset_sequences(v_tables, v_floors, true);
    PERFORM tenancy.stamp_tenant_tables(ARRAY[p_tenant_id]);
    UPDATE tenancy.online_tenants AS o SET state = 'cut_over', since = clock_timestamp()
    WHERE o.tenant_id = p_tenant_id;
    UPDATE tenancy.tenants AS t SET state = 'cut_over', finished_at = clock_timestamp()
    WHERE t.tenant_id = p_tenant_id;
    PERFORM tenancy.report_progress(p_tenant_id, NULL, 'cutover', v_replayed);
    -- One summary row: the entries replayed under the fence and how long it was held.
    table_name := NULL;
    row_count := NULL;
    replayed := v_replayed;
    fence_ms := round(extract(EPOCH FROM clock_timestamp() - v_fenced)::numeric * 1000, 1);
    action := 'cut over';
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION tenancy.cutover_tenant(text, text) IS
'Online step 4: fence the tenant''s writers, replay, add FKs, validate, mark cut_over; shared rows refused after.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.cutover_tenant(text, text) OWNER TO tenancy_engine;
