"""tenancy cutover: switch tenants migrated online to their schema, one short fence each."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, finish_tenants, installed, manifest, select_tenants
from runner.engine import online
from runner.report import print_table


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "cutover",
        "Fence a tenant's writers, drain its changes, validate, switch it over; its shared rows answer TY050.",
        run,
        details="For tenants migrated with `migrate --online` (syncing). Give --tenant (repeatable) or --all.\n"
        "Writers of other tenants never wait; --lock-timeout bounds the wait for this tenant's writers in\n"
        "progress. From then on the application must use the tenant schema: every statement that\n"
        "reaches the tenant's shared rows (kept, read-only, until contract) fails with TY050.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    which = options.add_tenants(p, required=True)
    which.add_argument("--all", action="store_true", dest="every", help="every tenant of the registry")
    options.JOBS.add(p)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
    done = online.cutover_tenants(url, chosen.ids, jobs=args.jobs, lock_timeout=f"{args.lock_timeout:g}s")
    results = chosen.merge(done)
    if not args.json:
        rows = []
        for r in results:
            c = r.checks[0] if r.checks else {}
            rows.append(
                (
                    r.tenant_id,
                    r.state,
                    r.rows,
                    None if c.get("fence_ms") is None else round(c["fence_ms"], 1),
                    c.get("replayed_under_fence"),
                )
            )
        print_table(
            "cutover",
            ("tenant", "state", "rows", "fence ms", "replayed under fence"),
            rows,
            right=("rows", "fence ms", "replayed under fence"),
            err_rows=[i for i, r in enumerate(results) if not r.ok],
        )
    return finish_tenants("cutover", results, url)
