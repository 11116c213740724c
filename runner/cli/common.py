"""What the verbs share at run time: the database, the manifest, the tenants to work
on, the confirmation of a destructive step, and the end of a run over tenants."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runner import signals
from runner.db import connect, open_session, resolve_dsn
from runner.engine import executor
from runner.engine.executor import TenantResult
from runner.engine.rows import RegistryCheck, fetch_one, fetch_value
from runner.errors import (
    ManifestError,
    NotConfirmed,
    ReadOnlyDatabase,
    RegistryMissing,
    ServerUnavailable,
    TenancyError,
    hint_for,
)
from runner.manifest import Manifest, load_manifest, locate_manifest
from runner.report import print_failures, print_table, report_doc, say, warn
from runner.resources import read_query
from runner.states import TenantOutcome


@dataclass
class Outcome:
    """What a verb hands back to the CLI: its JSON document (the CLI adds "command" unless
    the document names the run itself, e.g. "migrate --online"), its exit code, and, for
    tenancy.history, the database it worked on and its tenants' results."""

    doc: dict[str, Any]
    code: int = 0
    url: str | None = None
    results: Sequence[TenantResult] = field(default_factory=list)


def database(args: argparse.Namespace) -> str:
    """--dsn, else DATABASE_URL, else libpq's environment (runner/db.py)."""
    return resolve_dsn(args.dsn)


def manifest(args: argparse.Namespace) -> Manifest:
    """--manifest, else $TENANCY_MANIFEST, else ./tenancy.toml; every --tenant id is checked
    against its rule here, so a bad one is refused before any connection or SQL."""
    m = load_manifest(locate_manifest(args.manifest))
    for t in getattr(args, "tenants", None) or ():
        m.schema_for(t)
    return m


def require_writable(conn: psycopg.Connection) -> None:
    """Refuse, before any work, a database where nothing can be written."""
    if fetch_value(conn, "SELECT current_setting('transaction_read_only')") == "on":
        raise ReadOnlyDatabase(
            f"database {conn.info.dbname!r} is read-only (default_transaction_read_only is on, or it is a "
            "standby): nothing was changed",
            hint=hint_for("25006"),
        )


def require_registry(conn: psycopg.Connection) -> None:
    """Refuse, before any work, when the registry table recorded at install is gone."""
    row = fetch_one(conn, RegistryCheck, read_query("queries/registry_check.sql"))
    if row is None or (row.has_table and row.has_column):
        return
    table, column = row.registry_table, row.id_column
    missing = f"registry table {table}" if not row.has_table else f"column {column} of the registry table {table}"
    raise RegistryMissing(
        f"the {missing} does not exist (the manifest's [registry], as installed); nothing was changed",
        hint="Restore it, or correct [registry] in the manifest and run `tenancy install` again.",
    )


def installed(url: str, *, writes: bool) -> psycopg.Connection:
    """A connection to a database where tenancy is installed and its registry is there;
    writes: a read-only database is refused first."""
    conn = connect(url)
    try:
        if writes:
            require_writable(conn)
        executor.require_installed(conn)
        require_registry(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class Selection:
    """The tenants of a run: `ids` to work on, and registry ids the tool refuses (e.g.
    `Initech`), each already that tenant's failed result; `order` holds both, in order."""

    ids: list[str]
    refused: list[TenantResult]
    order: list[str]

    def merge(self, results: Sequence[TenantResult]) -> list[TenantResult]:
        """The run's results and the refused ids' failures, in the tenants' order."""
        by_id = {r.tenant_id: r for r in [*self.refused, *results]}
        return [by_id[t] for t in self.order if t in by_id]


def select_tenants(conn: psycopg.Connection, manifest: Manifest, args: argparse.Namespace) -> Selection:
    """--tenant (each checked: a bad id is refused, exit 2) or every registry tenant, less
    --exclude; see narrow()."""
    return narrow(manifest, executor.select_tenants(conn, manifest, args.tenants), args.exclude)


def narrow(manifest: Manifest, chosen: Sequence[str], exclude: Sequence[str]) -> Selection:
    """The tenants chosen less those excluded. A registry id that breaks the id rule is
    that tenant's failure, with a hint; the others go on. Refused when no tenant is left."""
    excluded = set(exclude)
    for t in sorted(excluded - set(chosen)):
        warn(f"--exclude {t}: not among the tenants of this run")
    order = [t for t in chosen if t not in excluded]
    if not order:
        where = "every tenant was excluded" if chosen else "the registry table has no tenant"
        raise TenancyError(
            f"no tenant to work on: {where}; nothing was changed",
            hint="Add tenants to the registry table, or give other --tenant / --exclude ids.",
        )
    ids: list[str] = []
    refused: list[TenantResult] = []
    for t in order:
        try:
            manifest.schema_for(t)
        except ManifestError as e:
            refused.append(
                TenantResult(
                    t,
                    TenantOutcome.FAILED,
                    error=str(e),
                    sqlstate="TY001",
                    hint=f"Change this id in the registry table ({manifest.central_schema}.{manifest.registry.table}) "
                    f"to lowercase letters, digits, '_' and '-', or leave it out: --exclude {shlex.quote(t)}.",
                )
            )
        else:
            ids.append(t)
    return Selection(ids, refused, order)


def confirm(args: argparse.Namespace, plan: Sequence[str], action: str) -> None:
    """A destructive step: the plan on stderr, then --yes, or `yes` typed on a terminal, goes
    ahead; anything else refuses (NotConfirmed, exit 2) with nothing changed."""
    for line in plan:
        say(line, err=True)
    if args.yes:
        return
    if sys.stdin.isatty() and sys.stderr.isatty():
        say(f"{action}? Type yes to go on: ", err=True)
        if sys.stdin.readline().strip().lower() == "yes":
            return
        raise NotConfirmed(f"{action}: not confirmed; nothing was changed", hint="Type yes, or pass --yes.")
    raise NotConfirmed(
        f"{action} needs --yes (or a terminal to confirm on); nothing was changed",
        hint=f"Check what it does (above, or `tenancy {args.verb} --dry-run`), then run it again with --yes.",
    )


def finish_tenants(command: str, results: list[TenantResult], url: str) -> Outcome:
    """The end of every run over tenants: failures on stderr, the document, the exit code
    (0 when every tenant is ok, else 1). When a tenant lost its session (or was not run)
    and the server is still unreachable, the run is an error of the environment: FAILED,
    exit 2. A stop signal's exit code is the CLI's (130/143)."""
    print_failures(results)
    lost = [r for r in results if r.state == TenantOutcome.NOT_RUN or executor.session_lost(r.sqlstate)]
    if lost and signals.received() is None:
        try:
            open_session(url).close()
        except ServerUnavailable as e:
            raise ServerUnavailable(
                f"the database went away during the run: {len(lost)} of {len(results)} tenant(s) not done",
                detail=str(e),
            ) from e
    code = 0 if results and all(r.ok for r in results) else 1
    return Outcome(report_doc(command, results), code, url, results)


def results_table(results: Sequence[TenantResult], title: str) -> None:
    """One row per tenant that did work or failed; tenants skipped (nothing to do) are counted.
    The rows are those copied by this run."""
    shown = [r for r in results if r.state != TenantOutcome.SKIPPED]
    if shown:
        print_table(
            title,
            ("tenant", "state", "rows", "seconds", "rows/s", "error"),
            [
                (r.tenant_id, r.state, r.rows, round(r.seconds, 2), round(r.rows_per_second or 0), r.error)
                for r in shown
            ],
            right=("rows", "seconds", "rows/s"),
            err_rows=[i for i, r in enumerate(shown) if not r.ok],
        )
    counts = Counter(r.state for r in results)
    say(
        f"{title}: {len(results)} tenants: "
        + ", ".join(
            f"{n} {state}" + (" (already done)" if state == TenantOutcome.SKIPPED else "")
            for state, n in counts.items()
        )
        + f"; {sum(r.rows for r in results if r.state != 'skipped'):,} rows moved"
    )
