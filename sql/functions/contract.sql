-- tenancy.contract(archive schema): the last step, once every tenant of the
-- registry is cut over (TY055 lists the others otherwise): drops the capture
-- triggers and the emptied shared tables (children first), or with
-- p_archive moves them into that schema instead (created if missing), drops
-- the change log, marks every tenant contracted and records the contraction.
-- Needs the right to drop (own) the shared tables. Idempotent: a second call
-- reports the tables as absent. Returns one row per table.
CREATE OR REPLACE FUNCTION tenancy.contract(p_archive text DEFAULT NULL)
RETURNS TABLE (table_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_pending  text [];
    v_table    record;
    v_rel      regclass;
BEGIN
    IF p_archive IS NOT NULL AND (p_archive !~ '^[a-z_][a-z0-9_]*$' OR octet_length(p_archive) > 63
                                  OR p_archive IN (v_settings.central_schema, 'tenancy', 'public', 'pg_catalog')
                                  OR p_archive LIKE 'pg\_%') THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('invalid archive schema name %L', p_archive),
            HINT = 'Use lowercase letters, digits and _ (at most 63 bytes), not the central schema, tenancy or pg_*.';
    END IF;
    -- Every tenant's writes must already go to its schema.
    PERFORM pg_advisory_xact_lock(hashtextextended('tenancy:contract', 0));
    EXECUTE format(
        'SELECT array_agg(r.%1$I::text ORDER BY r.%1$I::text) FROM %2$I.%3$I AS r '
        'WHERE NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t '
        '                  WHERE t.tenant_id = r.%1$I::text AND t.state IN (''cut_over'', ''contracted''))',
        v_settings.registry_id_column, v_settings.central_schema, v_settings.registry_table
    ) INTO v_pending;
    IF v_pending IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY055',
            MESSAGE = format('%s tenant(s) are not cut over; the shared tables are still theirs',
                             cardinality(v_pending)),
            DETAIL = 'not cut over: ' || array_to_string(v_pending[1:50], ', ')
                     || CASE WHEN cardinality(v_pending) > 50 THEN format(' and %s more', cardinality(v_pending) - 50)
                             ELSE '' END,
            HINT = 'Run `tenancy migrate --online` and `tenancy cutover` for them first. Nothing was changed.';
    END IF;
    IF p_archive IS NOT NULL THEN
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', p_archive);
    END IF;
    FOR v_table IN SELECT m.table_name FROM tenancy.moved_tables AS m ORDER BY m.position DESC LOOP
        table_name := v_table.table_name;
        v_rel := to_regclass(format('%I.%I', v_settings.central_schema, v_table.table_name));
        IF v_rel IS NULL THEN
            action := 'absent';
        ELSE
            EXECUTE format('DROP TRIGGER IF EXISTS tenancy_capture ON %s', v_rel);
            EXECUTE format('DROP TRIGGER IF EXISTS tenancy_capture_truncate ON %s', v_rel);
            IF p_archive IS NULL THEN
                EXECUTE format('DROP TABLE %s', v_rel);
                action := 'dropped';
            ELSE
                EXECUTE format('ALTER TABLE %s SET SCHEMA %I', v_rel, p_archive);
                action := format('moved to %I', p_archive);
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
    DROP TABLE IF EXISTS tenancy.change_log;
    UPDATE tenancy.tenants AS t SET state = 'contracted' WHERE t.state = 'cut_over';
    INSERT INTO tenancy.contraction (archive_schema) VALUES (p_archive) ON CONFLICT (singleton) DO NOTHING;
END
$fn$;
COMMENT ON FUNCTION tenancy.contract(text) IS
'Once every tenant is cut over: drop (or archive) the shared moved tables, their capture triggers and the change log.';
