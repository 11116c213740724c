"""tenancy status: where every registry tenant stands (tenancy.tenant_status)."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, installed
from runner.db import typed_errors
from runner.engine.status import tenant_status
from runner.report import print_table, say, warn


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "status",
        "Show every registry tenant: state, tables, rows, seconds, validated (yes/no, when).",
        run,
        details="Without --tenant: every tenant of the registry. States: new (untouched), provisioned,\n"
        "migrating, migrated, failed, syncing, cut_over, contracted. Reads the settings recorded at\n"
        "install, so it needs no manifest; it changes nothing.",
    )
    options.add_database(p)
    options.add_tenants(p)


def run(args: argparse.Namespace) -> Outcome:
    with installed(database(args), writes=False) as conn:
        if args.tenants:
            with typed_errors():  # an id that is not a registry tenant is refused (TY001, TY002)
                for t in dict.fromkeys(args.tenants):
                    conn.execute("SELECT tenancy.require_tenant(%s)", (t,))
        rows = tenant_status(conn, args.tenants)
    excluded = set(args.exclude)
    for t in sorted(excluded - {r.tenant_id for r in rows}):
        warn(f"--exclude {t}: not among the tenants listed")
    rows = [r for r in rows if r.tenant_id not in excluded]
    if not args.json:
        print_table(
            "tenancy status",
            ("tenant", "schema", "state", "tables", "rows", "seconds", "validated", "validated at", "error"),
            [
                (
                    r.tenant_id,
                    r.schema_name,
                    r.state,
                    f"{r.tables_done}/{r.tables}" if r.tables else "",
                    r.rows_copied,
                    r.seconds,
                    _validated(r.validated, r.failed_checks),
                    r.validated_at,
                    r.last_error,
                )
                for r in rows
            ],
            right=("tables", "rows", "seconds"),
            err_rows=[i for i, r in enumerate(rows) if r.state == "failed" or r.validated is False],
        )
        counts = Counter(r.state for r in rows)
        validated = sum(1 for r in rows if r.validated)
        say(f"{len(rows)} tenants: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {validated} validated")
    return Outcome({"tenants": [vars(r) for r in rows]})


def _validated(validated: bool | None, failed_checks: int | None) -> str:
    if validated is None:
        return "not yet"
    return "yes" if validated else f"no ({failed_checks} failed)"
