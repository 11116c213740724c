-- tenancy.citus_make_reference(table name in the central schema): makes the
-- central table a Citus reference table (a copy on every node), once, and
-- records who agreed to it; the local copy is truncated after Citus copied it.
-- The tenant tables are proven first and stamped again after (Citus replaces
-- those that reference the table).
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
    v_tenants  text [];
    v_problems text;
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
    -- Citus turns the tenant tables that reference it into Citus local tables
    -- (a new relation under the old name): they are proven first, under a
    -- lock held to the end, and stamped anew after.
    SELECT array_agg(DISTINCT l.tenant_id) INTO v_tenants FROM tenancy.ledger AS l;
    SELECT string_agg(format('%I.%I %s', u.schema_name, u.table_name, u.problem), E'\n') INTO v_problems
    FROM tenancy.unproven_tables(coalesce(v_tenants, '{}'), 'SHARE UPDATE EXCLUSIVE') AS u;
    IF v_problems IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY040',
            MESSAGE = format('tenant tables cannot be proven to be what tenancy made; %s was not made a reference table',
                             v_rel),
            DETAIL = v_problems,
            HINT = 'Undo the change to those tables (tenancy validate shows it), then run distribute again.';
    END IF;
    PERFORM create_reference_table(v_rel);
    PERFORM truncate_local_data_after_distributing_table(v_rel);
    PERFORM tenancy.stamp_tenant_tables(coalesce(v_tenants, '{}'));
    INSERT INTO tenancy.reference_tables (table_name) VALUES (p_table) ON CONFLICT DO NOTHING;
    RETURN 'made reference';
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_make_reference(text) IS
'Makes a central table a Citus reference table (with consent given by the caller); idempotent.';
