"""tenancy init: write a manifest to edit for your database.

The manifest's text comes from one of two sources: the example (the sample's
tables), or with --from-database the catalog of the database
(runner/engine/discover.py: every table with its proposed fate and the reason,
and the questions the catalog cannot answer).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database
from runner.db import connect
from runner.engine.discover import CENTRAL, HYBRID, MOVE, Proposal, propose_manifest
from runner.errors import ManifestError
from runner.manifest import DEFAULT_MANIFEST, MANIFEST_ENV
from runner.report import say
from runner.resources import EXAMPLE_MANIFEST

SUMMARY = "Write a manifest to FILE: the example, or one proposed from the database; never overwrites."


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "init",
        SUMMARY,
        run,
        details="Without --from-database: the example, which describes the sample's tables (`tenancy sample`):\n"
        "edit [tenancy], [registry] and the table lists ([move], [central], [hybrid]) for your database; uses no\n"
        "database. With --from-database: reads the catalog of schema public (never the rows; changes nothing)\n"
        "and writes every table with its proposed fate and the reason as a comment, then lists what it could\n"
        "not decide (the lists already hold its proposals).",
    )
    p.add_argument(
        "path",
        nargs="?",
        type=Path,
        metavar="FILE",
        help=f"where to write it (default: ${MANIFEST_ENV}, else ./{DEFAULT_MANIFEST}: where the other verbs look)",
    )
    p.add_argument(
        "--from-database",
        action="store_true",
        help="propose the manifest from the database's catalog instead of writing the example",
    )
    p.add_argument(
        "--tenant-key",
        metavar="COLUMN",
        help="with --from-database: the column naming the tenant (default: guessed from the foreign keys)",
    )
    p.add_argument(
        "--registry",
        metavar="TABLE",
        help="with --from-database: the table listing the tenants (default: the one the tenant key references)",
    )
    options.add_database(p)


def run(args: argparse.Namespace) -> Outcome:
    path: Path = args.path or Path(os.environ.get(MANIFEST_ENV) or DEFAULT_MANIFEST)
    if not args.from_database:
        for flag, value in (("--tenant-key", args.tenant_key), ("--registry", args.registry), ("--dsn", args.dsn)):
            if value is not None:
                args.verb_parser.error(f"{flag} needs --from-database")
        write_new(path, EXAMPLE_MANIFEST.read_text(encoding="utf-8"))
        if not args.json:
            say(
                f"wrote {path}: the example manifest (the sample's tables). Edit [tenancy], [registry] and the "
                "table lists for your database; `tenancy sample` builds a database it fits."
            )
        return Outcome({"path": str(path), "source": "example"})
    refuse_existing(path)
    with connect(database(args)) as conn:
        proposal = propose_manifest(conn, tenant_key=args.tenant_key, registry=args.registry)
    write_new(path, proposal.toml())
    if not args.json:
        _say_proposal(path, proposal)
    return Outcome(
        {
            "path": str(path),
            "source": "database",
            "schema": proposal.schema,
            "tenant_key": proposal.tenant_key,
            "registry": proposal.registry,
            **{section: proposal.tables(section) for section in (MOVE, HYBRID, CENTRAL)},
            "undecided": [
                {"topic": d.topic, "tables": list(d.tables), "question": d.question, "proposed": d.proposed}
                for d in proposal.undecided
            ],
        }
    )


def _say_proposal(path: Path, p: Proposal) -> None:
    say(
        f"wrote {path}: proposed from schema {p.schema}: tenant key {p.tenant_key}, registry {p.registry}; "
        f"{len(p.tables(MOVE))} tables move, {len(p.tables(HYBRID))} stay shared with {p.tenant_key} "
        f"([hybrid]), {len(p.tables(CENTRAL))} central. Each table's reason is a comment in the file."
    )
    if not p.undecided:
        say("nothing left undecided: check the file, then `tenancy plan`")
        return
    say(f"{len(p.undecided)} question(s) the catalog cannot answer (the file holds the proposed answers):")
    for i, d in enumerate(p.undecided, start=1):
        say(f"  {i}. {d.question}")
        say(f"     proposed: {d.proposed}")


def refuse_existing(path: Path) -> None:
    """ManifestError when path exists: init never overwrites (checked before any work)."""
    if path.exists():
        raise ManifestError(
            f"{str(path)!r} already exists; nothing was written",
            hint="Edit it, or pass another FILE: `tenancy init other.toml`.",
        )


def write_new(path: Path, text: str) -> None:
    """Write text to path, which must not exist yet (as Alembic's `init` writes its env)."""
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        refuse_existing(path)
        raise
    except OSError as e:
        raise ManifestError(f"cannot write {str(path)!r}: {e.strerror}", hint="Pass a writable FILE.") from None
