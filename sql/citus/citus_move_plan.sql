-- tenancy.citus_move_plan(tenant id, target 'host:port'): what moving the
-- tenant to that worker means, checked before anything moves: its schema,
-- the worker holding it now, the target, its size on disk, and the transfer
-- mode: 'force_logical' (writes continue during the copy) when the source has
-- wal_level = logical and every table has a replica identity, otherwise
-- 'block_writes' (the tenant's writes wait while its shards are copied). Raises TY074 (tenant not distributed) or TY075 (target is
-- not an active worker). Read-only.
CREATE OR REPLACE FUNCTION tenancy.citus_move_plan(p_tenant_id text, p_target text)
RETURNS TABLE (schema_name text, source text, target text, bytes bigint, mode text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_nsp      oid := to_regnamespace(quote_ident(v_schema));
    v_logical  boolean;
    v_no_ri    text [];
BEGIN
    PERFORM tenancy.citus_require();
    schema_name := v_schema;
    source := tenancy.citus_tenant_node(v_schema);
    IF source IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY074',
            MESSAGE = format('tenant %L is not distributed', p_tenant_id),
            HINT = 'Run `tenancy distribute --tenant <id>` first; see `tenancy placement`.';
    END IF;
    SELECT n.nodename || ':' || n.nodeport INTO target FROM pg_dist_node AS n
    WHERE n.nodename || ':' || n.nodeport = p_target AND n.isactive AND n.noderole = 'primary' AND n.groupid <> 0;
    IF target IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY075',
            MESSAGE = format('%s is not an active Citus worker', p_target),
            DETAIL = format('Active workers: %s.', (SELECT string_agg(n.nodename || ':' || n.nodeport, ', ' ORDER BY n.nodeid)
                                                    FROM pg_dist_node AS n WHERE n.isactive AND n.groupid <> 0)),
            HINT = 'Give HOST:PORT exactly as pg_dist_node lists the worker (see `tenancy placement`).';
    END IF;
    SELECT sum(c.shard_size)::bigint INTO bytes
    FROM pg_dist_schema AS s JOIN citus_shards AS c ON c.colocation_id = s.colocationid
    WHERE s.schemaid = v_nsp;
    SELECT r.result = 'logical' INTO v_logical
    FROM run_command_on_workers('SHOW wal_level') AS r
    WHERE r.nodename || ':' || r.nodeport = source AND r.success;
    SELECT array_agg(c.relname::text ORDER BY c.relname) INTO v_no_ri
    FROM pg_class AS c
    WHERE c.relnamespace = v_nsp AND c.relkind = 'r'
        AND (c.relreplident = 'n' OR c.relreplident = 'd'
             AND NOT EXISTS (SELECT 1 FROM pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary));
    mode := CASE WHEN coalesce(v_logical, false) AND v_no_ri IS NULL THEN 'force_logical' ELSE 'block_writes' END;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_move_plan(text, text) IS
'Checks a tenant move (distributed tenant, active target) and picks the transfer mode; read-only.';
