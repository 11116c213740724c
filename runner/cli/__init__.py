"""The `tenancy` command: one module per verb, each with its parser beside its handler.

Each verb module has ``add_parser(subparsers)``, which builds its parser with
the shared options of runner/cli/options.py and names its handler, and
``run(args) -> Outcome``. Here: the parser of all verbs, and what every run
shares: the --report path checked first, the JSON document printed or written,
FAILED: with a hint and exit 2 for what the user can fix, the run recorded in
tenancy.history, a stop signal, and a closed stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import psycopg

from runner import __version__, signals
from runner.cli import (
    completion,
    contract,
    cutover,
    distribute,
    federation,
    history,
    init,
    install,
    migrate,
    move,
    placement,
    plan,
    provision,
    render,
    rollback,
    status,
    uninstall,
    validate,
    verify_grants,
)
from runner.cli.common import Outcome
from runner.cli.options import EXIT_CODES, Parser
from runner.db import DEFAULT_LOCK_TIMEOUT, connect, set_lock_timeout
from runner.engine.history import can_record, record_events
from runner.errors import ReportPathError, TenancyError, hint_for
from runner.report import check_report_path, print_json, say, set_verbosity, warn, write_report


class Verb(Protocol):
    """A verb module: its parser (with its handler as `run`) beside the handler."""

    def add_parser(self, subparsers: Any) -> None: ...

    def run(self, args: argparse.Namespace) -> Outcome: ...


# In the order of the flow, then the rest; `tenancy --help` lists them so.
VERBS = (
    init,
    plan,
    render,
    install,
    provision,
    migrate,
    cutover,
    validate,
    contract,
    rollback,
    status,
    history,
    verify_grants,
    uninstall,
    federation,
    distribute,
    placement,
    move,
)
# The entry point group in which the dev verbs (demo, sample, the benches:
# runner/devtools/verbs/) and any other package's verbs are declared.
PLUGIN_GROUP = "tenancy.verbs"

DESCRIPTION = """\
Move a multi-tenant PostgreSQL database from shared tenant_id tables to one
schema per tenant. All data moves inside PostgreSQL (PL/pgSQL in schema
`tenancy`); this command only calls those functions and reports.

flow:     init (write tenancy.toml, or --from-database) -> plan -> install -> provision
          -> migrate --online -> cutover -> validate -> contract
          (offline: migrate -> validate; rollback at any step before contract)
database: --dsn, else $DATABASE_URL, else libpq's PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE
manifest: --manifest, else $TENANCY_MANIFEST, else ./tenancy.toml
output:   results on stdout (plain text when not a terminal; one JSON object with --json),
          progress, warnings and failures on stderr (-q: less, -v: more).
try it:   tenancy demo (an embedded PostgreSQL and a sample database)
"""

# Exit code when stdout was closed early (`tenancy render | head`): 128 + SIGPIPE, as for
# 130 (SIGINT) and 143 (SIGTERM).
EXIT_PIPE_CLOSED = 141
# What a run's history records of its options: never the connection string.
_NOT_RECORDED = frozenset({"--dsn", "--json", "--report", "--verbose", "--quiet", "--traceback", "--yes", "--help"})


def build_parser() -> Parser:
    parser = Parser(
        prog="tenancy",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tenancy {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in (*VERBS, *plugin_verbs(), completion):
        verb.add_parser(subparsers)
    return parser


def plugin_verbs() -> list[Verb]:
    """The verbs declared in the entry point group tenancy.verbs (pyproject.toml), by name:
    the product's CLI knows them only from there."""
    return [ep.load() for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name)]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_lock_timeout(getattr(args, "lock_timeout", DEFAULT_LOCK_TIMEOUT))
    set_verbosity(args.verbosity)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return code
    except BrokenPipeError:
        # Whoever read stdout stopped (`| head`): stop quietly, and keep the interpreter
        # from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED


def _run(args: argparse.Namespace) -> int:
    with signals.handle_signals():
        try:
            check_report_path(args.report)
            outcome: Outcome = args.run(args)
        except signals.Interrupt as e:
            if args.traceback:
                raise
            say(f"FAILED: stopped by {e} before any tenant's work started", style="red", err=True)
            return signals.exit_code(e.signum)
        except (
            TenancyError,
            psycopg.OperationalError,
            psycopg.errors.InsufficientPrivilege,
            psycopg.errors.ReadOnlySqlTransaction,
        ) as e:
            if args.traceback:
                raise
            _refused(args, e)
            return 2
        stopped = signals.received()
        doc = {"command": args.verb, **outcome.doc}
        if args.json:
            print_json(doc)
        if args.report:
            write_report(args.report, doc)
        if args.records and not getattr(args, "dry_run", False) and outcome.url is not None:
            _record(args, doc["command"], outcome, outcome.url, "interrupted" if stopped is not None else None)
    return signals.exit_code(stopped) if stopped is not None else outcome.code


def _refused(args: argparse.Namespace, e: Exception) -> None:
    """FAILED: with the hint; errors of the environment (server gone, a lock held too long,
    a missing privilege, a read-only database) are told the same way as the tool's own.
    Nothing was changed. --json and --report still get one document, saying so."""
    if isinstance(e, TenancyError):
        message, detail, hint, sqlstate = str(e), e.detail, e.hint, getattr(e, "sqlstate", None)
    else:
        assert isinstance(e, psycopg.Error)
        diag = e.diag
        message = f"{e.sqlstate or 'connection'}: {diag.message_primary or str(e).strip()}"
        detail, hint, sqlstate = diag.message_detail, diag.message_hint or hint_for(e.sqlstate), e.sqlstate
    say(f"FAILED: {message}", style="red", err=True)
    for line in (detail or "").splitlines():
        say(f"  {line}", err=True)
    if hint:
        say(f"  hint: {hint}", err=True)
    doc = {
        "command": args.verb,
        "ok": False,
        "error": {"message": message, "detail": detail, "hint": hint, "sqlstate": sqlstate},
    }
    if args.json:
        print_json(doc)
    if args.report and not isinstance(e, ReportPathError):
        write_report(args.report, doc)


def _recorded_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of the run as given on the command line (by flag), without the connection string."""
    given: dict[str, Any] = {}
    for action in args.verb_parser._actions:
        flag = next((s for s in action.option_strings if s.startswith("--")), None)
        value = getattr(args, action.dest, None)
        if flag is None or flag in _NOT_RECORDED or value in (None, False, []) or value == action.default:
            continue
        given[flag] = str(value) if isinstance(value, Path) else value
    return given


def _record(args: argparse.Namespace, command: str, outcome: Outcome, url: str, stopped: str | None) -> None:
    """The run in tenancy.history: what, its options, the outcome; one row per failed tenant."""
    failed = [r for r in outcome.results if not r.ok]
    detail: dict[str, Any] = {"exit_code": outcome.code, "version": __version__, "options": _recorded_options(args)}
    if outcome.results:
        detail.update(tenants=len(outcome.results), failed=len(failed))
    result = stopped or ("ok" if outcome.code == 0 else "failed")
    try:
        with connect(url) as conn:
            if can_record(conn):
                record_events(
                    conn,
                    command,
                    result,
                    detail,
                    [(r.tenant_id, {"state": r.state, "error": r.error, "sqlstate": r.sqlstate}) for r in failed],
                )
    except (TenancyError, psycopg.Error) as e:
        warn(f"the run is not recorded in tenancy.history: {e}")
