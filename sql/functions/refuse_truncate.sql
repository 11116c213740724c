-- tenancy.refuse_truncate(): statement trigger BEFORE TRUNCATE of each moved
-- shared table. A TRUNCATE fires no row trigger, so the capture could not
-- log it: while any tenant is in flight (capturing or cut over) it is refused
-- (TY058). SECURITY DEFINER, owned by tenancy_capture, like the row triggers.
CREATE OR REPLACE FUNCTION tenancy.refuse_truncate()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_tenants bigint;
BEGIN
    SELECT count(*) INTO v_tenants FROM tenancy.online_tenants;
    IF v_tenants > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY058',
            MESSAGE = format('TRUNCATE of %I.%I refused: tenants are migrated online', TG_TABLE_SCHEMA, TG_TABLE_NAME),
            DETAIL = format('%s tenant(s) capturing or cut over', v_tenants),
            HINT = 'Delete the rows instead (the capture logs deletes), or finish with `tenancy contract` first.';
    END IF;
    RETURN NULL;
END
$fn$;
ALTER FUNCTION tenancy.refuse_truncate() OWNER TO tenancy_capture;
REVOKE ALL ON FUNCTION tenancy.refuse_truncate() FROM PUBLIC;
COMMENT ON FUNCTION tenancy.refuse_truncate() IS
'Refuses TRUNCATE of a moved shared table while any tenant is migrated online (TY058).';
