-- tenancy.replay_tenant(tenant id, limit): online migration step 3, repeated
-- until the backlog is small: proves the tenant's tables (TY040), replays up to p_limit of the tenant's logged
-- changes into its tables. Must run in a REPEATABLE READ transaction (TY052),
-- so the log and every shared row are read in one snapshot and the tenant
-- tables always equal the shared rows of some moment. Idempotent.
-- Returns the entries applied and the entries still logged.
CREATE OR REPLACE FUNCTION tenancy.replay_tenant(p_tenant_id text, p_limit integer DEFAULT 10000)
RETURNS TABLE (applied bigint, backlog bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    IF current_setting('transaction_isolation') = 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY052',
            MESSAGE = format('the replay of tenant %L must read one snapshot', p_tenant_id),
            HINT = 'Run it as BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM tenancy.replay_tenant(...); COMMIT;';
    END IF;
    PERFORM tenancy.lock_tenant(p_tenant_id, false);
    IF NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id AND t.state = 'syncing') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L is not syncing: nothing to replay', p_tenant_id),
            HINT = 'Run `tenancy migrate --online` for it first; see `tenancy status`.';
    END IF;
    PERFORM tenancy.prove_tenant_tables(p_tenant_id, 'SHARE UPDATE EXCLUSIVE');
    applied := tenancy.apply_changes(p_tenant_id, p_limit);
    SELECT count(*) INTO backlog FROM tenancy.change_log AS c WHERE c.tenant_id = p_tenant_id;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION tenancy.replay_tenant(text, integer) IS
'Online step 3 (REPEATABLE READ): replay up to p_limit logged changes of a syncing tenant; returns applied, backlog.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.replay_tenant(text, integer) OWNER TO tenancy_engine;
