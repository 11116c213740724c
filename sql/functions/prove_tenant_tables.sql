-- tenancy.prove_tenant_tables(tenant id, lock mode, tables): locks the
-- tenant's tables (only those of p_tables when given) in p_lock_mode and
-- raises TY040 unless each is exactly what tenancy made
-- (tenancy.unproven_tenants). Called before any statement that reads or
-- writes them (copy, replay, cutover, rollback), in the same transaction.
CREATE OR REPLACE FUNCTION tenancy.prove_tenant_tables(p_tenant_id text, p_lock_mode text, p_tables text [] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_refusal record;
BEGIN
    FOR v_refusal IN SELECT * FROM tenancy.unproven_tenants(ARRAY[p_tenant_id], p_lock_mode, p_tables) LOOP
        PERFORM tenancy.raise_refusal(v_refusal.error_code, v_refusal.error, v_refusal.error_detail,
                                      v_refusal.error_hint);
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.prove_tenant_tables(text, text, text []) IS
'Locks a tenant''s tables and raises TY040 unless each is exactly what tenancy made.';
