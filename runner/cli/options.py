"""The options verbs share, each declared once, and the parser every verb is built with.

A verb module builds its parser with :func:`add_verb` (which gives every verb
--json, --report, -v/-q and --traceback) and attaches the shared groups it
uses: :func:`add_database` (--dsn, --lock-timeout), :func:`add_manifest`,
:func:`add_tenants` (--tenant, --exclude), and the single options declared
here (--jobs, --batch-size, --dry-run, --yes, the sample's size). Names,
metavars and help come from here only, so every verb that takes an option
takes the same one (tests/runner/cli/test_options.py checks it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from runner.db import DEFAULT_LOCK_TIMEOUT
from runner.manifest import DEFAULT_MANIFEST, MANIFEST_ENV

EXIT_CODES = """\
exit codes:
  0    success
  1    a tenant failed, is invalid or is not migrated (or drift was found)
  2    bad input or environment: an option, the manifest, a tenant id, the database,
       a path, the server gone, a lock held too long, a missing privilege, a step
       not confirmed (FAILED: + hint); nothing was changed
  130/143  stopped by SIGINT/SIGTERM: tenants in flight rolled back or resumable,
       as the report says
  141  stdout was closed early (e.g. `| head`): the output stops there, quietly
"""

# PostgreSQL's integer: the batch size is passed to SQL as one.
MAX_BATCH_SIZE = 2_147_483_647
MAX_LOCK_TIMEOUT = 86_400


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors end like every other refusal: FAILED: and a hint, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"FAILED: {message}\n  hint: `{self.prog} --help` lists the options and what they take.\n")


# -- Argument types ---------------------------------------------------------------


def whole_number(value: str, low: int, high: int, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or not low <= n <= high:
        raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,} ({what}), not {value!r}")
    return n


def positive(value: str) -> int:
    return whole_number(value, 1, MAX_BATCH_SIZE, "a count")


def batch_size(value: str) -> int:
    return whole_number(value, 1, MAX_BATCH_SIZE, "rows per table per batch")


def seconds(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        n = None
    if n is None or not 0 < n <= MAX_LOCK_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds, more than 0 and at most {MAX_LOCK_TIMEOUT} (e.g. 0.5 or 5), not {value!r}"
        )
    return n


# -- Shared options ---------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option as every verb that takes it declares it."""

    flags: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, container: Any) -> argparse.Action:
        """Attach it to a parser or to a group of one (e.g. mutually exclusive)."""
        action: argparse.Action = container.add_argument(*self.flags, **self.settings)
        return action


DSN = Option(
    ("--dsn",),
    {
        "metavar": "DSN",
        "help": "PostgreSQL connection string (postgresql://… or key=value); default: $DATABASE_URL, "
        "else libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE, ~/.pgpass), as psql",
    },
)
LOCK_TIMEOUT = Option(
    ("--lock-timeout",),
    {
        "type": seconds,
        "default": DEFAULT_LOCK_TIMEOUT,
        "metavar": "SECONDS",
        "help": "longest wait for any lock, in seconds (e.g. 0.5), before the tenant fails "
        "(default %(default)g; the wait is reported with the pid holding the lock)",
    },
)
MANIFEST = Option(
    ("--manifest",),
    {
        "type": Path,
        "metavar": "FILE",
        "help": f"manifest TOML; default: ${MANIFEST_ENV}, else ./{DEFAULT_MANIFEST}",
    },
)
TENANT = Option(
    ("--tenant",),
    {"action": "append", "dest": "tenants", "metavar": "ID", "help": "work on this tenant (repeatable)"},
)
EXCLUDE = Option(
    ("--exclude",),
    {
        "action": "append",
        "default": [],
        "metavar": "ID",
        "help": "leave this tenant out (repeatable), e.g. a registry id the tool refuses",
    },
)
JSON = Option(
    ("--json",),
    {"action": "store_true", "help": 'print one JSON object on stdout (with a "command" key) instead of text'},
)
REPORT = Option(
    ("--report",),
    {
        "type": Path,
        "metavar": "FILE",
        "help": "also write that JSON object to FILE (the path is checked before any work)",
    },
)
VERBOSE = Option(
    ("-v", "--verbose"),
    {
        "action": "store_const",
        "const": 1,
        "dest": "verbosity",
        "help": "more on stderr: a line per tenant as it finishes",
    },
)
QUIET = Option(
    ("-q", "--quiet"),
    {
        "action": "store_const",
        "const": -1,
        "dest": "verbosity",
        "help": "less on stderr: results, warnings and failures only",
    },
)
TRACEBACK = Option(
    ("--traceback",),
    {"action": "store_true", "help": "show the traceback of an expected error too (for a bug report)"},
)
JOBS = Option(
    ("--jobs",),
    {"type": positive, "default": 1, "metavar": "N", "help": "tenants worked on in parallel (default %(default)s)"},
)
BATCH_SIZE = Option(
    ("--batch-size",),
    {
        "type": batch_size,
        "metavar": "N",
        "help": f"commit every N rows per table (1 to {MAX_BATCH_SIZE:,}; keyset batches, resumable; "
        "default: one transaction per tenant)",
    },
)
DRY_RUN = Option(
    ("--dry-run",),
    {"action": "store_true", "help": "show what would be done, and every refusal, and change nothing"},
)
YES = Option(
    ("--yes",),
    {"action": "store_true", "help": "go ahead without asking (needed when not on a terminal)"},
)
TENANT_COUNT = Option(
    ("--tenants",), {"type": positive, "metavar": "N", "help": "tenants of the sample (default %(default)s)"}
)
ROWS = Option(
    ("--rows",), {"type": positive, "metavar": "N", "help": "rows over its shared tables (default %(default)s)"}
)
SEED = Option(
    ("--seed",), {"type": int, "default": 42, "metavar": "N", "help": "same seed, same data (default %(default)s)"}
)


# -- Building a verb's parser ---------------------------------------------------------

Handler = Callable[[argparse.Namespace], Any]


def add_verb(
    subparsers: Any, name: str, summary: str, run: Handler, *, details: str = "", records: bool = False
) -> Parser:
    """A verb's parser, with the options every verb has (--json, --report, -v/-q, --traceback).

    records: a run that did work is recorded in tenancy.history (runner/cli/__init__.py).
    """
    parser: Parser = subparsers.add_parser(
        name,
        help=summary,
        description=summary + (f"\n\n{details}" if details else ""),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    JSON.add(parser)
    REPORT.add(parser)
    loudness = parser.add_mutually_exclusive_group()
    VERBOSE.add(loudness)
    QUIET.add(loudness)
    TRACEBACK.add(parser)
    parser.set_defaults(run=run, verb=name, verb_parser=parser, records=records, verbosity=0)
    return parser


def add_database(parser: argparse.ArgumentParser) -> None:
    DSN.add(parser)
    LOCK_TIMEOUT.add(parser)


def add_manifest(parser: argparse.ArgumentParser) -> None:
    MANIFEST.add(parser)


def add_tenants(parser: argparse.ArgumentParser, *, required: bool = False) -> Any:
    """--tenant and --exclude. required: --tenant (or what the verb adds to the returned
    group, e.g. cutover's --all) must be given. Returns the group --tenant is in."""
    which = parser.add_mutually_exclusive_group(required=True) if required else parser
    TENANT.add(which)
    EXCLUDE.add(parser)
    return which


def add_sample_size(parser: argparse.ArgumentParser, *, tenants: int, rows: int) -> None:
    """--tenants, --rows, --seed of the verbs that build the sample (devtools)."""
    TENANT_COUNT.add(parser).default = tenants
    ROWS.add(parser).default = rows
    SEED.add(parser)
