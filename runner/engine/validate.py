"""Validate migrated tenants row by row (tenancy.validate_tenants), in chunks.

The shared side (count and checksum of every tenant's shared rows) is read
once per run, one pass per shared table; the tenant tables are then read in
chunks of tenancy.tenant_batch_size(jobs) tenants, one transaction each, so
that a run over thousands of tenants fits the default lock table.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from runner.db import connect, typed_errors
from runner.engine.executor import TenantResult, failed_result, for_each_tenant, in_batches, not_run
from runner.engine.rows import ValidationCheck, fetch_all, fetch_value
from runner.errors import TenancyError
from runner.resources import read_query
from runner.states import TenantOutcome


def validate_tenants(dsn: str, tenants: Sequence[str], jobs: int = 1) -> list[TenantResult]:
    """tenancy.validate_tenants() over the tenants, in lock-table-sized chunks on `jobs` connections."""
    if not tenants:
        return []
    with connect(dsn) as conn, typed_errors():
        size = fetch_value(conn, "SELECT tenancy.tenant_batch_size(%s)", (jobs,))
        sums: dict[str, Any] = fetch_value(conn, "SELECT tenancy.source_sums(%s)", (list(tenants),))
    chunks = in_batches(tenants, int(size) if size is not None else 1, jobs)

    def one_chunk(conn: psycopg.Connection, chunk: list[str]) -> list[TenantResult]:
        started = time.monotonic()
        try:
            with typed_errors():
                rows = fetch_all(
                    conn,
                    ValidationCheck,
                    read_query("queries/validate_tenants.sql"),
                    {"tenants": chunk, "sums": Jsonb({t: sums.get(t, {}) for t in chunk})},
                )
        except (TenancyError, psycopg.Error) as e:
            # One statement validates the chunk: its error is each of its tenants' result.
            return [failed_result(t, e, started) for t in chunk]
        share = (time.monotonic() - started) / max(len(chunk), 1)
        by_tenant: dict[str, list[ValidationCheck]] = {t: [] for t in chunk}
        for r in rows:
            by_tenant[r.tenant_id].append(r)
        results = []
        for tenant_id in chunk:
            checks = by_tenant[tenant_id]
            # passed NULL: a check that does not apply yet (a syncing tenant's cutover checks).
            failed = [c for c in checks if c.passed is False]
            results.append(
                TenantResult(
                    tenant_id,
                    TenantOutcome.VALIDATED if not failed else TenantOutcome.INVALID,
                    seconds=share,
                    checks=[dataclasses.asdict(c) for c in checks],
                    error=f"{len(failed)} of {len(checks)} checks failed" if failed else None,
                )
            )
        return results

    def chunk_not_run(chunk: list[str], why: str) -> list[TenantResult]:
        return [not_run(t, why) for t in chunk]

    return [r for part in for_each_tenant(dsn, chunks, one_chunk, jobs, not_run=chunk_not_run) for r in part]
