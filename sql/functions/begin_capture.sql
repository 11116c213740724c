-- tenancy.begin_capture(tenant id): online migration step 1, the part that
-- writes, under the tenant's lock: unless the tenant is syncing or past it
-- already, begins its migration (tenancy.begin_tenant_migration: preflight,
-- provision, create its tables) and puts it in tenancy.online_tenants, so
-- the capture triggers log its writes once this transaction commits.
-- Refuses (TY008) a tenant migrated without --online. Returns the tenant's
-- state before the call. Called by tenancy.start_capture, which commits it
-- and then waits for older writers.
CREATE OR REPLACE FUNCTION tenancy.begin_capture(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_state text;
BEGIN
    PERFORM tenancy.require_tenant(p_tenant_id);
    PERFORM tenancy.assert_tenant_locked(p_tenant_id);
    SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id;
    IF v_state = 'migrated' AND NOT EXISTS (SELECT 1 FROM tenancy.online_tenants AS o WHERE o.tenant_id = p_tenant_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY008',
            MESSAGE = format('tenant %L was migrated without --online: its later writes were not captured', p_tenant_id),
            HINT = 'Roll the tenant back (`tenancy rollback`), then run `tenancy migrate --online`.';
    END IF;
    IF v_state IS NULL OR v_state NOT IN ('syncing', 'cut_over', 'contracted') THEN
        PERFORM tenancy.begin_tenant_migration(p_tenant_id);
        INSERT INTO tenancy.online_tenants (tenant_id) VALUES (p_tenant_id) ON CONFLICT (tenant_id) DO NOTHING;
        PERFORM tenancy.report_progress(p_tenant_id, NULL, 'capture');
    END IF;
    RETURN v_state;
END
$fn$;
COMMENT ON FUNCTION tenancy.begin_capture(text) IS
'Online step 1 (needs the tenant lock): begin the migration and start capturing the tenant''s writes at commit.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.begin_capture(text) OWNER TO tenancy_engine;
