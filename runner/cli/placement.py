"""tenancy placement: Citus, the worker holding each tenant (runner/citus/placement.py)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from runner.citus.placement import placements, tenants_per_node
from runner.cli import options
from runner.cli.common import Outcome, database
from runner.db import connect
from runner.report import byte_size, print_table, say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "placement",
        "Citus: the worker holding each tenant, its size and rows, largest first.",
        run,
        details="Run on the coordinator; changes nothing.",
    )
    options.add_database(p)


def run(args: argparse.Namespace) -> Outcome:
    with connect(database(args)) as conn:
        found = placements(conn)
        per_node = tenants_per_node(conn, found)
    if not args.json:
        print_table(
            "placement (largest first)",
            ("tenant", "worker", "tables", "size", "rows at distribution", "moved"),
            [
                (
                    p.tenant_id,
                    p.node or "?",
                    p.tables,
                    byte_size(p.bytes),
                    p.rows_verified,
                    f"{p.moved_at:%Y-%m-%d %H:%M}" if p.moved_at else "",
                )
                for p in found
            ],
            right=("tables", "size", "rows at distribution"),
        )
        say("tenants per worker: " + ", ".join(f"{n} {c}" for n, c in per_node.items()))
    return Outcome({"tenants": [asdict(p) for p in found], "tenants_per_node": per_node})
