"""`tenancy bench --own-database` and `tenancy bench --schema wide`: a database as it is, against the raw floor.

``bench_database`` answers a user's first question, how long the migration of
their own database will take, without changing it. The database given and its
manifest are read (the catalog, the registry) and copied once, as
``<database>__base`` (``CREATE DATABASE … TEMPLATE``); tenancy is installed in
that copy, and each method of each round runs in a copy of it, dropped at the
end (see ``runner.devtools.bench.copies``), as are the roles tenancy made in
them. Nothing is written to the database given. The methods, on the first N
tenants of the registry (all by default), in the same order:

(a) ``migrate``: ``tenancy migrate`` over those tenants, as a user runs it
    (provisioning the tenants it needs, every copy validated); then
    ``tenancy validate`` over them, timed apart.
(b) ``raw``: the raw floor, ``runner.devtools.bench.measure_raw``: per tenant,
    one transaction: the rendered DDL, a bare ``INSERT … SELECT`` per table, the
    rendered keys and indexes, then the rendered foreign keys.

The result gives both ratios, per-tenant seconds of each method and an
estimate for the whole registry: migrate's seconds per tenant times the
tenants of the registry (the per-tenant cost is what grows with their number;
the estimate assumes the first N tenants are like the others).

``bench_wide`` builds the wide synthetic schema (``runner.devtools.wide``) in an
empty database (or the embedded server's ``tenancy_bench``) and benches it so.
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from runner.devtools.bench import (
    RAW_PREFIX,
    MovedTable,
    Out,
    Timing,
    copies,
    copy_name,
    embedded_database,
    measure_migrate,
    measure_raw,
    measure_validate,
    median,
    moved_tables,
    profile_migrate,
    require_copies,
    require_empty,
    settle,
    settle_copy,
)
from runner.devtools.wide import REGISTRY, build_wide, wide_manifest
from runner.engine.executor import registry_tenants
from runner.engine.install import check_manifest, install
from runner.engine.render import render_all
from runner.errors import TenancyError
from runner.manifest import Manifest, parse_manifest


def bench_database(
    dsn: str,
    manifest: Manifest,
    *,
    tenants: int | None = None,
    jobs: int = 1,
    repeat: int = 1,
    profile: bool = False,
    out: Out = print,
    schema: str = "database",
) -> dict[str, object]:
    """Time (a) and (b) on the first ``tenants`` tenants of the registry of database ``dsn``
    (all when None), each in copies of it; print a summary ending in one JSON line.

    Refuses, before anything is written: a role without CREATEDB, a database
    with other sessions, a manifest that does not match the database (or that
    tenancy cannot render for it), an empty registry, tenants already
    migrated there. Returns the dict printed as the last line.
    """
    version, source, admin, registry, order, left_out = _refuse_early(dsn, manifest, tenants, jobs, repeat)
    out(
        f"PostgreSQL {version}; database {source}: {len(order)} of the registry's {len(registry)} tenants, "
        f"{jobs} job(s), {repeat} round(s)"
    )
    for tenant_id, why in left_out:
        out(f"    tenant {tenant_id!r} is left out: {why}")
    load_before = os.getloadavg()[0]
    with copies(dsn, source, admin, out) as copy:
        base, tables, install_seconds = _base_copy(copy, source, manifest, out)
        runs = _rounds(copy, base, manifest, tables, order, jobs, repeat, out)
        functions = profile_migrate(copy("p", base), order, jobs, out) if profile else None
        load_after = os.getloadavg()[0]
    result = _result(
        runs,
        schema=schema,
        source=source,
        version=version,
        order=order,
        registry=registry,
        tables=len(tables),
        jobs=jobs,
        repeat=repeat,
        install_seconds=install_seconds,
    )
    if functions is not None:
        result["profile"] = functions
    result["loadavg_before"], result["loadavg_after"] = round(load_before, 2), round(load_after, 2)
    a, b = median(runs.a), median(runs.b)
    out(
        f"migrate over the raw floor: {result['migrate_over_raw']}× "
        f"({a.seconds / len(order):.3f} s against {b.seconds / len(order):.3f} s a tenant); "
        f"the whole registry ({len(registry)} tenants): about {result['estimate_seconds_for_registry']} s; "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    out(json.dumps(result))
    return result


def _refuse_early(
    dsn: str, manifest: Manifest, tenants: int | None, jobs: int, repeat: int
) -> tuple[str, str, str, list[str], list[str], list[tuple[str, str]]]:
    """Everything refused before a copy is made; (server version, database, maintenance
    DSN, registry, tenants to bench, tenants left out and why)."""
    if jobs < 1 or repeat < 1 or (tenants is not None and tenants < 1):
        raise TenancyError("--tenants, --jobs and --repeat must be 1 or more", hint="Pass whole numbers from 1 up.")
    with psycopg.connect(dsn, autocommit=True) as conn:
        version = conn.info.parameter_status("server_version") or "?"
        source, admin = require_copies(conn, dsn)
        registry, order, left_out = _tenants_to_bench(conn, manifest, tenants)
        # What install would refuse, refused here: the catalog read in a
        # read-only transaction, before any copy is made.
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            check_manifest(conn, manifest)
            render_all(conn, manifest)
    return version, source, admin, registry, order, left_out


def _result(
    runs: _Runs,
    *,
    schema: str,
    source: str,
    version: str,
    order: list[str],
    registry: list[str],
    tables: int,
    jobs: int,
    repeat: int,
    install_seconds: float,
) -> dict[str, object]:
    """The JSON document of the bench: the medians of the rounds, the validation of the first."""
    a, b = median(runs.a), median(runs.b)
    validate, failures, checks = runs.validate
    return {
        "schema": schema,
        "database": source,
        "server_version": version,
        "tenants": len(order),
        "registry_tenants": len(registry),
        "tables": tables,
        "rows": a.rows,
        "jobs": jobs,
        "repeat": repeat,
        "migrate_seconds": round(a.seconds, 3),
        "migrate_seconds_all": [round(t.seconds, 3) for t in runs.a],
        "raw_seconds": round(b.seconds, 3),
        "raw_seconds_all": [round(t.seconds, 3) for t in runs.b],
        "migrate_seconds_per_tenant": round(a.seconds / len(order), 5),
        "raw_seconds_per_tenant": round(b.seconds / len(order), 5),
        "ratio_vs_raw": round(b.seconds / a.seconds, 3),
        "migrate_over_raw": round(a.seconds / b.seconds, 3),
        "estimate_seconds_for_registry": round(a.seconds / len(order) * len(registry), 1),
        "validate_again_seconds": round(validate.seconds, 3),
        "validation_checks": checks,
        "validation_failures": failures,
        "install_seconds": round(install_seconds, 3),
    }


def _base_copy(
    copy: Callable[..., str], source: str, manifest: Manifest, out: Out
) -> tuple[str, list[MovedTable], float]:
    """The copy every method starts from, with tenancy installed: (its name, the moved
    tables, seconds the install took)."""
    base_dsn = copy("base")
    base = copy_name(source, "base")
    with psycopg.connect(base_dsn, autocommit=True) as conn:
        started = time.perf_counter()
        install(conn, manifest)
        install_seconds = time.perf_counter() - started
        tables = moved_tables(conn, manifest)
        # Hint bits, visibility map and statistics set once, in the copy
        # every method starts from.
        settle(conn, freeze=True)
    out(f"tenancy installed in {base}: {len(tables)} moved tables, {install_seconds:.1f} s")
    return base, tables, install_seconds


@dataclass
class _Runs:
    a: list[Timing]
    b: list[Timing]
    validate: tuple[Timing, int, int]  # after the first (a): the time, failures, checks


def _rounds(
    copy: Callable[..., str],
    base: str,
    manifest: Manifest,
    tables: list[MovedTable],
    order: list[str],
    jobs: int,
    repeat: int,
    out: Out,
) -> _Runs:
    """(a) and (b), alternating `repeat` times, each in a copy of the base."""
    runs = _Runs([], [], (Timing(0, 0.0), 0, 0))
    for round_no in range(1, repeat + 1):
        a_dsn = copy(f"a{round_no}", base)
        migrate = measure_migrate(a_dsn, order, jobs)
        runs.a.append(migrate)
        out(f"(a) round {round_no}: migrate: {migrate.rows} rows in {migrate.seconds:.2f} s")
        if round_no == 1:
            runs.validate = measure_validate(a_dsn, order, jobs, migrate.rows)
            validate, failures, checks = runs.validate
            out(
                f"    then validate again, both sides read: {validate.seconds:.2f} s, "
                f"{checks} checks, {failures} failed"
            )
        settle_copy(a_dsn)
        b_dsn = copy(f"b{round_no}", base)
        raw = measure_raw(b_dsn, manifest, tables, order, jobs)
        runs.b.append(raw)
        out(f"(b) round {round_no}: raw floor: {raw.rows} rows in {raw.seconds:.2f} s")
        settle_copy(b_dsn)
        if raw.rows != migrate.rows:
            raise TenancyError(
                f"migrate moved {migrate.rows} rows, the raw floor {raw.rows}",
                hint="See `tenancy status` in the copy kept (named above).",
            )
    return runs


def _tenants_to_bench(
    conn: psycopg.Connection, manifest: Manifest, limit: int | None
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(the registry, the tenants to bench, [(tenant left out, why)]): the first ``limit``
    registry tenants in natural order whose ids the manifest's rule takes."""
    try:
        with conn.transaction():
            registry = registry_tenants(conn, manifest)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.InvalidSchemaName) as e:
        raise TenancyError(
            f"database {conn.info.dbname!r} has no registry as the manifest names it: {e.diag.message_primary}",
            hint="Give the manifest of this database (--manifest FILE, or $TENANCY_MANIFEST, or ./tenancy.toml).",
        ) from None
    takes: list[str] = []
    left_out: list[tuple[str, str]] = []
    for tenant_id in registry:
        try:
            manifest.schema_for(tenant_id)
        except TenancyError as e:
            left_out.append((tenant_id, str(e)))
            continue
        takes.append(tenant_id)
    order = takes[:limit] if limit is not None else takes
    if not order:
        raise TenancyError(
            f"the registry {manifest.central_schema}.{manifest.registry.table} has no tenant to bench",
            hint="Bench a database whose registry lists tenants (ids the manifest's rule takes).",
        )
    if conn.execute("SELECT to_regclass('tenancy.ledger')").fetchone() != (None,):
        [(started,)] = conn.execute(
            "SELECT count(DISTINCT tenant_id) FROM tenancy.ledger WHERE tenant_id = ANY (%s)", (order,)
        ).fetchall()
        if started:
            raise TenancyError(
                f"{started} of the tenants to bench are migrated, or their migration started, in this database",
                hint="The bench times migrations from the start: bench the database before `tenancy migrate`, "
                "or a copy of it from then.",
            )
    [(raw_schemas,)] = conn.execute(
        "SELECT count(*) FROM pg_namespace WHERE starts_with(nspname, %s)", (RAW_PREFIX,)
    ).fetchall()
    if raw_schemas:
        raise TenancyError(
            f"database {conn.info.dbname!r} has schemas named {RAW_PREFIX}…, the names the raw floor uses",
            hint="Rename those schemas in a copy of the database, and bench the copy.",
        )
    return registry, order, left_out


def bench_wide(
    *,
    tables: int = 120,
    tenants: int = 30,
    rows: int | None = None,
    seed: int = 42,
    dsn: str | None = None,
    jobs: int = 1,
    repeat: int = 1,
    profile: bool = False,
    out: Out = print,
) -> dict[str, object]:
    """Build the wide schema (``tables`` chained moved tables and a partitioned one) for
    ``tenants`` tenants, ``rows`` rows over its shared tables (default 3 per table and
    tenant), then ``bench_database`` on it.

    With ``dsn`` None the embedded server's database ``tenancy_bench`` is made
    afresh; a database given must be empty (no table ``orgs``, no schema
    tenancy), and is left holding the wide schema.
    """
    if tables < 1 or tenants < 1 or (rows is not None and rows < 1):
        raise TenancyError("--tables, --tenants and --rows must be 1 or more", hint="Pass whole numbers from 1 up.")
    per_table = max(1, (rows or 0) // (tenants * (tables + 1))) if rows is not None else 3
    manifest = parse_manifest(tomllib.loads(wide_manifest(tables)))

    def build_and_bench(bench_dsn: str) -> dict[str, object]:
        with psycopg.connect(bench_dsn, autocommit=True) as conn:
            require_empty(conn, REGISTRY)
            require_copies(conn, bench_dsn)
            started = time.perf_counter()
            summary = build_wide(conn, tables=tables, tenants=tenants, rows=per_table, seed=seed)
            out(
                f"wide schema built: {tables + 1} moved tables, {tenants} tenants, "
                f"{sum(summary.rows_by_table.values())} rows in {time.perf_counter() - started:.1f} s"
            )
        return bench_database(bench_dsn, manifest, jobs=jobs, repeat=repeat, profile=profile, out=out, schema="wide")

    if dsn is not None:
        return build_and_bench(dsn)
    with embedded_database(out) as bench_dsn:
        return build_and_bench(bench_dsn)
