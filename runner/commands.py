"""One plain function per CLI verb. Each returns the process exit code:
0 success, 1 some tenant failed or did not validate. Errors the user can fix
raise TenancyError (the CLI prints FAILED: and the hint, exit 2).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from runner.access import drift as grants
from runner.access.model import build_model
from runner.db import connect, resolve_dsn, typed_errors
from runner.devtools import embedded
from runner.devtools.sample import build_sample
from runner.engine import executor, migrate, online
from runner.engine.executor import TenantResult
from runner.engine.install import describe_install
from runner.engine.install import install as install_sql
from runner.engine.render import render_all, write_rendering
from runner.engine.uninstall import uninstall as uninstall_sql
from runner.engine.validate import validate_tenants
from runner.errors import ManifestError
from runner.manifest import Manifest
from runner.report import RichProgress, console, print_failures, results_table, write_report
from runner.resources import EXAMPLE_MANIFEST


def _exit_code(results: list[TenantResult]) -> int:
    return 0 if results and all(r.ok for r in results) else 1


def init(path: Path) -> int:
    """Write the example manifest to path (refuses to overwrite), as Alembic's `init` writes its env."""
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(EXAMPLE_MANIFEST.read_text(encoding="utf-8"))
    except FileExistsError:
        raise ManifestError(
            f"{str(path)!r} already exists; nothing was written",
            hint="Edit it, or pass another PATH: `tenancy init other.toml`.",
        ) from None
    except OSError as e:
        raise ManifestError(f"cannot write {str(path)!r}: {e.strerror}", hint="Pass a writable PATH.") from None
    console.print(
        f"wrote {path}: the example manifest (the sample's tables). Edit [tenancy], [registry] and the "
        "table lists for your database; `tenancy sample` builds a database it fits.",
        markup=False,
        highlight=False,
    )
    return 0


def sample(dsn: str | None, *, tenants: int, rows: int, seed: int, replace: bool) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        started = time.monotonic()
        summary = build_sample(
            conn, tenants=tenants, rows=rows, seed=seed, replace=replace, progress=lambda m: console.print(f"  {m}")
        )
    console.print(
        f"sample: {len(summary.tenants)} tenants, {summary.moved_rows:,} rows in shared tables "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0


def render(dsn: str | None, manifest: Manifest, out: Path | None) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        rendering = render_all(conn, manifest)
    for w in rendering.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if out is None:
        for f in rendering.files:
            console.print(f.text, markup=False, highlight=False)
        return 0
    for path in write_rendering(rendering, out):
        console.print(f"wrote {path}")
    return 0


def install(dsn: str | None, manifest: Manifest) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        result = install_sql(conn, manifest)
        incomplete = migrate.incomplete_tenants(conn)
    for w in result.rendering.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    for line in describe_install(result):
        console.print(line, markup=False, highlight=False)
    if incomplete:
        tables = sorted({t for missing in incomplete.values() for t in missing})
        console.print(
            f"{len(incomplete)} migrated tenant(s) do not have {', '.join(tables)} yet: "
            "`tenancy migrate` moves it for them",
            markup=False, highlight=False,
        )
    return 0


def uninstall(dsn: str | None, manifest: Manifest, *, force: bool) -> int:
    """Remove the tool's schemas and shared roles (runner/engine/uninstall.py says exactly what)."""
    with connect(resolve_dsn(dsn)) as conn:
        result = uninstall_sql(conn, manifest, force=force)
    for b in result.forced:
        console.print(f"forced: {b.describe()}", markup=False, highlight=False)
    if not result.schemas and not result.roles:
        console.print("tenancy is not installed here: nothing to remove")
        return 0
    console.print(
        f"uninstalled: schemas {', '.join(result.schemas) or '(none)'}; roles {', '.join(result.roles) or '(none)'}",
        markup=False,
        highlight=False,
    )
    for role in result.kept_roles:
        console.print(
            f"kept role {role}: it still holds privileges in another database (uninstall there too)",
            markup=False,
            highlight=False,
        )
    return 0


def migrate_cmd(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    dry_run: bool,
    batch_size: int | None,
    jobs: int,
    report: Path | None,
    online_mode: bool = False,
) -> int:
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
    if online_mode:
        with RichProgress(ids, "parallel" if jobs > 1 else "serial") as progress:
            results = online.migrate_online(url, ids, jobs=jobs, progress=progress)
        console.print(results_table(results, "migrate --online"))
        print_failures(results)
        if report:
            write_report(report, "migrate --online", results)
        return _exit_code(results)
    if dry_run:
        results = migrate.plan_tenants(url, ids)
        for r in results:
            table = Table(title=f"dry run: tenant {r.tenant_id} (nothing is changed)")
            for col in ("table", "state", "rows to move"):
                table.add_column(col)
            for t in r.tables:
                table.add_row(t.table_name, t.state, f"{t.rows:,}")
            console.print(table)
            for c in r.checks:
                if "ddl" in c:
                    console.print(f"-- {c['table_name']}\n{c['ddl']}", markup=False)
        print_failures(results)
        if report:
            write_report(report, "migrate --dry-run", results)
        return _exit_code(results)
    if batch_size:
        for name in migrate.unbatched_tables(url):
            console.print(
                f"[yellow]warning:[/yellow] --batch-size does not apply to {escape(name)}: it has no primary key, "
                "so each tenant's rows of it are copied in one statement",
                highlight=False,
            )
    mode = "parallel" if jobs > 1 else "serial"
    with RichProgress(ids, mode) as progress:
        results = migrate.migrate_tenants(
            url, ids, batch_size=batch_size, jobs=jobs, progress=progress, split=not tenants
        )
    console.print(results_table(results, "migrate"))
    print_failures(results)
    if report:
        write_report(report, "migrate", results)
    return _exit_code(results)


def validate(dsn: str | None, manifest: Manifest, *, tenants: list[str] | None, jobs: int, report: Path | None) -> int:
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
    results = validate_tenants(url, ids, jobs)
    _print_validation(results)
    if report:
        write_report(report, "validate", results)
    return _exit_code(results)


def _print_validation(results: list[TenantResult]) -> None:
    table = Table(title="validate")
    for col in ("tenant", "state", "checks", "failed"):
        table.add_column(col)
    for r in results:
        failed = sum(1 for c in r.checks if not c["passed"])
        table.add_row(r.tenant_id, r.state if r.ok else f"[red]{r.state}[/red]", str(len(r.checks)), str(failed))
    console.print(table)
    print_failures(results)


def rollback(
    dsn: str | None, manifest: Manifest, *, tenants: list[str], report: Path | None, force: bool = False
) -> int:
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
    results = [migrate.rollback_tenant(url, t, force=force) for t in ids]
    for r in results:
        dropped = [t for t in r.tables if t.state.endswith("dropped")]
        back = sum(1 for t in dropped if t.state.startswith("copied back"))
        where = f"{back} copied back into the shared tables first" if back else "shared tables untouched"
        console.print(f"tenant {r.tenant_id}: dropped {len(dropped)} tenant tables; {where}")
    if report:
        write_report(report, "rollback", results)
    return 0


def cutover(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    every: bool,
    jobs: int,
    lock_timeout: str,
    report: Path | None,
) -> int:
    """Cut over the listed tenants (or --all): fence, drain, validate, mark cut_over, remove shared rows."""
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, None if every else tenants)
    results = online.cutover_tenants(url, ids, jobs=jobs, lock_timeout=lock_timeout)
    table = Table(title="cutover")
    for col in ("tenant", "state", "rows", "fence ms", "replayed under fence", "shared rows removed"):
        table.add_column(col)
    for r in results:
        c = r.checks[0] if r.checks else {}
        table.add_row(
            r.tenant_id,
            r.state if r.ok else f"[red]{r.state}[/red]",
            f"{r.rows:,}",
            "" if c.get("fence_ms") is None else f"{c['fence_ms']:.1f}",
            str(c.get("replayed_under_fence", "")),
            f"{c.get('shared_rows_removed', 0):,}" if c else "",
        )
    console.print(table)
    print_failures(results)
    if report:
        write_report(report, "cutover", results)
    return _exit_code(results)


def contract(dsn: str | None, *, archive: str | None) -> int:
    """Drop (or archive) the shared moved tables, capture triggers and change log."""
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        executor.require_installed(conn)
    for t in online.contract(url, archive):
        console.print(f"{t.table_name}: {t.state}")
    return 0


def status(dsn: str | None, *, as_json: bool) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        executor.require_installed(conn)
        cur = conn.execute("SELECT * FROM tenancy.status ORDER BY tenant_id")
        names = [d.name for d in cur.description or ()]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    if as_json:
        console.print(json.dumps(rows, default=str, indent=2), markup=False, highlight=False)
        return 0
    table = Table(title="tenancy status")
    for n in names:
        table.add_column(n)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r.values()))
    console.print(table)
    return 0


def demo(
    manifest: Manifest,
    *,
    tenants: int,
    rows: int,
    seed: int,
    jobs: int,
    batch_size: int | None,
    replace: bool,
    report: Path | None,
) -> int:
    """Sample → install → provision → migrate → validate, on the embedded server unless DATABASE_URL is set."""
    started = time.monotonic()
    url = os.environ.get("DATABASE_URL")
    if url:
        console.print("[bold]1/6[/bold] using DATABASE_URL")
    else:
        console.print(f"[bold]1/6[/bold] starting the embedded PostgreSQL (data in {embedded.data_dir()})")
        url = embedded.fresh_database(embedded.start(), "tenancy_demo")
    with connect(url) as conn:
        console.print(f"[bold]2/6[/bold] building the sample: {tenants} tenants, about {rows:,} rows")
        summary = build_sample(
            conn, tenants=tenants, rows=rows, seed=seed, replace=replace, progress=lambda m: console.print(f"  {m}")
        )
        console.print("[bold]3/6[/bold] installing schema tenancy")
        result = install_sql(conn, manifest)
        console.print(f"  {len(result.rendering.tables)} moved tables, checksum {result.checksum[:12]}")
        console.print("[bold]4/6[/bold] provisioning tenant schemas")
        with typed_errors():
            for t in summary.tenants:
                conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
        console.print(f"  {len(summary.tenants)} tenants provisioned")
    console.print(f"[bold]5/6[/bold] migrating {summary.moved_rows:,} rows")
    mode = "parallel" if jobs > 1 else "serial"
    with RichProgress(summary.tenants, mode) as progress:
        migrated = migrate.migrate_tenants(url, summary.tenants, batch_size=batch_size, jobs=jobs, progress=progress)
    console.print("[bold]6/6[/bold] validating every tenant, row by row")
    validated = validate_tenants(url, summary.tenants, jobs)
    by_tenant = {v.tenant_id: v for v in validated}
    table = Table(title="demo report")
    for col in ("tenant", "migrate", "rows", "seconds", "rows/s", "validate"):
        table.add_column(col, justify="right" if col in ("rows", "seconds", "rows/s") else "left")
    for m in migrated:
        v = by_tenant[m.tenant_id]
        rps = m.rows_per_second
        table.add_row(
            m.tenant_id,
            m.state if m.ok else f"[red]{m.state}[/red]",
            f"{m.rows:,}",
            f"{m.seconds:.2f}",
            f"{rps:,.0f}" if rps else "",
            f"{len(v.checks)} checks passed" if v.ok else f"[red]{v.error}[/red]",
        )
    console.print(table)
    print_failures(migrated + validated)
    ok = all(r.ok for r in migrated + validated)
    total = sum(m.rows for m in migrated)
    elapsed = time.monotonic() - started
    console.print(
        f"{'[green]OK[/green]' if ok else '[red]FAILED[/red]'}: {sum(m.ok for m in migrated)}/{len(migrated)} tenants "
        f"migrated, {sum(v.ok for v in validated)}/{len(validated)} validated, {total:,} rows, {elapsed:.1f}s in all"
    )
    if report:
        write_report(report, "demo", migrated + validated)
    return 0 if ok else 1


# -- privileges (runner/access/model.py, runner/access/drift.py) ---------------------


def provision(dsn: str | None, manifest: Manifest, *, tenants: list[str] | None) -> int:
    """Give each tenant its schema, roles and grants (tenancy.provision_tenant); idempotent."""
    with connect(resolve_dsn(dsn)) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
        for i, tenant_id in enumerate(ids, 1):
            with typed_errors():
                rows = conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
            console.print(f"[{i}/{len(ids)} provision:{tenant_id}] {len(rows)} change(s)", markup=False)
            for object_type, object_name, action in rows:
                console.print(f"  {object_type} {object_name}: {action}", markup=False, highlight=False)
    return 0


def verify_grants(dsn: str | None, manifest: Manifest, *, tenants: list[str] | None) -> int:
    """Compare the live catalog with the privilege model; one row per missing or extra fact.

    Without --tenant: every registry tenant whose schema exists, and the shared
    roles whole. Exit 1 on any drift.
    """
    with connect(resolve_dsn(dsn)) as conn:
        if tenants:
            ids = list(dict.fromkeys(tenants))
            build_model(manifest, ids)  # refuses a bad id before it reaches SQL
        else:
            registry = executor.registry_tenants(conn, manifest)
            schema_of = {t: manifest.schema_for(t) for t in registry}
            ids = grants.provisioned_tenants(conn, registry, schema_of)
        drift = grants.verify(conn, build_model(manifest, ids), all_tenants=not tenants)
    if drift:
        table = Table(title="verify-grants: drift")
        for col in ("status", "tenant", "type", "fact"):
            table.add_column(col)
        for d in drift:
            colour = "red" if d.status == "missing" else "yellow"
            table.add_row(f"[{colour}]{d.status}[/{colour}]", d.tenant or "(shared)", d.fact.object_type,
                          escape(d.describe()))
        console.print(table)
    console.print(f"verify-grants: {len(ids)} tenant(s) checked, {len(drift)} drift row(s)")
    return 1 if drift else 0
