-- tenancy.wait_for_writers(tenant id, seconds): waits until every transaction
-- that was writing a moved shared table when it was called has ended. Called
-- right after a tenant's capture is committed: a writer that checked the
-- tenant before that commit logged nothing, so the copy's snapshot must come
-- after its end. Raises TY057 naming the pids still open after p_seconds.
-- Only reads pg_locks; changes nothing.
CREATE OR REPLACE FUNCTION tenancy.wait_for_writers(p_tenant_id text, p_seconds numeric DEFAULT 60)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_open     text [];
    v_pids     text;
    v_deadline timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
    v_waited   integer := 0;
BEGIN
    SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_open
    FROM pg_locks AS l
    JOIN pg_class AS c ON c.oid = l.relation
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    JOIN tenancy.moved_tables AS m ON m.table_name = c.relname
    WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
        AND n.nspname = v_settings.central_schema
        AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock');
    LOOP
        SELECT string_agg(DISTINCT l.pid::text, ', ') INTO v_pids
        FROM pg_locks AS l
        WHERE l.locktype = 'virtualxid' AND l.virtualxid = ANY (v_open);
        EXIT WHEN v_pids IS NULL;
        IF clock_timestamp() > v_deadline THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY057',
                MESSAGE = format('capture of tenant %L waits for transactions writing the shared tables', p_tenant_id),
                DETAIL = format('still open after %s s: pid %s', p_seconds, v_pids),
                HINT = 'End those transactions (or wait for them) and run migrate --online again; it resumes.';
        END IF;
        v_waited := v_waited + 1;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN v_waited;
END
$fn$;
COMMENT ON FUNCTION tenancy.wait_for_writers(text, numeric) IS
'Waits for the transactions writing moved shared tables at call time to end (TY057 after p_seconds).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.wait_for_writers(text, numeric) OWNER TO tenancy_engine;
