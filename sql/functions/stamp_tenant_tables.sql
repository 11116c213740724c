-- tenancy.stamp_tenant_tables(tenant ids, tables): records in the ledger
-- the OID and the stamp (tenancy.relation_stamps) of each listed tenant
-- table as it stands now: the pairs (p_tenant_ids[i], p_tables[i]), or with
-- p_tables NULL every table the ledger lists for the tenants. Called at
-- the end of every step that changes a tenant table's definition (create,
-- keys and indexes, foreign keys), in the same transaction, and only for
-- tables that transaction made, or proved under a lock that blocks every
-- change of definition until it commits (tenancy.unproven_tenants in SHARE
-- UPDATE EXCLUSIVE mode or stronger): what is stamped is what the tool made,
-- never a change someone else slipped in. Set-based: one catalog pass.
CREATE OR REPLACE FUNCTION tenancy.stamp_tenant_tables(p_tenant_ids text [], p_tables text [] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    WITH rels AS MATERIALIZED (
        SELECT i.tenant_id, i.table_name,
               to_regclass(format('%I.%I', tenancy.schema_name(i.tenant_id), i.table_name))::oid AS relid
        FROM unnest(p_tenant_ids, p_tables) AS i (tenant_id, table_name)
        WHERE p_tables IS NOT NULL
        UNION ALL
        SELECT l.tenant_id, l.table_name,
               to_regclass(format('%I.%I', tenancy.schema_name(l.tenant_id), l.table_name))::oid
        FROM tenancy.ledger AS l
        WHERE p_tables IS NULL AND l.tenant_id = ANY (p_tenant_ids)
    ),
    stamps AS MATERIALIZED (
        SELECT s.relid, s.stamp
        FROM tenancy.relation_stamps(ARRAY(SELECT r.relid FROM rels AS r WHERE r.relid IS NOT NULL)) AS s
    )
    UPDATE tenancy.ledger AS l
    SET relid = r.relid, stamp = s.stamp
    FROM rels AS r
    LEFT JOIN stamps AS s ON s.relid = r.relid
    WHERE l.tenant_id = r.tenant_id AND l.table_name = r.table_name;
END
$fn$;
COMMENT ON FUNCTION tenancy.stamp_tenant_tables(text [], text []) IS
'Records the OID and stamp of these tenant tables, after the tool made or changed them in this transaction.';
