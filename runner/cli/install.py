"""tenancy install: create or upgrade schema tenancy (an administrator, once)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, manifest, require_writable
from runner.db import connect
from runner.engine import migrate
from runner.engine.install import describe_install
from runner.engine.install import install as install_sql
from runner.report import say, warn


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "install",
        "Create or update schema tenancy: ledger, static and rendered functions. Idempotent.",
        run,
        details="Run once by an administrator, again after the manifest or the shared tables change.\n"
        "Checks the manifest against the database first; one transaction; installing the same again\n"
        "changes nothing; over an older install it upgrades in place and keeps the ledger.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with connect(url) as conn:
        require_writable(conn)
        result = install_sql(conn, m)
        incomplete = migrate.incomplete_tenants(conn)
    for w in result.rendering.warnings:
        warn(w)
    if not args.json:
        for line in describe_install(result):
            say(line)
        if incomplete:
            tables = sorted({t for missing in incomplete.values() for t in missing})
            say(
                f"{len(incomplete)} migrated tenant(s) do not have {', '.join(tables)} yet: "
                "`tenancy migrate` moves it for them"
            )
    r = result.routines
    return Outcome(
        {
            "version": result.version,
            "previous_version": result.previous_version,
            "changed": result.changed,
            "checksum": result.checksum,
            "moved_tables": len(result.rendering.tables),
            "ledger_files": list(result.ledger_files),
            "routines": {
                "added": list(r.added),
                "replaced": list(r.replaced),
                "dropped": list(r.dropped),
                "unchanged": r.unchanged,
            },
            "row_security": list(result.row_security),
            "warnings": list(result.rendering.warnings),
            "incomplete_tenants": incomplete,
        },
        url=url,
    )
