-- tenancy.reset_sequences(schema, table, floors, interleave): sets every
-- sequence owned by a column of the table (serial or identity) past the
-- largest value copied, so the next insert cannot collide, and past
-- p_floors ->> column when given: at cutover, the largest value of that
-- column in the shared table, so that rows the tenant writes from then on
-- take ids no shared row had (a rollback copies them back into the shared
-- table). With p_interleave (cutover, the guard on), a sequence of
-- increment 1 is set to increment 2 on odd values: the shared tables draw
-- even ones meanwhile (tenancy.shared_guard), so no id the tenant draws is
-- ever drawn there. Returns each sequence and its next value. Idempotent.
CREATE OR REPLACE FUNCTION tenancy.reset_sequences(
    p_schema text, p_table text, p_floors jsonb DEFAULT NULL, p_interleave boolean DEFAULT false
)
RETURNS TABLE (sequence_name text, next_value bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_rel       regclass := format('%I.%I', p_schema, p_table)::regclass;
    v_column    text;
    v_increment bigint;
    v_max       bigint;
BEGIN
    FOR v_column, sequence_name, v_increment IN
        SELECT cs.column_name, cs.sequence_name::text, cs.increment
        FROM tenancy.column_sequences(v_rel) AS cs
        WHERE cs.owned
        ORDER BY cs.column_name
    LOOP
        EXECUTE format('SELECT max(%I)::bigint FROM %s', v_column, v_rel) INTO v_max;
        v_max := greatest(v_max, (p_floors ->> v_column)::bigint);
        IF p_interleave AND v_increment IN (1, 2) THEN
            EXECUTE format('ALTER SEQUENCE %s INCREMENT BY 2', sequence_name);
            -- The next value odd: v_max itself when odd (then +2), else v_max + 1 (then +2).
            v_max := v_max + 1 - abs(v_max % 2);
            v_increment := 2;
        END IF;
        IF v_max IS NULL THEN
            PERFORM setval(sequence_name, 1, false);
            next_value := 1;
        ELSE
            PERFORM setval(sequence_name, v_max, true);
            next_value := v_max + v_increment;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.reset_sequences(text, text, jsonb, boolean) IS
'Moves every serial/identity sequence of a table past the largest copied value (odd values, increment 2, interleaved).';
