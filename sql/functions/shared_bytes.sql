-- tenancy.shared_bytes(table): the size on disk of a moved table's shared
-- table: a plain table's own, a partitioned one's partitions'. Read by the
-- choices of how to copy it (tenancy.split_routed) and when its tenant
-- tables get their keys (tenancy.create_tenant_tables). Read-only.
CREATE OR REPLACE FUNCTION tenancy.shared_bytes(p_table text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_source regclass;
BEGIN
    SELECT format('%I.%I', st.central_schema, p_table)::regclass INTO v_source FROM tenancy.settings AS st;
    RETURN coalesce((SELECT sum(pg_relation_size(p.relid)) FROM pg_partition_tree(v_source) AS p),
                    pg_relation_size(v_source));
END
$fn$;
COMMENT ON FUNCTION tenancy.shared_bytes(text) IS
'The size on disk of a moved table''s shared table (its partitions'' when partitioned).';
