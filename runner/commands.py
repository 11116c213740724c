"""One plain function per CLI verb. Each returns the process exit code:
0 success, 1 some tenant failed, did not validate or is not migrated. Errors
the user can fix raise TenancyError (the CLI prints FAILED: and the hint, exit 2).
Results go to stdout (a table, or JSON with --json); progress and failures to stderr.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from runner import signals
from runner.access import drift as grants
from runner.access.credentials import apply_credentials, credentials_path, load_credentials
from runner.access.model import build_model
from runner.access.provision import provision_tenants
from runner.citus import grants as citus_grants
from runner.db import connect, open_session, resolve_dsn
from runner.devtools import embedded
from runner.devtools.sample import build_sample
from runner.engine import executor, migrate, online
from runner.engine.executor import TableResult, TenantResult
from runner.engine.install import describe_install
from runner.engine.install import install as install_sql
from runner.engine.render import render_all, write_rendering
from runner.engine.status import not_migrated_result, record_validation, tenant_status
from runner.engine.uninstall import uninstall as uninstall_sql
from runner.engine.validate import validate_tenants
from runner.errors import ManifestError, ServerUnavailable
from runner.manifest import Manifest, load_manifest
from runner.report import (
    ProgressDisplay,
    check_report_path,
    print_failures,
    print_json,
    print_table,
    report_doc,
    say,
    warn,
    write_report,
)
from runner.resources import EXAMPLE_MANIFEST


def _exit_code(results: list[TenantResult]) -> int:
    return 0 if results and all(r.ok for r in results) else 1


def _run_exit_code(url: str, results: list[TenantResult]) -> int:
    """_exit_code of a run on the database; when a tenant lost its session (or was not
    run) and the server is still unreachable, the run is an error of the environment:
    FAILED and exit 2. A stop signal's exit code is the CLI's (130/143)."""
    lost = [r for r in results if r.state == "not run" or executor.session_lost(r.sqlstate)]
    if lost and signals.received() is None:
        try:
            open_session(url).close()
        except ServerUnavailable as e:
            raise ServerUnavailable(
                f"the database went away during the run: {len(lost)} of {len(results)} tenant(s) not done",
                detail=str(e),
            ) from e
    return _exit_code(results)


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
    say(
        f"wrote {path}: the example manifest (the sample's tables). Edit [tenancy], [registry] and the "
        "table lists for your database; `tenancy sample` builds a database it fits."
    )
    return 0


def _finish(
    command: str, results: list[TenantResult], *, report: Path | None, as_json: bool, url: str | None = None
) -> int:
    """The end of every per-tenant command: JSON or failures, the report, the exit code
    (with url: a run that lost the server is an error of the environment, see _run_exit_code)."""
    doc = report_doc(command, results)
    if as_json:
        print_json(doc)
    print_failures(results)
    if report:
        write_report(report, doc)
    return _run_exit_code(url, results) if url else _exit_code(results)


def _results_table(results: list[TenantResult], title: str) -> None:
    """One row per tenant that did work or failed; tenants skipped (nothing to do) are counted."""
    shown = [r for r in results if r.state != "skipped"]
    if shown:
        print_table(
            title,
            ("tenant", "state", "rows", "seconds", "rows/s", "error"),
            [
                (r.tenant_id, r.state, r.rows, round(r.seconds, 2), round(r.rows_per_second or 0), r.error)
                for r in shown
            ],
            right=("rows", "seconds", "rows/s"),
            err_rows=[i for i, r in enumerate(shown) if not r.ok],
        )
    counts = Counter(r.state for r in results)
    say(
        f"{title}: {len(results)} tenants: "
        + ", ".join(f"{n} {state}" + (" (already done)" if state == "skipped" else "") for state, n in counts.items())
        + f"; {sum(r.rows for r in results if r.state != 'skipped'):,} rows moved"
    )


def sample(dsn: str | None, *, tenants: int, rows: int, seed: int, replace: bool) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        started = time.monotonic()
        summary = build_sample(
            conn, tenants=tenants, rows=rows, seed=seed, replace=replace, progress=lambda m: say(f"  {m}", err=True)
        )
    say(
        f"sample: {len(summary.tenants)} tenants, {summary.moved_rows:,} rows in shared tables "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0


def render(dsn: str | None, manifest: Manifest, out: Path | None) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        rendering = render_all(conn, manifest)
    for w in rendering.warnings:
        warn(w)
    if out is None:
        for f in rendering.files:
            say(f.text)
        return 0
    for path in write_rendering(rendering, out):
        say(f"wrote {path}")
    return 0


def install(dsn: str | None, manifest: Manifest) -> int:
    with connect(resolve_dsn(dsn)) as conn:
        result = install_sql(conn, manifest)
        incomplete = migrate.incomplete_tenants(conn)
    for w in result.rendering.warnings:
        warn(w)
    for line in describe_install(result):
        say(line)
    if incomplete:
        tables = sorted({t for missing in incomplete.values() for t in missing})
        say(
            f"{len(incomplete)} migrated tenant(s) do not have {', '.join(tables)} yet: "
            "`tenancy migrate` moves it for them"
        )
    return 0


def uninstall(dsn: str | None, manifest: Manifest, *, force: bool) -> int:
    """Remove the tool's schemas and shared roles (runner/engine/uninstall.py says exactly what)."""
    with connect(resolve_dsn(dsn)) as conn:
        result = uninstall_sql(conn, manifest, force=force)
    for b in result.forced:
        say(f"forced: {b.describe()}")
    if not result.schemas and not result.roles:
        say("tenancy is not installed here: nothing to remove")
        return 0
    say(f"uninstalled: schemas {', '.join(result.schemas) or '(none)'}; roles {', '.join(result.roles) or '(none)'}")
    for role in result.kept_roles:
        say(f"kept role {role}: it still holds privileges in another database (uninstall there too)")
    return 0


def _tenants_to_work_on(
    dsn: str | None, manifest: Manifest, tenants: list[str] | None, report: Path | None
) -> tuple[str, list[str]]:
    """The start of every per-tenant command: the report path checked before any work,
    the database, and the tenants (the requested ones, each checked, or the registry)."""
    check_report_path(report)
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        return url, executor.select_tenants(conn, manifest, tenants)


def migrate_cmd(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    dry_run: bool,
    batch_size: int | None,
    jobs: int,
    report: Path | None,
    as_json: bool = False,
    online_mode: bool = False,
) -> int:
    url, ids = _tenants_to_work_on(dsn, manifest, tenants, report)
    if online_mode:
        with ProgressDisplay(ids, "parallel" if jobs > 1 else "serial") as progress:
            results = online.migrate_online(url, ids, jobs=jobs, progress=progress)
        if not as_json:
            _results_table(results, "migrate --online")
        return _finish("migrate --online", results, report=report, as_json=as_json, url=url)
    if dry_run:
        results = migrate.plan_tenants(url, ids)
        if not as_json:
            _print_plan(results)
        return _finish("migrate --dry-run", results, report=report, as_json=as_json)
    if batch_size:
        for name in migrate.unbatched_tables(url):
            warn(
                f"--batch-size does not apply to {name}: it has no primary key, "
                "so each tenant's rows of it are copied in one statement"
            )
    with ProgressDisplay(ids, "parallel" if jobs > 1 else "serial") as progress:
        results = migrate.migrate_tenants(
            url, ids, batch_size=batch_size, jobs=jobs, progress=progress, split=not tenants
        )
    if not as_json:
        _results_table(results, "migrate")
    return _finish("migrate", results, report=report, as_json=as_json, url=url)


def _print_plan(results: list[TenantResult]) -> None:
    """The dry run: per tenant the rows to move and every preflight problem with its hint, then the DDL."""
    say("dry run: nothing is changed")
    for r in results:
        problems = [c for c in r.checks if "check_name" in c]
        say(f"tenant {r.tenant_id}: {r.rows:,} rows to move in {len(r.tables)} tables, {len(problems)} problem(s)")
        for t in r.tables:
            say(f"  {t.table_name}: {t.state}, {t.rows:,} rows to move")
        for p in problems:
            rows = f", {p['problem_rows']:,} rows" if p["problem_rows"] is not None else ""
            say(f"  problem: {p['table_name']}: {p['check_name']}{rows}: {p['detail']}", style="red")
            if p["hint"]:
                say(f"    hint: {p['hint']}")
    for r in results[:1]:
        say(f"DDL for each tenant (shown for tenant {r.tenant_id}):")
        for c in r.checks:
            if "ddl" in c:
                say(f"-- {c['table_name']}\n{c['ddl']}")


def validate(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    jobs: int,
    report: Path | None,
    as_json: bool = False,
) -> int:
    """Validate each migrated tenant; a tenant never migrated is "not migrated" (exit 1), not invalid."""
    check_report_path(report)
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
        statuses = {s.tenant_id: s for s in tenant_status(conn, ids)}
        migrated = [t for t in ids if statuses[t].migrated]
        checked = {r.tenant_id: r for r in validate_tenants(url, migrated, jobs)} if migrated else {}
        record_validation(conn, list(checked.values()))
    results = [checked.get(t) or not_migrated_result(statuses[t]) for t in ids]
    if not as_json:
        print_table(
            "validate",
            ("tenant", "state", "checks", "failed"),
            [(r.tenant_id, r.state, len(r.checks), sum(1 for c in r.checks if c["passed"] is False)) for r in results],
            right=("checks", "failed"),
            err_rows=[i for i, r in enumerate(results) if not r.ok],
        )
        counts = Counter(r.state for r in results)
        say("validate: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    return _finish("validate", results, report=report, as_json=as_json, url=url)


def rollback(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str],
    report: Path | None,
    as_json: bool = False,
    force: bool = False,
) -> int:
    url, ids = _tenants_to_work_on(dsn, manifest, tenants, report)
    results = migrate.rollback_tenants(url, ids, force=force)
    if not as_json:
        for r in results:
            if r.ok:
                dropped = [t for t in r.tables if t.state.endswith("dropped")]
                back = sum(1 for t in dropped if t.state.startswith("copied back"))
                where = f"{back} copied back into the shared tables first" if back else "shared tables untouched"
                say(f"tenant {r.tenant_id}: dropped {len(dropped)} tenant tables; {where}")
    return _finish("rollback", results, report=report, as_json=as_json, url=url)


def cutover(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    every: bool,
    jobs: int,
    lock_timeout: float,
    report: Path | None,
    as_json: bool = False,
) -> int:
    """Cut over the listed tenants (or --all): fence, drain, validate, mark cut_over; their shared
    rows then answer every statement with TY050 until contract."""
    url, ids = _tenants_to_work_on(dsn, manifest, None if every else tenants, report)
    results = online.cutover_tenants(url, ids, jobs=jobs, lock_timeout=f"{lock_timeout:g}s")
    if not as_json:
        rows = []
        for r in results:
            c = r.checks[0] if r.checks else {}
            rows.append(
                (
                    r.tenant_id,
                    r.state,
                    r.rows,
                    None if c.get("fence_ms") is None else round(c["fence_ms"], 1),
                    c.get("replayed_under_fence"),
                )
            )
        print_table(
            "cutover",
            ("tenant", "state", "rows", "fence ms", "replayed under fence"),
            rows,
            right=("rows", "fence ms", "replayed under fence"),
            err_rows=[i for i, r in enumerate(results) if not r.ok],
        )
    return _finish("cutover", results, report=report, as_json=as_json, url=url)


def contract(dsn: str | None, *, archive: str | None, as_json: bool = False) -> int:
    """Drop (or archive) the shared moved tables and their capture triggers; empty the change log."""
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        executor.require_installed(conn)
    done = online.contract(url, archive)
    if as_json:
        print_json({"command": "contract", "tables": [{"table_name": t.table_name, "action": t.state} for t in done]})
    else:
        for t in done:
            say(f"{t.table_name}: {t.state}")
    return 0


def status(dsn: str | None, *, as_json: bool) -> int:
    """Every registry tenant: state, tables, rows, seconds, validated (yes/no, when)."""
    with connect(resolve_dsn(dsn)) as conn:
        executor.require_installed(conn)
        rows = tenant_status(conn)
    if as_json:
        print_json({"command": "status", "tenants": [vars(r) for r in rows]})
        return 0
    print_table(
        "tenancy status",
        ("tenant", "schema", "state", "tables", "rows", "seconds", "validated", "validated at", "error"),
        [
            (
                r.tenant_id,
                r.schema_name,
                r.state,
                f"{r.tables_done}/{r.tables}" if r.tables else "",
                r.rows_copied,
                r.seconds,
                _validated(r.validated, r.failed_checks),
                r.validated_at,
                r.last_error,
            )
            for r in rows
        ],
        right=("tables", "rows", "seconds"),
        err_rows=[i for i, r in enumerate(rows) if r.state == "failed" or r.validated is False],
    )
    counts = Counter(r.state for r in rows)
    validated = sum(1 for r in rows if r.validated)
    say(f"{len(rows)} tenants: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {validated} validated")
    return 0


def _validated(validated: bool | None, failed_checks: int | None) -> str:
    if validated is None:
        return "not yet"
    return "yes" if validated else f"no ({failed_checks} failed)"


def demo(
    dsn: str | None,
    *,
    tenants: int,
    rows: int,
    seed: int,
    jobs: int,
    batch_size: int | None,
    replace: bool,
    report: Path | None,
    as_json: bool = False,
) -> int:
    """Sample → install → provision → migrate → validate, on --dsn / DATABASE_URL or the embedded server.

    The steps are progress (stderr); the report table and the verdict are the result (stdout).
    """
    check_report_path(report)
    started = time.monotonic()
    url = dsn or os.environ.get("DATABASE_URL")
    if url:
        say("1/6 using the database of --dsn / DATABASE_URL", err=True)
    else:
        say(f"1/6 starting the embedded PostgreSQL (data in {embedded.data_dir()})", err=True)
        url = embedded.fresh_database(embedded.start(), "tenancy_demo")
    with connect(url) as conn:
        say(f"2/6 building the sample: {tenants} tenants, about {rows:,} rows", err=True)
        summary = build_sample(
            conn, tenants=tenants, rows=rows, seed=seed, replace=replace, progress=lambda m: say(f"  {m}", err=True)
        )
        say("3/6 installing schema tenancy", err=True)
        result = install_sql(conn, load_manifest(EXAMPLE_MANIFEST))
        say(f"  {len(result.rendering.tables)} moved tables, checksum {result.checksum[:12]}", err=True)
    say("4/6 provisioning tenant schemas", err=True)
    provisioned = provision_tenants(url, summary.tenants)
    print_failures(provisioned)
    say(f"  {sum(r.ok for r in provisioned)}/{len(provisioned)} tenants provisioned", err=True)
    say(f"5/6 migrating {summary.moved_rows:,} rows", err=True)
    with ProgressDisplay(summary.tenants, "parallel" if jobs > 1 else "serial") as progress:
        migrated = migrate.migrate_tenants(url, summary.tenants, batch_size=batch_size, jobs=jobs, progress=progress)
    say("6/6 validating every tenant, row by row", err=True)
    validated = validate_tenants(url, summary.tenants, jobs)
    with connect(url) as conn:
        record_validation(conn, validated)
    ok = all(r.ok for r in migrated + validated)
    doc = report_doc("demo", migrated + validated)
    if report:
        write_report(report, doc)
    if as_json:
        print_json(doc)
        print_failures(migrated + validated)
        return 0 if ok else 1
    by_tenant = {v.tenant_id: v for v in validated}
    print_table(
        "demo report",
        ("tenant", "migrate", "rows", "seconds", "rows/s", "validate"),
        [
            (
                m.tenant_id,
                m.state,
                m.rows,
                round(m.seconds, 2),
                round(m.rows_per_second or 0),
                f"{len(v.checks)} checks passed" if v.ok else v.error,
            )
            for m in migrated
            for v in [by_tenant[m.tenant_id]]
        ],
        right=("rows", "seconds", "rows/s"),
        err_rows=[i for i, m in enumerate(migrated) if not (m.ok and by_tenant[m.tenant_id].ok)],
    )
    print_failures(migrated + validated)
    total = sum(m.rows for m in migrated)
    elapsed = time.monotonic() - started
    say(
        f"{'OK' if ok else 'FAILED'}: {sum(m.ok for m in migrated)}/{len(migrated)} tenants "
        f"migrated, {sum(v.ok for v in validated)}/{len(validated)} validated, {total:,} rows, {elapsed:.1f}s in all",
        style="green" if ok else "red",
    )
    return 0 if ok else 1


# -- privileges (runner/access/model.py, runner/access/drift.py) ---------------------


def provision(
    dsn: str | None,
    manifest: Manifest,
    *,
    tenants: list[str] | None,
    as_json: bool = False,
    credentials: Path | None = None,
) -> int:
    """Give each tenant its schema, roles and grants (tenancy.provision_tenant); idempotent.
    With credentials (or $TENANCY_CREDENTIALS), then give the login roles theirs.

    One line per tenant: its changes counted by action; --json lists every change.
    """
    url = resolve_dsn(dsn)
    path = credentials_path(credentials)
    # Read and checked before anything changes.
    given = load_credentials(path) if path else []
    with connect(url) as conn:
        ids = executor.select_tenants(conn, manifest, tenants)
    results = provision_tenants(url, ids)
    if given and all(r.ok for r in results):
        with connect(url) as conn:
            done = apply_credentials(conn, given)
        for tenant, role, action in done:
            for r in results:
                if r.tenant_id == tenant:
                    r.tables.append(TableResult(role, action, 0, None))
    if as_json:
        print_json(
            {
                "command": "provision",
                "tenants": [
                    {
                        "tenant_id": r.tenant_id,
                        "state": r.state,
                        "changes": [{"object": c.table_name, "action": c.state} for c in r.tables],
                        "error": r.error,
                    }
                    for r in results
                ],
            }
        )
    else:
        for i, r in enumerate(results, 1):
            if r.ok:
                counts = Counter(c.state for c in r.tables)
                what = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no change"
                say(f"[{i}/{len(ids)} provision:{r.tenant_id}] {what}")
    print_failures(results)
    return _run_exit_code(url, results)


def verify_grants(dsn: str | None, manifest: Manifest, *, tenants: list[str] | None, as_json: bool = False) -> int:
    """Compare the live catalog with the privilege model; one row per missing or extra fact.

    Without --tenant: every registry tenant whose schema exists, and the shared
    roles whole. Exit 1 on any drift.
    """
    url = resolve_dsn(dsn)
    with connect(url) as conn:
        if tenants:
            ids = list(dict.fromkeys(tenants))
            build_model(manifest, ids)  # refuses a bad id before it reaches SQL
        else:
            registry = executor.registry_tenants(conn, manifest)
            schema_of = {t: manifest.schema_for(t) for t in registry}
            ids = grants.provisioned_tenants(conn, registry, schema_of)
        model = build_model(manifest, ids)
        drift = grants.verify(conn, model, all_tenants=not tenants)
        # On a Citus coordinator, each worker too (runner/citus/grants.py).
        if citus_grants.is_citus_coordinator(conn):
            drift += [w.drift for w in citus_grants.verify_workers(conn, url, model)]
    if as_json:
        print_json(
            {
                "command": "verify-grants",
                "ok": not drift,
                "tenants_checked": len(ids),
                "drift": [
                    {"status": d.status, "tenant": d.tenant, "type": d.fact.object_type, "fact": d.describe()}
                    for d in drift
                ],
            }
        )
        return 1 if drift else 0
    if drift:
        print_table(
            "verify-grants: drift",
            ("status", "tenant", "type", "fact"),
            [(d.status, d.tenant or "(shared)", d.fact.object_type, d.describe()) for d in drift],
            err_rows=[i for i, d in enumerate(drift) if d.status == "missing"],
        )
    say(f"verify-grants: {len(ids)} tenant(s) checked, {len(drift)} drift row(s)")
    return 1 if drift else 0
