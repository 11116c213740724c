-- tenancy.raise_refusal(code, message, detail, hint): raises the error a
-- refusal row describes (tenancy.migration_refusals, tenancy.unproven_tenants,
-- tenancy.finish_tenant_migrations), with its DETAIL and HINT when present:
-- a step function for one tenant raises what a batch reports as a row.
CREATE OR REPLACE FUNCTION tenancy.raise_refusal(p_code text, p_message text, p_detail text, p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF p_detail IS NULL AND p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message;
    ELSIF p_detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, HINT = p_hint;
    ELSIF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = p_detail;
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message, DETAIL = p_detail, HINT = p_hint;
END
$fn$;
COMMENT ON FUNCTION tenancy.raise_refusal(text, text, text, text) IS
'Raises the error of a refusal row (code, message, detail, hint; detail and hint may be NULL).';
