"""Connections: where the database is, progress NOTICEs, and typed errors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from runner.errors import ConnectionConfigError, ServerUnavailable, from_psycopg

ProgressEvent = dict[str, Any]


def resolve_dsn(dsn: str | None) -> str:
    """--dsn, else DATABASE_URL; otherwise a clear error."""
    value = dsn or os.environ.get("DATABASE_URL")
    if not value:
        raise ConnectionConfigError(
            "no database given",
            hint="Pass --dsn 'postgresql://…' or set DATABASE_URL; `tenancy demo` starts an embedded PostgreSQL.",
        )
    return value


# A dead server is reported in seconds, not after the operating system's timeout.
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "application_name": "tenancy", "connect_timeout": 5}

DEFAULT_LOCK_TIMEOUT = 5.0
_session = {"lock_timeout": DEFAULT_LOCK_TIMEOUT}


def set_lock_timeout(seconds: float) -> None:
    """How long any statement of this process waits for a lock before its tenant fails (55P03).

    Set once by the CLI (--lock-timeout); applies to every session opened after.
    """
    if seconds <= 0:
        raise ValueError(f"lock timeout must be positive, not {seconds}")
    _session["lock_timeout"] = seconds


def configure(conn: psycopg.Connection) -> None:
    """Session settings of every runner connection."""
    # If this process dies, the server stops the work within a second instead
    # of running on without anyone to report to (the ledger resumes it).
    conn.execute("SET client_connection_check_interval = '1s'")
    # Never wait silently behind another session: a lock not granted in time
    # fails the statement (and its tenant), and the executor reports the wait.
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{round(_session['lock_timeout'] * 1000)}ms",))


def connect(dsn: str) -> psycopg.Connection:
    """An autocommit connection, configured; a clear error when the server is unreachable."""
    try:
        conn = psycopg.connect(dsn, **CONNECTION_KWARGS)
    except psycopg.OperationalError as e:
        raise ConnectionConfigError(
            f"cannot connect to the database: {str(e).strip()}",
            hint="Check --dsn / DATABASE_URL, and that the server is running.",
        ) from None
    configure(conn)
    return conn


def open_session(dsn: str) -> psycopg.Connection:
    """A worker's session in the middle of a run: ServerUnavailable (no retry loop) when it fails."""
    try:
        conn = psycopg.connect(dsn, **CONNECTION_KWARGS)
        configure(conn)
    except psycopg.OperationalError as e:
        raise ServerUnavailable(f"cannot reach the database: {str(e).strip()}") from e
    return conn


@contextmanager
def progress_notices(conn: psycopg.Connection, on_progress: Callable[[ProgressEvent], None] | None) -> Iterator[None]:
    """While inside, the progress NOTICEs of the SQL functions on conn go to on_progress."""
    if on_progress is None:
        yield
        return

    def handler(diag: psycopg.errors.Diagnostic) -> None:
        _dispatch(diag, on_progress)

    conn.add_notice_handler(handler)
    try:
        yield
    finally:
        conn.remove_notice_handler(handler)


def _dispatch(diag: psycopg.errors.Diagnostic, on_progress: Callable[[ProgressEvent], None]) -> None:
    message = diag.message_primary or ""
    if not message.startswith("tenancy: ") or not diag.message_detail:
        return
    try:
        event = json.loads(diag.message_detail)
    except ValueError:
        return
    if isinstance(event, dict):
        on_progress(event)


@contextmanager
def typed_errors() -> Iterator[None]:
    """Re-raise the project's SQLSTATEs as typed errors; others pass unchanged."""
    try:
        yield
    except psycopg.Error as e:
        mapped = from_psycopg(e)
        if mapped is e:
            raise
        raise mapped from e
