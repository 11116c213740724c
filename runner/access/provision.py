"""Provision tenants (tenancy.provision_tenants): schema, roles and grants from the privilege model."""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from runner.db import connect, typed_errors
from runner.engine.executor import (
    TableResult,
    TenantResult,
    failed_result,
    for_each_tenant,
    in_batches,
    not_run,
)
from runner.engine.rows import fetch_value
from runner.errors import TenancyError
from runner.states import TenantOutcome


def provision_tenants(dsn: str, tenants: Sequence[str]) -> list[TenantResult]:
    """tenancy.provision_tenants() over the tenants in chunks of tenancy.tenant_batch_size(),
    one transaction each; results in order, each change a TableResult (object, what was done).
    What all tenants share counts with the first tenant of the chunk that changed it. When a
    chunk fails, its tenants are provisioned one by one, so an error is that tenant's result."""
    with connect(dsn) as conn, typed_errors():
        size = fetch_value(conn, "SELECT tenancy.tenant_batch_size(1)")
    chunks = in_batches(tenants, int(size or 1))
    parts = for_each_tenant(dsn, chunks, _chunk, not_run=lambda chunk, why: [not_run(t, why) for t in chunk])
    return [r for part in parts for r in part]


def _chunk(conn: psycopg.Connection, chunk: list[str]) -> list[TenantResult]:
    started = time.monotonic()
    try:
        with typed_errors():
            rows = conn.execute(
                "SELECT coalesce(tenant_id, %s), object_type, object_name, action FROM tenancy.provision_tenants(%s)",
                (chunk[0], chunk),
            ).fetchall()
    except (TenancyError, psycopg.Error) as e:
        if conn.broken:
            return [failed_result(t, e, started) for t in chunk]
        return [_one(conn, t) for t in chunk]
    share = (time.monotonic() - started) / len(chunk)
    return [
        TenantResult(
            t,
            TenantOutcome.PROVISIONED,
            seconds=share,
            tables=[TableResult(f"{kind} {name}", action, 0, None) for tid, kind, name, action in rows if tid == t],
        )
        for t in chunk
    ]


def _one(conn: psycopg.Connection, tenant_id: str) -> TenantResult:
    """One tenant of a chunk that failed, on its own: its changes, or its own error."""
    started = time.monotonic()
    try:
        with typed_errors():
            rows = conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
    except (TenancyError, psycopg.Error) as e:
        return failed_result(tenant_id, e, started)
    return TenantResult(
        tenant_id,
        TenantOutcome.PROVISIONED,
        seconds=time.monotonic() - started,
        tables=[TableResult(f"{kind} {name}", action, 0, None) for kind, name, action in rows],
    )
