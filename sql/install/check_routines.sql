-- After an install applied every file: a routine of the tool that this
-- install did not (re)create survived only because something outside the
-- tool still uses it (drop_routines.sql keeps those). The new version no
-- longer defines it, so installing would leave an outdated routine behind
-- that trigger or view: refuse (TY020); the transaction rolls back and the
-- previous install stays in place.
DO $do$
DECLARE
    v_stale      text [];
    v_uncaptured text [];
BEGIN
    SELECT array_agg(
        format('%s (used by %s)', r.identity, array_to_string(r.dependents, ', '))
        ORDER BY r.identity
    )
    INTO v_stale
    FROM pg_temp.tenancy_routines() AS r
    WHERE
        NOT r.created_now
        -- `tenancy plan` leaves the capture triggers in place (drop_routines.sql):
        -- a routine only they use is dropped with them by a real install.
        AND NOT (
            current_setting('tenancy.plan_only', true) = 'on'
            AND NOT EXISTS (
                SELECT 1 FROM unnest(r.dependents) AS d (what)
                WHERE d.what NOT LIKE 'trigger tenancy\_capture% on table %'
            )
        );
    -- Tenants migrated online need the capture on every moved table: an
    -- install that would leave one without it is refused (TY059). Not for
    -- `tenancy plan` (tenancy.plan_only), which installs without the capture
    -- triggers in a transaction it rolls back, and checks this itself.
    IF current_setting('tenancy.plan_only', true) IS DISTINCT FROM 'on'
        AND to_regclass('tenancy.online_tenants') IS NOT NULL AND EXISTS (SELECT 1 FROM tenancy.online_tenants)
        AND NOT EXISTS (SELECT 1 FROM tenancy.contraction) THEN
        SELECT array_agg(m.table_name ORDER BY m.position) INTO v_uncaptured
        FROM tenancy.moved_tables AS m
        INNER JOIN tenancy.settings AS s ON true
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_trigger AS g
            WHERE g.tgname = 'tenancy_capture'
                AND g.tgrelid = to_regclass(format('%I.%I', s.central_schema, m.table_name))
        );
        IF v_uncaptured IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'TY059',
                MESSAGE = format('this install would stop the change capture of %s moved table(s) while tenants '
                                 'are migrated online', cardinality(v_uncaptured)),
                DETAIL = array_to_string(v_uncaptured, ', '),
                HINT = 'Cut over or roll back the tenants in flight first (tenancy status), or install a version '
                'with online mode. Nothing was changed.';
        END IF;
    END IF;
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
