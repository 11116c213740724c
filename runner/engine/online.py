"""Online mode: capture → copy from one snapshot → replay; cutover; contract.

Each step is a call of the SQL engine (docs/online.md walks the same calls in
psql). Per tenant, migrate_online holds the tenant's lock for the session
across the steps, so that a second runner is refused (TY004) in between:
1. CALL tenancy.start_capture(): tables created, capture on, older writers awaited;
2. tenancy.copy_tenant_snapshot() in one REPEATABLE READ transaction: every
   table copied from one snapshot and proved against it (the "copy" step: a
   copy engine that fills the same tables from the same snapshot fits here);
3. tenancy.replay_tenant() in REPEATABLE READ transactions until the backlog
   is small. The tenant is then `syncing` until `tenancy cutover`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from runner.db import connect, progress_notices, typed_errors
from runner.engine.executor import (
    Progress,
    TableResult,
    TenantResult,
    for_each_tenant,
    table_results,
    tenant_failed,
)
from runner.engine.migrate import global_preflight, provision_first
from runner.engine.rows import (
    CutoverRow,
    TableAction,
    TableRow,
    fetch_all,
    fetch_value,
    fetch_values,
)
from runner.errors import TenancyError
from runner.resources import read_query
from runner.states import TenantOutcome, TenantState

# Replay stops once a round applies fewer entries than this: the rest is
# drained under the fence at cutover, where it is cheap.
REPLAY_BATCH = 10_000
SMALL_BACKLOG = 100


def replay(conn: psycopg.Connection, tenant_id: str, *, until: int = SMALL_BACKLOG) -> int:
    """Replay rounds (each one REPEATABLE READ transaction) until one applies fewer than `until`."""
    total = 0
    while True:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            applied_now = fetch_value(
                conn, read_query("queries/online_replay_tenant.sql"), {"tenant": tenant_id, "max_changes": REPLAY_BATCH}
            )
        applied = int(applied_now) if applied_now is not None else 0
        total += applied
        if applied < until:
            return total


def _tenant_state(conn: psycopg.Connection, tenant_id: str) -> str | None:
    """The tenant's state in the ledger; None when the ledger does not know it."""
    state: str | None = fetch_value(conn, read_query("queries/online_tenant_state.sql"), {"tenant": tenant_id})
    return state


def _migrate_one_online(conn: psycopg.Connection, tenant_id: str, progress: Progress | None) -> TenantResult:
    started = time.monotonic()
    with progress_notices(conn, progress.advance if progress else None):
        try:
            with typed_errors():
                if progress:
                    progress.start(tenant_id)
                provision_first(conn, [tenant_id])
                conn.execute("SELECT tenancy.lock_tenant(%s, true)", (tenant_id,))
                conn.execute("CALL tenancy.start_capture(%s)", (tenant_id,))
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    rows = fetch_all(
                        conn, TableRow, read_query("queries/online_copy_tenant_snapshot.sql"), {"tenant": tenant_id}
                    )
                state = _tenant_state(conn, tenant_id)
                if state == TenantState.SYNCING:
                    replay(conn, tenant_id)
                conn.execute("SELECT tenancy.unlock_tenant(%s)", (tenant_id,))
        except (TenancyError, psycopg.Error) as e:
            return tenant_failed(conn, tenant_id, e, started, rollback=True, progress=progress)
    tables = table_results(rows)
    copied = any(r.action == "copied" for r in rows)
    result = TenantResult(
        tenant_id,
        TenantOutcome.SYNCING if copied or state is None or state == TenantState.SYNCING else TenantOutcome.SKIPPED,
        # The rows copied by this run: a re-run over a syncing tenant copies none.
        rows=sum(t.rows for t, r in zip(tables, rows, strict=True) if r.action == "copied"),
        seconds=time.monotonic() - started,
        tables=tables,
    )
    if progress:
        progress.finish(result)
    return result


def migrate_online(
    dsn: str, tenants: Sequence[str], *, jobs: int = 1, progress: Progress | None = None
) -> list[TenantResult]:
    """Capture, copy from one snapshot and replay each tenant; they end `syncing`.
    Tenants already cut over (or contracted) are skipped without touching the shared tables."""
    with connect(dsn) as conn, typed_errors():
        done = set(fetch_values(conn, read_query("queries/online_cut_over_tenants.sql"), {"tenants": list(tenants)}))
        if len(done) < len(set(tenants)):
            global_preflight(conn)
            conn.execute("SELECT * FROM tenancy.provision_shared_privileges_unless_busy()").fetchall()
            # The guard of the shared tables (TY050 for cut-over tenants' rows) goes on now,
            # in a short transaction of its own, never under a cutover's fence.
            guard_shared_tables(conn)
    pending = [t for t in tenants if t not in done]
    results = {
        r.tenant_id: r for r in for_each_tenant(dsn, pending, lambda c, t: _migrate_one_online(c, t, progress), jobs)
    }
    return [results.get(t) or TenantResult(t, TenantOutcome.SKIPPED) for t in tenants]


def guard_shared_tables(conn: psycopg.Connection) -> None:
    """tenancy.guard_shared_tables() under the session's lock_timeout: a no-op once the guard is on."""
    conn.execute("SELECT * FROM tenancy.guard_shared_tables()").fetchall()


def _cutover_one(conn: psycopg.Connection, tenant_id: str, lock_timeout: str) -> TenantResult:
    started = time.monotonic()
    try:
        with typed_errors():
            if _tenant_state(conn, tenant_id) == TenantState.SYNCING:
                # Shrink the backlog outside the fence, so the fence stays short.
                conn.execute("SELECT tenancy.lock_tenant(%s, true)", (tenant_id,))
                replay(conn, tenant_id)
                conn.execute("SELECT tenancy.unlock_tenant(%s)", (tenant_id,))
            rows = fetch_all(
                conn,
                CutoverRow,
                read_query("queries/online_cutover_tenant.sql"),
                {"tenant": tenant_id, "lock_timeout": lock_timeout},
            )
    except (TenancyError, psycopg.Error) as e:
        return tenant_failed(conn, tenant_id, e, started, rollback=True)
    summary = next((r for r in rows if r.table_name is None), None)
    tables = [
        TableResult(r.table_name, r.action or TenantOutcome.CUT_OVER, int(r.row_count or 0), None)
        for r in rows
        if r.table_name is not None
    ]
    return TenantResult(
        tenant_id,
        TenantOutcome.CUT_OVER if summary else TenantOutcome.SKIPPED,
        rows=sum(t.rows for t in tables),
        seconds=time.monotonic() - started,
        tables=tables,
        checks=[
            {
                "fence_ms": float(summary.fence_ms) if summary else None,
                "replayed_under_fence": int(summary.replayed) if summary else 0,
            }
        ],
    )


def cutover_tenants(dsn: str, tenants: Sequence[str], *, jobs: int = 1, lock_timeout: str = "5s") -> list[TenantResult]:
    """Fence, drain, validate and cut over each tenant. The guard of the shared tables
    (TY050 for a cut-over tenant's rows) goes on first, in a short transaction of its own."""
    with connect(dsn) as conn, typed_errors():
        guard_shared_tables(conn)
    return for_each_tenant(dsn, tenants, lambda conn, t: _cutover_one(conn, t, lock_timeout), jobs)


def contract(dsn: str, archive: str | None) -> list[TableResult]:
    """Drop (or archive) the shared moved tables once every tenant is cut over."""
    with connect(dsn) as conn, typed_errors():
        rows = fetch_all(conn, TableAction, read_query("queries/online_contract.sql"), {"archive": archive})
    return [TableResult(r.table_name, r.action, 0, None) for r in rows]
