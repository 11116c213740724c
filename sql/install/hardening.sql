-- Applied last by `tenancy install` (runner/engine/install.py), after every function exists: no function
-- or procedure the tool installs is executable by PUBLIC; each file grants
-- EXECUTE to the roles that need it. (Default privileges cannot take PUBLIC's
-- EXECUTE away for one schema, only for all future functions of a role in the
-- database, so the revoke runs at every install and verify-grants reports a
-- PUBLIC grant as drift.)
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy FROM PUBLIC;
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy_federation FROM PUBLIC;
-- The capture triggers run as tenancy_capture (sql/ledger/0005_online.sql):
-- it calls these, and nothing else of the tool.
GRANT EXECUTE ON FUNCTION
tenancy.capture_change(text, text, jsonb, text),
tenancy.fence_key(text),
tenancy.lock_key(text)
TO tenancy_capture;
