-- tenancy.tenant_row_keys(table, key column, tenant column, tenant id): the
-- key values, as text, of the rows of the table that belong to the tenant
-- (NULL for no tenant). SECURITY INVOKER: the caller's rights and row-level
-- security apply. The policy of a central table filtered through another one
-- ([central.access] rows with via_table) compares its column with them, cast
-- to the column's type, so the column's index serves the policy; a subquery
-- would do the same, but Citus refuses policies with subqueries. EXECUTE: the
-- tenant groups, granted by sql/templates/rls_hybrid_tables.sql.j2 (their
-- names come from the manifest). Read-only.
CREATE OR REPLACE FUNCTION tenancy.tenant_row_keys(p_table text, p_key text, p_tenant_column text, p_tenant anyelement)
RETURNS text []
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_keys text [];
BEGIN
    IF p_tenant IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT array_agg(v.%I::text) FROM %s AS v WHERE v.%I = $1', p_key, p_table::regclass, p_tenant_column)
    INTO v_keys USING p_tenant;
    RETURN v_keys;
END
$fn$;
COMMENT ON FUNCTION tenancy.tenant_row_keys(text, text, text, anyelement) IS
'Key values (as text) of the rows of a table that belong to a tenant, read with the caller''s rights. Read-only.';
