-- tenancy.rendered_ddl(schema, functions, central): the DDL statements that
-- the rendered functions named return for one tenant schema, in the order
-- given, from one call of them all (e.g. every '<table>__index' of a
-- tenant). Each is called with the schema, and with p_central when it is
-- given (the '<table>__link' functions). Returned, not executed: the caller
-- runs them, as whichever role must.
CREATE OR REPLACE FUNCTION tenancy.rendered_ddl(p_schema text, p_functions text [], p_central boolean DEFAULT NULL)
RETURNS text []
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_ddl text [];
BEGIN
    IF coalesce(cardinality(p_functions), 0) = 0 THEN
        RETURN '{}'::text [];
    END IF;
    EXECUTE 'SELECT ' || (
        SELECT string_agg(format('tenancy.%I($1%s)', f.name, CASE WHEN p_central IS NOT NULL THEN ', $2' ELSE '' END),
                          ' || ' ORDER BY f.ord)
        FROM unnest(p_functions) WITH ORDINALITY AS f (name, ord)
    ) INTO v_ddl USING p_schema, p_central;
    RETURN coalesce(v_ddl, '{}'::text []);
END
$fn$;
COMMENT ON FUNCTION tenancy.rendered_ddl(text, text [], boolean) IS
'The DDL the named rendered functions return for a tenant schema, in order (returned, not executed).';
