"""Validate migrated tenants row by row (tenancy.validate_tenants), in chunks per job."""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from runner.db import typed_errors
from runner.engine.executor import TenantResult, for_each_tenant


def validate_tenants(dsn: str, tenants: Sequence[str], jobs: int = 1) -> list[TenantResult]:
    """tenancy.validate_tenants() over the tenants, split into one chunk per job.

    Each chunk reads every shared table once for all of its tenants.
    """
    chunks = [list(tenants[i::jobs]) for i in range(max(1, min(jobs, len(tenants))))]

    def one_chunk(conn: psycopg.Connection, chunk: list[str]) -> list[TenantResult]:
        started = time.monotonic()
        with typed_errors():
            cur = conn.execute("SELECT * FROM tenancy.validate_tenants(%s)", (chunk,))
            names = [d.name for d in cur.description or ()]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        share = (time.monotonic() - started) / max(len(chunk), 1)
        results = []
        for tenant_id in chunk:
            checks = [r for r in rows if r["tenant_id"] == tenant_id]
            failed = [c for c in checks if not c["passed"]]
            results.append(
                TenantResult(
                    tenant_id,
                    "validated" if not failed else "invalid",
                    seconds=share,
                    checks=checks,
                    error=f"{len(failed)} of {len(checks)} checks failed" if failed else None,
                )
            )
        return results

    by_tenant = {r.tenant_id: r for part in for_each_tenant(dsn, chunks, one_chunk, jobs) for r in part}
    return [by_tenant[t] for t in tenants]

