-- tenancy.citus_undistribute_tenant(tenant id): brings a distributed tenant
-- schema back to the coordinator (citus_schema_undistribute copies its rows
-- back) and forgets its placement. Citus cannot undistribute a table with an
-- identity column (it could not keep the sequence consistent): then the
-- schema stays distributed, the placement is kept and a NOTICE names the
-- tables. tenancy.rollback_tenant calls it after dropping the tenant tables
-- it created, so only tables that were there before come back.
-- Returns 'undistributed', 'not distributed' or 'kept distributed'. Idempotent.
CREATE OR REPLACE FUNCTION tenancy.citus_undistribute_tenant(p_tenant_id text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema   text := tenancy.require_tenant(p_tenant_id);
    v_nsp      oid := to_regnamespace(quote_ident(v_schema));
    v_identity text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_dist_schema AS s WHERE s.schemaid = v_nsp) THEN
        DELETE FROM tenancy.placements AS p WHERE p.tenant_id = p_tenant_id;
        RETURN 'not distributed';
    END IF;
    SELECT string_agg(DISTINCT c.oid::regclass::text, ', ') INTO v_identity
    FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
    WHERE c.relnamespace = v_nsp AND a.attidentity <> '' AND NOT a.attisdropped;
    IF v_identity IS NOT NULL THEN
        RAISE NOTICE USING
            MESSAGE = format('tenant %L: schema %I stays distributed', p_tenant_id, v_schema),
            DETAIL = format('Citus cannot undistribute tables with identity columns: %s.', v_identity),
            HINT = 'The tenant keeps working from its worker; see `tenancy placement`.';
        UPDATE tenancy.placements AS p
        SET tables = (SELECT count(*) FROM pg_class AS c WHERE c.relnamespace = v_nsp AND c.relkind IN ('r', 'p'))
        WHERE p.tenant_id = p_tenant_id;
        RETURN 'kept distributed';
    END IF;
    PERFORM citus_schema_undistribute(v_nsp::regnamespace);
    DELETE FROM tenancy.placements AS p WHERE p.tenant_id = p_tenant_id;
    RETURN 'undistributed';
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_undistribute_tenant(text) IS
'Brings a distributed tenant schema back to the coordinator (unless Citus cannot: identity columns); idempotent.';
