-- After an install applied every file: a routine of the tool that this
-- install did not (re)create survived only because something outside the
-- tool still uses it (sql/install/drop_routines.sql keeps those). The new
-- version no longer defines it, so installing would leave an outdated routine
-- behind that trigger or view: refuse (TY020); the transaction rolls back and
-- the previous install stays in place.
DO $do$
DECLARE
    v_stale text [];
BEGIN
    SELECT array_agg(
        format(
            '%s (used by %s)',
            p.oid::regprocedure,
            (
                SELECT string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
                FROM pg_catalog.pg_depend AS d
                WHERE
                    d.refclassid = 'pg_catalog.pg_proc'::regclass
                    AND d.refobjid = p.oid
                    AND d.deptype IN ('n', 'a')
            )
        )
        ORDER BY p.oid::regprocedure::text
    )
    INTO v_stale
    FROM pg_catalog.pg_proc AS p
    INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
    WHERE
        n.nspname IN ('tenancy', 'tenancy_federation')
        AND p.xmin <> pg_catalog.pg_current_xact_id()::xid;
    IF v_stale IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'TY020',
            MESSAGE = format(
                'this version of tenancy no longer defines %s routine(s) that other objects still use',
                cardinality(v_stale)
            ),
            DETAIL = array_to_string(v_stale, E'\n'),
            HINT = 'Drop or change the objects named in DETAIL (or finish the work that created them '
            'with the installed version), then install again. Nothing was changed.';
    END IF;
END
$do$;
