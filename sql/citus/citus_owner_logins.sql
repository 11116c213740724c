-- tenancy.citus_owner_logins(): lets the owners of the tool's SECURITY
-- DEFINER functions that read tenant tables log in: tenancy_engine (the
-- entry points) and tenancy_federation_owner (the federated reads). Citus
-- reaches a distributed schema's worker as the current user, which is the
-- function's owner inside them: a NOLOGIN owner cannot be connected as. The
-- roles keep no password; only the cluster's own authentication between its
-- nodes can use the logins, so no pg_hba.conf line may `trust` them for
-- other clients (docs/citus.md). Called by `tenancy distribute`; idempotent
-- (ALTER ROLE propagates to the workers). Returns what it changed.
CREATE OR REPLACE FUNCTION tenancy.citus_owner_logins()
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_role text;
BEGIN
    FOR v_role IN
        SELECT r.rolname FROM pg_catalog.pg_roles AS r
        WHERE r.rolname IN ('tenancy_engine', 'tenancy_federation_owner') AND NOT r.rolcanlogin
        ORDER BY 1
    LOOP
        EXECUTE format('ALTER ROLE %I LOGIN', v_role);
        RETURN NEXT v_role || ': LOGIN (Citus connects to workers as the function owner)';
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_owner_logins() IS
'On Citus: the owners of the entry points and of the federated reads must be able to log in to the workers; '
'idempotent.';
