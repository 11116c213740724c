"""tenancy move: Citus, one tenant to another worker, then validated (runner/citus/move.py)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from runner.citus.move import move_tenant
from runner.cli import options
from runner.cli.common import Outcome, database, installed, manifest
from runner.errors import TenancyError
from runner.report import byte_size, print_failures, say


def _node(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return value


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "move",
        "Citus: move one tenant to another worker (citus_schema_move), then validate it.",
        run,
        details="Run on the coordinator. Non-blocking where the cluster allows it, block_writes otherwise.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.TENANT.add(p.add_mutually_exclusive_group(required=True))
    p.add_argument("--to", required=True, type=_node, metavar="HOST:PORT", help="target worker")


def run(args: argparse.Namespace) -> Outcome:
    if len(args.tenants) != 1:
        raise TenancyError(f"move takes one --tenant, not {len(args.tenants)}", hint="Move one tenant at a time.")
    m = manifest(args)
    url = database(args)
    tenant_id = args.tenants[0]
    installed(url, writes=True).close()
    r = move_tenant(url, m, tenant_id, args.to)
    v = r.validation
    if not args.json:
        if r.moved:
            say(
                f"tenant {tenant_id}: moved {byte_size(r.bytes)} from {r.source} to {r.target} "
                f"({r.mode}, {r.seconds:.1f}s)"
            )
        else:
            say(f"tenant {tenant_id}: already on {r.target}; nothing moved")
        say(f"validate: {len(v.checks)} checks, {'passed' if v.ok else v.error}")
    print_failures([v])
    doc = {k: val for k, val in asdict(r).items() if k != "validation"}
    return Outcome({**doc, "ok": v.ok, "validation": asdict(v)}, 0 if v.ok else 1, url, [v])
