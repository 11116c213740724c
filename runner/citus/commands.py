"""The Citus verbs of `tenancy`: distribute, placement, move (parsing, dispatch, output)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from runner.argtypes import positive
from runner.citus.distribute import distribute
from runner.citus.move import move_tenant
from runner.citus.placement import placements, tenants_per_node
from runner.db import connect, resolve_dsn
from runner.manifest import Manifest
from runner.report import print_failures, print_table, say, warn

COMMANDS = ("distribute", "placement", "move")


def _node(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return value


def add_citus_commands(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Add `distribute`, `placement` and `move` to the `tenancy` parser."""

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subparsers.add_parser(
            name, parents=list(parents), help=help_text, description=help_text
        )
        return p

    d = add(
        "distribute",
        "Citus: distribute each migrated tenant schema to a worker (preflight first; nothing changes on refusal).",
    )
    d.add_argument("--tenant", action="append", dest="tenants", metavar="ID",
                   help="tenant id (repeatable; default: every tenant of the registry)")
    d.add_argument("--jobs", type=positive, default=1, help="tenants distributed in parallel (default 1)")
    d.add_argument("--make-reference", action="append", default=[], metavar="TABLE",
                   help="consent: make this central table a Citus reference table, copied to every node (repeatable;"
                   " the manifest's [citus] reference_tables gives the same consent)")
    p = add("placement", "Citus: the worker holding each tenant, its size and rows, largest first.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    m = add("move", "Citus: move one tenant to another worker (citus_schema_move), then validate it.")
    m.add_argument("--tenant", required=True, metavar="ID", help="tenant id")
    m.add_argument("--to", required=True, type=_node, metavar="HOST:PORT", help="target worker")


def run_citus(args: argparse.Namespace, manifest: Manifest) -> int:
    url = resolve_dsn(args.dsn)
    if args.command == "distribute":
        return _distribute(url, manifest, args)
    if args.command == "placement":
        return _placement(url, as_json=args.json)
    if args.command == "move":
        return _move(url, manifest, args.tenant, args.to)
    raise AssertionError(f"unhandled command {args.command}")


def _distribute(url: str, manifest: Manifest, args: argparse.Namespace) -> int:
    run = distribute(url, manifest, tenants=args.tenants, make_reference=args.make_reference, jobs=args.jobs)
    for table, action in run.references:
        say(f"reference table {table}: {action}")
    for change in run.row_security:
        say(f"row-level security: {change}")
    for w in run.warnings:
        warn(w.describe())
    print_table(
        "distribute",
        ("tenant", "state", "rows verified", "seconds", "where"),
        [(r.tenant_id, r.state, r.rows, f"{r.seconds:.2f}", r.detail or r.error or "") for r in run.results],
        right=("rows verified", "seconds"),
        err_rows=[i for i, r in enumerate(run.results) if not r.ok],
    )
    print_failures(run.results)
    ok = all(r.ok for r in run.results)
    return 0 if run.results and ok else 1


def _placement(url: str, *, as_json: bool) -> int:
    with connect(url) as conn:
        found = placements(conn)
        per_node = tenants_per_node(conn, found)
    if as_json:
        rows = [asdict(p) for p in found]
        print(json.dumps({"tenants": rows, "tenants_per_node": per_node}, default=str, indent=2))
        return 0
    print_table(
        "placement (largest first)",
        ("tenant", "worker", "tables", "size", "rows at distribution", "moved"),
        [
            (p.tenant_id, p.node or "?", p.tables, _size(p.bytes), p.rows_verified,
             f"{p.moved_at:%Y-%m-%d %H:%M}" if p.moved_at else "")
            for p in found
        ],
        right=("tables", "size", "rows at distribution"),
    )
    say("tenants per worker: " + ", ".join(f"{n} {c}" for n, c in per_node.items()))
    return 0


def _move(url: str, manifest: Manifest, tenant_id: str, target: str) -> int:
    r = move_tenant(url, manifest, tenant_id, target)
    if r.moved:
        say(f"tenant {tenant_id}: moved {_size(r.bytes)} from {r.source} to {r.target} ({r.mode}, {r.seconds:.1f}s)")
    else:
        say(f"tenant {tenant_id}: already on {r.target}; nothing moved")
    v = r.validation
    say(f"validate: {len(v.checks)} checks, {'passed' if v.ok else v.error}")
    print_failures([v])
    return 0 if v.ok else 1


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
