-- tenancy.citus_federation_login(): lets tenancy_federation_owner log in.
-- The federated reads are SECURITY DEFINER functions owned by that role, and
-- Citus reaches a distributed schema's worker as the current user, which is
-- the function's owner inside them: a NOLOGIN owner cannot be connected as.
-- The role keeps no password; only the cluster's own authentication between
-- its nodes can use the login. Called by `tenancy distribute`; idempotent
-- (ALTER ROLE propagates to the workers). Returns what it changed, if anything.
CREATE OR REPLACE FUNCTION tenancy.citus_federation_login()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_federation_owner' AND NOT rolcanlogin) THEN
        ALTER ROLE tenancy_federation_owner LOGIN;
        RETURN 'tenancy_federation_owner: LOGIN (Citus connects to workers as the function owner)';
    END IF;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_federation_login() IS
'On Citus: the owner of the federated reads must be able to log in to the workers; idempotent.';
