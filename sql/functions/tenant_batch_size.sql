-- tenancy.tenant_batch_size(jobs): how many tenants one transaction may
-- take: a batch of tenancy.migrate_tenants(), a chunk of
-- tenancy.validate_tenants(). Every tenant of a batch holds locks until the
-- transaction ends, one per object it makes or reads: per moved table the
-- table, its TOAST table and TOAST index, its row type, each index, each
-- sequence, each key and foreign key (counted on the shared table, whose
-- keys and indexes the tenant table gets, less its foreign key to the
-- registry), and per tenant its schema, three roles and its advisory lock.
-- For a tenant of the sample this counts 134, where a migrating tenant holds
-- about 113 distinct locks at its commit: the count errs high. The server's lock
-- table holds max_locks_per_transaction * (max_connections +
-- max_prepared_transactions) locks; a batch may use half of it, shared by
-- p_jobs sessions at once, so that a run with the default settings never
-- fails with "out of shared memory". Between 1 and 200. Raises TY081 before
-- any work when not even one tenant fits. Read-only.
CREATE OR REPLACE FUNCTION tenancy.tenant_batch_size(p_jobs integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_locks  bigint := current_setting('max_locks_per_transaction')::bigint;
    v_slots  bigint := v_locks * (current_setting('max_connections')::bigint
                                  + current_setting('max_prepared_transactions')::bigint);
    v_tenant bigint;
    v_fits   bigint;
BEGIN
    SELECT 5 + coalesce(sum(
               4
               + (SELECT count(*) FROM pg_index AS i WHERE i.indrelid = c.oid)
               + (SELECT count(*) FROM pg_depend AS d
                  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid > 0
                      AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
               + (SELECT count(*) FROM pg_constraint AS k
                  WHERE k.conrelid = c.oid
                      AND (k.contype IN ('p', 'u', 'x')
                           OR k.contype = 'f' AND k.confrelid <> to_regclass(
                               format('%I.%I', s.central_schema, s.registry_table))))
           ), 0)
    INTO v_tenant
    FROM tenancy.moved_tables AS m
    CROSS JOIN tenancy.settings AS s
    JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', s.central_schema, m.table_name));
    v_fits := v_slots / 2 / greatest(p_jobs, 1) / v_tenant;
    IF v_fits < 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY081',
            MESSAGE = format('max_locks_per_transaction = %s is too low for %s sessions at once', v_locks, p_jobs),
            DETAIL = format('one tenant takes about %s locks; the lock table has %s slots, half of them for this run',
                            v_tenant, v_slots),
            HINT = format('Set max_locks_per_transaction to at least %s (or run fewer --jobs), then restart the server.',
                          (2 * greatest(p_jobs, 1) * v_tenant * v_locks + v_slots - 1) / v_slots * v_locks);
    END IF;
    RETURN least(v_fits, 200)::integer;
END
$fn$;
COMMENT ON FUNCTION tenancy.tenant_batch_size(integer) IS
'Tenants per transaction (migrate batch, validation chunk) that fit the lock table with p_jobs sessions at once.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.tenant_batch_size(integer) OWNER TO tenancy_engine;
