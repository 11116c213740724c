-- tenancy.reset_sequences(schema, table): sets every sequence owned by a
-- column of the table (serial or identity) past the largest value copied, so
-- the next insert cannot collide. Returns each sequence and its next value.
-- Idempotent.
CREATE OR REPLACE FUNCTION tenancy.reset_sequences(p_schema text, p_table text)
RETURNS TABLE (sequence_name text, next_value bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_rel    text := format('%I.%I', p_schema, p_table);
    v_column text;
    v_max    bigint;
BEGIN
    FOR v_column, sequence_name IN
        SELECT a.attname, pg_get_serial_sequence(v_rel, a.attname)
        FROM pg_attribute AS a
        WHERE a.attrelid = v_rel::regclass AND a.attnum > 0 AND NOT a.attisdropped
            AND pg_get_serial_sequence(v_rel, a.attname) IS NOT NULL
        ORDER BY a.attnum
    LOOP
        EXECUTE format('SELECT max(%I)::bigint FROM %s', v_column, v_rel) INTO v_max;
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
COMMENT ON FUNCTION tenancy.reset_sequences(text, text) IS
'Moves every serial/identity sequence of a table past the largest copied value.';
