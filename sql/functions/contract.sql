-- tenancy.contract(archive schema): the last step, once every tenant of the
-- registry is cut over. The shared tables' part runs as their owner, in
-- tenancy.contract_shared_tables() (rendered from
-- sql/templates/contract_shared_tables.sql.j2): it re-checks that every
-- tenant is cut over (TY055 lists the others otherwise), then drops the
-- capture triggers and the emptied shared tables (children first), or with
-- p_archive moves them into that schema instead. The rest runs as the caller
-- (a member of tenancy_migrator is enough): empties the change log, marks
-- every tenant contracted and records the contraction. Idempotent: a second
-- call reports the tables as absent. Returns one row per table.
CREATE OR REPLACE FUNCTION tenancy.contract(p_archive text DEFAULT NULL)
RETURNS TABLE (table_name text, action text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM tenancy.require_installed();
    RETURN QUERY SELECT c.table_name, c.action FROM tenancy.contract_shared_tables(p_archive) AS c;
    DELETE FROM tenancy.change_log;
    UPDATE tenancy.tenants AS t SET state = 'contracted' WHERE t.state = 'cut_over';
    INSERT INTO tenancy.contraction (archive_schema) VALUES (p_archive) ON CONFLICT (singleton) DO NOTHING;
END
$fn$;
COMMENT ON FUNCTION tenancy.contract(text) IS
'Once every tenant is cut over: drop (or archive) the shared moved tables and their capture triggers, empty the change log.';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.contract(text) OWNER TO tenancy_engine;
