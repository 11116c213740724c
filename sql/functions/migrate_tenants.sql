-- tenancy.migrate_tenants(tenant ids): tenancy.migrate_tenant for a batch of
-- tenants in ONE transaction, with the bulk copy done in one pass per shared
-- table for the whole batch (tenancy.split_copy_table) instead of one pass
-- per tenant. Per tenant, as migrate_tenant: lock (TY004 if busy), preflight
-- and create its tables, then, after the copy, validate every copy against
-- its source (TY010), build keys, indexes, FKs and sequences. The shared side
-- of the validation is read once per shared table for the batch
-- (tenancy.source_sums) AFTER the copy, so a row written after its table was
-- copied shows as a difference. A tenant that fails is one result row (action
-- 'failed', with its SQLSTATE, message, detail and hint) and leaves nothing
-- behind: what the batch made of it is rolled back, so no copy is ever kept
-- unvalidated; the other tenants go on. A tenant already migrated is skipped
-- (unless a table was added to [move] since: tenancy.migration_complete()).
-- Size batches with tenancy.tenant_batch_size(): every tenant of a batch
-- holds locks until its commit.
CREATE OR REPLACE FUNCTION tenancy.migrate_tenants(p_tenant_ids text [])
RETURNS TABLE (
    tenant_id text, table_name text, state text, rows_copied bigint, seconds numeric, action text,
    error_code text, error text, error_detail text, error_hint text
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id    text;
    v_ready text [] := '{}'::text [];
    v_table text;
    v_refs  text;
    v_sums  jsonb;
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
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        BEGIN
            PERFORM tenancy.require_tenant(v_id);
            PERFORM tenancy.lock_tenant(v_id, false);
            IF tenancy.migration_complete(v_id) THEN
                RETURN QUERY
                    SELECT v_id, l.table_name, l.state, l.rows_copied, l.copy_seconds, 'skipped',
                           NULL::text, NULL::text, NULL::text, NULL::text
                    FROM tenancy.ledger AS l JOIN tenancy.moved_tables AS m ON m.table_name = l.table_name
                    WHERE l.tenant_id = v_id ORDER BY m.position;
                CONTINUE;
            END IF;
            PERFORM tenancy.begin_tenant_migration(v_id, false);
            -- Tables left by an earlier run may have been changed since: no copy into them
            -- may run code their owner planted (TY040, this tenant fails alone).
            PERFORM tenancy.assert_tenant_relations_safe(v_id);
            v_ready := v_ready || v_id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error = MESSAGE_TEXT,
                                    error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
            tenant_id := v_id;
            action := 'failed';
            RETURN NEXT;
        END;
    END LOOP;
    IF cardinality(v_ready) = 0 THEN
        RETURN;
    END IF;
    FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        PERFORM tenancy.split_copy_table(v_table, v_ready);
    END LOOP;
    -- A statement of its own, so it reads what is committed now, after the copy.
    v_sums := tenancy.source_sums(v_ready);
    FOREACH v_id IN ARRAY v_ready LOOP
        BEGIN
            RETURN QUERY
                SELECT v_id, f.table_name, f.state, f.rows_copied, f.seconds, 'migrated',
                       NULL::text, NULL::text, NULL::text, NULL::text
                FROM tenancy.finish_tenant_migration(v_id, v_sums -> v_id) AS f;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error = MESSAGE_TEXT,
                                    error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
            -- Keep no unvalidated copy: drop the tables this batch made for the tenant.
            -- Forced: a copy that differs from its shared rows is what failed here,
            -- and no application writes to a tenant that is not migrated yet.
            PERFORM tenancy.rollback_tenant(v_id, true);
            tenant_id := v_id;
            table_name := NULL;
            state := NULL;
            rows_copied := NULL;
            seconds := NULL;
            action := 'failed';
            RETURN NEXT;
        END;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.migrate_tenants(text []) IS
'Migrates a batch of tenants in one transaction, one pass per shared table; a failing tenant is a result row.';
