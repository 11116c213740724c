-- tenancy.run_statements(statements): executes each statement in order.
-- Used for the DDL the rendered functions return.
CREATE OR REPLACE FUNCTION tenancy.run_statements(p_statements text [])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_stmt text;
    v_n    integer := 0;
BEGIN
    FOREACH v_stmt IN ARRAY coalesce(p_statements, '{}') LOOP
        EXECUTE v_stmt;
        v_n := v_n + 1;
    END LOOP;
    RETURN v_n;
END
$fn$;
COMMENT ON FUNCTION tenancy.run_statements(text []) IS 'Executes statements in order; returns how many.';
