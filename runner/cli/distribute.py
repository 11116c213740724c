"""tenancy distribute: Citus, each migrated tenant schema to a worker (runner/citus/distribute.py)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.citus.distribute import distribute
from runner.cli import options
from runner.cli.common import Outcome, database, finish_tenants, installed, manifest, select_tenants
from runner.report import print_table, say, warn


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "distribute",
        "Citus: distribute each migrated tenant schema to a worker (preflight first; nothing changes on refusal).",
        run,
        details="Without --tenant: every tenant of the registry. Run on the coordinator (docs/citus.md).",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)
    options.JOBS.add(p)
    p.add_argument(
        "--make-reference",
        action="append",
        default=[],
        metavar="TABLE",
        help="consent: make this central table a Citus reference table, copied to every node (repeatable;"
        " the manifest's [citus] reference_tables gives the same consent)",
    )


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
    done = distribute(url, m, tenants=chosen.ids, make_reference=args.make_reference, jobs=args.jobs)
    results = chosen.merge(done.results)
    if not args.json:
        for table, action in done.references:
            say(f"reference table {table}: {action}")
        for change in done.row_security:
            say(f"row-level security: {change}")
    for w in done.warnings:
        warn(w.describe())
    if not args.json:
        print_table(
            "distribute",
            ("tenant", "state", "rows verified", "seconds", "where"),
            [(r.tenant_id, r.state, r.rows, f"{r.seconds:.2f}", r.detail or r.error or "") for r in results],
            right=("rows verified", "seconds"),
            err_rows=[i for i, r in enumerate(results) if not r.ok],
        )
    outcome = finish_tenants("distribute", results, url)
    outcome.doc["references"] = [{"table": t, "action": a} for t, a in done.references]
    outcome.doc["row_security"] = done.row_security
    return outcome
