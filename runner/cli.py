"""The `tenancy` command: argument parsing only; each verb is a function in runner.commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import psycopg

from runner import __version__, commands, signals
from runner.argtypes import positive, seconds
from runner.citus import commands as citus
from runner.db import DEFAULT_LOCK_TIMEOUT, set_lock_timeout
from runner.devtools import bench, bench_online, querybench
from runner.errors import TenancyError, hint_for
from runner.federation import commands as federation
from runner.manifest import DEFAULT_MANIFEST, load_manifest
from runner.report import say

DESCRIPTION = """\
Move a multi-tenant PostgreSQL database from shared tenant_id tables to one
schema per tenant. All data moves inside PostgreSQL (PL/pgSQL in schema
`tenancy`); this command only calls those functions and reports.

flow: sample (optional) -> render -> install -> migrate -> validate (-> rollback)
database: --dsn, default $DATABASE_URL; `tenancy demo` starts an embedded one if neither is set.
output: tables on stdout (plain text when not a terminal, JSON with --json);
        progress, warnings and failures on stderr.
"""

EXIT_CODES = """\
exit codes:
  0  success
  1  a tenant failed, is invalid or is not migrated (or drift was found)
  2  bad input or environment: manifest, tenant id, database, path, server gone,
     a lock held too long, a missing privilege (FAILED: + hint)
  130/143  stopped by SIGINT/SIGTERM: tenants in flight rolled back or resumable,
     as the report says
"""


def _options() -> dict[str, argparse.ArgumentParser]:
    """Option groups a command takes only if it uses them."""

    def group() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    dsn = group()
    dsn.add_argument(
        "--dsn", default=None, help="PostgreSQL connection string (default: $DATABASE_URL)"
    )
    dsn.add_argument("--traceback", action="store_true", help="show tracebacks of expected errors too")
    dsn.add_argument(
        "--lock-timeout", type=seconds, default=DEFAULT_LOCK_TIMEOUT, metavar="SECONDS",
        help=f"longest wait for any lock before the tenant fails (default {DEFAULT_LOCK_TIMEOUT:g})",
    )
    manifest = group()
    manifest.add_argument(
        "--manifest", type=Path, default=Path(DEFAULT_MANIFEST), help=f"manifest TOML (default: {DEFAULT_MANIFEST})"
    )
    as_json = group()
    as_json.add_argument("--json", action="store_true", help="print JSON on stdout instead of a table")
    report = group()
    report.add_argument(
        "--report", type=Path, metavar="FILE", help="also write the JSON report to this file (checked before any work)"
    )
    return {"dsn": dsn, "manifest": manifest, "json": as_json, "report": report}


def build_parser() -> argparse.ArgumentParser:
    opts = _options()
    p = argparse.ArgumentParser(
        prog="tenancy",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"tenancy {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, *groups: str, details: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[opts["dsn"], *(opts[g] for g in groups)],
            help=help_text,
            description=help_text + ("\n\n" + details if details else ""),
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    i = sub.add_parser(
        "init",
        help="Write the example manifest (the Alumate tables) to PATH, to edit; never overwrites.",
        description="Write the example manifest (the Alumate tables) to PATH, to edit; never overwrites.",
    )
    i.add_argument("path", nargs="?", type=Path, default=Path(DEFAULT_MANIFEST), metavar="PATH",
                   help=f"where to write it (default: {DEFAULT_MANIFEST})")
    i.set_defaults(traceback=False, lock_timeout=DEFAULT_LOCK_TIMEOUT)

    s = add(
        "sample",
        "Build the Alumate-like hybrid sample database (shared tables with tenant_id).",
        details="Deterministic for a seed. Refuses a database that already holds a sample unless --replace.",
    )
    s.add_argument("--tenants", type=positive, default=20, help="number of tenants (default 20)")
    s.add_argument("--rows", type=positive, default=200_000, help="rows over the shared tables (default 200000)")
    s.add_argument("--seed", type=int, default=42, help="same seed, same data (default 42)")
    s.add_argument(
        "--replace", action="store_true", help="drop an existing sample first: its tables, tenant schemas and schema tenancy"
    )

    r = add(
        "render",
        "Render the per-table SQL from the live catalog (prints it, or writes files to --out).",
        "manifest",
        details="Reads the shared tables named in the manifest; changes nothing.",
    )
    r.add_argument("--out", type=Path, help="directory to write the rendered .sql files to")

    add(
        "install",
        "Create or update schema tenancy: ledger, static and rendered functions. Idempotent.",
        "manifest",
        details="Run once by an administrator, again after the manifest or the shared tables change.",
    )

    un = add(
        "uninstall",
        "Remove schemas tenancy and tenancy_federation and the shared roles; refuses while anything depends "
        "on them. Tenant schemas, tenant roles and data always stay.",
        "manifest",
    )
    un.add_argument(
        "--force",
        action="store_true",
        help="also drop the objects that use tenancy's functions (e.g. triggers on shared tables) and revoke "
        "the shared roles from their members; never tenant schemas or data",
    )

    tenant_help = "tenant id (repeatable; default: every tenant of the registry)"
    m = add(
        "migrate",
        "Move each tenant's rows into its schema (preflight, copy, validate, keys, indexes, FKs).",
        "manifest",
        "json",
        "report",
        details="Each tenant is one transaction; a tenant already migrated is skipped, a failed one is\n"
        "reported and the others go on. --dry-run lists the rows to move and every preflight\n"
        "problem with its hint, and changes nothing.",
    )
    m.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    m.add_argument("--dry-run", action="store_true", help="list rows to move, preflight problems and DDL; change nothing")
    m.add_argument(
        "--batch-size", type=positive, help="commit every N rows per table (keyset batches; default: one statement)"
    )
    m.add_argument("--jobs", type=positive, default=1, help="tenants migrated in parallel (default 1)")
    m.add_argument(
        "--online",
        action="store_true",
        help="capture writes while copying from one snapshot, then replay; the tenant stays syncing until cutover",
    )

    cu = add(
        "cutover",
        "Fence a tenant's writers, drain its changes, validate, switch it over; shared rows removed after.",
        "manifest",
        "json",
        "report",
        details="Writers of other tenants never wait. --lock-timeout bounds the wait for this tenant's\n"
        "writers in progress. From then on the application must use the tenant schema.",
    )
    cu_which = cu.add_mutually_exclusive_group(required=True)
    cu_which.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help="tenant id (repeatable)")
    cu_which.add_argument("--all", action="store_true", dest="every", help="every tenant of the registry")
    cu.add_argument("--jobs", type=positive, default=1, help="tenants cut over in parallel (default 1)")

    ct = add(
        "contract",
        "Once every tenant is cut over: drop the shared moved tables and capture triggers, empty the change log.",
        "json",
        details="Refuses while any tenant is not cut over, listing them. The shared tables are dropped\n"
        "(or moved) as their owner, by tenancy.contract_shared_tables; a member of tenancy_migrator may run it.",
    )
    ct.add_argument("--archive", metavar="SCHEMA", help="move the shared tables into this schema instead of dropping them")

    v = add(
        "validate",
        "Check every migrated tenant row by row: counts, checksums, no tenant key, sequences, FKs.",
        "manifest",
        "json",
        "report",
        details="A tenant never migrated is reported as \"not migrated\" (not as invalid); like an invalid\n"
        "tenant it makes the exit code 1. Each result is recorded: `tenancy status` shows it.",
    )
    v.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    v.add_argument("--jobs", type=positive, default=1, help="tenants validated in parallel (default 1)")

    b = add(
        "rollback",
        "Undo a tenant's migration: after cutover its rows are copied back first; then its new tables are dropped.",
        "manifest",
        "json",
        "report",
    )
    b.add_argument("--tenant", action="append", dest="tenants", metavar="ID", required=True, help="tenant id (repeatable)")
    b.add_argument("--force", action="store_true", help="drop tenant tables even if they hold rows the shared ones do not")

    add(
        "status",
        "Show every registry tenant: state, tables, rows, seconds, validated (yes/no, when).",
        "json",
        details="States: new (untouched), provisioned, migrating, migrated, failed. Reads the settings\n"
        "recorded at install, so it needs no manifest.",
    )

    d = add(
        "demo",
        "Sample, install, provision, migrate and validate, then print a report.",
        "json",
        "report",
        details="Runs on --dsn / $DATABASE_URL when given (that database gets the sample: it must not\n"
        "hold one unless --replace), otherwise on an embedded PostgreSQL in database tenancy_demo.",
    )
    d.add_argument("--tenants", type=positive, default=20, help="number of tenants (default 20)")
    d.add_argument("--rows", type=positive, default=200_000, help="rows over the shared tables (default 200000)")
    d.add_argument("--seed", type=int, default=42, help="sample seed (default 42)")
    d.add_argument("--jobs", type=positive, default=2, help="tenants migrated in parallel (default 2)")
    d.add_argument("--batch-size", type=positive, help="commit every N rows per table")
    d.add_argument(
        "--replace", action="store_true",
        help="with --dsn / DATABASE_URL: rebuild an existing sample there (its tenant schemas and schema tenancy too)",
    )

    # Privileges (runner/access/model.py: the model; runner/access/drift.py: the drift check).
    pv = add(
        "provision",
        "Create or repair each tenant's schema, roles and grants (tenancy.provision_tenant).",
        "manifest",
        "json",
        details=(
            "Idempotent; prints one line per tenant with its changes counted (--json lists them).\n"
            "Tenant login roles are created NOLOGIN: they can log in once given a credential.\n"
            "--credentials FILE (default $TENANCY_CREDENTIALS) gives them one: a TOML file of\n"
            "[tenant] sections with app = \"password\", readonly = \"password\" and an optional\n"
            "valid_until = 2027-01-01, readable by its owner only (chmod 600). Each password is\n"
            "sent as a SCRAM-SHA-256 verifier, never as itself."
        ),
    )
    pv.add_argument("--tenant", action="append", dest="tenants", metavar="ID", help=tenant_help)
    pv.add_argument(
        "--credentials", type=Path, metavar="FILE",
        help="passwords of the tenant login roles (TOML, chmod 600; default $TENANCY_CREDENTIALS)",
    )
    vg = add(
        "verify-grants",
        "Compare live owners, ACLs, role flags and RLS with the privilege model; exit 1 on drift.",
        "manifest",
        "json",
    )
    vg.add_argument(
        "--tenant", action="append", dest="tenants", metavar="ID",
        help="tenant id (repeatable; default: every registry tenant whose schema exists)",
    )

    bn = add(
        "bench",
        "Measure migrate+validate against a raw INSERT ... SELECT and a client-side row copy.",
        details="Builds the sample in --dsn / $DATABASE_URL (which must be empty) or, when neither is\n"
        "set, in database tenancy_bench of an embedded PostgreSQL, and installs tenancy there.\n"
        "Each method of each round runs in a copy of that database (<database>__<method><round>,\n"
        "so the role needs CREATEDB), dropped at the end. The last line is JSON.",
    )
    bn.add_argument("--tenants", type=positive, default=60, help="number of tenants (default 60)")
    bn.add_argument("--rows", type=positive, default=1_000_000, help="rows over the shared tables (default 1000000)")
    bn.add_argument("--seed", type=int, default=42, help="sample seed (default 42)")
    bn.add_argument(
        "--jobs", type=positive, default=1,
        help="tenants migrated in parallel (default 1); above 1, migrate with one job is timed too",
    )
    bn.add_argument(
        "--repeat", type=positive, default=1, help="rounds of migrate and raw, alternating; medians are compared"
    )

    bo = add("bench-online", "Prove migrate --online + cutover under a concurrent writer loses no acknowledged write.")
    bo.add_argument("--tenants", type=positive, default=20, help="number of tenants (default 20)")
    bo.add_argument("--rows", type=positive, default=200_000, help="rows over the shared tables (default 200000)")
    bo.add_argument("--seed", type=int, default=42, help="sample and writer seed (default 42)")
    bo.add_argument(
        "--cutover", choices=("per-tenant", "all"), default="per-tenant",
        help="one cutover call per tenant, writes going on in between, or one call for all (default per-tenant)",
    )

    # Cross-tenant reads (runner/federation/commands.py).
    federation.add_federation_commands(sub, [opts["dsn"]])
    # Query performance before and after (runner/devtools/querybench.py).
    querybench.add_querybench_command(sub, [opts["dsn"]])
    # Citus: distribute, placement, move (runner/citus/).
    citus.add_citus_commands(sub, [opts["dsn"], opts["manifest"]])
    _with_exit_codes(sub.choices.values())
    return p


def _with_exit_codes(parsers: Iterable[argparse.ArgumentParser]) -> None:
    """Every command's --help ends with the exit codes, its nested verbs' too."""
    for parser in parsers:
        parser.epilog = parser.epilog or EXIT_CODES
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _with_exit_codes(action.choices.values())


def _dsn_or_env(dsn: str | None) -> str | None:
    """For the commands that start an embedded server when no database is given."""
    return dsn or os.environ.get("DATABASE_URL") or None


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
        args.dsn = _dsn_or_env(args.dsn)
        return querybench.run_querybench(args)
    if c == "bench":
        bench.run_bench(
            tenants=args.tenants,
            rows=args.rows,
            seed=args.seed,
            dsn=_dsn_or_env(args.dsn),
            jobs=args.jobs,
            repeat=args.repeat,
        )
        return 0
    if c == "demo":
        return commands.demo(
            _dsn_or_env(args.dsn),
            tenants=args.tenants,
            rows=args.rows,
            seed=args.seed,
            jobs=args.jobs,
            batch_size=args.batch_size,
            replace=args.replace,
            report=args.report,
            as_json=args.json,
        )
    if c == "bench-online":
        result = bench_online.run_bench_online(
            tenants=args.tenants, rows=args.rows, seed=args.seed, dsn=_dsn_or_env(args.dsn), variant=args.cutover
        )
        return 0 if result["rows_lost"] == result["rows_duplicated"] == result["rows_mismatched"] == 0 else 1
    if c == "contract":
        return commands.contract(args.dsn, archive=args.archive, as_json=args.json)
    manifest = load_manifest(args.manifest)
    if c in citus.COMMANDS:
        return citus.run_citus(args, manifest)
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
            as_json=args.json,
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
            as_json=args.json,
        )
    if c == "validate":
        return commands.validate(
            args.dsn, manifest, tenants=args.tenants, jobs=args.jobs, report=args.report, as_json=args.json
        )
    if c == "rollback":
        return commands.rollback(
            args.dsn, manifest, tenants=args.tenants, report=args.report, as_json=args.json, force=args.force
        )
    if c == "provision":
        return commands.provision(
            args.dsn, manifest, tenants=args.tenants, as_json=args.json, credentials=args.credentials
        )
    if c == "verify-grants":
        return commands.verify_grants(args.dsn, manifest, tenants=args.tenants, as_json=args.json)
    raise AssertionError(f"unhandled command {c}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_lock_timeout(args.lock_timeout)
    with signals.handle_signals():
        try:
            code = run(args)
        except signals.Interrupt as e:
            if args.traceback:
                raise
            say(f"FAILED: stopped by {e} before any tenant's work started", style="red", err=True)
            return signals.exit_code(e.signum)
        except (TenancyError, psycopg.OperationalError, psycopg.errors.InsufficientPrivilege) as e:
            if args.traceback:
                raise
            _print_failed(e)
            return 2
    stopped = signals.received()
    return signals.exit_code(stopped) if stopped is not None else code


def _print_failed(e: Exception) -> None:
    """FAILED: with the hint; errors of the environment (server gone, a lock held too
    long, a missing privilege) are told the same way as the tool's own."""
    if isinstance(e, TenancyError):
        message, detail, hint = str(e), e.detail, e.hint
    else:
        assert isinstance(e, psycopg.Error)
        diag = e.diag
        message = f"{e.sqlstate or 'connection'}: {diag.message_primary or str(e).strip()}"
        detail, hint = diag.message_detail, diag.message_hint or hint_for(e.sqlstate)
    say(f"FAILED: {message}", style="red", err=True)
    for line in (detail or "").splitlines():
        say(f"  {line}", err=True)
    if hint:
        say(f"  hint: {hint}", err=True)


if __name__ == "__main__":
    sys.exit(main())
