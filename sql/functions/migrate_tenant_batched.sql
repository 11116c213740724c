-- CALL tenancy.migrate_tenant_batched(tenant id, batch size): the same
-- migration as tenancy.migrate_tenant(), committing after each step and each
-- keyset batch of p_batch_size rows, so a huge tenant never holds one long
-- transaction and a crash resumes where the ledger says. Must be called
-- outside an explicit transaction block. It holds the tenant's lock for the
-- session; after an error, end the session or SELECT pg_advisory_unlock_all().
-- Validation reads the shared side after the last batch, as migrate_tenant.
-- (No SET search_path here: a procedure with SET cannot COMMIT.)

CREATE OR REPLACE PROCEDURE tenancy.migrate_tenant_batched(
    p_tenant_id text,
    p_batch_size integer DEFAULT 10000
)
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_table text;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('batch size must be a positive number, not %s', coalesce(p_batch_size::text, 'NULL')),
            HINT = 'Use tenancy.migrate_tenant() for one statement per table.';
    END IF;
    PERFORM tenancy.require_tenant(p_tenant_id);
    -- Keyset batches need a primary key; a table without one is copied whole
    -- (a table captured without one holds at most one row per tenant: no batches to speak of).
    FOR v_table IN
        SELECT m.table_name FROM tenancy.moved_tables AS m WHERE NOT m.batchable AND NOT m.captured ORDER BY m.position
    LOOP
        RAISE WARNING 'table % has no primary key: its rows are copied in one statement, not in batches of %',
            quote_ident(v_table), p_batch_size;
    END LOOP;
    PERFORM tenancy.lock_tenant(p_tenant_id, true);
    IF NOT tenancy.migration_complete(p_tenant_id) THEN
        PERFORM tenancy.begin_tenant_migration(p_tenant_id);
        COMMIT;
        FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
            WHILE tenancy.copy_tenant_table(p_tenant_id, v_table, p_batch_size) LOOP
                COMMIT;
            END LOOP;
            COMMIT;
        END LOOP;
        PERFORM tenancy.finish_tenant_migration(p_tenant_id);
        COMMIT;
    END IF;
    PERFORM tenancy.unlock_tenant(p_tenant_id);
END
$fn$;
COMMENT ON PROCEDURE tenancy.migrate_tenant_batched(text, integer) IS
'Moves one tenant''s rows into its schema in committed keyset batches; resumes from the ledger.';
