CREATE OR REPLACE FUNCTION tenancy_federation.analytics_summary(p_tenant_ids text [] DEFAULT NULL)
RETURNS TABLE (
    scope            text,
    tenant_id        text,
    tenant_name      text,
    graduates        bigint,
    events           bigint,
    page_views       bigint,
    events_in_schema boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * Graduates, analytics events and page views (event_type 'page_view') per
 * tenant and in total: one row per tenant (scope 'tenant', ordered by
 * tenant_id) then one row scope 'total' (tenant_id NULL) summing them.
 * Events are read from <tenant schema>.analytics_events only. A tenant whose
 * analytics_events has not been moved yet counts 0 events and 0 page views
 * and has events_in_schema = false: the shared table is not read, so the
 * totals cover migrated tenants only (events_in_schema of the total row is
 * true only when every tenant is migrated). A tenant without graduates
 * table counts 0 graduates.
 * Scales with the number of tenants: one small statement per tenant (no
 * plan of thousands of UNION ALL branches), each in a block that ends in an
 * error of its own (TY089, caught here) so that the subtransaction releases
 * that tenant's locks: the lock table and server memory do not grow with the
 * number of tenants, whatever max_locks_per_transaction is. The totals are
 * kept as the loop goes.
 * Raises TY002 for unknown ids in p_tenant_ids. Read-only.
 */
DECLARE
    v_tenant record;
    v_grads  bigint;
    v_events bigint;
    v_views  bigint;
    v_sums   bigint [] := ARRAY[0, 0, 0];
    v_all_in boolean;
    v_tables text [];
BEGIN
    FOR v_tenant IN
        SELECT t.tenant_id, t.tenant_name, t.schema_name, t.tables
        FROM tenancy_federation.tenants(p_tenant_ids, ARRAY['graduates', 'analytics_events']) AS t
    LOOP
        v_grads := 0;
        v_events := 0;
        v_views := 0;
        BEGIN
            -- Locked and proven in this block, read in it, released at its end.
            v_tables := tenancy.readable_tables(v_tenant.tenant_id, v_tenant.tables);
            IF 'graduates' = ANY (v_tables) THEN
                EXECUTE format('SELECT count(*) FROM %I.graduates', v_tenant.schema_name) INTO v_grads;
            END IF;
            IF 'analytics_events' = ANY (v_tables) THEN
                EXECUTE format('SELECT count(*), count(*) FILTER (WHERE a.event_type = $1)'
                               ' FROM %I.analytics_events AS a', v_tenant.schema_name)
                INTO v_events, v_views USING 'page_view'::text;
            END IF;
            RAISE SQLSTATE 'TY089';
        EXCEPTION WHEN SQLSTATE 'TY089' THEN
            NULL;  -- the block's locks are released; its results are in the variables
        END;
        scope := 'tenant';
        tenant_id := v_tenant.tenant_id;
        tenant_name := v_tenant.tenant_name;
        graduates := v_grads;
        events := v_events;
        page_views := v_views;
        events_in_schema := 'analytics_events' = ANY (v_tables);
        RETURN NEXT;
        v_sums := ARRAY[v_sums[1] + v_grads, v_sums[2] + v_events, v_sums[3] + v_views];
        v_all_in := coalesce(v_all_in, true) AND events_in_schema;
    END LOOP;
    scope := 'total';
    tenant_id := NULL;
    tenant_name := NULL;
    graduates := v_sums[1];
    events := v_sums[2];
    page_views := v_sums[3];
    events_in_schema := coalesce(v_all_in, false);
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.analytics_summary(text []) IS
'Graduates, events and page views per tenant and in total, one small statement per tenant; '
'events come from migrated tenant schemas only (events_in_schema).';
REVOKE ALL ON FUNCTION tenancy_federation.analytics_summary(text []) FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.analytics_summary(text []) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.analytics_summary(text []) TO tenancy_federation;
