-- tenancy.record_install(version, checksum, previous version, ledger files,
-- changes): notes an install in tenancy.installed. `tenancy install` calls it
-- at the end of its transaction. Installing an earlier (version, checksum)
-- again makes that row the latest once more.
CREATE OR REPLACE FUNCTION tenancy.record_install(
    p_version          text,
    p_checksum         text,
    p_previous_version text,
    p_ledger_files     text [],
    p_changes          jsonb
)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    INSERT INTO tenancy.installed AS i (version, checksum, installed_at, previous_version, ledger_files, changes)
    VALUES (p_version, p_checksum, now(), p_previous_version, p_ledger_files, p_changes)
    ON CONFLICT (version, checksum) DO UPDATE
        SET installed_at = excluded.installed_at,
            previous_version = excluded.previous_version,
            ledger_files = excluded.ledger_files,
            changes = excluded.changes;
END
$fn$;
COMMENT ON FUNCTION tenancy.record_install(text, text, text, text [], jsonb) IS
'Records an install: version, checksum, the version it replaced, ledger files applied, routines changed.';
REVOKE ALL ON FUNCTION tenancy.record_install(text, text, text, text [], jsonb) FROM PUBLIC;
