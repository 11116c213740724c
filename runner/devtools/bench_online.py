"""`tenancy bench-online`: proof that an online migration loses no acknowledged write and
that an application not yet switched is told so by every statement.

One run builds the sample in a fresh database, installs tenancy, provisions every
tenant, then starts an application (runner/devtools/appload.py: its own login, not a
superuser, several connections reading and writing random rows of every moved table,
routing by the ledger and switching a tenant on TY050). While it runs, in this order:

1. three settings alternate, so the drift of a shared machine cancels out: no tool
   (capture triggers disabled, no guard), capture only (``idle``: no tenant in
   flight), capture and the guard of the shared tables (``guarded``, what every
   tenant not in flight pays from the first cutover to contract);
2. ``migrate --online`` of half the tenants, then a stretch where the statements on
   those (in flight, logged) and on the others are timed side by side, each half
   against itself in ``guarded`` (tenants differ in size);
3. ``migrate --online`` of the other half;
4. cutover: ``--all`` (one call for every tenant) or ``per-tenant`` (one call each,
   statements going on in between). After each call, every statement shape is tried
   on each cut-over tenant's shared rows (appload.probe_cut_over_tenant);
5. a last stretch in the tenant schemas; then the application stops, the rows kept
   in the shared tables are counted and ``contract`` drops them.

Then the application's acknowledged state is compared, row by row, with the tenant
tables. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from runner.devtools import embedded
from runner.devtools.appload import (
    Application,
    TableRecipe,
    application_login,
    initial_state,
    probe_cut_over_tenant,
    table_recipes,
)
from runner.devtools.sample import build_sample
from runner.engine.install import install
from runner.engine.online import contract, cutover_tenants, migrate_online
from runner.errors import TenancyError
from runner.manifest import Manifest, load_manifest
from runner.resources import EXAMPLE_MANIFEST

BENCH_DATABASE = "tenancy_bench_online"
APP_LOGIN = "tenancy_bench_app"
PHASE_SECONDS = 3.0
# Phase 1 alternates its three settings ROUNDS times, each for ALTERNATE_SECONDS / ROUNDS.
ROUNDS = 10
ALTERNATE_SECONDS = 5.0
# What each alternating setting turns on: (capture triggers, guard).
SETTINGS = {"baseline": (False, False), "idle": (True, False), "guarded": (True, True)}
Out = Callable[[str], None]


@dataclass
class Cutovers:
    """What phase 4 saw: each fence's length, the failed cutovers, the probes' answers."""

    fence_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    probes: Counter[str] = field(default_factory=Counter)


def run_bench_online(
    *,
    tenants: int = 20,
    rows: int = 200_000,
    seed: int = 42,
    dsn: str | None = None,
    variant: str = "per-tenant",
    out: Out = print,
) -> dict[str, object]:
    """Build, run the application, migrate online, cut over, contract, compare; print the
    summary ending in one JSON line."""
    if variant not in ("all", "per-tenant"):
        raise TenancyError(f"unknown cutover variant {variant!r}", hint="Use --cutover all or --cutover per-tenant.")
    if dsn is not None:
        return _bench(dsn, tenants=tenants, rows=rows, seed=seed, variant=variant, out=out)
    with _embedded_database(out) as bench_dsn:
        return _bench(bench_dsn, tenants=tenants, rows=rows, seed=seed, variant=variant, out=out)


@contextmanager
def _embedded_database(out: Out) -> Iterator[str]:
    pgdata = embedded.data_dir().parent / "bench-pg"
    out(f"embedded PostgreSQL in {pgdata}")
    yield embedded.fresh_database(embedded.start(pgdata), BENCH_DATABASE)


def _bench(dsn: str, *, tenants: int, rows: int, seed: int, variant: str, out: Out) -> dict[str, object]:
    manifest = load_manifest(EXAMPLE_MANIFEST)
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as admin:
        version = admin.info.parameter_status("server_version") or "?"
        out(f"PostgreSQL {version}; {tenants} tenants, {rows} rows, seed {seed}, cutover {variant}")
        ids = _prepare(admin, manifest, tenants=tenants, rows=rows, seed=seed, out=out)
        recipes = table_recipes(admin, manifest)
        half = ids[: len(ids) // 2]
        groups = {t: "first" if t in half else "second" for t in ids}
        state = initial_state(admin, manifest, recipes, ids)
        with application_login(admin, manifest, ids, APP_LOGIN) as app_dsn:
            with Application(app_dsn, manifest, recipes, state, seed=seed, groups=groups) as app:
                _alternate(admin, app, manifest)
                _migrate_in_halves(dsn, app, [half, ids[len(half) :]], out)
                cut = _cut_over(dsn, admin, app, recipes, ids, variant, out)
                app.phase = "after"
                time.sleep(PHASE_SECONDS)
            if app.failures:
                raise app.failures[0]
            kept = _shared_rows(admin, manifest, recipes)
            out("contract, the application stopped")
            dropped = len(contract(dsn, None))
            compared = app.compare(admin)
    result = {
        "tenants": tenants,
        "rows": rows,
        "cutover_variant": variant,
        "server_version": version,
        **_writes(app, cut.probes),
        **compared,
        "shared_rows_kept_until_contract": kept,
        "shared_tables_contracted": dropped,
        "cutover_failures": cut.failures,
        "cutover_block_ms_p50": _percentile(cut.fence_ms, 0.5),
        "cutover_block_ms_p99": _percentile(cut.fence_ms, 0.99),
        **_latencies(app),
        "seconds": round(time.monotonic() - started, 1),
    }
    out(
        f"{result['writes_acknowledged']} writes acknowledged; lost {result['rows_lost']}, duplicated "
        f"{result['rows_duplicated']}, mismatched {result['rows_mismatched']} of {result['rows_compared']} rows; "
        f"silently ignored {result['writes_silently_ignored']}, wrong error first {result['wrong_error_first']}; "
        f"fence p99 {result['cutover_block_ms_p99']} ms; overhead not in flight: capture "
        f"{result['capture_write_overhead_not_in_flight']}, guard {result['guard_write_overhead_not_in_flight']}"
    )
    out(json.dumps(result))
    return result


def _prepare(
    admin: psycopg.Connection, manifest: Manifest, *, tenants: int, rows: int, seed: int, out: Out
) -> list[str]:
    """The sample, installed, every tenant provisioned; the capture triggers off (phase 1
    turns them on). Returns the tenant ids."""
    summary = build_sample(admin, tenants=tenants, rows=rows, seed=seed, progress=lambda m: out(f"  {m}"))
    install(admin, manifest)
    for t in summary.tenants:
        admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    _set(admin, manifest, capture=False, guard=False)
    # The load's aftermath (autovacuum, dirty buffers) would weigh on the first phases only.
    admin.execute("VACUUM ANALYZE")
    admin.execute("CHECKPOINT")
    return list(summary.tenants)


def _set(admin: psycopg.Connection, manifest: Manifest, *, capture: bool, guard: bool) -> None:
    """Turn the capture triggers and the guard of the shared tables on or off."""
    action = sql.SQL("ENABLE" if capture else "DISABLE")
    for table in manifest.move:
        ident = sql.Identifier(manifest.central_schema, table)
        admin.execute(sql.SQL("ALTER TABLE {} {} TRIGGER tenancy_capture").format(ident, action))
    if guard:
        admin.execute("SELECT * FROM tenancy.guard_shared_tables()").fetchall()
    else:
        admin.execute("SELECT * FROM tenancy.shared_guard(false)").fetchall()


def _alternate(admin: psycopg.Connection, app: Application, manifest: Manifest) -> None:
    """Phase 1: the settings in turn, ROUNDS times; ends guarded (as migrate --online leaves it)."""
    for round_ in range(ROUNDS):
        for phase, (capture, guard) in SETTINGS.items():
            app.phase = "switching"  # statements that wait for the switch's locks are not counted
            _set(admin, manifest, capture=capture, guard=guard)
            app.phase = f"{phase}.{round_}"
            time.sleep(ALTERNATE_SECONDS / ROUNDS)


def _migrate_in_halves(dsn: str, app: Application, halves: list[list[str]], out: Out) -> None:
    """Phases 2 and 3: migrate --online of each half, then a stretch (mixed, then in flight)."""
    for group, then in zip(halves, ("mixed", "in_flight"), strict=True):
        app.phase = "migrate"
        out(f"migrate --online of {len(group)} tenants, the application going on")
        failed = [r for r in migrate_online(dsn, group) if not r.ok]
        if failed:
            raise TenancyError(
                f"migrate --online failed for {failed[0].tenant_id}: {failed[0].error}", hint=failed[0].hint
            )
        app.phase = then
        time.sleep(PHASE_SECONDS)


def _cut_over(
    dsn: str,
    admin: psycopg.Connection,
    app: Application,
    recipes: list[TableRecipe],
    ids: list[str],
    variant: str,
    out: Out,
) -> Cutovers:
    """Phase 4: the cutovers, each followed by the probes of the tenants it cut over."""
    app.phase = "cutover"
    out(f"cutover ({variant}), the application going on")
    cut = Cutovers()
    with psycopg.connect(app.dsn, autocommit=True) as probe:
        for batch in [ids] if variant == "all" else [[t] for t in ids]:
            results = cutover_tenants(dsn, batch)
            returned = time.perf_counter()
            for res in results:
                if not res.ok:
                    cut.failures.append(f"{res.tenant_id}: {res.error}")
                    continue
                app.cut_over_at[res.tenant_id] = returned
                if res.checks and res.checks[0].get("fence_ms") is not None:
                    cut.fence_ms.append(float(res.checks[0]["fence_ms"]))
                cut.probes += probe_cut_over_tenant(probe, admin, app.manifest, recipes, res.tenant_id)
            if variant == "per-tenant":
                time.sleep(PHASE_SECONDS / len(ids))
    return cut


def _shared_rows(admin: psycopg.Connection, manifest: Manifest, recipes: list[TableRecipe]) -> int:
    total = 0
    for r in recipes:
        row = admin.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(manifest.central_schema, r.name))
        ).fetchone()
        total += int(row[0]) if row else 0
    return total


def _writes(app: Application, tried: Counter[str]) -> dict[str, object]:
    """What the application was told: acknowledged, refused with TY050, silently ignored,
    another error first (its own statements and the probes)."""
    return {
        "writes_acknowledged": app.total("acknowledged"),
        "writes_refused_after_cutover": app.total("refused_after_cutover"),
        "writes_silently_ignored": app.total("silently_ignored") + tried["silently_ignored"],
        "wrong_error_first": app.total("wrong_error_first") + tried["wrong_error_first"],
        "probes": sum(n for answer, n in tried.items() if answer != "no_row"),
        "probes_without_a_row": tried["no_row"],
        "probes_refused": tried["refused"],
        "reads_mismatched": app.total("reads_mismatched"),
        "errors_other": dict(app.errors()),
    }


def _alternating(app: Application, phase: str, against: str) -> float | None:
    """The median over the rounds of phase 1 of median(phase) / median(against) in that
    round: the two ran a moment apart, so the machine's drift cancels out."""
    ratios = [
        statistics.median(app.latencies(f"{phase}.{r}")) / statistics.median(app.latencies(f"{against}.{r}"))
        for r in range(ROUNDS)
        if app.latencies(f"{phase}.{r}") and app.latencies(f"{against}.{r}")
    ]
    return round(statistics.median(ratios), 3) if ratios else None


def _latencies(app: Application) -> dict[str, object]:
    """Median latency per phase and the overheads, each from phases run side by side or
    alternating: not in flight, capture (idle / baseline) and guard (guarded / idle); in
    flight, [first half mixed / first half guarded] / [second half mixed / second half
    guarded] x guarded / baseline."""
    m = app.medians_ms()
    in_flight = None
    parts = [m.get(k) for k in ("mixed:first", "guarded:first", "mixed:second", "guarded:second")]
    not_in_flight = _alternating(app, "guarded", "baseline")
    if all(parts) and not_in_flight:
        a, a0, b, b0 = (float(x) for x in parts)  # type: ignore[arg-type]
        in_flight = round((a / a0) / (b / b0) * not_in_flight, 3)
    during = app.latencies("cutover")
    return {
        "write_ms_median": m,
        "write_ms_max_during_cutover": round(max(during) * 1000, 1) if during else None,
        "capture_write_overhead": in_flight,
        "capture_write_overhead_not_in_flight": _alternating(app, "idle", "baseline"),
        "guard_write_overhead_not_in_flight": _alternating(app, "guarded", "idle"),
        "tool_overhead_not_in_flight": not_in_flight,
    }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)
