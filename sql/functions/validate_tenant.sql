-- tenancy.validate_tenant(tenant id, source sums): proves a tenant's
-- migration row by row. Per moved table: the tenant table exists; the row
-- count and the order-independent checksum (sum of hash_record_extended over
-- the copied columns) of the tenant's rows in the shared table equal those of
-- the tenant table, both read now; the tenant key column is gone; every
-- serial/identity sequence is ahead of max(column); every foreign key is in
-- place; the table is exactly what tenancy made, locked against changes
-- while it is read (tenancy.unproven_tables; else nothing of it is read);
-- the ledger says done.
-- p_source_sums, when given, holds the shared side already computed
-- ({"table": [rows, checksum]}, as tenancy.validate_tenants passes it, which
-- reads each shared table once for many tenants); otherwise this function
-- reads the tenant's shared rows itself.
-- A syncing tenant (migrated online, not cut over) is compared with the
-- shared rows of one snapshot, the keys still awaiting replay left out
-- (<table>__synced_sums); what cutover adds (sequences, foreign keys) is one
-- row per table with passed NULL: not checked yet. A cut-over (or
-- contracted) tenant's counts and checksums were proved under the fence at
-- cutover, and the application writes its schema since: only the other
-- checks run. Returns one row per check with expected, actual and passed: a
-- failure is a row, never only a boolean. Changes nothing.

CREATE OR REPLACE FUNCTION tenancy.validate_tenant(p_tenant_id text, p_source_sums jsonb DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, table_name text, check_name text, expected text, actual text, passed boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_table    record;
    v_rel      regclass;
    v_src_rows bigint;
    v_src_sum  numeric;
    v_dst_rows bigint;
    v_dst_sum  numeric;
    v_seq      record;
    v_max      bigint;
    v_next     bigint;
    v_fks      integer;
    v_valid    integer;
    v_unsafe   jsonb;
    v_state    text := (SELECT t.state FROM tenancy.tenants AS t WHERE t.tenant_id = p_tenant_id);
BEGIN
    tenant_id := p_tenant_id;
    -- Every table locked for reading and proven in one catalog pass: {"table": "problem"}.
    SELECT jsonb_object_agg(u.table_name, u.problem) INTO v_unsafe
    FROM tenancy.unproven_tables(ARRAY[p_tenant_id], 'ACCESS SHARE') AS u;
    FOR v_table IN
        SELECT m.table_name, m.fn_prefix, m.foreign_keys, l.state
        FROM tenancy.moved_tables AS m
        LEFT JOIN tenancy.ledger AS l ON l.table_name = m.table_name AND l.tenant_id = p_tenant_id
        ORDER BY m.position
    LOOP
        table_name := v_table.table_name;
        v_rel := to_regclass(format('%I.%I', v_schema, v_table.table_name));

        check_name := 'table exists';
        expected := format('%I.%I', v_schema, v_table.table_name);
        actual := CASE WHEN v_rel IS NULL THEN 'missing' ELSE expected END;
        passed := v_rel IS NOT NULL;
        RETURN NEXT;
        CONTINUE WHEN v_rel IS NULL;

        -- Reading a table someone changed could run their code with the
        -- engine's rights: report it and read nothing of it.
        check_name := 'what tenancy made';
        expected := 'the definition tenancy stamped';
        actual := v_unsafe ->> v_table.table_name;
        passed := actual IS NULL;
        actual := coalesce(actual, expected);
        RETURN NEXT;
        CONTINUE WHEN NOT passed;

        IF v_state = 'syncing' THEN
            -- Both sides and the change log in one snapshot, keys awaiting replay left out.
            EXECUTE format('SELECT * FROM tenancy.%I($1, $2)', v_table.fn_prefix || '__synced_sums')
            INTO v_src_rows, v_src_sum, v_dst_rows, v_dst_sum USING p_tenant_id, v_schema;
            check_name := 'row count (not awaiting replay)';
            expected := v_src_rows::text;
            actual := v_dst_rows::text;
            passed := v_src_rows = v_dst_rows;
            RETURN NEXT;
            check_name := 'checksum (not awaiting replay)';
            expected := v_src_sum::text;
            actual := v_dst_sum::text;
            passed := v_src_sum = v_dst_sum;
            RETURN NEXT;
        ELSIF v_state NOT IN ('cut_over', 'contracted') THEN
            IF p_source_sums IS NULL THEN
                EXECUTE format('SELECT * FROM tenancy.%I($1)', v_table.fn_prefix || '__source_sum')
                INTO v_src_rows, v_src_sum USING p_tenant_id;
            ELSE
                v_src_rows := coalesce((p_source_sums -> v_table.table_name ->> 0)::bigint, 0);
                v_src_sum := coalesce((p_source_sums -> v_table.table_name ->> 1)::numeric, 0);
            END IF;
            EXECUTE format('SELECT * FROM tenancy.%I($1)', v_table.fn_prefix || '__target_sum')
            INTO v_dst_rows, v_dst_sum USING v_schema;
            check_name := 'row count';
            expected := v_src_rows::text;
            actual := v_dst_rows::text;
            passed := v_src_rows = v_dst_rows;
            RETURN NEXT;
            check_name := 'checksum';
            expected := v_src_sum::text;
            actual := v_dst_sum::text;
            passed := v_src_sum = v_dst_sum;
            RETURN NEXT;
        END IF;

        check_name := 'no tenant key column';
        expected := format('no column %I', v_settings.tenant_key);
        passed := NOT EXISTS (SELECT 1 FROM pg_attribute AS a WHERE a.attrelid = v_rel
                              AND a.attname = v_settings.tenant_key AND NOT a.attisdropped);
        actual := CASE WHEN passed THEN expected ELSE format('column %I present', v_settings.tenant_key) END;
        RETURN NEXT;

        IF v_state = 'syncing' THEN
            -- What cutover adds and then checks: nothing to fail on yet.
            check_name := 'at cutover';
            expected := 'sequences ahead, foreign keys in place, ledger done';
            actual := 'not yet: the tenant is syncing';
            passed := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;

        FOR v_seq IN
            SELECT a.attname, pg_get_serial_sequence(v_rel::text, a.attname) AS seq
            FROM pg_attribute AS a
            WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped
                AND pg_get_serial_sequence(v_rel::text, a.attname) IS NOT NULL
            ORDER BY a.attnum
        LOOP
            EXECUTE format('SELECT max(%I)::bigint FROM %s', v_seq.attname, v_rel) INTO v_max;
            EXECUTE format('SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s', v_seq.seq)
            INTO v_next;
            check_name := format('sequence of %s ahead', v_seq.attname);
            expected := format('next value > %s', coalesce(v_max::text, 'none'));
            actual := format('next value %s', v_next);
            passed := v_max IS NULL OR v_next > v_max;
            RETURN NEXT;
        END LOOP;

        SELECT count(*), count(*) FILTER (WHERE c.convalidated) INTO v_fks, v_valid
        FROM pg_constraint AS c WHERE c.conrelid = v_rel AND c.contype = 'f';
        check_name := 'foreign keys in place';
        expected := v_table.foreign_keys::text;
        actual := format('%s (%s validated)', v_fks, v_valid);
        passed := v_fks = v_table.foreign_keys;
        RETURN NEXT;

        check_name := 'ledger done';
        expected := 'done';
        actual := coalesce(v_table.state, 'no ledger row');
        passed := v_table.state = 'done';
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.validate_tenant(text, jsonb) IS
'Row-level validation of one tenant: counts, checksums, no tenant key, sequences, FKs; one row per check.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.validate_tenant(text, jsonb) OWNER TO tenancy_engine;
