-- tenancy.lock_waits(pids): the locks these backends wait for, each with the
-- relation (or lock type) and the pids holding or queued before it. The runner
-- polls it to report "waiting for lock on ... held by pid ..." instead of
-- waiting silently; a DBA may call it too. Read-only; empty when nobody waits.
CREATE OR REPLACE FUNCTION tenancy.lock_waits(p_pids integer [])
RETURNS TABLE (pid integer, target text, mode text, held_by integer [])
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT
        l.pid,
        CASE
            WHEN l.relation IS NOT NULL THEN l.relation::regclass::text
            WHEN l.locktype = 'advisory' THEN format('advisory lock %s:%s', l.classid, l.objid)
            WHEN l.locktype = 'transactionid' THEN format('a row (transaction %s)', l.transactionid)
            ELSE l.locktype
        END,
        l.mode,
        pg_blocking_pids(l.pid)
    FROM pg_locks AS l
    WHERE NOT l.granted AND l.pid = ANY (p_pids)
$fn$;
COMMENT ON FUNCTION tenancy.lock_waits(integer []) IS
'Locks the given backends wait for, with the pids blocking them (reported by the runner).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.lock_waits(integer []) OWNER TO tenancy_engine;
