"""tenancy render: the per-table SQL, rendered from the live catalog; changes nothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, manifest
from runner.db import connect
from runner.engine.render import render_all, write_rendering
from runner.report import say, warn


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "render",
        "Render the per-table SQL from the live catalog (prints it, or writes files to --out).",
        run,
        details="Reads the shared tables named in the manifest; changes nothing. Each file names its template.",
    )
    options.add_database(p)
    options.add_manifest(p)
    p.add_argument("--out", type=Path, metavar="DIR", help="write the rendered .sql files to this directory")


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    with connect(database(args)) as conn:
        rendering = render_all(conn, m)
    for w in rendering.warnings:
        warn(w)
    files: list[dict[str, str]] = [{"name": f.name, "template": f.template} for f in rendering.files]
    if args.out is not None:
        for entry, path in zip(files, write_rendering(rendering, args.out), strict=True):
            entry["path"] = str(path)
            if not args.json:
                say(f"wrote {path}")
    else:
        for entry, f in zip(files, rendering.files, strict=True):
            entry["text"] = f.text
            if not args.json:
                say(f.text)
    return Outcome({"files": files, "warnings": list(rendering.warnings)})
