-- Who may touch what the tool installs. Safe to run again.
--
-- Role tenancy_federation_owner (NOLOGIN) owns the SECURITY DEFINER functions
-- of schema tenancy_federation, so that they never run with the installer's
-- rights. It reads the settings here; provisioning grants it SELECT on each
-- tenant's tables and on the central tables the federated reads use
-- (runner/privileges.py). Roles are cluster-wide: created only when missing.

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tenancy_federation_owner') THEN
        CREATE ROLE tenancy_federation_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS INHERIT;
        COMMENT ON ROLE tenancy_federation_owner IS
        'tenancy: owns the tenancy_federation functions; holds only what they read.';
    END IF;
EXCEPTION
    -- Another database of the same cluster created it a moment ago.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$do$;

-- Nobody but the owner uses schema tenancy unless granted here or by a file.
REVOKE ALL ON SCHEMA tenancy FROM PUBLIC;
GRANT USAGE ON SCHEMA tenancy TO tenancy_federation_owner;
GRANT SELECT ON tenancy.settings, tenancy.moved_tables TO tenancy_federation_owner;
