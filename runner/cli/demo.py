"""tenancy demo: sample → install → provision → migrate → validate, then a report."""

from __future__ import annotations

import argparse
import time
from typing import Any

from runner.access.provision import provision_tenants
from runner.cli import options
from runner.cli.common import Outcome, database, require_writable
from runner.db import connect, database_given
from runner.engine import migrate
from runner.engine.install import install as install_sql
from runner.engine.status import record_validation
from runner.engine.validate import validate_tenants
from runner.manifest import load_manifest
from runner.report import ProgressDisplay, info, print_failures, print_table, report_doc, say
from runner.resources import EXAMPLE_MANIFEST


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "demo",
        "Sample, install, provision, migrate and validate, then print a report.",
        run,
        details="Runs on the database given (--dsn, DATABASE_URL or libpq's PG* environment), which gets the\n"
        "sample (it must not hold one unless --replace). With none given, on an embedded PostgreSQL\n"
        "(the demo extra) in database tenancy_demo; its data stays in /var/lib/tenancy/embedded-pg when\n"
        "run as root, ~/.local/share/tenancy/embedded-pg otherwise, or $TENANCY_EMBEDDED_DIR.",
    )
    options.add_database(p)
    options.add_sample_size(p, tenants=20, rows=200_000)
    options.JOBS.add(p).default = 2
    options.BATCH_SIZE.add(p)
    p.add_argument(
        "--replace", action="store_true",
        help="on a database given: rebuild an existing sample there (its tenant schemas and schema tenancy too)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from runner.devtools import embedded
    from runner.devtools.sample import build_sample

    started = time.monotonic()
    if database_given(args.dsn):
        url = database(args)
        info("1/6 using the database given (--dsn, DATABASE_URL or libpq's PG* environment)")
    else:
        info(f"1/6 starting the embedded PostgreSQL (data in {embedded.data_dir()})")
        url = embedded.fresh_database(embedded.start(), "tenancy_demo")
    with connect(url) as conn:
        require_writable(conn)
        info(f"2/6 building the sample: {args.tenants} tenants, about {args.rows:,} rows")
        summary = build_sample(
            conn, tenants=args.tenants, rows=args.rows, seed=args.seed, replace=args.replace,
            progress=lambda m: info(f"  {m}"),
        )
        info("3/6 installing schema tenancy")
        result = install_sql(conn, load_manifest(EXAMPLE_MANIFEST))
        info(f"  {len(result.rendering.tables)} moved tables, checksum {result.checksum[:12]}")
    info("4/6 provisioning tenant schemas")
    provisioned = provision_tenants(url, summary.tenants)
    print_failures(provisioned)
    info(f"  {sum(r.ok for r in provisioned)}/{len(provisioned)} tenants provisioned")
    info(f"5/6 migrating {summary.moved_rows:,} rows")
    with ProgressDisplay(summary.tenants, "parallel" if args.jobs > 1 else "serial") as progress:
        migrated = migrate.migrate_tenants(
            url, summary.tenants, batch_size=args.batch_size, jobs=args.jobs, progress=progress
        )
    info("6/6 validating every tenant, row by row")
    validated = validate_tenants(url, summary.tenants, args.jobs)
    with connect(url) as conn:
        record_validation(conn, validated)
    ok = all(r.ok for r in migrated + validated)
    if not args.json:
        by_tenant = {v.tenant_id: v for v in validated}
        print_table(
            "demo report",
            ("tenant", "migrate", "rows", "seconds", "rows/s", "validate"),
            [
                (
                    m.tenant_id,
                    m.state,
                    m.rows,
                    round(m.seconds, 2),
                    round(m.rows_per_second or 0),
                    f"{len(v.checks)} checks passed" if v.ok else v.error,
                )
                for m in migrated
                for v in [by_tenant[m.tenant_id]]
            ],
            right=("rows", "seconds", "rows/s"),
            err_rows=[i for i, m in enumerate(migrated) if not (m.ok and by_tenant[m.tenant_id].ok)],
        )
    print_failures(migrated + validated)
    if not args.json:
        total = sum(m.rows for m in migrated)
        elapsed = time.monotonic() - started
        say(
            f"{'OK' if ok else 'FAILED'}: {sum(m.ok for m in migrated)}/{len(migrated)} tenants "
            f"migrated, {sum(v.ok for v in validated)}/{len(validated)} validated, {total:,} rows, {elapsed:.1f}s in all",
            style="green" if ok else "red",
        )
    return Outcome(report_doc("demo", migrated + validated), 0 if ok else 1)
