-- tenancy.reset_sequences(tables, floors, interleave): sets every sequence
-- owned by a column of the tables (serial or identity) past the largest
-- value copied, so the next insert cannot collide, and past
-- p_floors[i] ->> column when given (one object per table, in the order of
-- p_tables): at cutover, the largest value of that column in the shared
-- table, so that rows the tenant writes from then on take ids no shared row
-- had (a rollback copies them back into the shared table). With
-- p_interleave (cutover, the guard on), a sequence of increment 1 is set to
-- increment 2 on odd values: the shared tables draw even ones meanwhile
-- (tenancy.shared_guard), so no id the tenant draws is ever drawn there.
-- Set-based: the largest values of every table in one statement, every
-- sequence set in another. Returns each sequence and its next value.
-- Idempotent.
CREATE OR REPLACE FUNCTION tenancy.reset_sequences(
    p_tables regclass [], p_floors jsonb [] DEFAULT NULL, p_interleave boolean DEFAULT false
)
RETURNS TABLE (table_name regclass, sequence_name regclass, next_value bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_seqs   record;
    v_maxima bigint [];
    v_seq    record;
BEGIN
    SELECT array_agg(cs.table_name ORDER BY t.n, cs.column_name) AS tables,
           array_agg(cs.column_name ORDER BY t.n, cs.column_name) AS columns,
           array_agg(cs.sequence_name ORDER BY t.n, cs.column_name) AS sequences,
           array_agg(cs.increment ORDER BY t.n, cs.column_name) AS increments,
           array_agg((t.floors ->> cs.column_name)::bigint ORDER BY t.n, cs.column_name) AS floors
    INTO v_seqs
    FROM unnest(p_tables, p_floors) WITH ORDINALITY AS t (rel, floors, n)
    JOIN tenancy.column_sequences(p_tables) AS cs ON cs.table_name = t.rel
    WHERE cs.owned;
    IF v_seqs.sequences IS NULL THEN
        RETURN;
    END IF;
    EXECUTE 'SELECT ARRAY[' || (
        SELECT string_agg(format('(SELECT max(%I)::bigint FROM %s)', c.column_name, c.rel), ', ' ORDER BY c.n)
        FROM unnest(v_seqs.tables, v_seqs.columns) WITH ORDINALITY AS c (rel, column_name, n)
    ) || ']::bigint []' INTO v_maxima;
    FOR v_seq IN
        SELECT s.rel, s.seq, s.increment, greatest(s.maximum, s.floor) AS maximum
        FROM unnest(v_seqs.tables, v_seqs.sequences, v_seqs.increments, v_maxima, v_seqs.floors)
            AS s (rel, seq, increment, maximum, floor)
    LOOP
        IF p_interleave AND v_seq.increment IN (1, 2) THEN
            EXECUTE format('ALTER SEQUENCE %s INCREMENT BY 2', v_seq.seq);
            -- The next value odd: the maximum itself when odd (then +2), else the maximum + 1 (then +2).
            v_seq.maximum := v_seq.maximum + 1 - abs(v_seq.maximum % 2);
            v_seq.increment := 2;
        END IF;
        PERFORM setval(v_seq.seq, coalesce(v_seq.maximum, 1), v_seq.maximum IS NOT NULL);
        table_name := v_seq.rel;
        sequence_name := v_seq.seq;
        next_value := coalesce(v_seq.maximum + v_seq.increment, 1);
        RETURN NEXT;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.reset_sequences(regclass [], jsonb [], boolean) IS
'Moves every serial/identity sequence of the tables past the largest copied value (odd values, increment 2, '
'interleaved).';
