-- Before an install applies the function files: drop the tool's routines
-- (schemas tenancy and tenancy_federation) that nothing outside them depends
-- on, so that the files recreate them whatever their new signature or return
-- type. Routines that a trigger, view, policy or default still uses are kept
-- and replaced in place by CREATE OR REPLACE (their identity must not change).
-- Runs inside the install's transaction: a failed install restores them all.
-- Safe to run again.
DO $do$
DECLARE
    v_targets text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid)
    INTO v_targets
    FROM pg_catalog.pg_proc AS p
    INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
    WHERE
        n.nspname IN ('tenancy', 'tenancy_federation')
        AND NOT EXISTS (
            SELECT 1
            FROM pg_catalog.pg_depend AS d
            WHERE
                d.refclassid = 'pg_catalog.pg_proc'::regclass
                AND d.refobjid = p.oid
                AND d.deptype IN ('n', 'a')
                AND NOT (
                    d.classid = 'pg_catalog.pg_proc'::regclass
                    AND d.objid IN (
                        SELECT q.oid
                        FROM pg_catalog.pg_proc AS q
                        INNER JOIN pg_catalog.pg_namespace AS m ON q.pronamespace = m.oid
                        WHERE m.nspname IN ('tenancy', 'tenancy_federation')
                    )
                )
        );
    IF v_targets IS NOT NULL THEN
        -- One statement, so routines that depend on each other go together.
        EXECUTE 'DROP ROUTINE ' || v_targets;
    END IF;
END
$do$;
