"""tenancy contract: the last step, once every tenant is cut over: the shared tables leave.

It shows what it will do and asks first. What it shows is contract itself, run
in a transaction that is rolled back: the same checks and refusals as the real
run, and nothing changed (--dry-run stops there).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from runner.cli import options
from runner.cli.common import Outcome, confirm, database, installed
from runner.db import typed_errors
from runner.engine import online
from runner.engine.executor import TableResult
from runner.engine.rows import TableAction, fetch_all
from runner.errors import InvalidArgument
from runner.report import say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "contract",
        "Once every tenant is cut over: drop the shared moved tables and capture triggers, empty the change log.",
        run,
        details="Refuses while any tenant is not cut over, listing them. The shared tables are dropped\n"
        "(or moved to --archive) as their owner, by tenancy.contract_shared_tables; a member of\n"
        "tenancy_migrator may run it. Shows what it will do and asks first: --yes (or yes typed on a\n"
        "terminal) goes ahead; --dry-run only shows it (contract run in a transaction rolled back).",
        records=True,
    )
    options.add_database(p)
    p.add_argument(
        "--archive", metavar="SCHEMA", help="move the shared tables into this schema instead of dropping them"
    )
    when = p.add_mutually_exclusive_group()
    options.DRY_RUN.add(when)
    options.YES.add(when)


@contextmanager
def _refusals() -> Iterator[None]:
    """contract's own refusals are typed (TY055, TY061 …); a bad --archive name is one too."""
    try:
        with typed_errors():
            yield
    except psycopg.errors.InvalidParameterValue as e:
        raise InvalidArgument(
            f"{e.diag.message_primary or e}; nothing was changed", hint=e.diag.message_hint or ""
        ) from None


def _rehearse(conn: psycopg.Connection, archive: str | None) -> list[TableResult]:
    with _refusals(), conn.transaction(force_rollback=True):
        rows = fetch_all(conn, TableAction, "SELECT table_name, action FROM tenancy.contract(%s)", (archive,))
    return [TableResult(r.table_name, r.action, 0, None) for r in rows]


def run(args: argparse.Namespace) -> Outcome:
    url = database(args)
    with installed(url, writes=True) as conn:
        planned = _rehearse(conn, args.archive)
    plan = [f"contract: {t.table_name}: {t.state}" for t in planned]
    if args.dry_run:
        if not args.json:
            say("dry run: nothing is changed")
            for line in plan:
                say(line)
        return Outcome(_doc(planned, dry_run=True))
    confirm(args, plan, "contract")
    with _refusals():
        done = online.contract(url, args.archive)
    if not args.json:
        for t in done:
            say(f"{t.table_name}: {t.state}")
    return Outcome(_doc(done, dry_run=False), url=url)


def _doc(tables: list[TableResult], *, dry_run: bool) -> dict[str, Any]:
    return {"dry_run": dry_run, "tables": [{"table_name": t.table_name, "action": t.state} for t in tables]}
