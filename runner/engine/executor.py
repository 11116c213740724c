"""The per-tenant executor and what it returns.

`for_each_tenant` runs work per tenant (or group of tenants) serially or on a
pool of connections; `TenantResult` is what every command reports per tenant.
"""

from __future__ import annotations

import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import psycopg
from psycopg import sql

from runner.db import ProgressEvent, open_session, typed_errors
from runner.engine.rows import CopiedTable, LockWait, fetch_all, fetch_value, fetch_values
from runner.errors import (
    DatabaseError,
    NotInstalled,
    ServerUnavailable,
    TenancyError,
    hint_for,
)
from runner.manifest import Manifest
from runner.resources import read_query
from runner.signals import Interrupt, received
from runner.states import TenantOutcome

T = TypeVar("T")
Item = TypeVar("Item")


class Progress(Protocol):
    """What the runner tells its display (runner.report implements it with rich)."""

    def start(self, tenant_id: str) -> None: ...
    def advance(self, event: ProgressEvent) -> None: ...
    def finish(self, result: TenantResult) -> None: ...


@dataclass
class TableResult:
    table_name: str
    state: str
    rows: int
    seconds: float | None


def table_result(row: CopiedTable) -> TableResult:
    """A table of a tenant as a row of the engine's functions (or the ledger) says it was copied."""
    seconds = float(row.seconds) if row.seconds is not None else None
    return TableResult(row.table_name, row.state, int(row.rows_copied), seconds)


def table_results(rows: Iterable[CopiedTable]) -> list[TableResult]:
    """The tables of a tenant as rows of the engine's functions (or the ledger) say they were copied."""
    return [table_result(r) for r in rows]


@dataclass
class TenantResult:
    tenant_id: str
    state: TenantOutcome
    rows: int = 0
    seconds: float = 0.0
    tables: list[TableResult] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    detail: str | None = None
    sqlstate: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One vocabulary: a word that is no TenantOutcome is refused here (ValueError).
        self.state = TenantOutcome(self.state)

    @property
    def ok(self) -> bool:
        return self.state.ok

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.seconds > 0 and self.rows else None


_DIGITS = re.compile(r"(\d+)")


def natural_key(tenant_id: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders the digit runs of ids as numbers: 1, 2, 10, 11, a2, a10."""
    return tuple((0, int(part), part) if part.isdigit() else (1, 0, part) for part in _DIGITS.split(tenant_id) if part)


def natural_order(tenant_ids: Iterable[str]) -> list[str]:
    """Tenant ids in the order people expect (1, 2, 10), every listing uses it."""
    return sorted(tenant_ids, key=natural_key)


def registry_tenants(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """Every tenant id of the registry, in natural order (1, 2, 10)."""
    reg = manifest.registry
    q = sql.SQL("SELECT {id}::text FROM {schema}.{table} ORDER BY 1").format(
        id=sql.Identifier(reg.id_column),
        schema=sql.Identifier(manifest.central_schema),
        table=sql.Identifier(reg.table),
    )
    return natural_order(fetch_values(conn, q))


def require_installed(conn: psycopg.Connection) -> None:
    """NotInstalled (TY005) when schema tenancy is missing or incomplete."""
    if fetch_value(conn, "SELECT to_regnamespace('tenancy')") is None:
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


def failed_result(tenant_id: str, exc: BaseException, started: float) -> TenantResult:
    """Any error that stopped one tenant's work, as that tenant's result: SQLSTATE, message,
    hint. TenantOutcome.INTERRUPTED when a stop signal cancelled it, else FAILED."""
    if isinstance(exc, TenancyError):
        message, hint, detail = str(exc), exc.hint, exc.detail
        sqlstate = exc.sqlstate if isinstance(exc, DatabaseError) else None
    elif isinstance(exc, psycopg.Error):
        diag = exc.diag
        message = diag.message_primary or str(exc).strip() or type(exc).__name__
        # A connection that broke without a word from the server: connection_failure.
        sqlstate = exc.sqlstate or ("08006" if isinstance(exc, psycopg.OperationalError) else None)
        hint = diag.message_hint or hint_for(sqlstate)
        detail = diag.message_detail
    else:
        message, sqlstate, hint, detail = f"{type(exc).__name__}: {exc}", None, hint_for(None), None
    signum = received()
    if signum is not None:
        message = f"stopped by {signal.Signals(signum).name}: {message}"
    return TenantResult(
        tenant_id,
        TenantOutcome.FAILED if signum is None else TenantOutcome.INTERRUPTED,
        seconds=time.monotonic() - started,
        error=message,
        hint=hint,
        detail=detail,
        sqlstate=sqlstate,
    )


def record_failure(conn: psycopg.Connection, tenant_id: str, result: TenantResult) -> None:
    """Note the failure in the ledger, on this session if it survived. A session that
    died took its locks and its transaction with it; the ledger keeps the last state."""
    if conn.closed or conn.broken:
        return
    try:
        # A batched run holds the tenant's lock for the session; an error left it held.
        conn.execute("SELECT pg_advisory_unlock_all()")
        message = f"{result.sqlstate}: {result.error}" if result.sqlstate else str(result.error)
        conn.execute("SELECT tenancy.record_failure(%s, %s)", (tenant_id, message))
    except psycopg.Error:
        return  # the result already says what went wrong; the ledger is best effort here


def tenant_failed(
    conn: psycopg.Connection,
    tenant_id: str,
    exc: BaseException,
    started: float,
    *,
    rollback: bool = False,
    remains: str | None = None,
    progress: Progress | None = None,
) -> TenantResult:
    """An error that stopped one tenant's migration or cutover as its result (failed_result),
    noted in the ledger when this session still can (record_failure, which also releases
    the tenant's locks; tenancy.record_failure keeps a syncing tenant syncing); the run goes
    on with the other tenants.

    rollback: first roll back the transaction the error left open on this session;
    remains: what is left of the tenant's work (what a re-run does), added to the detail;
    progress: told that the tenant finished."""
    idle = psycopg.pq.TransactionStatus.IDLE
    if rollback and not (conn.closed or conn.broken) and conn.info.transaction_status != idle:
        conn.rollback()
    result = failed_result(tenant_id, exc, started)
    if remains:
        result.detail = "\n".join(filter(None, [result.detail, remains]))
    record_failure(conn, tenant_id, result)
    if progress:
        progress.finish(result)
    return result


def session_lost(sqlstate: str | None) -> bool:
    """The error ended the session itself: terminated backend, server restart, lost connection."""
    return sqlstate is not None and (sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03"))


def not_run(tenant_id: str, why: str) -> TenantResult:
    """A tenant the run never started (it was stopped, or the server went away)."""
    return TenantResult(tenant_id, TenantOutcome.NOT_RUN, error=why, hint="Re-run the command for the tenants not run.")


@dataclass
class _Worker:
    """One worker thread's session, and what it is doing now (read by the lock watcher)."""

    conn: psycopg.Connection | None = None
    item: Any = None


class _Run(Generic[Item, T]):
    """One run of for_each_tenant: workers, the stop flag, and the lock-wait watcher."""

    def __init__(
        self, dsn: str, work: Callable[[psycopg.Connection, Item], T], size: int, fresh_sessions: bool = False
    ) -> None:
        self.dsn = dsn
        self.work = work
        self.fresh_sessions = fresh_sessions
        self.workers = [_Worker() for _ in range(size)]
        self.stopping = threading.Event()
        self.server_lost: ServerUnavailable | None = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.running = size
        # The main thread waits on this, not on Thread.join(): a signal that
        # interrupts join() can leave a running thread marked as finished.
        self.finished = threading.Event()

    def serve(self, worker: _Worker, todo: queue.SimpleQueue[tuple[int, Item]], done: dict[int, T]) -> None:
        try:
            self._serve(worker, todo, done)
        finally:
            with self.lock:
                self.running -= 1
                if self.running == 0:
                    self.finished.set()

    def _serve(self, worker: _Worker, todo: queue.SimpleQueue[tuple[int, Item]], done: dict[int, T]) -> None:
        while not self.stopping.is_set():
            try:
                index, item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if worker.conn is not None and self.fresh_sessions:
                    worker.conn.close()
                if worker.conn is None or worker.conn.closed or worker.conn.broken:
                    # No session yet, the last tenant's died with it, or each item
                    # takes a new one: one new one; if that fails, the server is
                    # gone and the run stops.
                    worker.conn = open_session(self.dsn)
                worker.item = item
                done[index] = self.work(worker.conn, item)
            except ServerUnavailable as e:
                self.server_lost = e
                self.stopping.set()
                return
            except BaseException as e:  # handed to the main thread, which raises it
                # Work reports its tenants' errors as results; anything else ends the run.
                self.error = e
                self.stopping.set()
                return
            finally:
                worker.item = None

    def execute(
        self, tenants: Sequence[Item], on_wait: Callable[[str], None], watch_interval: float
    ) -> tuple[dict[int, T], Interrupt | None]:
        """Work through `tenants` on the worker threads, with the lock watcher beside them,
        until every worker has returned; a stop signal cancels the work in flight first.
        Every session is closed on the way out. Returns the results by position in
        `tenants`, and the Interrupt that stopped the run, if one did."""
        todo: queue.SimpleQueue[tuple[int, Item]] = queue.SimpleQueue()
        for pair in enumerate(tenants):
            todo.put(pair)
        done: dict[int, T] = {}
        threads = [
            threading.Thread(target=self.serve, args=(w, todo, done), name=f"tenancy-{i}", daemon=True)
            for i, w in enumerate(self.workers)
        ]
        watcher = threading.Thread(target=self.watch, args=(on_wait, watch_interval), name="tenancy-locks", daemon=True)
        interrupt: Interrupt | None = None
        try:
            for t in threads:
                t.start()
            watcher.start()
            try:
                while not self.finished.wait(0.2):
                    pass
            except Interrupt as e:
                interrupt = e
                self.cancel()
                self.finished.wait()
        finally:
            self.stopping.set()
            for w in self.workers:
                if w.conn is not None:
                    w.conn.close()
        return done, interrupt

    def cancel(self) -> None:
        """Stop: no new tenant starts, and the statements in flight are cancelled."""
        self.stopping.set()
        for w in self.workers:
            if w.conn is not None and w.item is not None and not w.conn.closed:
                w.conn.cancel_safe(timeout=5)

    def watch(self, on_wait: Callable[[str], None], interval: float) -> None:
        """Report each lock a worker waits for, and who holds it, once per wait."""
        seen: set[tuple[int, str]] = set()
        conn: psycopg.Connection | None = None
        try:
            while not self.stopping.wait(interval):
                busy = {w.conn.info.backend_pid: w.item for w in self.workers if w.conn and w.item is not None}
                if not busy:
                    continue
                if conn is None:
                    conn = open_session(self.dsn)
                waits = fetch_all(conn, LockWait, read_query("queries/executor_lock_waits.sql"), {"pids": list(busy)})
                for w in waits:
                    if (w.pid, w.target) in seen:
                        continue
                    seen.add((w.pid, w.target))
                    item = busy.get(w.pid)
                    if isinstance(item, (list, tuple)):  # a batch of tenants
                        item = ", ".join(str(i) for i in item)
                    who = ", ".join(str(h) for h in w.held_by) or "unknown"
                    on_wait(f"[{item}] waiting for lock on {w.target} ({w.mode}) held by pid {who}")
        except (psycopg.Error, TenancyError):
            return  # the watcher only informs; the workers report their own errors
        finally:
            if conn is not None:
                conn.close()


def in_batches(items: Sequence[Item], size: int, jobs: int = 1) -> list[list[Item]]:
    """Consecutive batches of at most `size` items, as even as they can be, and as many as
    a multiple of `jobs` where there are enough items: each of the `jobs` sessions then
    gets the same share of the work to the end, instead of one finishing a batch alone."""
    if not items:
        return []
    size, jobs = max(size, 1), max(jobs, 1)
    count = min(len(items), jobs * -(-len(items) // (jobs * size)))
    each = -(-len(items) // count)
    return [list(items[i : i + each]) for i in range(0, len(items), each)]


def _print_wait(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _collect(
    run: _Run[Item, T],
    tenants: Sequence[Item],
    done: dict[int, T],
    interrupt: Interrupt | None,
    not_run: Callable[[Item, str], T] | None,
) -> list[T]:
    """The results of a finished run in the order of `tenants`: a worker's unexpected error
    is raised; tenants not started get `not_run(tenant, why)`, or without it the Interrupt
    or ServerUnavailable that stopped the run is raised."""
    if run.error is not None:
        raise run.error
    why = (
        f"not started: stopped by {interrupt}"
        if interrupt
        else f"not started: {run.server_lost}"
        if run.server_lost
        else ""
    )
    if len(done) < len(tenants):
        if not_run is None:
            if interrupt:
                raise interrupt
            raise ServerUnavailable(f"the run stopped: {run.server_lost}") from run.server_lost
        return [done[i] if i in done else not_run(item, why) for i, item in enumerate(tenants)]
    return [done[i] for i in range(len(tenants))]


def for_each_tenant(
    dsn: str,
    tenants: Sequence[Item],
    work: Callable[[psycopg.Connection, Item], T],
    jobs: int = 1,
    *,
    not_run: Callable[[Item, str], T] | None = None,
    on_wait: Callable[[str], None] = _print_wait,
    watch_interval: float = 1.0,
    fresh_sessions: bool = False,
) -> list[T]:
    """The executors: `work(conn, tenant)` for each tenant (or group of tenants) on `jobs`
    worker threads (serial for jobs == 1), each with its own session, reused from one
    tenant to the next (a new session per tenant would compile every function again),
    or with `fresh_sessions` a new session for each item (each batch of a migration:
    see runner/engine/migrate.py). Results keep the order of `tenants`. `work` turns
    errors of its tenant into results.

    The run stops early on a stop signal (the statements in flight are cancelled;
    `work` reports those tenants) or when the server goes away (no retry loop):
    tenants not started then get `not_run(tenant, why)`; without `not_run`, the
    Interrupt or ServerUnavailable is raised. A lock a worker waits for is
    reported through `on_wait` with the pid holding it.
    """
    size = max(1, min(jobs, len(tenants)))
    run: _Run[Item, T] = _Run(dsn, work, size, fresh_sessions)
    done, interrupt = run.execute(tenants, on_wait, watch_interval)
    return _collect(run, tenants, done, interrupt, not_run)
