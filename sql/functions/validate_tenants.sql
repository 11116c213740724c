-- tenancy.validate_tenants(tenant ids): tenancy.validate_tenant for many
-- tenants, reading each shared table once: one pass per table computes the
-- count and checksum of every listed tenant's rows, then each tenant table is
-- read and compared. Validating every tenant this way costs about one scan of
-- the shared tables plus one of the tenant tables, instead of one scan of
-- every shared table per tenant. Same rows as validate_tenant. Changes no data.
-- p_source_sums, when given, is tenancy.source_sums() of these tenants (or
-- more) taken once for a whole run that validates in chunks: each chunk
-- then reads only its tenant tables, never the shared tables again.

CREATE OR REPLACE FUNCTION tenancy.validate_tenants(p_tenant_ids text [], p_source_sums jsonb DEFAULT NULL)
RETURNS TABLE (
    tenant_id text, table_name text, check_name text, expected text, actual text, passed boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    -- The shared side is read once here for the migrated tenants only: a
    -- syncing tenant's is read with its tenant tables, in one snapshot, and a
    -- cut-over tenant's was proved at cutover (validate_tenant).
    v_ids  text [] := ARRAY(
        SELECT i.id FROM unnest(p_tenant_ids) AS i (id)
        WHERE NOT EXISTS (SELECT 1 FROM tenancy.tenants AS t
                          WHERE t.tenant_id = i.id AND t.state IN ('syncing', 'cut_over', 'contracted'))
    );
    v_sums jsonb := coalesce(p_source_sums, '{}'::jsonb);
    v_id   text;
BEGIN
    IF p_source_sums IS NULL AND cardinality(v_ids) > 0 THEN
        v_sums := tenancy.source_sums(v_ids);
    END IF;
    FOREACH v_id IN ARRAY coalesce(p_tenant_ids, '{}') LOOP
        RETURN QUERY SELECT * FROM tenancy.validate_tenant(v_id, v_sums -> v_id);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.validate_tenants(text [], jsonb) IS
'validate_tenant for many tenants, hashing each shared table once for all of them.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.validate_tenants(text [], jsonb) OWNER TO tenancy_engine;
