"""tenancy provision: each tenant's schema, roles and grants (tenancy.provision_tenants)."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from runner.access.provision import provision_tenants
from runner.cli import options
from runner.cli.common import Outcome, database, finish_tenants, installed, manifest, select_tenants
from runner.report import say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "provision",
        "Create or repair each tenant's schema, roles and grants (tenancy.provision_tenants).",
        run,
        details="Without --tenant: every tenant of the registry. An administrator runs it (it creates roles);\n"
        "idempotent. One short line per tenant, its changes counted (-v or --json lists them).",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
    results = chosen.merge(provision_tenants(url, chosen.ids))
    for i, r in enumerate(results, 1):
        if not r.ok or args.json:
            continue
        counts = Counter(_kind(c.state) for c in r.tables)
        what = ", ".join(f"{counts[k]} {k}" for k in ("created", "granted or revoked", "other") if counts[k])
        say(f"[{i}/{len(results)} provision:{r.tenant_id}] {what or 'no change'}")
        if args.verbosity > 0:
            for c in r.tables:
                say(f"    {c.table_name}: {c.state}")
    outcome = finish_tenants("provision", results, url)
    outcome.doc["tenants"] = [
        {
            "tenant_id": r.tenant_id,
            "state": r.state,
            "changes": [{"object": c.table_name, "action": c.state} for c in r.tables],
            "error": r.error,
            "hint": r.hint,
        }
        for r in results
    ]
    return outcome


def _kind(action: str) -> str:
    """How a change counts in the short line: created, granted or revoked, or other (owners, settings, RLS)."""
    if action.startswith("created"):
        return "created"
    if action.startswith(("granted", "revoked")):
        return "granted or revoked"
    return "other"
