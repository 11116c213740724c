"""tenancy demo: sample → install → provision → migrate → validate, then a report."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from runner.access.provision import provision_tenants
from runner.cli import options
from runner.cli.common import Outcome, database, require_writable
from runner.db import connect, database_given
from runner.engine import migrate
from runner.engine.executor import TenantResult
from runner.engine.install import install as install_sql
from runner.engine.status import record_validation
from runner.engine.validate import validate_tenants
from runner.manifest import load_manifest
from runner.report import ProgressDisplay, info, print_failures, print_table, report_doc, say
from runner.resources import EXAMPLE_MANIFEST

if TYPE_CHECKING:
    from runner.devtools.sample import SampleSummary


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
        "--replace",
        action="store_true",
        help="on a database given: rebuild an existing sample there (its tenant schemas and schema tenancy too)",
    )


def run(args: argparse.Namespace) -> Outcome:
    """The demo's six phases on one database, then the report; exit 1 when a tenant failed."""
    started = time.monotonic()
    url = _open_database(args)
    summary = _build_and_install(url, args)
    _provision(url, summary.tenants)
    migrated = _migrate(url, summary, args)
    validated = _validate(url, summary.tenants, args.jobs)
    ok = all(r.ok for r in migrated + validated)
    if not args.json:
        _print_report(migrated, validated)
    print_failures(migrated + validated)
    if not args.json:
        _print_verdict(ok, migrated, validated, time.monotonic() - started)
    return Outcome(report_doc("demo", migrated + validated), 0 if ok else 1)


def _open_database(args: argparse.Namespace) -> str:
    """1/6: the URL of the database given, else of a fresh database on the embedded PostgreSQL."""
    from runner.devtools import embedded

    if database_given(args.dsn):
        url = database(args)
        info("1/6 using the database given (--dsn, DATABASE_URL or libpq's PG* environment)")
        return url
    info(f"1/6 starting the embedded PostgreSQL (data in {embedded.data_dir()})")
    return embedded.fresh_database(embedded.start(), "tenancy_demo")


def _build_and_install(url: str, args: argparse.Namespace) -> SampleSummary:
    """2/6 and 3/6: build the sample, then install schema tenancy for the example manifest."""
    from runner.devtools.sample import build_sample

    with connect(url) as conn:
        require_writable(conn)
        info(f"2/6 building the sample: {args.tenants} tenants, about {args.rows:,} rows")
        summary = build_sample(
            conn,
            tenants=args.tenants,
            rows=args.rows,
            seed=args.seed,
            replace=args.replace,
            progress=lambda m: info(f"  {m}"),
        )
        info("3/6 installing schema tenancy")
        result = install_sql(conn, load_manifest(EXAMPLE_MANIFEST))
        info(f"  {len(result.rendering.tables)} moved tables, checksum {result.checksum[:12]}")
    return summary


def _provision(url: str, tenants: list[str]) -> None:
    """4/6: give every tenant its schema and roles."""
    info("4/6 provisioning tenant schemas")
    provisioned = provision_tenants(url, tenants)
    print_failures(provisioned)
    info(f"  {sum(r.ok for r in provisioned)}/{len(provisioned)} tenants provisioned")


def _migrate(url: str, summary: SampleSummary, args: argparse.Namespace) -> list[TenantResult]:
    """5/6: copy every tenant's rows, with the progress display."""
    info(f"5/6 migrating {summary.moved_rows:,} rows")
    with ProgressDisplay(summary.tenants, "parallel" if args.jobs > 1 else "serial") as progress:
        return migrate.migrate_tenants(
            url, summary.tenants, batch_size=args.batch_size, jobs=args.jobs, progress=progress
        )


def _validate(url: str, tenants: list[str], jobs: int) -> list[TenantResult]:
    """6/6: validate every tenant and record the results in the ledger."""
    info("6/6 validating every tenant, row by row")
    validated = validate_tenants(url, tenants, jobs)
    with connect(url) as conn:
        record_validation(conn, validated)
    return validated


def _print_report(migrated: list[TenantResult], validated: list[TenantResult]) -> None:
    """The demo report: one row per tenant, its migration and its validation."""
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


def _print_verdict(ok: bool, migrated: list[TenantResult], validated: list[TenantResult], elapsed: float) -> None:
    """The last line: OK or FAILED, tenants migrated and validated, rows, time."""
    total = sum(m.rows for m in migrated)
    say(
        f"{'OK' if ok else 'FAILED'}: {sum(m.ok for m in migrated)}/{len(migrated)} tenants "
        f"migrated, {sum(v.ok for v in validated)}/{len(validated)} validated, {total:,} rows, {elapsed:.1f}s in all",
        style="green" if ok else "red",
    )
