"""tenancy bench: how fast a migration is, against the raw floor (runner/devtools/bench.py, bench_database.py)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, manifest
from runner.db import database_given
from runner.report import info

SCHEMAS = ("sample", "wide")
SAMPLE_TENANTS, SAMPLE_ROWS = 60, 1_000_000
WIDE_TENANTS, WIDE_TABLES = 30, 120


DETAILS = (
    "Without --own-database it builds a schema (--schema: the Alumate sample, or wide: --tables\n"
    "chained moved tables) in the database given (--dsn, DATABASE_URL or libpq's PG* environment),\n"
    "which must be empty, or, when none is given, in database tenancy_bench of an embedded PostgreSQL\n"
    "(its data in bench-pg beside the demo's), and benches that.\n"
    "With --own-database it benches the database given as it is, with its manifest (--manifest):\n"
    "the first --tenants tenants of its registry (default: all), and estimates the whole registry.\n"
    "That database is only read and copied: tenancy is installed in a copy (<database>__base).\n"
    "Each method of each round runs in a copy (<database>__<method><round>, so the role needs\n"
    "CREATEDB, and the database may have no other session); the copies, and the roles tenancy made\n"
    "in them, are dropped at the end. With --jobs above 1 (sample), migrate with one job is timed too.\n"
    "The last line is JSON (with --json: the only output on stdout); ratio_vs_raw is the raw floor's\n"
    "time over migrate's (above 1: migrate is faster), migrate_over_raw its inverse."
)


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "bench",
        "Time migrate against the raw floor (the same DDL, INSERT ... SELECT, keys, indexes, FKs).",
        run,
        details=DETAILS,
    )
    options.add_database(p)
    options.add_manifest(p)
    p.add_argument(
        "--own-database",
        action="store_true",
        help="bench the database given as it is, with its manifest; builds nothing, writes nothing to it",
    )
    p.add_argument(
        "--schema",
        choices=SCHEMAS,
        help="what to build and bench: the Alumate sample (the default) or the wide synthetic schema",
    )
    p.add_argument(
        "--tables",
        type=options.positive,
        metavar="N",
        help=f"chained moved tables of the wide schema, besides its partitioned one (default {WIDE_TABLES})",
    )
    p.add_argument(
        "--tenants",
        type=options.positive,
        metavar="N",
        dest="tenant_count",
        help=f"tenants to bench (default: sample {SAMPLE_TENANTS}, wide {WIDE_TENANTS}, --own-database every "
        "tenant of the registry, else the first N in natural order)",
    )
    p.add_argument(
        "--rows",
        type=options.positive,
        metavar="N",
        help=f"rows over the shared tables built (default: sample {SAMPLE_ROWS:,}, wide 3 per table and tenant)",
    )
    p.add_argument("--seed", type=int, metavar="N", help="same seed, same data (default 42)")
    options.JOBS.add(p)
    p.add_argument(
        "--repeat",
        type=options.positive,
        default=1,
        metavar="N",
        help="rounds of migrate and raw, alternating; medians are compared (default %(default)s)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also migrate once more with track_functions = 'pl' (as a superuser) and show the functions "
        "that took the most time",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools.bench import run_bench
    from runner.devtools.bench_database import bench_database, bench_wide

    out = info if args.json else print
    if args.own_database:
        built = [
            flag
            for flag, value in (
                ("--schema", args.schema),
                ("--tables", args.tables),
                ("--rows", args.rows),
                ("--seed", args.seed),
            )
            if value is not None
        ]
        if built:
            args.verb_parser.error(
                f"--own-database benches the database as it is, and {', '.join(built)} would build one"
            )
        if not database_given(args.dsn):
            args.verb_parser.error("--own-database needs the database to bench: --dsn, DATABASE_URL or PG*")
        result = bench_database(
            database(args),
            manifest(args),
            tenants=args.tenant_count,
            jobs=args.jobs,
            repeat=args.repeat,
            profile=args.profile,
            out=out,
        )
        return Outcome(dict(result))
    if args.manifest is not None:
        args.verb_parser.error("--manifest goes with --own-database: a schema the bench builds has its own")
    schema = args.schema or "sample"
    if args.tables is not None and schema != "wide":
        args.verb_parser.error("--tables is the width of the wide schema: add --schema wide")
    common: dict[str, Any] = {
        "seed": 42 if args.seed is None else args.seed,
        "dsn": database(args) if database_given(args.dsn) else None,
        "jobs": args.jobs,
        "repeat": args.repeat,
        "profile": args.profile,
        "out": out,
    }
    if schema == "wide":
        result = bench_wide(
            tables=args.tables or WIDE_TABLES, tenants=args.tenant_count or WIDE_TENANTS, rows=args.rows, **common
        )
    else:
        result = run_bench(tenants=args.tenant_count or SAMPLE_TENANTS, rows=args.rows or SAMPLE_ROWS, **common)
    return Outcome(dict(result))
