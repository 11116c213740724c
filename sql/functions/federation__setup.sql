-- Schema tenancy_federation and role tenancy_federation: the cross-tenant reads.
-- Named federation__setup.sql so that it sorts before the other federation_*
-- files (install applies sql/functions/*.sql by name) and they can grant to
-- the role. Safe to re-run: roles are cluster-wide while the schema is per
-- database, so the role is created only when missing.
--
-- The role is NOLOGIN: a service that needs federated reads logs in with its
-- own role and is made a member (GRANT tenancy_federation TO <service>).
-- Nobody else has USAGE on the schema or EXECUTE on its functions; the
-- functions are SECURITY DEFINER, owned by tenancy_federation_owner (see
-- sql/ledger/0004_security.sql), so the role needs no privilege on any tenant
-- schema and the functions run with the owner's read-only rights, never the
-- installer's.

CREATE SCHEMA IF NOT EXISTS tenancy_federation;
COMMENT ON SCHEMA tenancy_federation IS
'Cross-tenant reads (search, analytics, profile, reachable tenants, public jobs); '
'only role tenancy_federation may use it.';

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_federation') THEN
        CREATE ROLE tenancy_federation NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS;
        COMMENT ON ROLE tenancy_federation IS
        'May execute the tenancy_federation functions (cross-tenant reads); grant it to the service role.';
    END IF;
EXCEPTION
    -- Another database of the same cluster created it a moment ago.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$do$;

REVOKE ALL ON SCHEMA tenancy_federation FROM PUBLIC;
GRANT USAGE ON SCHEMA tenancy_federation TO tenancy_federation, tenancy_federation_owner;
