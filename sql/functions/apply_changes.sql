-- tenancy.apply_changes(tenant id, limit): takes up to p_limit (NULL: all)
-- of the tenant's oldest change-log entries off the log and replays them:
-- per table, in one statement pair, the logged keys are deleted from the
-- tenant table and the tenant's current shared rows with those keys are
-- inserted. Correct only when every read sees one state of the shared rows:
-- in a REPEATABLE READ transaction (tenancy.replay_tenant) or under the
-- tenant's fence (tenancy.cutover_tenant). Returns the entries applied.
CREATE OR REPLACE FUNCTION tenancy.apply_changes(p_tenant_id text, p_limit integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema  text := tenancy.require_tenant(p_tenant_id);
    v_entries bigint;
    v_keys    jsonb;
    v_table   record;
BEGIN
    WITH taken AS (
        DELETE FROM tenancy.change_log AS c
        WHERE c.id IN (
            SELECT x.id FROM tenancy.change_log AS x WHERE x.tenant_id = p_tenant_id ORDER BY x.id LIMIT p_limit
        )
        RETURNING c.table_name, c.row_key
    ),
    per_table AS (
        SELECT t.table_name, jsonb_agg(DISTINCT t.row_key) AS row_keys, count(*) AS n
        FROM taken AS t GROUP BY t.table_name
    )
    SELECT coalesce(sum(p.n), 0), jsonb_object_agg(p.table_name, p.row_keys) INTO v_entries, v_keys
    FROM per_table AS p;
    IF v_entries = 0 THEN
        RETURN 0;
    END IF;
    FOR v_table IN SELECT m.table_name, m.fn_prefix FROM tenancy.moved_tables AS m ORDER BY m.position LOOP
        CONTINUE WHEN NOT v_keys ? v_table.table_name;
        EXECUTE format('SELECT tenancy.%I($1, $2, $3)', v_table.fn_prefix || '__apply')
        USING p_tenant_id, v_schema, v_keys -> v_table.table_name;
    END LOOP;
    PERFORM tenancy.report_progress(p_tenant_id, NULL, 'replay', v_entries);
    RETURN v_entries;
END
$fn$;
COMMENT ON FUNCTION tenancy.apply_changes(text, integer) IS
'Replays (and removes) up to p_limit change-log entries of a tenant; needs one consistent view of the shared rows.';
