-- tenancy.migrate_tenants(tenant ids): tenancy.migrate_tenant for a batch of
-- tenants in ONE transaction, set-based: each step runs once for the batch,
-- and the bulk copy is one pass per shared table for the whole batch
-- (tenancy.split_copy_table) instead of one pass per tenant. Per tenant, as
-- migrate_tenant: lock (TY004 if busy); the checks before any write (tables
-- left by an earlier run that are not what tenancy made, TY040; state and
-- preflight, tenancy.migration_refusals); provisioning where needed; its
-- tables; then, after the copy, every copy validated against its source
-- (TY010), keys, indexes, FKs and sequences (tenancy.finish_tenant_migrations).
-- The shared side of the validation is read once per shared table for the
-- batch (tenancy.source_sums) AFTER the copy, so a row written after its
-- table was copied shows as a difference. A tenant that fails one of these
-- checks is one result row (action 'failed', with its SQLSTATE, message,
-- detail and hint) and leaves no table behind: a refused tenant gets none,
-- and one whose copy differs is rolled back in the batch, so no copy is ever
-- kept unvalidated; the other tenants go on. (Provisioning that a refused
-- tenant needed stays, as `tenancy provision` would have made it.) Any other
-- error fails the whole batch, and nothing of it is committed. A tenant
-- already migrated is skipped (unless a table was added to [move] since:
-- tenancy.migration_complete()). Size batches with tenancy.tenant_batch_size():
-- every tenant of a batch holds locks until its commit.
CREATE OR REPLACE FUNCTION tenancy.migrate_tenants(p_tenant_ids text [])
RETURNS TABLE (
    tenant_id text, table_name text, state text, rows_copied bigint, seconds numeric, action text,
    error_code text, error text, error_detail text, error_hint text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id     text;
    v_seen   text [] := '{}'::text [];
    v_locked text [] := '{}'::text [];
    v_done   text [];
    v_todo   text [];
    v_row    record;
    v_table  text;
    v_refs   text;
    v_sums   jsonb;
BEGIN
    -- The global check of central foreign keys, once for the batch, not per tenant.
    SELECT string_agg(format('%s references the moved table %s', c.referencing_table, c.table_name), E'\n')
    INTO v_refs FROM tenancy.central_references() AS c;
    IF v_refs IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY009',
            MESSAGE = 'preflight failed for every tenant: central foreign keys into moved tables, nothing was changed',
            DETAIL = v_refs,
            HINT = 'Drop that foreign key, or move the referencing table too (list it under [move]).';
    END IF;
    -- Each id once: valid, registered, and locked by this session (TY004 when another has it).
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        CONTINUE WHEN v_id = ANY (v_seen);
        v_seen := v_seen || v_id;
        BEGIN
            PERFORM tenancy.require_tenant(v_id);
            PERFORM tenancy.lock_tenant(v_id, false);
            v_locked := v_locked || v_id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error = MESSAGE_TEXT,
                                    error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
            tenant_id := v_id;
            action := 'failed';
            RETURN NEXT;
        END;
    END LOOP;
    v_done := ARRAY(SELECT i.id FROM unnest(v_locked) AS i (id) WHERE tenancy.migration_complete(i.id));
    RETURN QUERY
        SELECT i.id, l.table_name, l.state, l.rows_copied, l.copy_seconds, 'skipped'::text,
               NULL::text, NULL::text, NULL::text, NULL::text
        FROM unnest(v_done) WITH ORDINALITY AS i (id, ord)
        JOIN tenancy.ledger AS l ON l.tenant_id = i.id
        JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
        ORDER BY i.ord, m.position;
    v_todo := ARRAY(
        SELECT i.id FROM unnest(v_locked) WITH ORDINALITY AS i (id, ord) WHERE NOT i.id = ANY (v_done) ORDER BY i.ord
    );
    IF cardinality(v_todo) = 0 THEN
        RETURN;
    END IF;

    -- Before any write: tables left by an earlier run may have been changed
    -- since; they are locked against any change of definition until commit and
    -- proven to be what tenancy made (TY040 otherwise), so no copy into them
    -- runs code someone planted, and the stamps taken at the end are the
    -- tool's. Then state and preflight. Each refused tenant is a row; nothing
    -- of it is made.
    PERFORM tenancy.provision_to_migrate(v_todo, true);
    FOR v_row IN
        SELECT u.tenant_id, u.error_code, u.error, u.error_detail, u.error_hint, 1 AS rank
        FROM tenancy.unproven_tenants(v_todo, 'SHARE UPDATE EXCLUSIVE') AS u
        UNION ALL
        SELECT r.tenant_id, r.error_code, r.error, r.error_detail, r.error_hint, 2
        FROM tenancy.migration_refusals(v_todo, false) AS r
        ORDER BY 6, 1
    LOOP
        CONTINUE WHEN NOT v_row.tenant_id = ANY (v_todo);
        v_todo := array_remove(v_todo, v_row.tenant_id);
        RETURN QUERY SELECT v_row.tenant_id, NULL::text, NULL::text, NULL::bigint, NULL::numeric, 'failed'::text,
                            v_row.error_code, v_row.error, v_row.error_detail, v_row.error_hint;
    END LOOP;
    IF cardinality(v_todo) = 0 THEN
        RETURN;
    END IF;
    PERFORM tenancy.provision_to_migrate(v_todo, false);
    PERFORM tenancy.create_tenant_tables(v_todo, true);

    FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        PERFORM tenancy.split_copy_table(v_table, v_todo);
    END LOOP;
    -- A statement of its own, so it reads what is committed now, after the copy.
    v_sums := tenancy.source_sums(v_todo);
    FOR v_row IN SELECT * FROM tenancy.finish_tenant_migrations(v_todo, v_sums) LOOP
        IF v_row.error_code IS NULL THEN
            RETURN QUERY SELECT v_row.tenant_id, v_row.table_name, v_row.state, v_row.rows_copied, v_row.seconds,
                                'migrated'::text, NULL::text, NULL::text, NULL::text, NULL::text;
            CONTINUE;
        END IF;
        -- Keep no unvalidated copy: drop the tables this batch made for the tenant.
        -- Forced: a copy that differs from its shared rows is what failed here,
        -- and no application writes to a tenant that is not migrated yet.
        PERFORM tenancy.rollback_tenant(v_row.tenant_id, true);
        RETURN QUERY SELECT v_row.tenant_id, NULL::text, NULL::text, NULL::bigint, NULL::numeric, 'failed'::text,
                            v_row.error_code, v_row.error, v_row.error_detail, v_row.error_hint;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.migrate_tenants(text []) IS
'Migrates a batch of tenants in one transaction, one pass per shared table; a failing tenant is a result row.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.migrate_tenants(text []) OWNER TO tenancy_engine;
