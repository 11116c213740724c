-- CALL tenancy.start_capture(tenant id, seconds): online migration step 1.
-- Under the tenant's lock (held for the session while it runs): refuses
-- (TY051) when a moved table has no primary key (and is not a table of at
-- most one row per tenant, replayed by the empty key), since its rows could
-- not be replayed by key, naming each such table and the ways out; preflight, provision and create the tenant tables and put
-- the tenant in tenancy.online_tenants (tenancy.begin_capture), and COMMIT, so the capture triggers log its writes from then on; then wait
-- for the transactions that were writing the shared tables before that
-- commit (tenancy.wait_for_writers). The copy (tenancy.copy_tenant_snapshot)
-- must start after this returns. Idempotent: a tenant already capturing is
-- only waited for. Must be called outside an explicit transaction block;
-- after an error, end the session or SELECT pg_advisory_unlock_all().
-- (No SET search_path here: a procedure with SET cannot COMMIT.)
CREATE OR REPLACE PROCEDURE tenancy.start_capture(p_tenant_id text, p_seconds numeric DEFAULT 60)
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_tables  text;
    v_detail  text;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    SELECT pg_catalog.string_agg(pg_catalog.format('%I', m.table_name), ', ' ORDER BY m.position),
           pg_catalog.string_agg(
               pg_catalog.format('%I: no primary key%s', m.table_name,
                                 CASE WHEN c.relkind = 'p'
                                     THEN pg_catalog.format('; partitioned by %s, so one must include those columns',
                                                            pg_catalog.pg_get_partkeydef(c.oid))
                                     ELSE '' END),
               E'\n' ORDER BY m.position)
    INTO v_tables, v_detail
    FROM tenancy.moved_tables AS m
    CROSS JOIN tenancy.settings AS s
    LEFT JOIN pg_catalog.pg_class AS c
        ON c.oid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', s.central_schema, m.table_name))
    WHERE NOT m.captured;
    IF v_tables IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY051',
            MESSAGE = pg_catalog.format('online mode replays writes by primary key, and these moved tables have none: %s',
                                        v_tables),
            DETAIL = v_detail,
            HINT = 'Either add a primary key to each (on a partitioned table it must include the partition key '
                   'columns), then run `tenancy install` again; or keep the table shared ([hybrid]) in the manifest '
                   'and install again; or migrate without --online while writes are stopped.';
    END IF;
    PERFORM tenancy.lock_tenant(p_tenant_id, true);
    BEGIN
        PERFORM tenancy.begin_capture(p_tenant_id);
    EXCEPTION WHEN OTHERS THEN
        -- Not left held for the session when the start is refused.
        PERFORM tenancy.unlock_tenant(p_tenant_id);
        RAISE;
    END;
    COMMIT;
    PERFORM tenancy.wait_for_writers(p_tenant_id, p_seconds);
    PERFORM tenancy.unlock_tenant(p_tenant_id);
END
$fn$;
COMMENT ON PROCEDURE tenancy.start_capture(text, numeric) IS
'Online step 1: create the tenant tables, start capturing the tenant''s writes, wait for older writers.';
