-- tenancy.rollback_diverged(tenant id, schema, function prefix): rows
-- of one tenant table that the tenant's shared rows do not hold identically
-- (the table's rendered <prefix>__diverged). Read-only.
CREATE OR REPLACE FUNCTION tenancy.rollback_diverged(p_tenant_id text, p_schema text, p_fn_prefix text)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_rows bigint;
BEGIN
    EXECUTE format('SELECT tenancy.%I($1, $2)', p_fn_prefix || '__diverged') INTO v_rows USING p_tenant_id, p_schema;
    RETURN v_rows;
END
$fn$;
COMMENT ON FUNCTION tenancy.rollback_diverged(text, text, text) IS
'Rows of a tenant table not held identically by the tenant''s shared rows.';
