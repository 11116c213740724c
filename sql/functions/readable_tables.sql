-- tenancy.readable_tables(tenant id, tables): which of the listed tables of
-- the tenant's schema may be read by the caller without running anyone's
-- code: each is locked ACCESS SHARE first (held until the transaction or
-- subtransaction ends), then proven, on the same OIDs: a table tenancy made
-- must be exactly what tenancy made (its stamp, tenancy.unproven_tables);
-- any other table (the application's own tables of the tenant schema) must
-- be a plain table of the schema's owner with no rule, policy or untrusted
-- function, operator or type attached (tenancy.relation_problems). For a
-- read that is complete: what a SELECT can run is a view's or a rule's
-- query, a row-level security policy and the functions of the column
-- types, and changing any of them needs a lock that ACCESS SHARE blocks.
-- Each table left out raises a WARNING naming it and why. Returns the tables
-- that passed, in the order given; tables that do not exist are left out
-- quietly. Used by the federated reads, as their owner.
CREATE OR REPLACE FUNCTION tenancy.readable_tables(p_tenant_id text, p_tables text [])
RETURNS text []
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema  text := tenancy.schema_name(p_tenant_id);
    v_present text [];
    v_made    text [];
    v_bad     record;
    v_out     text [];
BEGIN
    v_present := ARRAY(
        SELECT t.name FROM unnest(p_tables) WITH ORDINALITY AS t (name, ord)
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                      WHERE n.nspname = v_schema AND c.relname = t.name)
        ORDER BY t.ord
    );
    IF cardinality(v_present) = 0 THEN
        RETURN v_present;
    END IF;
    PERFORM tenancy.lock_tables(ARRAY(SELECT to_regclass(format('%I.%I', v_schema, t.name))
                                      FROM unnest(v_present) AS t (name) ORDER BY t.name),
                                'ACCESS SHARE', 'the tenant tables');
    v_made := ARRAY(SELECT l.table_name FROM tenancy.ledger AS l
                    WHERE l.tenant_id = p_tenant_id AND l.table_name = ANY (v_present));
    v_out := v_present;
    FOR v_bad IN
        SELECT u.table_name, u.problem FROM tenancy.unproven_tables(ARRAY[p_tenant_id], 'ACCESS SHARE', v_made) AS u
        UNION ALL
        SELECT p.table_name, string_agg(p.relation || ' ' || p.problem, '; ' ORDER BY p.relation, p.problem)
        FROM tenancy.relation_problems(ARRAY[v_schema],
                                       ARRAY(SELECT t FROM unnest(v_present) AS t WHERE NOT t = ANY (v_made))) AS p
        GROUP BY p.table_name
        ORDER BY 1
    LOOP
        v_out := array_remove(v_out, v_bad.table_name);
        RAISE WARNING USING
            MESSAGE = format('tenant %L: table %I left out of the federated read', p_tenant_id, v_bad.table_name),
            DETAIL = v_bad.problem,
            HINT = 'Restore it as tenancy made it, or as a plain table of the tenant owner '
                   '(tenancy validate shows the problem).';
    END LOOP;
    RETURN v_out;
END
$fn$;
COMMENT ON FUNCTION tenancy.readable_tables(text, text []) IS
'Locks the listed tables of a tenant schema for reading and returns those proven safe to read (warns of the rest).';
-- The federated reads (owned by tenancy_federation_owner) call it.
GRANT EXECUTE ON FUNCTION tenancy.readable_tables(text, text []) TO tenancy_federation_owner;
