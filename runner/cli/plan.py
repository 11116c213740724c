"""tenancy plan: every problem of every table and tenant, and what becomes of every object of
every moved table, before anything is installed; changes nothing (runner/engine/plan.py)."""

from __future__ import annotations

import argparse
from typing import Any

from runner.cli import options
from runner.cli.common import Outcome, database, manifest
from runner.engine.plan import INSTALL, MANIFEST, ONLINE, PREFLIGHT, RENDER, Plan, plan_database
from runner.engine.target import FATES, KEPT, REFUSED
from runner.report import say, warn

SUMMARY = "Show every problem of every table and tenant, and each object's fate, before anything is installed."

# Headings of the problems, by where they come from.
STAGES = {
    MANIFEST: "the manifest against the database (install refuses until they are fixed)",
    RENDER: "objects that cannot be rewritten without the tenant key (install refuses their tables)",
    INSTALL: "installing schema tenancy",
    ONLINE: "tables `migrate --online` refuses (offline migration copies them)",
    PREFLIGHT: "rows the tenant tables would refuse, rows of no tenant, references into moved tables",
}


def add_parser(subparsers: Any) -> None:
    p = options.add_verb(
        subparsers,
        "plan",
        SUMMARY,
        run,
        details="In one run: the manifest against the catalog, every moved table derived without the tenant key\n"
        "(each object kept, rewritten and how, added, dropped and why, or refused and why), the tables online\n"
        "mode cannot capture, and every tenant's preflight, in a transaction that is rolled back (schema tenancy\n"
        "installed in it as you, unless this manifest's is installed). Each problem is one line, with the\n"
        "tenants it affects and a hint. Exit 0: no problem; 1: problems; 2: bad input.",
    )
    options.add_database(p)
    options.add_manifest(p)
    options.add_tenants(p)


def run(args: argparse.Namespace) -> Outcome:
    plan = plan_database(database(args), manifest(args), args.tenants, args.exclude)
    if not args.json:
        print_plan(plan)
    return Outcome(plan.doc(), 0 if plan.ok else 1)


def print_plan(plan: Plan) -> None:
    """The plan as text: what becomes of the objects, table by table (all but the kept ones),
    then the problems grouped by where they come from, each with its hint."""
    say(
        f"plan for schema {plan.schema}: {len(plan.tables)} moved tables, {len(plan.tenants)} tenants; "
        f"nothing was changed (preflight {plan.preflight})"
    )
    say("objects: " + ", ".join(f"{plan.count(f)} {f}" for f in FATES))
    routine = sum(1 for t in plan.tables for f in t.fates if f.routine)
    if routine:
        say(
            f"  every table: its tenant key column, and the indexes, CHECKs and foreign keys on the tenant key "
            f"alone, are dropped ({routine} objects; --json lists them)"
        )
    for t in plan.tables:
        shown = [f for f in t.fates if (f.fate != KEPT or f.caution or f.kind == "trigger") and not f.routine]
        if not shown:
            continue
        counts = ", ".join(f"{n} {fate}" for fate in FATES if (n := sum(1 for f in t.fates if f.fate == fate)))
        say(f"  {t.name} ({counts}):")
        for f in shown:
            say(f"    {f.fate}: {f.line}", style="red" if f.fate == REFUSED else None)
            if f.caution:
                say(f"      check: {f.caution}")
    for w in plan.warnings:
        warn(w)
    if not plan.problems:
        say("no problem: `tenancy install`, then migrate")
        return
    say(f"problems: {len(plan.problems)}")
    for stage, heading in STAGES.items():
        mine = [p for p in plan.problems if p.stage == stage]
        if not mine:
            continue
        say(f" {stage}: {heading}")
        for p in mine:
            say(f"  problem: {p.line}", style="red")
            if p.hint:
                say(f"    hint: {p.hint}")
