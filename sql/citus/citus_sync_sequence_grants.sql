-- tenancy.citus_sync_sequence_grants(tenant id): gives the workers' copies of
-- a distributed tenant's sequences the grants the coordinator's sequences
-- have (Citus creates the sequences on every worker but does not carry their
-- grants over; an application connected to a worker needs them for nextval).
-- Runs after the distribution committed, so the workers see the sequences.
-- Returns the number of GRANT statements sent to each worker. Idempotent.
CREATE OR REPLACE FUNCTION tenancy.citus_sync_sequence_grants(p_tenant_id text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_grant  record;
    v_failed text;
    v_count  integer := 0;
BEGIN
    FOR v_grant IN
        SELECT c.relname, string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS privileges,
               pg_get_userbyid(a.grantee) AS grantee
        FROM pg_class AS c, aclexplode(c.relacl) AS a
        WHERE c.relnamespace = to_regnamespace(quote_ident(v_schema)) AND c.relkind = 'S'
            AND a.grantee <> c.relowner AND a.grantee <> 0
        GROUP BY c.relname, a.grantee
        ORDER BY 1, 3
    LOOP
        SELECT string_agg(r.nodename || ':' || r.nodeport || ': ' || r.result, '; ') INTO v_failed
        FROM run_command_on_workers(format(
            -- A worker refuses DDL on Citus's objects unless told it comes from the coordinator.
            'SET LOCAL citus.enable_ddl_propagation TO off; GRANT %s ON SEQUENCE %I.%I TO %I',
            v_grant.privileges, v_schema, v_grant.relname, v_grant.grantee)) AS r
        WHERE NOT r.success;
        IF v_failed IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY076',
                MESSAGE = format('tenant %L: cannot grant on sequence %I.%I on every worker', p_tenant_id, v_schema,
                                 v_grant.relname),
                DETAIL = v_failed,
                HINT = 'Check that the role exists on every worker (Citus propagates roles), then run distribute again.';
        END IF;
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_sync_sequence_grants(text) IS
'Copies the grants of a distributed tenant''s sequences to the workers'' copies; idempotent.';
