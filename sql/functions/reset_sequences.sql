-- tenancy.reset_sequences(schema, table, floors): sets every sequence owned
-- by a column of the table (serial or identity) past the largest value
-- copied, so the next insert cannot collide, and past p_floors ->> column
-- when given: at cutover, the largest value of that column in the shared
-- table, so that rows the tenant writes from then on take ids no shared row
-- had (a rollback copies them back into the shared table). The sequences
-- are found with one index scan of pg_depend (what pg_get_serial_sequence
-- reads, for every column at once). Returns each sequence and its next
-- value. Idempotent.
CREATE OR REPLACE FUNCTION tenancy.reset_sequences(p_schema text, p_table text, p_floors jsonb DEFAULT NULL)
RETURNS TABLE (sequence_name text, next_value bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_rel    regclass := format('%I.%I', p_schema, p_table)::regclass;
    v_column text;
    v_max    bigint;
BEGIN
    FOR v_column, sequence_name IN
        SELECT a.attname, format('%I.%I', n.nspname, s.relname)
        FROM pg_depend AS d
        JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_namespace AS n ON n.oid = s.relnamespace
        JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = v_rel AND d.refobjsubid > 0
            AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND NOT a.attisdropped
        ORDER BY a.attnum
    LOOP
        EXECUTE format('SELECT max(%I)::bigint FROM %s', v_column, v_rel) INTO v_max;
        v_max := greatest(v_max, (p_floors ->> v_column)::bigint);
        IF v_max IS NULL THEN
            PERFORM setval(sequence_name, 1, false);
            next_value := 1;
        ELSE
            PERFORM setval(sequence_name, v_max, true);
            next_value := v_max + 1;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.reset_sequences(text, text, jsonb) IS
'Moves every serial/identity sequence of a table past the largest copied value.';
