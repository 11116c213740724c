"""`tenancy plan`: every problem of every table and tenant, and the fate of every object of
every moved table, in one run, before anything is installed; the database is left as it was.

What it looks at, in order:

1. the manifest against the catalog (what `install` refuses first,
   catalog.manifest_problems), and the tables with the tenant key that the manifest
   does not list (warnings);
2. every moved table, derived (runner.engine.target.derive): each object kept,
   rewritten (how), added, dropped (why) or refused (why, and the way out), every
   refusal of every table; and the tables online mode cannot capture (TY051);
3. in one transaction, rolled back at the end: schema tenancy installed as the caller
   (unless this manifest's is installed already), the global preflight
   (tenancy.preflight) and every tenant's (tenancy.preflight_tenant), each problem once,
   with the tenants it affects. That install leaves out the capture triggers (CREATE
   TRIGGER would hold off the application's writes to the shared tables until the
   rollback) and what cannot be installed: a moved table that is missing, or refused
   (and those whose foreign keys then cannot be rewritten either), is left shared for it,
   which the plan says.

`migrate --dry-run` is this plan for the chosen tenants, with each tenant's rows to move
and DDL (tenancy.plan_tenant) from the same transaction (tenant_results()).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runner.db import connect, typed_errors
from runner.engine import catalog
from runner.engine.executor import TableResult, TenantResult, natural_order, registry_tenants
from runner.engine.install import apply_install, checksum_of, install_parts, installed_checksum
from runner.engine.render import derive_all, render_all
from runner.engine.rows import (
    PlannedTable,
    PreflightProblem,
    SchemaCollision,
    fetch_all,
    fetch_value,
)
from runner.engine.target import FATES, TargetTable
from runner.errors import CATALOGUE, ManifestError, TenancyError, UnknownTenant, hint_for
from runner.manifest import Manifest
from runner.resources import read_query
from runner.states import TenantOutcome

# Stages, in the order the plan looks: where a problem comes from.
MANIFEST, RENDER, INSTALL, ONLINE, PREFLIGHT = "manifest", "render", "install", "online", "preflight"
_SHOWN = 10  # tenant ids named in a problem's line

# The ways out of TY051, as start_capture gives them.
ONLINE_HINT = (
    "Either add a primary key to it (on a partitioned table it must include the partition key columns), then "
    "`tenancy install` again; or keep the table shared ([hybrid]); or migrate without --online while writes "
    "are stopped."
)


@dataclass
class Problem:
    """One problem, however many tenants it affects."""

    stage: str
    table: str | None
    check: str
    detail: str
    hint: str | None
    tenants: list[str] = field(default_factory=list)  # the tenants it affects (preflight)
    every_tenant: bool = False  # a problem of the shared rows: it stops every tenant
    rows: int | None = None

    @property
    def scope(self) -> str:
        """Who it stops: every tenant, or how many and which."""
        if self.every_tenant:
            return "every tenant"
        if not self.tenants:
            return ""
        more = len(self.tenants) - _SHOWN
        shown = ", ".join(self.tenants[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
        return f"{len(self.tenants)} tenant{'s' if len(self.tenants) != 1 else ''} ({shown})"

    @property
    def line(self) -> str:
        where = f"{self.table}: " if self.table else ""
        parts = [f"{where}{self.check}"]
        scope = self.scope
        if scope:
            parts.append(scope + (f", {self.rows:,} rows" if self.rows is not None else ""))
        elif self.rows is not None:
            parts.append(f"{self.rows:,} rows")
        parts.append(self.detail)
        return ": ".join(parts)


@dataclass(frozen=True)
class TenantTable:
    """What migrating one tenant does to one table (tenancy.plan_tenant)."""

    table: str
    state: str
    rows: int
    ddl: str


@dataclass
class Plan:
    schema: str
    tables: tuple[TargetTable, ...]
    problems: list[Problem]
    warnings: list[str]
    tenants: list[str]  # whose preflight ran
    preflight: str  # how it ran, or why not
    left_shared: tuple[str, ...] = ()  # moved tables the preflight treated as shared (they cannot be installed)
    per_tenant: dict[str, list[TenantTable]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, fate: str) -> int:
        return sum(1 for t in self.tables for f in t.fates if f.fate == fate)

    def doc(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "changed": False,
            "schema": self.schema,
            "preflight": self.preflight,
            "tenants": len(self.tenants),
            "left_shared": list(self.left_shared),
            "problems": [
                {**dataclasses.asdict(p), "tenant_count": len(p.tenants), "line": p.line} for p in self.problems
            ],
            "warnings": self.warnings,
            "objects": {fate: self.count(fate) for fate in FATES},
            "tables": [
                {
                    "table": t.name,
                    "captured": t.captured,
                    "fates": [
                        {
                            "kind": f.kind,
                            "name": f.name,
                            "fate": f.fate,
                            "how": f.how,
                            "hint": f.hint,
                            "caution": f.caution,
                        }
                        for f in t.fates
                    ],
                }
                for t in self.tables
            ],
        }


def choose_tenants(
    conn: psycopg.Connection, manifest: Manifest, requested: Sequence[str] | None, exclude: Sequence[str]
) -> list[str]:
    """The registry's tenants (natural order), or the requested ones, each checked: an id the
    tool refuses or one not in the registry is bad input (exit 2); less the excluded ones."""
    for t in requested or ():
        manifest.schema_for(t)
    everyone = registry_tenants(conn, manifest)
    if requested is not None:
        unknown = [t for t in requested if t not in set(everyone)]
        if unknown:
            reg = manifest.registry
            raise UnknownTenant(
                f"unknown tenant {unknown[0]!r}: no row of {manifest.central_schema}.{reg.table} has "
                f"{reg.id_column} = {unknown[0]!r}; nothing was changed",
                hint=CATALOGUE["TY002"].hint,
            )
        chosen = list(dict.fromkeys(requested))
    else:
        chosen = everyone
    return [t for t in chosen if t not in set(exclude)]


def plan_database(
    dsn: str,
    manifest: Manifest,
    tenants: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    *,
    online: bool = True,
    per_tenant: bool = False,
) -> Plan:
    """The plan (module docstring). tenants: whose preflight runs (None: the registry's);
    online: tables online mode refuses are problems (else warnings: an offline migration
    copies them); per_tenant: also each tenant's rows to move and DDL."""
    with connect(dsn) as conn:
        problems: list[Problem] = [
            Problem(
                MANIFEST,
                None,
                "manifest",
                p,
                "Correct the names in the manifest (or create what is missing); `tenancy install` refuses until then.",
            )
            for p in catalog.manifest_problems(conn, manifest)
        ]
        columns = catalog.table_columns(conn, manifest.central_schema, list(manifest.move))
        movable = [t for t in manifest.move if manifest.tenant_key in columns.get(t, [])]
        tables = derive_all(conn, manifest, movable)
        for t in tables:
            problems += [Problem(RENDER, t.name, f"{f.kind} {f.name}", f.how, f.hint) for f in t.refused]
        warnings = [
            f"table {manifest.central_schema}.{name} has a {manifest.tenant_key} column but is not in the manifest"
            for name in catalog.unlisted_tenant_tables(conn, manifest)
        ]
        for t in tables:
            if t.refused or t.captured:
                continue
            detail = "no primary key: `migrate --online` refuses every tenant (TY051)"
            if t.partition_key:
                detail += f"; partitioned by {t.partition_key}, so a primary key must include those columns"
            if online:
                problems.append(Problem(ONLINE, t.name, "online mode", detail, ONLINE_HINT))
            else:
                warnings.append(f"{t.name}: {detail}")
        plan = Plan(manifest.central_schema, tables, problems, warnings, [], "")
        _preflight(conn, manifest, plan, tenants, exclude, per_tenant)
    return plan


def _registry_missing(conn: psycopg.Connection, manifest: Manifest) -> str | None:
    reg = manifest.registry
    cols = catalog.table_columns(conn, manifest.central_schema, [reg.table])
    if reg.table not in cols:
        return f"the registry table {manifest.central_schema}.{reg.table} does not exist"
    if reg.id_column not in cols[reg.table]:
        return f"the registry table {manifest.central_schema}.{reg.table} has no column {reg.id_column}"
    return None


def _installable(
    conn: psycopg.Connection, manifest: Manifest, tables: tuple[TargetTable, ...]
) -> tuple[Manifest, tuple[str, ...]]:
    """The manifest the preflight installs: what cannot be installed left out (tables that do
    not exist, names that do not), or left shared: a moved table without the tenant key
    becomes central, a refused one hybrid, and so, until none is refused, those whose
    foreign keys then cannot be rewritten; tables the moved ones reference that the manifest
    does not list become central. Returns it and the moved tables it left shared."""
    schema, key, reg = manifest.central_schema, manifest.tenant_key, manifest.registry
    everything = sorted({*manifest.move, *manifest.central, *manifest.hybrid, reg.table})
    cols = catalog.table_columns(conn, schema, everything)
    central = [t for t in manifest.central if t in cols]
    central += [t for t in (*manifest.move, *manifest.hybrid) if t in cols and key not in cols[t]]
    central += [ref for _, ref in catalog.unlisted_references(conn, manifest) if ref not in central]
    hybrid = [t for t in manifest.hybrid if t in cols and key in cols[t]]
    move = [t for t in manifest.move if t in cols and key in cols[t]]
    refused = {t.name for t in tables if t.refused}
    shared = [t for t in move if t in refused]
    while True:
        move = [t for t in move if t not in shared]
        unchanged = move == list(manifest.move)
        reduced = dataclasses.replace(
            manifest,
            move=tuple(move),
            central=tuple(dict.fromkeys(central)),
            hybrid=tuple(dict.fromkeys([*hybrid, *shared])),
            registry=reg
            if reg.name_column is None or reg.name_column in cols.get(reg.table, [])
            else dataclasses.replace(reg, name_column=None),
            public_column={t: c for t, c in manifest.public_column.items() if c in cols.get(t, [])},
            extra_unique={t: u for t, u in manifest.extra_unique.items() if t in move},
            central_access={t: a for t, a in manifest.central_access.items() if t in central},
        )
        # Nothing left out: the tables derive as they did for the plan, none refused.
        again = [] if unchanged else [t.name for t in derive_all(conn, reduced) if t.refused]
        if not again:
            return reduced, tuple(t for t in manifest.move if t not in move)
        shared += again


def _preflight(
    conn: psycopg.Connection,
    manifest: Manifest,
    plan: Plan,
    requested: Sequence[str] | None,
    exclude: Sequence[str],
    per_tenant: bool,
) -> None:
    missing = _registry_missing(conn, manifest)
    if missing:
        plan.preflight = f"not run: {missing}"
        return
    chosen = choose_tenants(conn, manifest, requested, exclude)
    valid: list[str] = []
    invalid: list[str] = []
    for t in chosen:
        try:
            manifest.schema_for(t)
            valid.append(t)
        except ManifestError:
            invalid.append(t)
    if invalid:
        reg = manifest.registry
        plan.problems.append(
            Problem(
                PREFLIGHT,
                None,
                "invalid tenant id",
                "the tool refuses these ids (lowercase letters, digits, '_' and '-', within the length the schema "
                "pattern allows)",
                f"Change them in the registry table ({manifest.central_schema}.{reg.table}), or leave them out with "
                "--exclude.",
                tenants=invalid,
            )
        )
    reduced, shared = _installable(conn, manifest, plan.tables)
    plan.left_shared = shared
    try:
        with conn.transaction():
            how = _install_for_preflight(conn, manifest, reduced, plan)
            if how is not None:
                _run_preflight(conn, plan, valid, shared, per_tenant)
                plan.tenants = valid
                plan.preflight = how + (f"; left shared for it: {', '.join(shared)}" if shared else "")
            raise psycopg.Rollback()
    except (TenancyError, psycopg.Error) as e:
        sqlstate = getattr(e, "sqlstate", None)
        if isinstance(e, psycopg.Error):
            message, hint = e.diag.message_primary or str(e).strip(), e.diag.message_hint
        else:
            message, hint = str(e), e.hint
        plan.problems.append(
            Problem(
                INSTALL, None, "install" + (f" ({sqlstate})" if sqlstate else ""), message, hint or hint_for(sqlstate)
            )
        )
        plan.preflight = "not run: schema tenancy could not be installed (above)"
        plan.per_tenant.clear()


def _install_for_preflight(conn: psycopg.Connection, manifest: Manifest, reduced: Manifest, plan: Plan) -> str | None:
    """Schema tenancy as this manifest needs it, inside the plan's transaction: as installed when
    it is this manifest's, else installed now (rolled back with the transaction). None when an
    install would refuse (a problem added)."""
    installed = installed_checksum(conn)
    if (
        reduced == manifest
        and installed is not None
        and installed == checksum_of(install_parts(conn, render_all(conn, manifest)))
    ):
        return "on the installed schema tenancy, in a transaction that was rolled back"
    if fetch_value(conn, "SELECT to_regclass('tenancy.online_tenants') IS NOT NULL") is True:
        in_flight = fetch_value(conn, read_query("queries/plan_online_in_flight.sql"))
        uncaptured = [t.name for t in plan.tables if not t.refused and not t.captured]
        if in_flight is True and uncaptured:
            plan.problems.append(
                Problem(
                    INSTALL,
                    None,
                    "install (TY059)",
                    f"it would stop the change capture of {', '.join(uncaptured)} while tenants are migrated online",
                    CATALOGUE["TY059"].hint,
                )
            )
            return None
    with typed_errors():
        apply_install(conn, render_all(conn, reduced, capture_triggers=False), plan_only=True)
    return "on schema tenancy installed in a transaction that was rolled back"


def _run_preflight(
    conn: psycopg.Connection, plan: Plan, tenants: list[str], shared: tuple[str, ...], per_tenant: bool
) -> None:
    """The global preflight once, each tenant's after it; the same problem of many tenants is one."""
    with typed_errors():
        for problem in fetch_all(conn, PreflightProblem, read_query("queries/migrate_preflight.sql")):
            detail = problem.detail
            referencing = next((s for s in shared if detail.startswith(f"{s} references")), None)
            if referencing:
                detail += f" (while {referencing} stays shared, as this plan takes it: it is refused above)"
            plan.problems.append(
                Problem(
                    PREFLIGHT,
                    problem.table_name,
                    problem.check_name,
                    detail,
                    problem.hint,
                    every_tenant=True,
                    rows=problem.problem_rows,
                )
            )
        groups: dict[str, list[str]] = {}
        for collision in fetch_all(conn, SchemaCollision, read_query("queries/migrate_schema_collisions.sql")):
            groups.setdefault(collision.schema_name, []).append(collision.tenant_id)
        for schema, ids in groups.items():
            ids = natural_order(ids)
            plan.problems.append(
                Problem(
                    PREFLIGHT,
                    None,
                    "schema name shared",
                    f"tenant ids {', '.join(repr(i) for i in ids)} all map to schema {schema}",
                    CATALOGUE["TY030"].hint,
                    tenants=ids,
                )
            )
        grouped: dict[tuple[str | None, str], Problem] = {}
        preflight_tenant = read_query("queries/plan_preflight_tenant.sql")
        plan_tenant = read_query("queries/plan_tenant_tables.sql")
        for t in tenants:
            for r in fetch_all(conn, PreflightProblem, preflight_tenant, {"tenant": t}):
                if r.check_name == "schema name shared":
                    continue  # once for its group, above
                key = (r.table_name, r.check_name)
                p = grouped.get(key)
                if p is None:
                    p = grouped[key] = Problem(
                        PREFLIGHT, r.table_name, r.check_name, f"e.g. tenant {t}: {r.detail}", r.hint
                    )
                    plan.problems.append(p)
                p.tenants.append(t)
                if r.problem_rows is not None:
                    p.rows = (p.rows or 0) + r.problem_rows
            if per_tenant:
                plan.per_tenant[t] = [
                    TenantTable(r.table_name, r.state, int(r.rows_to_move), r.ddl)
                    for r in fetch_all(conn, PlannedTable, plan_tenant, {"tenant": t})
                ]


def tenant_results(plan: Plan) -> list[TenantResult]:
    """The plan per tenant (`migrate --dry-run`): its rows to move and DDL per table, and the
    problems that stop it: its own, every tenant's, and those of the tables (refusals, the
    manifest), which stop every tenant too. State planned, or failed with the count."""
    general = [p for p in plan.problems if p.stage in (MANIFEST, RENDER, INSTALL) or p.every_tenant]
    results = []
    for t, tables in plan.per_tenant.items():
        mine = general + [p for p in plan.problems if t in p.tenants]
        checks: list[dict[str, Any]] = [
            {"table_name": p.table, "check_name": p.check, "problem_rows": p.rows, "detail": p.detail, "hint": p.hint}
            for p in mine
        ]
        results.append(
            TenantResult(
                t,
                TenantOutcome.FAILED if mine else TenantOutcome.PLANNED,
                rows=sum(x.rows for x in tables),
                tables=[TableResult(x.table, x.state, x.rows, None) for x in tables],
                checks=checks + [{"table_name": x.table, "ddl": x.ddl} for x in tables],
                error=f"{len(mine)} problem(s)" if mine else None,
            )
        )
    return results
