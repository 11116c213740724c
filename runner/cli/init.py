"""tenancy init: write a manifest to edit for your database.

The manifest's text comes from one source today, the example (the sample's
tables); a source that reads the database would sit beside it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome
from runner.errors import ManifestError
from runner.manifest import DEFAULT_MANIFEST, MANIFEST_ENV
from runner.report import say
from runner.resources import EXAMPLE_MANIFEST

SUMMARY = "Write the example manifest to FILE, to edit for your database; never overwrites."


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "init",
        SUMMARY,
        run,
        details="The example describes the sample's tables (`tenancy sample`): edit [tenancy], [registry] and\n"
        "the table lists ([move], [central], [hybrid]) for your database. Uses no database.",
    )
    p.add_argument(
        "path",
        nargs="?",
        type=Path,
        metavar="FILE",
        help=f"where to write it (default: ${MANIFEST_ENV}, else ./{DEFAULT_MANIFEST}: where the other verbs look)",
    )


def run(args: argparse.Namespace) -> Outcome:
    path: Path = args.path or Path(os.environ.get(MANIFEST_ENV) or DEFAULT_MANIFEST)
    write_new(path, EXAMPLE_MANIFEST.read_text(encoding="utf-8"))
    if not args.json:
        say(
            f"wrote {path}: the example manifest (the sample's tables). Edit [tenancy], [registry] and the "
            "table lists for your database; `tenancy sample` builds a database it fits."
        )
    return Outcome({"path": str(path), "source": "example"})


def write_new(path: Path, text: str) -> None:
    """Write text to path, which must not exist yet (as Alembic's `init` writes its env)."""
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise ManifestError(
            f"{str(path)!r} already exists; nothing was written",
            hint="Edit it, or pass another FILE: `tenancy init other.toml`.",
        ) from None
    except OSError as e:
        raise ManifestError(f"cannot write {str(path)!r}: {e.strerror}", hint="Pass a writable FILE.") from None
