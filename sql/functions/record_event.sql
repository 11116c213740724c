-- tenancy.record_event(command, outcome, detail, tenant id): appends one row
-- to tenancy.history as the session's login (session_user, not current_user:
-- what a login did, whatever role it acted as: inside this entry point the
-- current user is the engine, the session user is still the login). The runner calls it once per
-- command that did work, and once per tenant that failed in it (p_tenant_id
-- is data here, never an identifier: any text is recorded as it is).
-- Returns the new row's id. Not idempotent: each call is one more event.
CREATE OR REPLACE FUNCTION tenancy.record_event(
    p_command text, p_outcome text, p_detail jsonb DEFAULT '{}', p_tenant_id text DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_id bigint;
BEGIN
    IF coalesce(p_command, '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = 'record_event: the command is empty',
            HINT = 'Pass the command that ran, e.g. ''migrate''.';
    END IF;
    INSERT INTO tenancy.history AS h ("session_user", command, tenant_id, outcome, detail)
    VALUES (session_user, p_command, p_tenant_id, p_outcome, coalesce(p_detail, '{}'))
    RETURNING h.id INTO v_id;
    RETURN v_id;
END
$fn$;
COMMENT ON FUNCTION tenancy.record_event(text, text, jsonb, text) IS
'Appends what ran, as which login, and its outcome to tenancy.history (tenancy history reads it).';
-- An entry point: runs as the engine (sql/ledger/0010_engine.sql).
ALTER FUNCTION tenancy.record_event(text, text, jsonb, text) OWNER TO tenancy_engine;
