-- tenancy.citus_tenant_node(schema name): host:port of the worker holding
-- the distributed schema's colocation group, NULL when the schema is not
-- distributed (or holds no table). Read-only.
CREATE OR REPLACE FUNCTION tenancy.citus_tenant_node(p_schema text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT n.nodename || ':' || n.nodeport
    FROM pg_dist_schema AS s
    JOIN pg_dist_partition AS p ON p.colocationid = s.colocationid
    JOIN pg_dist_shard AS sh ON sh.logicalrelid = p.logicalrelid
    JOIN pg_dist_placement AS pl ON pl.shardid = sh.shardid
    JOIN pg_dist_node AS n ON n.groupid = pl.groupid
    WHERE s.schemaid = to_regnamespace(quote_ident(p_schema))
    ORDER BY n.nodeid
    LIMIT 1
$fn$;
COMMENT ON FUNCTION tenancy.citus_tenant_node(text) IS
'Worker (host:port) holding a distributed tenant schema; NULL when the schema is not distributed.';
