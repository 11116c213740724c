"""tenancy provision: each tenant's schema, roles and grants (tenancy.provision_tenants)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from runner.access.credentials import apply_credentials, credentials_path, load_credentials
from runner.access.provision import provision_tenants
from runner.cli import options
from runner.cli.common import Outcome, database, finish_tenants, installed, manifest, select_tenants
from runner.db import connect
from runner.engine.executor import TableResult
from runner.report import say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "provision",
        "Create or repair each tenant's schema, roles and grants (tenancy.provision_tenants).",
        run,
        details="Without --tenant: every tenant of the registry. An administrator runs it (it creates roles);\n"
        "idempotent. One short line per tenant, its changes counted (-v or --json lists them).\n"
        "Tenant login roles are created NOLOGIN: they can log in once given a credential.\n"
        "--credentials FILE (default $TENANCY_CREDENTIALS) gives them one: a TOML file of [tenant]\n"
        'sections with app = "password", readonly = "password" and an optional valid_until =\n'
        "2027-01-01, readable by its owner only (chmod 600). Each password is sent as a SCRAM-SHA-256\n"
        "verifier, never as itself.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)
    p.add_argument(
        "--credentials",
        type=Path,
        metavar="FILE",
        help="passwords of the tenant login roles (TOML, chmod 600; default $TENANCY_CREDENTIALS)",
    )


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    path = credentials_path(args.credentials)
    given = load_credentials(path) if path else []  # read and checked before anything changes
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
    results = chosen.merge(provision_tenants(url, chosen.ids))
    if given and all(r.ok for r in results):
        with connect(url) as conn:
            for tenant, role, action in apply_credentials(conn, given):
                for r in results:
                    if r.tenant_id == tenant:
                        r.tables.append(TableResult(role, action, 0, None))
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
