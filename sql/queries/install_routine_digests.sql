-- Every routine of the tool with a digest of its definition (pg_temp.tenancy_routines, from install/routines.sql).
SELECT
    identity,
    digest
FROM pg_temp.tenancy_routines()
