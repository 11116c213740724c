"""tenancy sample: build the Alumate-like sample database (runner/devtools/sample.py)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, require_writable
from runner.db import connect
from runner.report import info, say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "sample",
        "Build the Alumate-like hybrid sample database (shared tables with tenant_id).",
        run,
        details="Deterministic for a seed. Refuses a database that already holds a sample unless --replace.",
    )
    options.add_database(p)
    options.add_sample_size(p, tenants=20, rows=200_000)
    p.add_argument(
        "--replace",
        action="store_true",
        help="drop an existing sample first: its tables, tenant schemas and schema tenancy",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools.sample import build_sample

    with connect(database(args)) as conn:
        require_writable(conn)
        started = time.monotonic()
        summary = build_sample(
            conn,
            tenants=args.tenants,
            rows=args.rows,
            seed=args.seed,
            replace=args.replace,
            progress=lambda m: info(f"  {m}"),
        )
    seconds = time.monotonic() - started
    if not args.json:
        say(f"sample: {len(summary.tenants)} tenants, {summary.moved_rows:,} rows in shared tables ({seconds:.1f}s)")
    return Outcome(
        {
            "tenants": summary.tenants,
            "rows_by_table": summary.rows_by_table,
            "rows": summary.moved_rows,
            "seconds": round(seconds, 3),
        }
    )
