"""tenancy bench-online: migrate --online and cutover under a writer lose nothing (runner/devtools/bench_online.py)."""

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
        "bench-online",
        "Prove migrate --online + cutover under a running application loses no acknowledged write.",
        run,
        details="On the database given (--dsn, DATABASE_URL or libpq's PG* environment), which must be\n"
        "empty, or on an embedded PostgreSQL. Exit 1 if a write was lost, duplicated or changed, if a\n"
        "statement on a cut-over tenant's shared rows answered without TY050 first, or if a cutover failed.",
    )
    options.add_database(p)
    options.add_sample_size(p, tenants=20, rows=200_000)
    p.add_argument(
        "--cutover",
        choices=("per-tenant", "all"),
        default="per-tenant",
        help="one cutover call per tenant, writes going on in between, or one call for all (default per-tenant)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools.bench_online import run_bench_online

    result = run_bench_online(
        tenants=args.tenants,
        rows=args.rows,
        seed=args.seed,
        dsn=database(args) if database_given(args.dsn) else None,
        variant=args.cutover,
        out=info if args.json else print,
    )
    told = ("rows_lost", "rows_duplicated", "rows_mismatched", "writes_silently_ignored", "wrong_error_first")
    ok = all(result[k] == 0 for k in told) and not result["cutover_failures"]
    return Outcome(dict(result), 0 if ok else 1)
