-- tenancy.stamp_unstamped(): stamps the tenant tables an older version made
-- (ledger rows without a stamp), once, at install: each is locked against
-- changes of definition and stamped when the catalog check finds nothing on
-- it that could run code (tenancy.relation_problems: a view, a rule, a
-- trigger, a policy, another owner, an untrusted function). One that fails
-- the check stays unstamped, and every later step refuses to touch it
-- (TY040) until it is rolled back (with force: dropped unread). Returns one
-- row per tenant table: stamped, or left unstamped with its problems.
CREATE OR REPLACE FUNCTION tenancy.stamp_unstamped()
RETURNS TABLE (tenant_id text, table_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ids    text [];
    v_tables text [];
    v_rels   regclass [];
    v_row    record;
    v_ok_ids    text [] := '{}'::text [];
    v_ok_tables text [] := '{}'::text [];
BEGIN
    SELECT array_agg(l.tenant_id ORDER BY l.tenant_id, l.table_name),
           array_agg(l.table_name ORDER BY l.tenant_id, l.table_name),
           array_agg(to_regclass(format('%I.%I', tenancy.schema_name(l.tenant_id), l.table_name)))
    INTO v_ids, v_tables, v_rels
    FROM tenancy.ledger AS l
    WHERE l.stamp IS NULL
        AND to_regclass(format('%I.%I', tenancy.schema_name(l.tenant_id), l.table_name)) IS NOT NULL;
    IF v_rels IS NULL THEN
        RETURN;
    END IF;
    PERFORM tenancy.lock_tables(v_rels, 'SHARE UPDATE EXCLUSIVE', 'the tenant tables');
    FOR v_row IN
        WITH problems AS (
            SELECT p.schema_name, p.table_name, string_agg(p.relation || ' ' || p.problem, '; ') AS problems
            FROM tenancy.relation_problems(
                ARRAY(SELECT DISTINCT tenancy.schema_name(i) FROM unnest(v_ids) AS i),
                ARRAY(SELECT DISTINCT unnest(v_tables))
            ) AS p
            GROUP BY p.schema_name, p.table_name
        )
        SELECT u.tenant_id, u.table_name, p.problems
        FROM unnest(v_ids, v_tables) AS u (tenant_id, table_name)
        LEFT JOIN problems AS p ON p.schema_name = tenancy.schema_name(u.tenant_id) AND p.table_name = u.table_name
        ORDER BY 1, 2
    LOOP
        tenant_id := v_row.tenant_id;
        table_name := v_row.table_name;
        action := coalesce('left unstamped: ' || v_row.problems, 'stamped');
        RETURN NEXT;
        IF v_row.problems IS NULL THEN
            v_ok_ids := v_ok_ids || v_row.tenant_id;
            v_ok_tables := v_ok_tables || v_row.table_name;
        END IF;
    END LOOP;
    PERFORM tenancy.stamp_tenant_tables(v_ok_ids, v_ok_tables);
END
$fn$;
COMMENT ON FUNCTION tenancy.stamp_unstamped() IS
'At install: stamps the tenant tables an older version made, when the catalog check finds nothing unsafe on them.';
