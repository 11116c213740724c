-- tenancy.column_sequences(tables): every sequence a column of the tables
-- draws from: its own (serial, identity: what pg_get_serial_sequence finds)
-- and the one its default calls (nextval('...')), whether the column owns
-- it, and the sequence's increment. One index scan of pg_depend each way
-- for all the tables. Read by the routines that move sequences
-- (reset_sequences, advance_shared_sequences, shared_guard).
CREATE OR REPLACE FUNCTION tenancy.column_sequences(p_rels regclass [])
RETURNS TABLE (table_name regclass, column_name name, sequence_name regclass, owned boolean, increment bigint)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT d.refobjid::regclass, a.attname, d.objid::regclass, true, s.seqincrement
    FROM pg_catalog.pg_depend AS d
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = d.objid
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
        AND d.refobjid = ANY (p_rels::oid []) AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') AND NOT a.attisdropped
    UNION
    SELECT ad.adrelid::regclass, a.attname, d.refobjid::regclass, false, s.seqincrement
    FROM pg_catalog.pg_attrdef AS ad
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    -- From the tables' defaults to what each depends on (OFFSET 0 keeps that
    -- order: the catalog's statistics can make the planner start from every
    -- default of the database instead).
    CROSS JOIN LATERAL (
        SELECT dd.refobjid FROM pg_catalog.pg_depend AS dd
        WHERE dd.classid = 'pg_catalog.pg_attrdef'::regclass AND dd.objid = ad.oid AND dd.objsubid = 0
            AND dd.refclassid = 'pg_catalog.pg_class'::regclass
        OFFSET 0
    ) AS d
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = d.refobjid
    WHERE ad.adrelid = ANY (p_rels::oid []) AND NOT a.attisdropped
$fn$;
COMMENT ON FUNCTION tenancy.column_sequences(regclass []) IS
'Every sequence a column of the tables draws from (its own, or the one its default calls), and its increment.';

-- tenancy.sequence_next(sequence): the value the sequence's next nextval()
-- returns (pg_sequence_last_value says NULL for a sequence set by setval(...,
-- false) that was not called since, whatever its value).
CREATE OR REPLACE FUNCTION tenancy.sequence_next(p_seq regclass)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_next bigint;
BEGIN
    EXECUTE format('SELECT CASE WHEN s.is_called THEN s.last_value + q.seqincrement ELSE s.last_value END '
                   'FROM %s AS s, pg_catalog.pg_sequence AS q WHERE q.seqrelid = $1', p_seq)
    INTO v_next USING p_seq;
    RETURN v_next;
END
$fn$;
COMMENT ON FUNCTION tenancy.sequence_next(regclass) IS
'The value the sequence''s next nextval() returns.';
