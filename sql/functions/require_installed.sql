-- tenancy.require_installed(): the installed settings row.
-- Raises TY005 when `tenancy install` has not run. Read-only.
CREATE OR REPLACE FUNCTION tenancy.require_installed()
RETURNS tenancy.settings
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings;
BEGIN
    SELECT * INTO v_settings FROM tenancy.settings;
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM tenancy.moved_tables) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY005',
            MESSAGE = 'tenancy is not installed in this database',
            HINT = 'Run `tenancy install` with the manifest first.';
    END IF;
    RETURN v_settings;
END
$fn$;
COMMENT ON FUNCTION tenancy.require_installed() IS
'The installed settings row; raises TY005 when tenancy is not installed.';
-- The federated reads (owned by tenancy_federation_owner) call it.
GRANT EXECUTE ON FUNCTION tenancy.require_installed() TO tenancy_federation_owner;
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.require_installed() OWNER TO tenancy_engine;
