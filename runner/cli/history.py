"""tenancy history: what ran, when, as whom, and how it ended (tenancy.history)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, installed
from runner.engine.history import can_record, read_history
from runner.errors import NotInstalled
from runner.report import print_table, say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "history",
        "Show what ran, when, as whom, and the outcome: every command that did work, newest last.",
        run,
        details="Recorded in the database (tenancy.history) by every command that changes something (install,\n"
        "provision, migrate, validate, cutover, rollback, contract, distribute, move): one row per run,\n"
        "one per tenant that failed in it. Dry runs and refused commands change nothing, so they are not\n"
        "there. With --tenant: the rows of that tenant and of the runs that named it.",
    )
    options.add_database(p)
    options.add_tenants(p)
    p.add_argument("--command", metavar="VERB", help="only this command's runs, e.g. migrate")
    p.add_argument(
        "--limit", type=options.positive, default=50, metavar="N", help="the last N rows (default %(default)s)"
    )


def run(args: argparse.Namespace) -> Outcome:
    with installed(database(args), writes=False) as conn:
        if not can_record(conn):
            raise NotInstalled(
                "this install of tenancy keeps no history (an older version)",
                hint="Run `tenancy install` to upgrade it; history starts then.",
            )
        events = read_history(conn, limit=args.limit, tenants=args.tenants, exclude=args.exclude, command=args.command)
    if not args.json:
        print_table(
            "tenancy history",
            ("id", "at", "login", "command", "tenant", "outcome", "detail"),
            [(e.id, e.at, e.session_user, e.command, e.tenant_id, e.outcome, _detail(e.detail)) for e in events],
            right=("id",),
            err_rows=[i for i, e in enumerate(events) if e.outcome != "ok"],
        )
        say(
            f"{len(events)} row(s)"
            + (f" (the last {args.limit}; --limit shows more)" if len(events) == args.limit else "")
        )
    return Outcome({"events": [vars(e) for e in events]})


def _detail(detail: dict[str, Any]) -> str:
    """The gist of a row's detail: a tenant's error, or a run's tenants and options."""
    if "error" in detail:
        return f"{detail.get('sqlstate') or ''} {detail['error']}".strip()
    parts = []
    if "tenants" in detail:
        parts.append(f"{detail['tenants']} tenants, {detail.get('failed', 0)} failed")
    parts += [f"{flag} {_value(v)}".rstrip() for flag, v in detail.get("options", {}).items()]
    return "; ".join(parts)


def _value(value: Any) -> str:
    if value is True:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
