"""tenancy migrate: move each tenant's rows into its schema (offline, or --online until cutover).

--dry-run shows the plan and changes nothing; it is one of the ways a run goes,
beside the offline and the online one, and excludes them. It is `tenancy plan`
(runner/engine/plan.py) for the tenants of the run, on an installed database, with
each tenant's rows to move and DDL.
"""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import (
    Outcome,
    database,
    finish_tenants,
    installed,
    manifest,
    results_table,
    select_tenants,
)
from runner.cli.plan import print_plan
from runner.engine import migrate, online
from runner.engine.executor import TenantResult
from runner.engine.plan import plan_database, tenant_results
from runner.report import ProgressDisplay, say, warn


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "migrate",
        "Move each tenant's rows into its schema (preflight, copy, validate, keys, indexes, FKs).",
        run,
        details="Without --tenant: every tenant of the registry. Each tenant is one transaction; a tenant\n"
        "already migrated is skipped, a failed one is reported and the others go on.\n"
        "--online captures writes while copying; the tenant then stays syncing until `tenancy cutover`.\n"
        "--dry-run is `tenancy plan` for these tenants, with each one's rows to move and DDL; changes nothing.",
        records=True,
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)
    options.JOBS.add(p)
    how = p.add_mutually_exclusive_group()
    options.DRY_RUN.add(how)
    how.add_argument(
        "--online",
        action="store_true",
        help="capture writes while copying from one snapshot, then replay; the tenant stays syncing until cutover",
    )
    options.BATCH_SIZE.add(how)


def run(args: argparse.Namespace) -> Outcome:
    m = manifest(args)
    url = database(args)
    with installed(url, writes=not args.dry_run) as conn:
        chosen = select_tenants(conn, m, args)
    if args.dry_run:
        plan = plan_database(url, m, chosen.ids, online=False, per_tenant=True)
        results = chosen.merge(tenant_results(plan))
        if not args.json:
            say("dry run: nothing is changed")
            print_plan(plan)
            _print_tenants(results)
        outcome = finish_tenants("migrate --dry-run", results, url)
        outcome.doc["plan"] = plan.doc()
        return outcome
    if args.online:
        command = "migrate --online"
        with ProgressDisplay(chosen.ids, "parallel" if args.jobs > 1 else "serial") as progress:
            done = online.migrate_online(url, chosen.ids, jobs=args.jobs, progress=progress)
    else:
        command = "migrate"
        if args.batch_size:
            for name in migrate.unbatched_tables(url):
                warn(
                    f"--batch-size does not apply to {name}: it has no primary key, "
                    "so each tenant's rows of it are copied in one statement"
                )
        with ProgressDisplay(chosen.ids, "parallel" if args.jobs > 1 else "serial") as progress:
            done = migrate.migrate_tenants(
                url, chosen.ids, batch_size=args.batch_size, jobs=args.jobs, progress=progress, split=not args.tenants
            )
    results = chosen.merge(done)
    if not args.json:
        results_table(results, command)
    return finish_tenants(command, results, url)


def _print_tenants(results: list[TenantResult]) -> None:
    """Per tenant the rows to move, table by table, then the DDL (the problems are the plan's, above)."""
    for r in results:
        if not r.tables and r.error:  # refused before any plan (e.g. an id the tool refuses)
            say(f"tenant {r.tenant_id}: refused: {r.error}", style="red")
            continue
        problems = [c for c in r.checks if "check_name" in c]
        say(f"tenant {r.tenant_id}: {r.rows:,} rows to move in {len(r.tables)} tables, {len(problems)} problem(s)")
        for t in r.tables:
            say(f"  {t.table_name}: {t.state}, {t.rows:,} rows to move")
    planned = [r for r in results if r.tables]
    for r in planned[:1]:
        say(f"DDL for each tenant (shown for tenant {r.tenant_id}):")
        for c in r.checks:
            if "ddl" in c:
                say(f"-- {c['table_name']}\n{c['ddl']}")
