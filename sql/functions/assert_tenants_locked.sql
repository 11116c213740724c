-- tenancy.assert_tenants_locked(tenant ids): raises TY004 naming the listed
-- tenants whose migration lock this session did not take with
-- tenancy.lock_tenant. Guards the step functions, so that two sessions can
-- never copy the same tenant at once. It reads the note lock_tenant leaves
-- in the setting tenancy.locked_tenants, not pg_locks (which copies the whole
-- lock table, thousands of locks while a batch runs), and takes the lock
-- again for the transaction (a no-op while this session holds it): a note
-- outliving its lock (set by hand, or the lock let go) still leaves no other
-- session in, since taking the lock fails while another session holds it.
CREATE OR REPLACE FUNCTION tenancy.assert_tenants_locked(p_tenant_ids text [])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_noted   text := coalesce(current_setting('tenancy.locked_tenants', true), '');
    v_missing text [];
BEGIN
    SELECT array_agg(i.id ORDER BY i.id) INTO v_missing
    FROM unnest(p_tenant_ids) AS i (id)
    CROSS JOIN LATERAL (SELECT tenancy.lock_key(i.id) AS k) AS key
    WHERE CASE WHEN strpos(v_noted, ',' || key.k || ',') = 0 THEN true
               ELSE NOT pg_try_advisory_xact_lock(key.k) END;
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY004',
            MESSAGE = format('tenant(s) %s not locked by this session', array_to_string(v_missing, ', ')),
            HINT = 'Call tenancy.migrate_tenants() or tenancy.migrate_tenant(), not the step functions.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_tenants_locked(text []) IS
'Raises TY004 unless this session took the migration lock of every listed tenant (tenancy.lock_tenant).';
