-- tenancy.citus_require(): checks that this database is a Citus coordinator
-- with at least one active worker that takes shards. Raises TY070 (Citus
-- missing or not the coordinator) or TY071 (no active worker). Read-only.
CREATE OR REPLACE FUNCTION tenancy.citus_require()
RETURNS integer
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_workers  integer;
    v_inactive integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY070',
            MESSAGE = format('database %I has no citus extension', current_database()),
            HINT = 'Connect to the Citus coordinator (shared_preload_libraries = citus, CREATE EXTENSION citus).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_dist_node AS n WHERE n.groupid = 0) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY070',
            MESSAGE = 'this server is not registered as the Citus coordinator',
            HINT = 'On the coordinator run SELECT citus_set_coordinator_host(''<host>'', <port>); then add the workers.';
    END IF;
    SELECT count(*) FILTER (WHERE n.isactive), count(*) FILTER (WHERE NOT n.isactive)
    INTO v_workers, v_inactive
    FROM pg_dist_node AS n
    WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.shouldhaveshards;
    IF v_workers = 0 OR v_inactive > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY071',
            MESSAGE = format('the Citus cluster has %s active and %s inactive worker(s) for shards', v_workers, v_inactive),
            DETAIL = 'Tenant schemas are placed on active primary workers; an inactive one would receive no tenant or fail a move.',
            HINT = 'Add workers with citus_add_node(host, port) or activate them with citus_activate_node, then re-run.';
    END IF;
    RETURN v_workers;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_require() IS
'Raises TY070 unless this is a Citus coordinator, TY071 unless every shard-holding worker is active; returns the worker count.';
