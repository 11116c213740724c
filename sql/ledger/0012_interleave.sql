-- Interleaved ids while tenants are cut over: the sequences of the shared
-- moved tables that tenancy set to draw even values (increment 2) when it put
-- the guard on, each tenant table's drawing odd ones from its cutover on, so
-- that a rollback after cutover copies back rows whose ids no shared row
-- took in the meantime (docs/online.md, "Ids while tenants are cut over").
-- Taking the guard off sets these back to increment 1 and forgets them.
-- Written by tenancy.shared_guard (as the owner of the shared tables).
-- Safe to run again.

CREATE TABLE IF NOT EXISTS tenancy.interleaved_sequences (
    sequence_name text PRIMARY KEY,
    table_name text NOT NULL,
    since timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE tenancy.interleaved_sequences IS
'Shared sequences tenancy set to increment 2 (even values) while the guard is on; set back to 1 when it goes off.';
GRANT SELECT ON tenancy.interleaved_sequences TO tenancy_engine;
