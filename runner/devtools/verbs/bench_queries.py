"""tenancy bench-queries: query times before and after migration (runner/devtools/querybench.py)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database
from runner.db import database_given
from runner.report import info


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "bench-queries",
        "Measure query times before and after migration, an index test and federated search.",
        run,
        details="Builds a sample, migrates three tenants and prints p50/p95 ratios and a verdict on\n"
        "the original plan's claim of 25-40% faster queries. Works inside the database given (--dsn,\n"
        "DATABASE_URL or libpq's PG* environment), which must be empty (it is never dropped), or, when\n"
        "none is given, in database tenancy_querybench of an embedded PostgreSQL.",
    )
    options.add_database(p)
    options.add_sample_size(p, tenants=200, rows=1_000_000)
    p.add_argument(
        "--iterations",
        type=options.positive,
        default=300,
        metavar="N",
        help="timed calls per query and side (default %(default)s)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools.querybench import run_benchmark

    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        (info if args.json else print)(line)

    holds = run_benchmark(
        database(args) if database_given(args.dsn) else None,
        tenants=args.tenants,
        rows=args.rows,
        seed=args.seed,
        iterations=args.iterations,
        say=out,
    )
    return Outcome({"claim_holds": holds, "report": lines})
