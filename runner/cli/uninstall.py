"""tenancy uninstall: remove what install and provisioning made that all tenants share."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, confirm, database, manifest, require_writable
from runner.db import connect
from runner.engine.uninstall import blockers, shared_roles
from runner.engine.uninstall import uninstall as uninstall_sql
from runner.names import TOOL_SCHEMAS
from runner.report import say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "uninstall",
        "Remove schemas tenancy and tenancy_federation and the shared roles; refuses while anything depends "
        "on them. Tenant schemas, tenant roles and data always stay.",
        run,
        details="Shows what it removes and asks first: --yes (or yes typed on a terminal) goes ahead;\n"
        "--dry-run only shows it.",
    )
    options.add_database(p)
    options.add_manifest(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="also drop the objects that use tenancy's functions (e.g. triggers on shared tables) and revoke "
        "the shared roles from their members; never tenant schemas or data",
    )
    when = p.add_mutually_exclusive_group()
    options.DRY_RUN.add(when)
    options.YES.add(when)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    roles = shared_roles(m)
    with connect(url) as conn:
        schemas = [s for s in TOOL_SCHEMAS if conn.execute("SELECT to_regnamespace(%s)", (s,)).fetchone() != (None,)]
        present = [r for r in roles if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone()]
        found = blockers(conn, roles)
        if not args.dry_run:
            require_writable(conn)
    refused = any(b.kind == "owned" for b in found) or (bool(found) and not args.force)
    plan = [
        f"uninstall removes schemas {', '.join(schemas) or '(none)'} and roles {', '.join(present) or '(none)'}; "
        "tenant schemas, tenant roles and data stay",
        *(
            f"  {'dropped first (--force)' if args.force and b.kind != 'owned' else 'in the way'}: {b.describe()}"
            for b in found
        ),
    ]
    doc: dict[str, Any] = {
        "dry_run": args.dry_run,
        "schemas": schemas,
        "roles": present,
        "blockers": [{"kind": b.kind, "object": b.object_name, "reason": b.reason} for b in found],
        "refused": refused,
    }
    if not schemas and not present:
        if not args.json:
            say("tenancy is not installed here: nothing to remove")
        return Outcome(doc)
    if args.dry_run:
        if not args.json:
            say("dry run: nothing is changed")
            for line in plan:
                say(line)
            if refused:
                say(
                    "uninstall would refuse: "
                    + (
                        "objects are owned by a shared role"
                        if args.force
                        else "pass --force to drop what depends on it"
                    )
                )
        return Outcome(doc, 1 if refused else 0)
    if not refused:
        confirm(args, plan, "uninstall")
    with connect(url) as conn:
        result = uninstall_sql(conn, m, force=args.force)  # refuses, listing them, when something is in the way
    if not args.json:
        for b in result.forced:
            say(f"forced: {b.describe()}")
        say(
            f"uninstalled: schemas {', '.join(result.schemas) or '(none)'}; roles {', '.join(result.roles) or '(none)'}"
        )
        for role in result.kept_roles:
            say(f"kept role {role}: it still holds privileges in another database (uninstall there too)")
    doc.update(schemas=list(result.schemas), roles=list(result.roles), kept_roles=list(result.kept_roles))
    return Outcome(doc)
