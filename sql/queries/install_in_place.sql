-- The version and checksum of the install in place (the latest of tenancy.installed); no row before the first.
SELECT
    version,
    checksum
FROM tenancy.installed
ORDER BY installed_at DESC
LIMIT 1
