-- Upgrades of the 0.1.0 ledger. Safe to run again.

-- What each install changed: the version it replaced, the ledger files it
-- applied and the routines it added, replaced or dropped (tenancy install
-- prints the same).

ALTER TABLE tenancy.installed
ADD COLUMN IF NOT EXISTS previous_version text,
ADD COLUMN IF NOT EXISTS ledger_files text [],
ADD COLUMN IF NOT EXISTS changes jsonb;

COMMENT ON TABLE tenancy.installed IS
'One row per distinct install (version, checksum); the latest installed_at is the one in place. '
'previous_version, ledger_files and changes say what that install changed.';
COMMENT ON COLUMN tenancy.installed.previous_version IS
'Version in place before this install (NULL for a first install).';
COMMENT ON COLUMN tenancy.installed.ledger_files IS
'sql/ledger/ files applied by this install, in order.';
COMMENT ON COLUMN tenancy.installed.changes IS
'Routines added, replaced and dropped: {"added": [...], "replaced": [...], "dropped": [...]}.';

-- The schema naming rule is rendered into tenancy.schema_name() from the
-- manifest (runner/manifest.py, the one place that decides it); the settings
-- no longer keep a second copy of its parts.
ALTER TABLE tenancy.settings
DROP COLUMN IF EXISTS schema_prefix,
DROP COLUMN IF EXISTS schema_suffix;
