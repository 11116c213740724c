-- tenancy.row_visible(table, columns, values): whether the calling role sees a
-- row of the table whose columns equal the values (given as text, cast to each
-- column's type, so the table's key index finds the row). SECURITY INVOKER: it
-- reads the table with the caller's rights and row-level security, so it tells
-- nothing the caller could not read itself; a hidden row and a missing one
-- look alike. The insert and update policies of the hybrid tables call it for
-- each foreign key to a secured table that lacks the tenant key (see
-- sql/templates/rls_hybrid_tables.sql.j2), where a subquery would do, because
-- Citus refuses policies with subqueries. EXECUTE: the tenant groups, granted
-- by that template (their names come from the manifest). Read-only.
CREATE OR REPLACE FUNCTION tenancy.row_visible(p_table text, p_columns text [], p_values text [])
RETURNS boolean
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_rel   regclass := p_table::regclass;
    v_where text;
    v_found integer;
    v_seen  boolean;
BEGIN
    SELECT string_agg(format('r.%I = $1[%s]::%s', a.attname, c.n, format_type(a.atttypid, NULL)), ' AND ' ORDER BY c.n),
           count(a.attname)::integer
    INTO v_where, v_found
    FROM unnest(p_columns) WITH ORDINALITY AS c (name, n)
    LEFT JOIN pg_attribute AS a ON a.attrelid = v_rel AND a.attname = c.name AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_found IS DISTINCT FROM cardinality(p_columns) OR cardinality(p_values) IS DISTINCT FROM v_found THEN
        RAISE EXCEPTION 'tenancy.row_visible: % has not every column of %, or not one value per column',
            v_rel, array_to_string(p_columns, ', ');
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s AS r WHERE %s)', v_rel, v_where) INTO v_seen USING p_values;
    RETURN v_seen;
END
$fn$;
COMMENT ON FUNCTION tenancy.row_visible(text, text [], text []) IS
'Whether the calling role sees the row of a table with these key values (row-level security applies). Read-only.';
