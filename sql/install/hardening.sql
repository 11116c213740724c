-- Applied last by `tenancy install` (runner/engine/install.py), after every function exists: no function
-- or procedure the tool installs is executable by PUBLIC; each file grants
-- EXECUTE to the roles that need it. (Default privileges cannot take PUBLIC's
-- EXECUTE away for one schema, only for all future functions of a role in the
-- database, so the revoke runs at every install and verify-grants reports a
-- PUBLIC grant as drift.)
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy FROM PUBLIC;
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenancy_federation FROM PUBLIC;
