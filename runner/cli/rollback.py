"""tenancy rollback: undo tenants' migrations, at any step before contract.

What it would do is rollback itself run in a transaction that is rolled back
(the same checks, refusals and locks; nothing changed): --dry-run shows it,
and --force, which drops rows only the tenant tables hold, shows it and asks
first.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg

from runner.cli import options
from runner.cli.common import (
    Outcome,
    confirm,
    database,
    finish_tenants,
    installed,
    manifest,
    select_tenants,
)
from runner.db import typed_errors
from runner.engine import migrate
from runner.engine.executor import TableResult, TenantResult, failed_result
from runner.engine.rows import TableAction, fetch_all
from runner.errors import TenancyError
from runner.report import say
from runner.states import TenantOutcome


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "rollback",
        "Undo a tenant's migration: after cutover its rows are copied back first; then its new tables are dropped.",
        run,
        details="Refused while the tenant tables hold rows the shared tables lack (TY053), unless --force,\n"
        "which shows the rows it drops and asks first: --yes (or yes typed on a terminal) goes ahead.\n"
        "--dry-run shows what it would do: rollback run in a transaction rolled back (it takes the\n"
        "same locks, for as long).",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p, required=True)
    p.add_argument(
        "--force", action="store_true", help="drop tenant tables even if they hold rows the shared ones do not"
    )
    when = p.add_mutually_exclusive_group()
    options.DRY_RUN.add(when)
    options.YES.add(when)


def _rehearse(conn: psycopg.Connection, tenant_id: str) -> TenantResult:
    """rollback_tenant (not forced) in a transaction that is rolled back: its actions, or its refusal."""
    started = time.monotonic()
    try:
        with typed_errors(), conn.transaction(force_rollback=True):
            rows = fetch_all(
                conn, TableAction, "SELECT table_name, action FROM tenancy.rollback_tenant(%s, false)", (tenant_id,)
            )
    except (TenancyError, psycopg.Error) as e:
        return failed_result(tenant_id, e, started)
    return TenantResult(
        tenant_id, TenantOutcome.PLANNED, tables=[TableResult(r.table_name, r.action, 0, None) for r in rows]
    )


def _describe(r: TenantResult, force: bool, *, done: bool = False) -> str:
    if r.ok:
        dropped = [t for t in r.tables if t.state.endswith("dropped")]
        back = sum(1 for t in dropped if t.state.startswith("copied back"))
        where = f"{back} copied back into the shared tables first" if back else "shared tables untouched"
        return f"tenant {r.tenant_id}: {'dropped' if done else 'drops'} {len(dropped)} tenant tables; {where}"
    if force and r.sqlstate == "TY053":
        lost = "; ".join((r.detail or "").splitlines())
        return f"tenant {r.tenant_id}: --force drops its tenant tables and the rows only they hold ({lost})"
    return f"tenant {r.tenant_id}: refused: {r.error}"


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=True) as conn:
        chosen = select_tenants(conn, m, args)
        rehearsed = [_rehearse(conn, t) for t in chosen.ids] if args.dry_run or args.force else []
    plan = [_describe(r, args.force) for r in rehearsed]
    if args.dry_run:
        if not args.json:
            say("dry run: nothing is changed")
            for line in plan:
                say(line)
        if args.force:  # rows --force drops are part of its plan, not a refusal
            rehearsed = [
                TenantResult(r.tenant_id, TenantOutcome.PLANNED, detail=r.detail) if r.sqlstate == "TY053" else r
                for r in rehearsed
            ]
        return finish_tenants("rollback --dry-run", chosen.merge(rehearsed), url)
    if args.force:
        confirm(args, plan, "rollback --force")
    results = chosen.merge(migrate.rollback_tenants(url, chosen.ids, force=args.force))
    if not args.json:
        for r in results:
            if r.ok:
                say(_describe(r, args.force, done=True))
    return finish_tenants("rollback", results, url)
