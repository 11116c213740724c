"""tenancy bench: how fast a migration is, against the raw floor (runner/devtools/bench.py)."""

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
        "bench",
        "Measure migrate+validate against a raw INSERT ... SELECT and a client-side row copy.",
        run,
        details="Builds the sample in the database given (--dsn, DATABASE_URL or libpq's PG* environment),\n"
        "which must be empty, or, when none is given, in database tenancy_bench of an embedded PostgreSQL\n"
        "(its data in bench-pg beside the demo's), and installs tenancy there. Each method of each round\n"
        "runs in a copy of that database (<database>__<method><round>, so the role needs CREATEDB),\n"
        "dropped at the end. With --jobs above 1, migrate with one job is timed too. The last line\n"
        "is JSON (with --json: the only output on stdout).",
    )
    options.add_database(p)
    options.add_sample_size(p, tenants=60, rows=1_000_000)
    options.JOBS.add(p)
    p.add_argument(
        "--repeat", type=options.positive, default=1, metavar="N",
        help="rounds of migrate and raw, alternating; medians are compared (default %(default)s)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools.bench import run_bench

    result = run_bench(
        tenants=args.tenants,
        rows=args.rows,
        seed=args.seed,
        dsn=database(args) if database_given(args.dsn) else None,
        jobs=args.jobs,
        repeat=args.repeat,
        out=info if args.json else print,
    )
    return Outcome(dict(result))
