-- Applied last by `tenancy install` (runner/engine/install.py), after every function exists: no function
-- or procedure the tool installs is executable by PUBLIC; each file grants
-- EXECUTE to the roles that need it. (Default privileges cannot take PUBLIC's
-- EXECUTE away for one schema, only for all future functions of a role in the
-- database, so the revoke runs at every install and verify-grants reports a
-- PUBLIC grant as drift.)
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy FROM PUBLIC;
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy_federation FROM PUBLIC;
-- The capture triggers run as tenancy_capture (sql/ledger/0005_online.sql):
-- it calls these, and nothing else of the tool.
GRANT EXECUTE ON FUNCTION
tenancy.capture_change(text, text, jsonb, text),
tenancy.fence_key(text),
tenancy.lock_key(text)
TO tenancy_capture;
-- The engine's entry points call the tool's other routines as the engine
-- (sql/ledger/0010_engine.sql): it executes every routine of schema tenancy.
-- Which of them the migrator may call is tenancy.grant_runner_privileges()'s.
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA tenancy TO tenancy_engine;
-- The guard policy of the shared tables calls this as the application's
-- role: it only raises TY050 (sql/functions/refuse_cut_over_row.sql).
GRANT EXECUTE ON FUNCTION tenancy.refuse_cut_over_row(text, text) TO PUBLIC;
-- The owner routines run as the owner of the shared tables: the contract
-- checks their rows with each moved table's own checksum
-- (<table>__source_sums), the guard and the rollback find their sequences
-- (column_sequences, sequence_next), and the guard locks them (lock_tables): that owner executes
-- those, and nothing else of the tool's.
DO $do$
DECLARE
    v_owner text := (
        SELECT pg_catalog.pg_get_userbyid(p.proowner) FROM pg_catalog.pg_proc AS p
        WHERE p.oid = to_regprocedure('tenancy.contract_shared_tables(text)')
    );
    v_fn    text;
BEGIN
    FOR v_fn IN
        SELECT format('tenancy.%I(text [])', m.fn_prefix || '__source_sums') FROM tenancy.moved_tables AS m
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', v_fn, v_owner);
    END LOOP;
    IF v_owner IS NOT NULL THEN
        EXECUTE format('GRANT EXECUTE ON FUNCTION tenancy.column_sequences(regclass []), tenancy.sequence_next(regclass), '
                       'tenancy.lock_tables(regclass [], text, text) TO %I', v_owner);
    END IF;
END
$do$;
