"""Validate migrated tenants row by row (tenancy.validate_tenants), in chunks.

The shared side (count and checksum of every tenant's shared rows) is read
once per run, one pass per shared table; the tenant tables are then read in
chunks of tenancy.tenant_batch_size(jobs) tenants, one transaction each, so
that a run over thousands of tenants fits the default lock table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from runner.db import connect, typed_errors
from runner.engine.executor import TenantResult, failed_result, for_each_tenant, in_batches, not_run
from runner.errors import TenancyError
from runner.states import TenantOutcome


def validate_tenants(dsn: str, tenants: Sequence[str], jobs: int = 1) -> list[TenantResult]:
    """tenancy.validate_tenants() over the tenants, in lock-table-sized chunks on `jobs` connections."""
    if not tenants:
        return []
    with connect(dsn) as conn, typed_errors():
        size_row = conn.execute("SELECT tenancy.tenant_batch_size(%s)", (jobs,)).fetchone()
        sums_row = conn.execute("SELECT tenancy.source_sums(%s)", (list(tenants),)).fetchone()
    sums: dict[str, Any] = sums_row[0] if sums_row else {}
    chunks = in_batches(tenants, int(size_row[0]) if size_row else 1, jobs)

    def one_chunk(conn: psycopg.Connection, chunk: list[str]) -> list[TenantResult]:
        started = time.monotonic()
        try:
            with typed_errors():
                cur = conn.execute(
                    "SELECT * FROM tenancy.validate_tenants(%s, %s)",
                    (chunk, Jsonb({t: sums.get(t, {}) for t in chunk})),
                )
                names = [d.name for d in cur.description or ()]
                rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except (TenancyError, psycopg.Error) as e:
            # One statement validates the chunk: its error is each of its tenants' result.
            return [failed_result(t, e, started) for t in chunk]
        share = (time.monotonic() - started) / max(len(chunk), 1)
        by_tenant: dict[str, list[dict[str, Any]]] = {t: [] for t in chunk}
        for r in rows:
            by_tenant[r["tenant_id"]].append(r)
        results = []
        for tenant_id in chunk:
            checks = by_tenant[tenant_id]
            # passed NULL: a check that does not apply yet (a syncing tenant's cutover checks).
            failed = [c for c in checks if c["passed"] is False]
            results.append(
                TenantResult(
                    tenant_id,
                    TenantOutcome.VALIDATED if not failed else TenantOutcome.INVALID,
                    seconds=share,
                    checks=checks,
                    error=f"{len(failed)} of {len(checks)} checks failed" if failed else None,
                )
            )
        return results

    def chunk_not_run(chunk: list[str], why: str) -> list[TenantResult]:
        return [not_run(t, why) for t in chunk]

    return [r for part in for_each_tenant(dsn, chunks, one_chunk, jobs, not_run=chunk_not_run) for r in part]
