"""Connections: where the database is, progress NOTICEs, and typed errors."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from runner.errors import ConnectionConfigError, ServerUnavailable, from_psycopg
from runner.names import APPLICATION_NAME

ProgressEvent = dict[str, Any]


# libpq's environment that says which server and database (https://www.postgresql.org/docs/
# current/libpq-envars.html): what an empty connection string connects to, with the service
# file and ~/.pgpass, and what a failure reports as tried.
LIBPQ_ENVIRONMENT = ("PGSERVICE", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def resolve_dsn(dsn: str | None) -> str:
    """--dsn, else DATABASE_URL, else "" (libpq then reads PGHOST, PGPORT, PGUSER,
    PGDATABASE, PGSERVICE, the service file and .pgpass, as psql does). A string
    that is not a PostgreSQL connection string is refused here, before any work."""
    value = dsn or os.environ.get("DATABASE_URL") or ""
    if value:
        where = "--dsn" if dsn else "DATABASE_URL"
        scheme = _URL_SCHEME.match(value)
        if scheme and scheme.group(1).lower() not in ("postgresql", "postgres"):
            raise ConnectionConfigError(
                f"{where} is a {scheme.group(1)}:// URL, not a PostgreSQL one",
                hint="Give a postgresql://user@host:port/dbname URL or key=value pairs (host=… dbname=…).",
            )
        try:
            conninfo_to_dict(value)
        except psycopg.ProgrammingError as e:
            raise ConnectionConfigError(
                f"{where} is not a PostgreSQL connection string: {str(e).strip()}",
                hint="Give a postgresql://user@host:port/dbname URL or key=value pairs (host=… dbname=…).",
            ) from None
    return value


def database_given(dsn: str | None) -> bool:
    """Whether a database was named at all: --dsn, DATABASE_URL or one of libpq's variables
    (the demo and benchmarks start an embedded server otherwise)."""
    return bool(dsn or os.environ.get("DATABASE_URL") or any(os.environ.get(k) for k in LIBPQ_ENVIRONMENT))


def describe_source(dsn: str) -> str:
    """Where the connection settings came from, for an error message (never the password)."""
    if not dsn:
        given = [f"{k}={os.environ[k]}" for k in LIBPQ_ENVIRONMENT if os.environ.get(k)]
        return "libpq's environment: " + (", ".join(given) if given else "no PG* variable set, so libpq's defaults")
    source = "DATABASE_URL" if dsn == os.environ.get("DATABASE_URL") else "--dsn"
    params = conninfo_to_dict(dsn)
    shown = ", ".join(
        f"{k}={params[k]}" for k in ("service", "host", "hostaddr", "port", "dbname", "user") if k in params
    )
    return f"{source}" + (f" ({shown}; the rest from libpq's environment and defaults)" if shown else "")


# A dead server is reported in seconds, not after the operating system's timeout.
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "application_name": APPLICATION_NAME, "connect_timeout": 5}

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
    """An autocommit connection, configured; a clear error, saying what was tried, when
    the server cannot be reached."""
    try:
        conn = psycopg.connect(dsn, **CONNECTION_KWARGS)
    except psycopg.OperationalError as e:
        raise ConnectionConfigError(
            f"cannot connect to the database: {' '.join(str(e).split())}",
            detail=f"tried: {describe_source(dsn)}",
            hint="Pass --dsn 'postgresql://user@host:port/dbname', set DATABASE_URL, or set libpq's PGHOST, "
            "PGPORT, PGUSER, PGDATABASE (or PGSERVICE); and check that the server is running.",
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
