"""tenancy validate: check every migrated tenant row by row, and record the outcome."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, finish_tenants, installed, manifest, select_tenants
from runner.engine.status import not_migrated_result, record_validation, tenant_status
from runner.engine.validate import validate_tenants
from runner.report import print_table, say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "validate",
        "Check every migrated tenant row by row: counts, checksums, no tenant key, sequences, FKs.",
        run,
        details="Without --tenant: every tenant of the registry. A tenant never migrated is reported as\n"
        '"not migrated" (not as invalid); like an invalid tenant it makes the exit code 1. Each result\n'
        "is recorded: `tenancy status` shows it.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)
    options.JOBS.add(p)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
        statuses = {s.tenant_id: s for s in tenant_status(conn, chosen.ids)}
        migrated = [t for t in chosen.ids if statuses[t].migrated]
        checked = {r.tenant_id: r for r in validate_tenants(url, migrated, args.jobs)} if migrated else {}
        record_validation(conn, list(checked.values()))
    results = chosen.merge([checked.get(t) or not_migrated_result(statuses[t]) for t in chosen.ids])
    if not args.json:
        print_table(
            "validate",
            ("tenant", "state", "checks", "failed"),
            [(r.tenant_id, r.state, len(r.checks), sum(1 for c in r.checks if c["passed"] is False)) for r in results],
            right=("checks", "failed"),
            err_rows=[i for i, r in enumerate(results) if not r.ok],
        )
        counts = Counter(r.state for r in results)
        say("validate: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    return finish_tenants("validate", results, url)
