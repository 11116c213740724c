-- tenancy.guard_shared_tables(lock timeout): puts the guard on the shared
-- moved tables before tenants are migrated online, in a transaction of its
-- own (tenancy.shared_guard, run as their owner): it locks each table it
-- changes ACCESS EXCLUSIVE for a moment, and must wait for the application's
-- open transactions on it, so it is kept apart from the migration and from
-- any cutover's fence (`migrate --online` calls it first; cutover_tenant puts
-- it on itself when it is missing). While no tenant is cut over it lets every
-- row through. p_lock_timeout (default: the session's lock_timeout) bounds
-- the wait. Idempotent (a table already
-- guarded is not locked); returns one row per table changed.
CREATE OR REPLACE FUNCTION tenancy.guard_shared_tables(p_lock_timeout text DEFAULT NULL)
RETURNS TABLE (table_name text, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM tenancy.require_installed();
    IF p_lock_timeout IS NOT NULL THEN
        PERFORM set_config('lock_timeout', p_lock_timeout, true);
    END IF;
    RETURN QUERY SELECT g.table_name, g.action FROM tenancy.shared_guard(true) AS g;
END
$fn$;
COMMENT ON FUNCTION tenancy.guard_shared_tables(text) IS
'Puts the guard (TY050 for a cut-over tenant''s shared rows) on the shared tables, ahead of the first cutover.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.guard_shared_tables(text) OWNER TO tenancy_engine;
