-- After an install applied every file: a routine of the tool that this
-- install did not (re)create survived only because something outside the
-- tool still uses it (drop_routines.sql keeps those). The new version no
-- longer defines it, so installing would leave an outdated routine behind
-- that trigger or view: refuse (TY020); the transaction rolls back and the
-- previous install stays in place.
DO $do$
DECLARE
    v_stale text [];
BEGIN
    SELECT array_agg(
        format('%s (used by %s)', r.identity, array_to_string(r.dependents, ', '))
        ORDER BY r.identity
    )
    INTO v_stale
    FROM pg_temp.tenancy_routines() AS r
    WHERE NOT r.created_now;
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
