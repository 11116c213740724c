-- tenancy.unproven_tables(tenant ids, lock mode, tables): locks every tenant
-- table the tool made for the listed tenants (only those of p_tables when
-- given; all together, in p_lock_mode, in tries that give way to the
-- application: tenancy.lock_tables), then proves each
-- is the relation the tool made and left: the name still resolves to the
-- OID in the ledger, and its stamp (tenancy.relation_stamps: columns,
-- defaults, constraints, indexes, triggers, rules, policies, owner, kind, of
-- it and its partitions) equals the one recorded when the tool last changed
-- it. The lock stays until the transaction ends, so what is proven is what
-- the caller then reads or writes, by the same OIDs: renaming a table,
-- replacing it, or attaching a rule, policy, default or CHECK needs a lock
-- that conflicts with every mode used here, and ACCESS SHARE (reads)
-- already blocks all that a SELECT could run. SHARE UPDATE EXCLUSIVE
-- (writes) also blocks new triggers, indexes and statistics. Returns one
-- row per table that is missing, replaced, changed (naming what differs),
-- or was never stamped; no rows: all proven. The ids are not validated here
-- (callers did).
CREATE OR REPLACE FUNCTION tenancy.unproven_tables(
    p_tenant_ids text [], p_lock_mode text, p_tables text [] DEFAULT NULL
)
RETURNS TABLE (tenant_id text, schema_name text, table_name text, problem text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_tables regclass [];
BEGIN
    IF p_lock_mode NOT IN ('ACCESS SHARE', 'SHARE UPDATE EXCLUSIVE', 'EXCLUSIVE') THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('lock mode %L is not one tenancy proves tables under', p_lock_mode),
            HINT = 'Use ACCESS SHARE to read, SHARE UPDATE EXCLUSIVE to write, EXCLUSIVE to hold off writers.';
    END IF;
    SELECT array_agg(to_regclass(format('%I.%I', s.schema_name, l.table_name)) ORDER BY s.schema_name, l.table_name)
    INTO v_tables
    FROM tenancy.ledger AS l
    CROSS JOIN LATERAL (SELECT tenancy.schema_name(l.tenant_id) AS schema_name) AS s
    WHERE l.tenant_id = ANY (p_tenant_ids) AND (p_tables IS NULL OR l.table_name = ANY (p_tables));
    PERFORM tenancy.lock_tables(v_tables, p_lock_mode, 'the tenant tables');
    RETURN QUERY
    -- Read again under the lock: the names cannot move any more.
    WITH made AS MATERIALIZED (
        SELECT l.tenant_id, l.table_name, s.schema_name, l.relid, l.stamp,
               to_regclass(format('%I.%I', s.schema_name, l.table_name))::oid AS now_relid
        FROM tenancy.ledger AS l
        CROSS JOIN LATERAL (SELECT tenancy.schema_name(l.tenant_id) AS schema_name) AS s
        WHERE l.tenant_id = ANY (p_tenant_ids) AND (p_tables IS NULL OR l.table_name = ANY (p_tables))
    ),
    now_stamps AS MATERIALIZED (
        SELECT s.relid, s.stamp
        FROM tenancy.relation_stamps(ARRAY(SELECT p.relid FROM made AS p WHERE p.relid IS NOT NULL)) AS s
    )
    SELECT p.tenant_id, p.schema_name, p.table_name,
           CASE
               WHEN p.now_relid IS NULL THEN 'is missing'
               WHEN p.relid IS NULL OR p.stamp IS NULL THEN 'was never stamped by tenancy'
               WHEN p.now_relid <> p.relid THEN 'was replaced: its name now belongs to another relation'
               ELSE 'was changed since tenancy made it: its ' || (
                   SELECT string_agg(k.part, ', ' ORDER BY k.part)
                   FROM jsonb_each_text(p.stamp) AS k (part, digest)
                   WHERE (n.stamp ->> k.part) IS DISTINCT FROM k.digest
               ) || ' differ'
           END
    FROM made AS p
    LEFT JOIN now_stamps AS n ON n.relid = p.relid
    WHERE p.now_relid IS NULL OR p.relid IS NULL OR p.stamp IS NULL OR p.now_relid <> p.relid
        OR n.stamp IS DISTINCT FROM p.stamp
    ORDER BY p.tenant_id, p.table_name;
END
$fn$;
COMMENT ON FUNCTION tenancy.unproven_tables(text [], text, text []) IS
'Locks the tenants'' tables and returns each one that is not exactly what tenancy made (missing, replaced, '
'changed, unstamped).';
-- The federated reads (owned by tenancy_federation_owner) call it, through tenancy.readable_tables.
GRANT EXECUTE ON FUNCTION tenancy.unproven_tables(text [], text, text []) TO tenancy_federation_owner;
