"""The tool's own names: the schemas and the roles `tenancy install` creates.

They are fixed (the SQL under sql/ledger/ and sql/functions/ spells them out;
tests/test_names.py checks that it does). The roles a manifest names (the
migrator, the tenant roles, the group roles) are in runner/manifest.py.
"""

from __future__ import annotations

# The tool's schema: the ledger and every function (sql/ledger/0001_initial.sql).
TOOL_SCHEMA = "tenancy"
# The federated reads across tenants (sql/functions/federation__setup.sql).
FEDERATION_SCHEMA = "tenancy_federation"
TOOL_SCHEMAS = (TOOL_SCHEMA, FEDERATION_SCHEMA)

# Owns the entry points: what a runner login calls runs as this NOLOGIN role
# (sql/ledger/0010_engine.sql, docs/security.md).
ENGINE_ROLE = "tenancy_engine"
# Owns the change-capture trigger functions (sql/ledger/0005_online.sql).
CAPTURE_ROLE = "tenancy_capture"
# Members may call the federated reads; their owner holds what they read
# (sql/functions/federation__setup.sql, sql/ledger/0004_security.sql).
FEDERATION_ROLE = "tenancy_federation"
FEDERATION_OWNER = "tenancy_federation_owner"

# The application_name of the tool's sessions (pg_stat_activity).
APPLICATION_NAME = "tenancy"
