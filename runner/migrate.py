"""Run the SQL functions per tenant: serially or in parallel on a connection pool.

No row passes through Python: each tenant is one call of
tenancy.migrate_tenant() (or CALL tenancy.migrate_tenant_batched()), and what
comes back is the ledger's rows and the functions' progress NOTICEs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from runner.db import (
    CONNECTION_KWARGS,
    ProgressEvent,
    configure,
    connect,
    progress_notices,
    typed_errors,
)
from runner.errors import NotInstalled, PreflightFailed, TenancyError
from runner.manifest import Manifest


class Progress(Protocol):
    """What the runner tells its display (runner.report implements it with rich)."""

    def start(self, tenant_id: str, total_rows: int) -> None: ...
    def advance(self, event: ProgressEvent) -> None: ...
    def finish(self, result: TenantResult) -> None: ...


@dataclass
class TableResult:
    table_name: str
    state: str
    rows: int
    seconds: float | None


@dataclass
class TenantResult:
    tenant_id: str
    state: str  # migrated | skipped | failed | validated | invalid | rolled back
    rows: int = 0
    seconds: float = 0.0
    tables: list[TableResult] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    detail: str | None = None
    sqlstate: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("migrated", "skipped", "validated", "rolled back", "planned")

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.seconds > 0 and self.rows else None


def registry_tenants(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """Every tenant id of the registry, in id order."""
    reg = manifest.registry
    q = sql.SQL("SELECT {id}::text FROM {schema}.{table} ORDER BY 1").format(
        id=sql.Identifier(reg.id_column),
        schema=sql.Identifier(manifest.central_schema),
        table=sql.Identifier(reg.table),
    )
    return [r[0] for r in conn.execute(q).fetchall()]


def require_installed(conn: psycopg.Connection) -> None:
    """NotInstalled (TY005) when schema tenancy is missing or incomplete."""
    if conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,):
        raise NotInstalled("tenancy is not installed in this database", hint="Run `tenancy install` first.")
    with typed_errors():
        conn.execute("SELECT tenancy.require_installed()")


def select_tenants(conn: psycopg.Connection, manifest: Manifest, requested: Sequence[str] | None) -> list[str]:
    """The tenants to work on: the requested ones (each checked first) or the whole registry."""
    for t in requested or ():
        manifest.schema_for(t)  # refuses hostile ids before they reach any SQL
    require_installed(conn)
    if not requested:
        return registry_tenants(conn, manifest)
    with typed_errors():
        for t in requested:
            conn.execute("SELECT tenancy.require_tenant(%s)", (t,))
    return list(dict.fromkeys(requested))


def global_preflight(conn: psycopg.Connection) -> None:
    """Problems that concern every tenant stop the whole run before any write."""
    with typed_errors():
        rows = conn.execute("SELECT * FROM tenancy.preflight()").fetchall()
    if rows:
        lines = [f"{r[0]}: {r[1]}" + (f", {r[2]} rows" if r[2] is not None else "") + f" ({r[3]})" for r in rows]
        raise PreflightFailed(
            f"preflight failed for every tenant: {len(rows)} problem(s), nothing was changed",
            detail="\n".join(lines),
            hint=rows[0][4],
        )


def _migrate_one(
    conn: psycopg.Connection,
    tenant_id: str,
    sums: dict[str, Any],
    batch_size: int | None,
    progress: Progress | None,
) -> TenantResult:
    """One tenant; sums is its shared side ({"table": [rows, checksum]}) for the validation."""
    started = time.monotonic()
    with progress_notices(conn, progress.advance if progress else None):
        try:
            with typed_errors():
                if progress:
                    progress.start(tenant_id, sum(int(v[0]) for v in sums.values()))
                if batch_size:
                    conn.execute(
                        "CALL tenancy.migrate_tenant_batched(%s, %s, %s)", (tenant_id, batch_size, Jsonb(sums))
                    )
                    rows = conn.execute(
                        "SELECT l.table_name, l.state, l.rows_copied, l.copy_seconds, 'migrated' "
                        "FROM tenancy.ledger AS l JOIN tenancy.moved_tables AS m USING (table_name) "
                        "WHERE l.tenant_id = %s ORDER BY m.position",
                        (tenant_id,),
                    ).fetchall()
                else:
                    rows = conn.execute(
                        "SELECT table_name, state, rows_copied, seconds, action FROM tenancy.migrate_tenant(%s, %s)",
                        (tenant_id, Jsonb(sums)),
                    ).fetchall()
        except TenancyError as e:
            if batch_size:
                conn.execute("SELECT pg_advisory_unlock_all()")
            conn.execute("SELECT tenancy.record_failure(%s, %s)", (tenant_id, str(e)))
            result = TenantResult(
                tenant_id,
                "failed",
                seconds=time.monotonic() - started,
                error=str(e),
                hint=e.hint,
                detail=e.detail,
                sqlstate=getattr(e, "sqlstate", None),
            )
            if progress:
                progress.finish(result)
            return result
    tables = [TableResult(r[0], r[1], int(r[2]), float(r[3]) if r[3] is not None else None) for r in rows]
    state = "skipped" if rows and all(r[4] == "skipped" for r in rows) else "migrated"
    result = TenantResult(
        tenant_id,
        state,
        rows=sum(t.rows for t in tables),
        seconds=time.monotonic() - started,
        tables=tables,
    )
    if progress:
        progress.finish(result)
    return result


T = TypeVar("T")
Item = TypeVar("Item")


def for_each_tenant(
    dsn: str, tenants: Sequence[Item], work: Callable[[psycopg.Connection, Item], T], jobs: int = 1
) -> list[T]:
    """The executors: `work(conn, tenant)` for each tenant (or group of tenants), serially
    for jobs == 1, otherwise on `jobs` threads. Connections come from a pool and are reused
    from one tenant to the next (a new session per tenant would compile every function
    again). Results keep the order of `tenants`.
    """
    size = max(1, min(jobs, len(tenants)))
    with ConnectionPool(
        dsn, min_size=size, max_size=size, kwargs=CONNECTION_KWARGS, configure=configure, name="tenancy"
    ) as pool:

        def run(item: Item) -> T:
            with pool.connection() as conn:
                return work(conn, item)

        if size == 1:
            return [run(t) for t in tenants]
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix="tenancy") as threads:
            return list(threads.map(run, tenants))


def migrate_tenants(
    dsn: str,
    tenants: Sequence[str],
    *,
    batch_size: int | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> list[TenantResult]:
    """Migrate each tenant on `jobs` connections; one failing tenant is reported and the others go on."""
    with connect(dsn) as conn:
        global_preflight(conn)
        # What all tenants share, once per run and in its own short transaction,
        # so tenants migrated in parallel never wait on its lock.
        with typed_errors():
            conn.execute("SELECT * FROM tenancy.provision_shared_privileges()").fetchall()
            # The shared side of every tenant's validation, one pass per shared table.
            row = conn.execute("SELECT tenancy.source_sums(%s)", (list(tenants),)).fetchone()
    sums: dict[str, dict[str, Any]] = row[0] if row else {}
    return for_each_tenant(
        dsn, tenants, lambda conn, t: _migrate_one(conn, t, sums.get(t, {}), batch_size, progress), jobs
    )


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


def plan_tenants(dsn: str, tenants: Sequence[str]) -> list[TenantResult]:
    """The dry run: preflight problems and per-table rows and DDL; changes nothing."""
    results = []
    with connect(dsn) as conn, typed_errors():
        global_rows = conn.execute("SELECT * FROM tenancy.preflight()").fetchall()
        for t in tenants:
            problems = conn.execute(
                "SELECT table_name, check_name, problem_rows, detail, hint FROM tenancy.preflight_tenant(%s)", (t,)
            ).fetchall()
            plan = conn.execute(
                "SELECT table_name, state, rows_to_move, ddl FROM tenancy.plan_tenant(%s)", (t,)
            ).fetchall()
            checks = [
                {"table_name": p[0], "check_name": p[1], "problem_rows": p[2], "detail": p[3], "hint": p[4]}
                for p in [*global_rows, *problems]
            ]
            results.append(
                TenantResult(
                    t,
                    "planned" if not checks else "failed",
                    rows=sum(int(p[2]) for p in plan),
                    tables=[TableResult(p[0], p[1], int(p[2]), None) for p in plan],
                    checks=checks + [{"table_name": p[0], "ddl": p[3]} for p in plan],
                    error=f"{len(checks)} preflight problem(s)" if checks else None,
                )
            )
    return results


def rollback_tenant(dsn: str, tenant_id: str) -> TenantResult:
    with connect(dsn) as conn, typed_errors():
        rows = conn.execute("SELECT table_name, action FROM tenancy.rollback_tenant(%s)", (tenant_id,)).fetchall()
    return TenantResult(tenant_id, "rolled back", tables=[TableResult(r[0], r[1], 0, None) for r in rows])
