-- tenancy.citus_placement(): one row per distributed tenant schema: the
-- worker holding it now, its tables, size on disk (all shards), rows verified
-- when it was distributed, and when it was distributed and last moved.
-- Largest first, so the tenants that are slow to move show at the top.
-- Read-only.
CREATE OR REPLACE FUNCTION tenancy.citus_placement()
RETURNS TABLE (
    tenant_id text, schema_name text, node text, tables integer, bytes bigint, rows_verified bigint,
    distributed_at timestamptz, moved_at timestamptz
)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT p.tenant_id, p.schema_name, sh.node, p.tables, coalesce(sh.bytes, 0), p.rows_verified,
           p.distributed_at, p.moved_at
    FROM tenancy.placements AS p
    LEFT JOIN LATERAL (
        SELECT min(c.nodename || ':' || c.nodeport) AS node, sum(c.shard_size)::bigint AS bytes
        FROM pg_dist_schema AS s
        JOIN citus_shards AS c ON c.colocation_id = s.colocationid
        WHERE s.schemaid = to_regnamespace(quote_ident(p.schema_name))
    ) AS sh ON true
    ORDER BY 5 DESC, 1
$fn$;
COMMENT ON FUNCTION tenancy.citus_placement() IS
'Where each distributed tenant lives (worker, size, rows verified), largest first.';
