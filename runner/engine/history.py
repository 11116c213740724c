"""What ran, when, as whom, and how it ended: tenancy.history.

The runner appends one event per command that did work, and one per tenant
that failed in it, through tenancy.record_event() (sql/functions/record_event.sql),
which records the session's login. `tenancy history` reads them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from runner.db import typed_errors
from runner.engine.rows import fetch_all, fetch_value
from runner.resources import read_query

_RECORD = "SELECT tenancy.record_event(%s, %s, %s, %s)"


@dataclass(frozen=True)
class Event:
    """One event of tenancy.history, as queries/history_events.sql returns it."""

    id: int
    at: dt.datetime
    session_user: str
    command: str
    tenant_id: str | None
    outcome: str
    detail: dict[str, Any]


def can_record(conn: psycopg.Connection) -> bool:
    """Whether this database's install has the history (an older install has not)."""
    found = fetch_value(conn, "SELECT to_regprocedure('tenancy.record_event(text,text,jsonb,text)') IS NOT NULL")
    return bool(found)


def record_events(
    conn: psycopg.Connection,
    command: str,
    outcome: str,
    detail: dict[str, Any],
    failures: Sequence[tuple[str, dict[str, Any]]] = (),
) -> None:
    """The command's event and one event per failed tenant (tenant id, its error), in one transaction."""
    with typed_errors(), conn.transaction(), conn.cursor() as cur:
        cur.execute(_RECORD, (command, outcome, Jsonb(detail), None))
        if failures:
            cur.executemany(_RECORD, [(command, "failed", Jsonb(d), t) for t, d in failures])


def read_history(
    conn: psycopg.Connection,
    *,
    limit: int,
    tenants: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    command: str | None = None,
) -> list[Event]:
    """The last `limit` events, oldest first. With tenants: the events of those tenants and
    of the runs that named them (--tenant); with command: that verb's events only."""
    with typed_errors():
        events = fetch_all(
            conn,
            Event,
            read_query("queries/history_events.sql"),
            {
                "tenants": list(tenants) if tenants else None,
                "exclude": list(exclude),
                "command": command,
                "most": limit,
            },
        )
    return list(reversed(events))
