-- tenancy.record_validation(tenant ids, failed checks): records the outcome
-- of a validation (tenancy.validate_tenants) for each tenant: now, and how
-- many of its checks failed (0 = validated). The two arrays are read
-- pairwise. Tenants without a row in tenancy.tenants (never provisioned) are
-- left out. Returns how many tenants were recorded. Idempotent per call.
CREATE OR REPLACE FUNCTION tenancy.record_validation(p_tenant_ids text [], p_failed_checks integer [])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_count integer;
BEGIN
    IF cardinality(p_tenant_ids) IS DISTINCT FROM cardinality(p_failed_checks) THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('record_validation: %s tenant ids but %s counts of failed checks',
                             cardinality(p_tenant_ids), cardinality(p_failed_checks)),
            HINT = 'Pass one count of failed checks per tenant id.';
    END IF;
    UPDATE tenancy.tenants AS t
    SET validated_at = clock_timestamp(),
        validation_passed = v.failed = 0,
        failed_checks = v.failed
    FROM unnest(p_tenant_ids, p_failed_checks) AS v (tenant_id, failed)
    WHERE t.tenant_id = v.tenant_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$fn$;
COMMENT ON FUNCTION tenancy.record_validation(text [], integer []) IS
'Records when each tenant was validated and how many checks failed; read back by tenancy.tenant_status.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.record_validation(text [], integer []) OWNER TO tenancy_engine;
