"""Move one distributed tenant to another worker (citus_schema_move), then validate it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from runner.citus.distribute import require_citus
from runner.db import connect, typed_errors
from runner.engine.executor import TenantResult
from runner.engine.rows import fetch_value
from runner.engine.validate import validate_tenants
from runner.manifest import Manifest


@dataclass(frozen=True)
class MoveResult:
    tenant_id: str
    source: str
    target: str
    bytes: int
    mode: str
    moved: bool
    seconds: float
    validation: TenantResult


def move_tenant(dsn: str, manifest: Manifest, tenant_id: str, target: str) -> MoveResult:
    """Check the move (tenancy.citus_move_plan), move the schema's shards, record it, validate the tenant.

    The transfer mode is non-blocking (logical replication) where the cluster
    allows it and block_writes otherwise; moving to the worker that already
    holds the tenant only validates.
    """
    manifest.schema_for(tenant_id)  # refuses a hostile id before any SQL
    started = time.monotonic()
    with connect(dsn) as conn, typed_errors():
        require_citus(conn)
        plan = conn.execute(
            "SELECT schema_name, source, target, coalesce(bytes, 0), mode FROM tenancy.citus_move_plan(%s, %s)",
            (tenant_id, target),
        ).fetchone()
        assert plan is not None
        schema, source, target, size, mode = plan
        moved = source != target
        if moved:
            host, port = target.rsplit(":", 1)
            # Citus copies shards as the tables' owner (a NOLOGIN role): what it needs, for the move only.
            granted = fetch_value(conn, "SELECT tenancy.citus_move_access(%s, true)", (tenant_id,)) or {}
            try:
                conn.execute(
                    "SELECT citus_schema_move(quote_ident(%s)::regnamespace, %s, %s, %s::citus.shard_transfer_mode)",
                    (schema, host, int(port), mode),
                )
            finally:
                conn.execute("SELECT tenancy.citus_move_access(%s, false, %s)", (tenant_id, Jsonb(granted)))
            conn.execute("SELECT tenancy.citus_record_move(%s)", (tenant_id,))
    validation = validate_tenants(dsn, [tenant_id])[0]
    return MoveResult(tenant_id, source, target, int(size), mode, moved, time.monotonic() - started, validation)
