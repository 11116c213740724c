"""tenancy verify-grants: the live privileges against the privilege model; exit 1 on drift."""

from __future__ import annotations

import argparse
from typing import Any

import psycopg

from runner.access import drift as grants
from runner.citus import grants as citus_grants
from runner.cli import options
from runner.cli.common import Outcome, database, manifest, narrow
from runner.db import connect
from runner.engine import executor
from runner.errors import RegistryMissing
from runner.privileges import build_model
from runner.report import print_failures, print_table, say


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "verify-grants",
        "Compare live owners, ACLs, role flags and RLS with the privilege model; exit 1 on drift.",
        run,
        details="Without --tenant: every registry tenant whose schema exists, and the shared roles whole.\n"
        "Reads the catalog only: any login may run it. On a Citus coordinator, each worker too.",
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with connect(url) as conn:
        if args.tenants:
            chosen = narrow(m, list(dict.fromkeys(args.tenants)), args.exclude)
            ids = chosen.ids
        else:
            try:
                registry = executor.registry_tenants(conn, m)
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as e:
                raise RegistryMissing(
                    f"the registry of the manifest ({m.central_schema}.{m.registry.table}, column "
                    f"{m.registry.id_column}) is not there: {e.diag.message_primary}; nothing was checked",
                    hint="Correct [registry] in the manifest, or pass --tenant.",
                ) from None
            chosen = narrow(m, registry, args.exclude)
            ids = grants.provisioned_tenants(conn, chosen.ids, {t: m.schema_for(t) for t in chosen.ids})
        model = build_model(m, ids)
        drift = grants.verify(conn, model, all_tenants=not args.tenants)
        # On a Citus coordinator, each worker too (runner/citus/grants.py).
        if citus_grants.is_citus_coordinator(conn):
            drift += [w.drift for w in citus_grants.verify_workers(conn, url, model)]
    if not args.json and drift:
        print_table(
            "verify-grants: drift",
            ("status", "tenant", "type", "fact"),
            [(d.status, d.tenant or "(shared)", d.fact.object_type, d.describe()) for d in drift],
            err_rows=[i for i, d in enumerate(drift) if d.status == "missing"],
        )
    print_failures(chosen.refused)
    if not args.json:
        say(f"verify-grants: {len(ids)} tenant(s) checked, {len(drift)} drift row(s)")
    failed = bool(drift or chosen.refused)
    return Outcome(
        {
            "ok": not failed,
            "tenants_checked": len(ids),
            "drift": [
                {"status": d.status, "tenant": d.tenant, "type": d.fact.object_type, "fact": d.describe()}
                for d in drift
            ],
            "refused": [{"tenant_id": r.tenant_id, "error": r.error, "hint": r.hint} for r in chosen.refused],
        },
        1 if failed else 0,
    )
