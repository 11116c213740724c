-- tenancy.citus_schema_sums(schema name): {"table": [rows, checksum]} for
-- every table of the schema, read through whatever holds it now (the local
-- tables, or the worker's shards once distributed). The checksum is the sum
-- of a hash of each row's text form, so every column type is covered and row
-- order does not matter. Read-only.
CREATE OR REPLACE FUNCTION tenancy.citus_schema_sums(p_schema text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table text;
    v_rows  bigint;
    v_sum   numeric;
    v_sums  jsonb := '{}';
BEGIN
    FOR v_table IN
        SELECT c.relname FROM pg_class AS c
        WHERE c.relnamespace = to_regnamespace(quote_ident(p_schema)) AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
        ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM %I.%I AS t',
                       p_schema, v_table)
        INTO v_rows, v_sum;
        v_sums := v_sums || jsonb_build_object(v_table, jsonb_build_array(v_rows, v_sum));
    END LOOP;
    RETURN v_sums;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_schema_sums(text) IS
'Row count and order-independent checksum of every table of a schema, as jsonb {table: [rows, checksum]}.';
