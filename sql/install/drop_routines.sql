-- Before an install applies the function files: drop the tool's routines
-- that nothing outside them depends on (pg_temp.tenancy_routines(), from
-- routines.sql), so that the files recreate them whatever their new signature
-- or return type. Routines that a trigger, view, policy or default still uses
-- are kept and replaced in place by CREATE OR REPLACE (their identity must
-- not change). Runs inside the install's transaction: a failed install
-- restores them all. Safe to run again.
DO $do$
DECLARE
    v_targets text;
    v_trigger record;
BEGIN
    -- The tool's own triggers on the shared tables (change capture) are made
    -- again by the rendered files, in this transaction: they hold no routine
    -- back. Those of a partitioned table only: its partitions' clones go with
    -- them. Not for `tenancy plan` (tenancy.plan_only): DROP TRIGGER would lock
    -- the shared tables until it rolls back; it installs without them.
    FOR v_trigger IN
        SELECT g.tgname, g.tgrelid::regclass AS rel
        FROM pg_catalog.pg_trigger AS g
        INNER JOIN pg_catalog.pg_proc AS p ON g.tgfoid = p.oid
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE
            n.nspname = 'tenancy' AND g.tgname IN ('tenancy_capture', 'tenancy_capture_truncate')
            AND g.tgparentid = 0
            AND current_setting('tenancy.plan_only', true) IS DISTINCT FROM 'on'
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', v_trigger.tgname, v_trigger.rel);
    END LOOP;
    SELECT string_agg(r.routine::text, ', ' ORDER BY r.identity)
    INTO v_targets
    FROM pg_temp.tenancy_routines() AS r
    WHERE cardinality(r.dependents) = 0;
    IF v_targets IS NOT NULL THEN
        -- One statement, so routines that depend on each other go together.
        EXECUTE 'DROP ROUTINE ' || v_targets;
    END IF;
END
$do$;
