"""The per-tenant executor and what it returns.

`for_each_tenant` runs work per tenant (or group of tenants) serially or on a
pool of connections; `TenantResult` is what every command reports per tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from runner.db import CONNECTION_KWARGS, ProgressEvent, configure, typed_errors
from runner.errors import NotInstalled
from runner.manifest import Manifest

T = TypeVar("T")
Item = TypeVar("Item")


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
    state: str  # migrated | syncing | cut over | skipped | failed | validated | invalid | rolled back
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
        return self.state in ("migrated", "syncing", "cut over", "skipped", "validated", "rolled back", "planned")

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

