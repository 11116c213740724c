-- tenancy.assert_same_rows(tenant id, tenant schema, table's function prefix,
-- message, hint): compares the tenant's shared rows of one moved table with
-- its tenant table (row count and checksum, both read now) and raises TY010
-- with the given message and hint, and both sides in DETAIL, when they differ.
-- Used wherever a step proves a copy before going on (the snapshot copy,
-- cutover under the fence, the copy back of a rollback). Returns the row
-- count and the checksum both sides share.
CREATE OR REPLACE FUNCTION tenancy.assert_same_rows(
    p_tenant_id text, p_schema text, p_fn_prefix text, p_message text, p_hint text,
    OUT row_count bigint, OUT checksum numeric
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_src_rows bigint;
    v_src_sum  numeric;
    v_dst_rows bigint;
    v_dst_sum  numeric;
BEGIN
    EXECUTE format('SELECT * FROM tenancy.%I($1)', p_fn_prefix || '__source_sum')
    INTO v_src_rows, v_src_sum USING p_tenant_id;
    EXECUTE format('SELECT * FROM tenancy.%I($1)', p_fn_prefix || '__target_sum')
    INTO v_dst_rows, v_dst_sum USING p_schema;
    IF v_src_rows <> v_dst_rows OR v_src_sum <> v_dst_sum THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY010',
            MESSAGE = p_message,
            DETAIL = format('shared: %s rows, checksum %s; tenant table: %s rows, checksum %s',
                            v_src_rows, v_src_sum, v_dst_rows, v_dst_sum),
            HINT = p_hint;
    END IF;
    row_count := v_dst_rows;
    checksum := v_dst_sum;
END
$fn$;
COMMENT ON FUNCTION tenancy.assert_same_rows(text, text, text, text, text) IS
'Raises TY010 when a tenant table differs from the tenant''s shared rows (count, checksum); returns both.';
