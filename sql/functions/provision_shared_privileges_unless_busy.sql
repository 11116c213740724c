-- tenancy.provision_shared_privileges_unless_busy(): what the runner calls
-- once per run. Applies tenancy.provision_shared_privileges() unless another
-- session is applying it right now (it holds that function's lock, e.g. a
-- DBA's migrate_tenant of the very first tenant, until its transaction ends):
-- then it returns at once with one 'busy' row, instead of waiting for that
-- transaction. Returns the changes made, like provision_shared_privileges().
CREATE OR REPLACE FUNCTION tenancy.provision_shared_privileges_unless_busy()
RETURNS TABLE (object_type text, object_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- The same key as provision_shared_privileges() takes (re-entrant in this session).
    IF NOT pg_try_advisory_xact_lock(hashtext('tenancy.provision_shared_privileges')) THEN
        object_type := 'lock'; object_name := 'tenancy.provision_shared_privileges';
        action := 'busy: being applied by another session';
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM tenancy.provision_shared_privileges();
END
$fn$;
COMMENT ON FUNCTION tenancy.provision_shared_privileges_unless_busy() IS
'provision_shared_privileges(), or at once nothing when another session is applying it.';
