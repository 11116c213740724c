-- tenancy.lock_tables(tables, lock mode, what): locks the tables together in
-- p_lock_mode, politely: in short tries, each of which gives up after 100 ms
-- (well before deadlock_timeout) and lets go of what it took, with a short
-- random pause between tries. A transaction of the application that holds
-- one of the tables and then needs another one (a foreign key check takes
-- the referenced table) therefore never deadlocks with the tool, nor fails
-- for it: it goes on and commits, and the next try succeeds. Gives up with
-- 55P03, naming p_what, once the session's lock_timeout has passed (none
-- set: tries until the tables are free). The locks are held until the
-- transaction ends.
CREATE OR REPLACE FUNCTION tenancy.lock_tables(p_tables regclass [], p_lock_mode text, p_what text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_names    text;
    v_timeout  text := current_setting('lock_timeout');
    v_deadline timestamptz;
BEGIN
    IF p_lock_mode NOT IN ('ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
                           'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE') THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('%L is not a table lock mode', p_lock_mode),
            HINT = 'Use one of the modes of LOCK TABLE, such as ACCESS SHARE or EXCLUSIVE.';
    END IF;
    SELECT string_agg(u.rel::text, ', ' ORDER BY u.n) INTO v_names
    FROM unnest(p_tables) WITH ORDINALITY AS u (rel, n)
    WHERE u.rel IS NOT NULL;
    IF v_names IS NULL THEN
        RETURN;
    END IF;
    IF v_timeout NOT IN ('0', '') THEN
        v_deadline := clock_timestamp() + v_timeout::interval;
    END IF;
    LOOP
        BEGIN
            -- Undone with the try when it fails, restored below when it succeeds.
            PERFORM set_config('lock_timeout', '100ms', true);
            EXECUTE format('LOCK TABLE %s IN %s MODE', v_names, p_lock_mode);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            IF clock_timestamp() > v_deadline THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'lock_not_available',
                    MESSAGE = format('%s were never free long enough to lock them in %s mode', p_what, p_lock_mode),
                    DETAIL = format('tables: %s; tried for %s', v_names, v_timeout),
                    HINT = 'End the long transactions on them, or raise --lock-timeout, then run it again. '
                           'Nothing was changed.';
            END IF;
            PERFORM pg_sleep(0.05 + random() * 0.1);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', v_timeout, true);
END
$fn$;
COMMENT ON FUNCTION tenancy.lock_tables(regclass [], text, text) IS
'Locks the tables together in short tries that give way to the application, until the session''s lock_timeout.';
-- tenancy.unproven_tables locks with it for the federated reads too.
GRANT EXECUTE ON FUNCTION tenancy.lock_tables(regclass [], text, text) TO tenancy_federation_owner;
