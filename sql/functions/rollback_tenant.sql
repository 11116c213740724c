-- tenancy.rollback_tenant(tenant id, force): undoes a tenant's migration, at
-- any step before contract, in one transaction under the tenant's lock.
-- - Cut over: takes the tenant's fence, locks its tables against writes and
--   proves them (TY040), deletes its shared rows and copies its rows back
--   into the shared tables with the tenant key (TY054 when a row written
--   after cutover takes a key another row of the shared table holds), with
--   session_replication_role = replica (the application's triggers and the
--   capture do not fire), moves the shared tables' sequences past every id
--   that came back, validates count and checksum of each table (TY010), and
--   lifts the guard for the tenant (the last tenant online gone, the guard
--   comes off the shared tables).
-- - Before cutover: refuses (TY053) when the tenant tables hold rows the
--   shared tables do not hold identically (writes made in the tenant schema
--   only), unless p_force; a syncing tenant's change log is replayed under
--   its fence first, so only such writes count.
-- Then drops the tenant tables tenancy created (children first), its ledger,
-- capture and change-log rows. Tables that were in the schema before are
-- never dropped. On a Citus coordinator the dropped tables' shards go with
-- them, and the schema is then undistributed (tenancy.citus_undistribute_tenant).
-- After contract: refused (TY056). Returns one row per table.

CREATE OR REPLACE FUNCTION tenancy.rollback_tenant(p_tenant_id text, p_force boolean DEFAULT false)
RETURNS TABLE (table_name text, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_state    text;
    v_online   boolean;
    v_archive  text;
    v_table    record;
    v_rows     bigint;
    v_problems text;
    v_copied   jsonb := '{}'::jsonb;
    v_floor    jsonb;
    v_floors   jsonb := '{}'::jsonb;
    v_replication text;
    -- Present on a Citus coordinator only (sql/citus/).
    v_undistribute regprocedure := to_regprocedure('tenancy.citus_undistribute_tenant(text)');
BEGIN
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id;
    IF v_state = 'contracted' OR EXISTS (SELECT 1 FROM tenancy.contraction) THEN
        SELECT c.archive_schema INTO v_archive FROM tenancy.contraction AS c;
        RAISE EXCEPTION USING
            ERRCODE = 'TY056',
            MESSAGE = format('tenant %L cannot be rolled back: the shared tables were contracted', p_tenant_id),
            HINT = CASE WHEN v_archive IS NULL
                THEN 'They were dropped: restore them from a backup taken before `tenancy contract`.'
                ELSE format('They are kept in schema %I: move them back (ALTER TABLE %I.<table> SET SCHEMA ...) '
                            'and restore the capture triggers with `tenancy install` before rolling back.',
                            v_archive, v_archive)
            END;
    END IF;
    v_online := EXISTS (SELECT 1 FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id);
    IF v_online THEN
        PERFORM pg_advisory_xact_lock(tenancy.fence_key(p_tenant_id));
    END IF;

    IF v_state = 'cut_over' THEN
        -- The application writes the tenant tables now: hold its writes until
        -- commit, and read them only once proven what tenancy made.
        PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'EXCLUSIVE');
        -- Moving rows back is the tool's doing, not the application's: no
        -- trigger of the shared tables fires (its own, or the capture), as in
        -- logical replication. Restored before this function returns.
        v_replication := current_setting('session_replication_role');
        PERFORM set_config('session_replication_role', 'replica', true);
        -- Shared statements on this tenant's rows are answered again from here
        -- on (seen by this transaction first).
        DELETE FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id;
        FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position DESC LOOP
            EXECUTE format('SELECT tenancy.%I($1, NULL)', v_table.fn_prefix || '__purge') USING p_tenant_id;
        END LOOP;
        FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
            BEGIN
                EXECUTE format('SELECT tenancy.%I($1, $2)', v_table.fn_prefix || '__copy_back')
                INTO v_rows USING p_tenant_id, v_schema;
            EXCEPTION WHEN unique_violation THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'TY054',
                    MESSAGE = format('tenant %L: rows of %I written after cutover collide with shared rows',
                                     p_tenant_id, v_table.table_name),
                    DETAIL = SQLERRM,
                    HINT = 'Give those rows keys that are free in the shared table (or delete them), then roll back '
                           'again. Nothing was changed.';
            END;
            v_copied := v_copied || jsonb_build_object(v_table.table_name, v_rows);
            EXECUTE format('SELECT tenancy.%I()', v_table.fn_prefix || '__sequence_floors') INTO v_floor;
            v_floors := v_floors || jsonb_build_object(v_table.table_name, v_floor);
        END LOOP;
        -- The application's next insert through a shared table draws an id past
        -- every row that came back (the rows written after cutover took theirs
        -- from the tenant tables' own sequences).
        PERFORM tenancy.advance_shared_sequences(v_floors);
        FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
            PERFORM tenancy.assert_same_rows(
                p_tenant_id, v_schema, v_table.fn_prefix,
                format('tenant %L: rows of %I copied back do not match the tenant table', p_tenant_id,
                       v_table.table_name),
                'Nothing was changed. Check the shared table for rules that alter inserted rows.'
            );
        END LOOP;
        PERFORM set_config('session_replication_role', v_replication, true);
    ELSIF NOT p_force THEN
        -- Forced, the tables are dropped unread: nothing to prove, nothing to replay.
        PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE');
        IF v_online THEN
            PERFORM tenancy.apply_changes(p_tenant_id, NULL);
        END IF;
        SELECT string_agg(format('%s: %s rows', d.table_name, d.n), E'\n' ORDER BY d.position) INTO v_problems
        FROM (
            SELECT m.table_name, m.position, tenancy.rollback_diverged(p_tenant_id, v_schema, m.fn_prefix) AS n
            FROM tenancy.moved_tables AS m
            JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
            WHERE to_regclass(format('%I.%I', v_schema, m.table_name)) IS NOT NULL
        ) AS d
        WHERE d.n > 0;
        IF v_problems IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY053',
                MESSAGE = format('tenant %L: its tenant tables hold rows its shared rows do not', p_tenant_id),
                DETAIL = v_problems,
                HINT = 'Something wrote to the tenant schema before cutover; dropping it would lose those rows. '
                       'Copy them to the shared tables, or pass --force (force => true) to drop them. '
                       'Nothing was changed.';
        END IF;
    END IF;

    FOR table_name IN
        SELECT l.table_name FROM tenancy.ledger AS l
        LEFT JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        WHERE l.tenant_id = p_tenant_id
        ORDER BY m.position DESC NULLS FIRST, l.table_name
    LOOP
        IF to_regclass(format('%I.%I', v_schema, table_name)) IS NULL THEN
            action := 'absent';
        ELSE
            EXECUTE format('DROP TABLE %I.%I', v_schema, table_name);
            action := CASE WHEN v_copied ? table_name
                THEN format('copied back (%s rows), dropped', v_copied ->> table_name) ELSE 'dropped' END;
        END IF;
        RETURN NEXT;
    END LOOP;
    -- On Citus, what is left of the schema comes back to the coordinator.
    IF v_undistribute IS NOT NULL THEN
        EXECUTE format('SELECT %s($1)', v_undistribute::oid::regproc) USING p_tenant_id;
    END IF;
    DELETE FROM tenancy.ledger AS l WHERE l.tenant_id = p_tenant_id;
    DELETE FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id;
    -- The last tenant online gone: the shared tables need their guard no more.
    IF v_online AND NOT EXISTS (SELECT 1 FROM tenancy.online_tenants) THEN
        PERFORM tenancy.shared_guard(false);
    END IF;
    DELETE FROM tenancy.change_log AS c WHERE c.tenant_id = p_tenant_id;
    UPDATE tenancy.tenants AS t
    SET state = 'provisioned', started_at = NULL, finished_at = NULL, last_error = NULL
    WHERE t.tenant_id = p_tenant_id;
END
$fn$;
COMMENT ON FUNCTION tenancy.rollback_tenant(text, boolean) IS
'Undoes a tenant''s migration before contract: copies rows back after cutover; refuses to drop tenant-only writes.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.rollback_tenant(text, boolean) OWNER TO tenancy_engine;
