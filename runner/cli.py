"""The `tenancy` command: argument parsing only; each verb is a function in runner.commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from runner import __version__, commands
from runner.devtools import bench, bench_online, querybench
from runner.errors import TenancyError
from runner.federation import commands as federation
from runner.manifest import DEFAULT_MANIFEST, load_manifest
from runner.report import err_console

DESCRIPTION = """\
Move a multi-tenant PostgreSQL database from shared tenant_id tables to one
schema per tenant. All data moves inside PostgreSQL (PL/pgSQL in schema
`tenancy`); this command only calls those functions and reports.

flow: sample (optional) -> render -> install -> migrate -> validate (-> rollback)
database: --dsn or DATABASE_URL; `tenancy demo` needs neither.
exit codes: 0 ok, 1 a tenant failed or did not validate, 2 bad input (FAILED: + hint).
"""


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", help="PostgreSQL connection string (default: $DATABASE_URL)")
    common.add_argument(
        "--manifest", type=Path, default=Path(DEFAULT_MANIFEST), help=f"manifest TOML (default: {DEFAULT_MANIFEST})"
    )
    common.add_argument("--traceback", action="store_true", help="show tracebacks of expected errors too")

    p = argparse.ArgumentParser(
        prog="tenancy", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"tenancy {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    i = sub.add_parser(
        "init",
        help="Write the example manifest (the Alumate tables) to PATH, to edit; never overwrites.",
        description="Write the example manifest (the Alumate tables) to PATH, to edit; never overwrites.",
    )
    i.add_argument("path", nargs="?", type=Path, default=Path(DEFAULT_MANIFEST), metavar="PATH",
                   help=f"where to write it (default: {DEFAULT_MANIFEST})")
    i.set_defaults(traceback=False)

    s = add("sample", "Build the Alumate-like hybrid sample database (shared tables with tenant_id).")
    s.add_argument("--tenants", type=_positive, default=20, help="number of tenants (default 20)")
    s.add_argument("--rows", type=_positive, default=200_000, help="rows over the shared tables (default 200000)")
    s.add_argument("--seed", type=int, default=42, help="same seed, same data (default 42)")
    s.add_argument("--replace", action="store_true", help="drop an existing sample first")

    r = add("render", "Render the per-table SQL from the live catalog (prints it, or writes files to --out).")
    r.add_argument("--out", type=Path, help="directory to write the rendered .sql files to")

    add("install", "Create or update schema tenancy: ledger, static and rendered functions. Idempotent.")

    un = add(
        "uninstall",
        "Remove schemas tenancy and tenancy_federation and the shared roles; refuses while anything depends "
        "on them. Tenant schemas, tenant roles and data always stay.",
    )
    un.add_argument(
        "--force",
        action="store_true",
        help="also drop the objects that use tenancy's functions (e.g. triggers on shared tables) and revoke "
        "the shared roles from their members; never tenant schemas or data",
    )

    tenant_help = "tenant id (repeatable; default: every tenant of the registry)"
    m = add("migrate", "Move each tenant's rows into its schema (preflight, copy, index, verify).")
    m.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    m.add_argument("--dry-run", action="store_true", help="show rows to move, problems and DDL; change nothing")
    m.add_argument(
        "--batch-size", type=_positive, help="commit every N rows per table (keyset batches; default: one statement)"
    )
    m.add_argument("--jobs", type=_positive, default=1, help="tenants migrated in parallel (default 1)")
    m.add_argument("--report", type=Path, help="write a JSON report to this file")
    m.add_argument(
        "--online",
        action="store_true",
        help="capture writes while copying from one snapshot, then replay; the tenant stays syncing until cutover",
    )

    cu = add("cutover", "Fence a tenant's writers, drain its changes, validate, switch it over; shared rows removed after.")
    cu_which = cu.add_mutually_exclusive_group(required=True)
    cu_which.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help="tenant id (repeatable)")
    cu_which.add_argument("--all", action="store_true", dest="every", help="every tenant of the registry")
    cu.add_argument("--jobs", type=_positive, default=1, help="tenants cut over in parallel (default 1)")
    cu.add_argument("--lock-timeout", default="5s", help="longest wait for a tenant's writers in progress (default 5s)")
    cu.add_argument("--report", type=Path, help="write a JSON report to this file")

    ct = add("contract", "Once every tenant is cut over: drop the shared moved tables, capture triggers, change log.")
    ct.add_argument("--archive", metavar="SCHEMA", help="move the shared tables into this schema instead of dropping them")

    v = add("validate", "Check every tenant row by row: counts, checksums, no tenant key, sequences, FKs.")
    v.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    v.add_argument("--jobs", type=_positive, default=1, help="tenants validated in parallel (default 1)")
    v.add_argument("--report", type=Path, help="write a JSON report to this file")

    b = add("rollback", "Undo a tenant's migration: after cutover copy its rows back first; then drop its new tables.")
    b.add_argument("--tenant", action="append", dest="tenants", metavar="ID", required=True, help="tenant id (repeatable)")
    b.add_argument("--report", type=Path, help="write a JSON report to this file")
    b.add_argument("--force", action="store_true", help="drop tenant tables even if they hold rows the shared ones do not")

    st = add("status", "Show each tenant's migration state from the ledger.")
    st.add_argument("--json", action="store_true", help="print JSON instead of a table")

    d = add("demo", "Sample, install, provision, migrate and validate on an embedded PostgreSQL (or DATABASE_URL).")
    d.add_argument("--tenants", type=_positive, default=20, help="number of tenants (default 20)")
    d.add_argument("--rows", type=_positive, default=200_000, help="rows over the shared tables (default 200000)")
    d.add_argument("--seed", type=int, default=42, help="sample seed (default 42)")
    d.add_argument("--jobs", type=_positive, default=2, help="tenants migrated in parallel (default 2)")
    d.add_argument("--batch-size", type=_positive, help="commit every N rows per table")
    d.add_argument("--replace", action="store_true", help="with DATABASE_URL: rebuild an existing sample there")
    d.add_argument("--report", type=Path, help="write a JSON report to this file")

    # Privileges (runner/access/model.py: the model; runner/access/drift.py: the drift check).
    pv = add("provision", "Create or repair each tenant's schema, roles and grants (tenancy.provision_tenant).")
    pv.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    vg = add("verify-grants", "Compare live owners, ACLs, role flags and RLS with the privilege model; exit 1 on drift.")
    vg.add_argument(
        "--tenant", action="append", dest="tenants", metavar="ID",
        help="tenant id (repeatable; default: every registry tenant whose schema exists)",
    )

    bn = add("bench", "Measure migrate+validate against a raw INSERT ... SELECT and the seed's client copy.")
    bn.add_argument("--tenants", type=_positive, default=60, help="number of tenants (default 60)")
    bn.add_argument("--rows", type=_positive, default=1_000_000, help="rows over the shared tables (default 1000000)")
    bn.add_argument("--seed", type=int, default=42, help="sample seed (default 42)")
    bn.add_argument("--jobs", type=_positive, default=1, help="tenants migrated in parallel (default 1)")
    bn.add_argument(
        "--repeat", type=_positive, default=1, help="rounds of migrate and raw, alternating; medians are compared"
    )

    bo = add("bench-online", "Prove migrate --online + cutover under a concurrent writer loses no acknowledged write.")
    bo.add_argument("--tenants", type=_positive, default=20, help="number of tenants (default 20)")
    bo.add_argument("--rows", type=_positive, default=200_000, help="rows over the shared tables (default 200000)")
    bo.add_argument("--seed", type=int, default=42, help="sample and writer seed (default 42)")
    bo.add_argument(
        "--cutover", choices=("per-tenant", "all"), default="per-tenant",
        help="one cutover call per tenant, writes going on in between, or one call for all (default per-tenant)",
    )

    # Cross-tenant reads (runner/federation/commands.py).
    federation.add_federation_commands(sub, [common])
    # The seed's query-performance claims (runner/devtools/querybench.py).
    querybench.add_querybench_command(sub, [common])
    return p


def run(args: argparse.Namespace) -> int:
    c = args.command
    if c == "init":
        return commands.init(args.path)
    if c == "sample":
        return commands.sample(args.dsn, tenants=args.tenants, rows=args.rows, seed=args.seed, replace=args.replace)
    if c == "status":
        return commands.status(args.dsn, as_json=args.json)
    if c == "federation":
        return federation.run_federation(args)
    if c == "bench-queries":
        return querybench.run_querybench(args)
    if c == "bench":
        bench.run_bench(
            tenants=args.tenants, rows=args.rows, seed=args.seed, dsn=args.dsn, jobs=args.jobs, repeat=args.repeat
        )
        return 0
    if c == "bench-online":
        result = bench_online.run_bench_online(
            tenants=args.tenants, rows=args.rows, seed=args.seed, dsn=args.dsn, variant=args.cutover
        )
        return 0 if result["rows_lost"] == result["rows_duplicated"] == result["rows_mismatched"] == 0 else 1
    manifest = load_manifest(args.manifest)
    if c == "render":
        return commands.render(args.dsn, manifest, args.out)
    if c == "install":
        return commands.install(args.dsn, manifest)
    if c == "uninstall":
        return commands.uninstall(args.dsn, manifest, force=args.force)
    if c == "migrate":
        return commands.migrate_cmd(
            args.dsn,
            manifest,
            tenants=args.tenants,
            dry_run=args.dry_run,
            batch_size=args.batch_size,
            jobs=args.jobs,
            report=args.report,
            online_mode=args.online,
        )
    if c == "cutover":
        return commands.cutover(
            args.dsn,
            manifest,
            tenants=args.tenants,
            every=args.every,
            jobs=args.jobs,
            lock_timeout=args.lock_timeout,
            report=args.report,
        )
    if c == "contract":
        return commands.contract(args.dsn, archive=args.archive)
    if c == "validate":
        return commands.validate(args.dsn, manifest, tenants=args.tenants, jobs=args.jobs, report=args.report)
    if c == "rollback":
        return commands.rollback(args.dsn, manifest, tenants=args.tenants, report=args.report, force=args.force)
    if c == "provision":
        return commands.provision(args.dsn, manifest, tenants=args.tenants)
    if c == "verify-grants":
        return commands.verify_grants(args.dsn, manifest, tenants=args.tenants)
    if c == "demo":
        return commands.demo(
            manifest,
            tenants=args.tenants,
            rows=args.rows,
            seed=args.seed,
            jobs=args.jobs,
            batch_size=args.batch_size,
            replace=args.replace,
            report=args.report,
        )
    raise AssertionError(f"unhandled command {c}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except TenancyError as e:
        if args.traceback:
            raise
        err_console.print(f"[red]FAILED:[/red] {escape(str(e))}", highlight=False)
        if e.detail:
            for line in e.detail.splitlines():
                err_console.print(f"  {line}", markup=False)
        if e.hint:
            err_console.print(f"  hint: {e.hint}", markup=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
