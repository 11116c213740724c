-- tenancy.citus_make_reference(table name in the central schema): makes the
-- central table a Citus reference table (a copy on every node), once, and
-- records who agreed to it; the local copy is truncated after Citus copied it.
-- Returns 'made reference' or 'already reference'. Idempotent. Refuses a
-- table of another Citus kind (TY072).
CREATE OR REPLACE FUNCTION tenancy.citus_make_reference(p_table text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_rel      regclass := to_regclass(format('%I.%I', v_settings.central_schema, p_table));
    v_kind     record;
BEGIN
    PERFORM tenancy.citus_require();
    IF v_rel IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY072',
            MESSAGE = format('table %I.%I does not exist', v_settings.central_schema, p_table),
            HINT = format('Name a table of schema %I (without the schema).', v_settings.central_schema);
    END IF;
    SELECT p.partmethod, p.repmodel INTO v_kind FROM pg_dist_partition AS p WHERE p.logicalrelid = v_rel;
    IF v_kind.partmethod = 'n' AND v_kind.repmodel = 't' THEN
        INSERT INTO tenancy.reference_tables (table_name) VALUES (p_table) ON CONFLICT DO NOTHING;
        RETURN 'already reference';
    END IF;
    IF FOUND AND NOT (v_kind.partmethod = 'n' AND v_kind.repmodel = 's') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY072',
            MESSAGE = format('table %s is already a distributed table', v_rel),
            HINT = 'Only a plain (or Citus local) central table can become a reference table.';
    END IF;
    PERFORM create_reference_table(v_rel);
    PERFORM truncate_local_data_after_distributing_table(v_rel);
    INSERT INTO tenancy.reference_tables (table_name) VALUES (p_table) ON CONFLICT DO NOTHING;
    RETURN 'made reference';
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_make_reference(text) IS
'Makes a central table a Citus reference table (with consent given by the caller); idempotent.';
