-- What ran, when, as whom, and how it ended: one row per `tenancy` command
-- that did work (a refused command changes nothing, this table included),
-- and one per tenant that failed in it. Written only through
-- tenancy.record_event(); read by `tenancy history`. Safe to run again.

CREATE TABLE IF NOT EXISTS tenancy.history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    "session_user" text NOT NULL DEFAULT session_user,
    command text NOT NULL,
    tenant_id text,
    outcome text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT history_outcome_check CHECK (outcome IN ('ok', 'failed', 'interrupted'))
);
CREATE INDEX IF NOT EXISTS history_tenant_id_idx ON tenancy.history (tenant_id, id) WHERE tenant_id IS NOT NULL;

COMMENT ON TABLE tenancy.history IS
'One row per tenancy command that did work, and one per tenant that failed in it (tenancy history).';
COMMENT ON COLUMN tenancy.history."session_user" IS
'The login that ran the command (session_user: a SECURITY DEFINER function or SET ROLE does not change it).';
COMMENT ON COLUMN tenancy.history.tenant_id IS
'The tenant a failure belongs to; NULL on the row of the command itself.';
COMMENT ON COLUMN tenancy.history.outcome IS
'ok, failed (a tenant failed or did not validate) or interrupted (stopped by a signal).';
COMMENT ON COLUMN tenancy.history.detail IS
'The command''s options (never its connection string), counts and exit code; a tenant''s error and SQLSTATE.';

-- Appended by the engine's entry point only; read by the runner login (tenancy.grant_runner_privileges).
GRANT SELECT, INSERT ON tenancy.history TO tenancy_engine;
