"""`tenancy bench`: how fast a migration is, against the limit and the original plan's way.

One run builds the sample (``runner.devtools.sample``) in a fresh database,
installs tenancy there and, on the same data and in the same tenant order,
measures four ways of moving the twelve shared tables into per-tenant tables.
Each method of each round runs in its own copy of that database (``CREATE
DATABASE … TEMPLATE``; see ``copies``), dropped at the end: every method starts
from the same state, and the database the bench was given is left as built.

(a) ``migrate``: tenancy itself, which validates every copy. Install, then
    ``migrate_tenants`` over every tenant, in batches (``tenancy.migrate_tenants``):
    preflight, the split copy, the shared side of the validation read after
    the copy in one pass per shared table (``tenancy.source_sums``), count and
    checksum of each tenant table against its shared rows (nothing is
    committed on a difference), keys, indexes, FKs, sequences, grants. Timed
    wall clock.
    ``tenancy validate`` run afterwards (both sides read again) is timed
    apart and reported as ``ratio_vs_raw_with_validate_again``.
(b) ``raw``: the limit. A bare ``INSERT … SELECT`` per table into tables of the
    same shape (the rendered ``<table>__create`` DDL) in a scratch schema per
    tenant, keys and indexes built after the load (``<table>__index``), then the
    foreign keys (``<table>__link``), one transaction per tenant. No preflight,
    ledger, grants, sequences or verification.
(d) ``split raw``: the limit of the one-pass split. Per batch of tenants (the
    batches ``migrate`` uses) and table, the tenant tables created by the
    rendered ``__create`` DDL in scratch schemas, then the rendered
    ``__split`` (one ``INSERT … SELECT`` routed through a staging table
    partitioned by the tenant key), keys and indexes after (``__index``), then
    the foreign keys (``__link``), one transaction per batch. No preflight,
    ledger, validation or grants.
(c) ``naive``: the original plan's client copy. Rows fetched into Python and inserted
    back 100 at a time (multi-row ``INSERT … VALUES``, one statement per
    batch, autocommit), into tables created with their keys and indexes first,
    as the original plan's tables were. It runs about 10k rows/s, so it covers only the
    first tenants (in the same order) until ``NAIVE_MIN_ROWS`` rows; its
    rows/s is reported for that subset and says so.

With ``--jobs N`` above 1, each round first times (a) with one job, in a copy
of its own, then (a) with N jobs: ``ratio_jobs_vs_serial``.

The runner's peak RSS is read right after (a), before (c) pulls rows into this
process, and so is its CPU time during (a). After the first (a), a second
``migrate`` over the same tenants (every one already migrated) is timed as the
no-op re-run. The last line printed is one JSON object with the results.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow
from psycopg.types.string import TextLoader

from runner.devtools import embedded
from runner.devtools.embedded import fresh_database
from runner.devtools.sample import SampleSummary, build_sample
from runner.engine.executor import for_each_tenant, in_batches
from runner.engine.install import install
from runner.engine.migrate import migrate_tenants
from runner.engine.validate import validate_tenants
from runner.errors import TenancyError
from runner.manifest import Manifest, load_manifest
from runner.resources import EXAMPLE_MANIFEST

BENCH_DATABASE = "tenancy_bench"
NAIVE_MIN_ROWS = 100_000
NAIVE_BATCH = 100
RAW_PREFIX = "bench_raw_"
SPLIT_PREFIX = "bench_split_"
NAIVE_PREFIX = "bench_naive_"

Out = Callable[[str], None]


@dataclass(frozen=True)
class MovedTable:
    """A moved table as installed: its name, rendered-function prefix, columns to copy."""

    name: str
    fn_prefix: str
    columns: tuple[str, ...]
    overriding: bool  # an identity column GENERATED ALWAYS: inserts need OVERRIDING


@dataclass(frozen=True)
class Timing:
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def run_bench(
    *,
    tenants: int = 60,
    rows: int = 1_000_000,
    seed: int = 42,
    dsn: str | None = None,
    jobs: int = 1,
    repeat: int = 1,
    profile: bool = False,
    out: Out = print,
) -> dict[str, object]:
    """Build the sample, measure (a), (b) and (c), print a summary ending in one JSON line.

    (a) and (b) run `repeat` times, alternating; the ratios use their medians.

    With ``dsn`` None, an embedded PostgreSQL is started in a dedicated
    directory and database ``tenancy_bench`` is created afresh (an old one is
    dropped). With a ``dsn``, that database must be empty: the sample is built
    in it. Returns the dict printed as the last line.
    """
    if jobs < 1 or repeat < 1:
        raise TenancyError("--jobs and --repeat must be 1 or more", hint="Pass --jobs 1 --repeat 1 or more.")
    if dsn is not None:
        return _bench(dsn, tenants=tenants, rows=rows, seed=seed, jobs=jobs, repeat=repeat, profile=profile, out=out)
    with embedded_database(out) as bench_dsn:
        return _bench(
            bench_dsn, tenants=tenants, rows=rows, seed=seed, jobs=jobs, repeat=repeat, profile=profile, out=out
        )


@contextmanager
def embedded_database(out: Out) -> Iterator[str]:
    """Start the embedded server in its own folder; yield a DSN to a fresh tenancy_bench.

    The folder is on disk, beside the demo's, not on tmpfs: commits cost what
    they cost on a real server, which is what the original plan's method pays per batch.
    """
    pgdata = embedded.data_dir().parent / "bench-pg"
    out(f"embedded PostgreSQL in {pgdata}")
    yield fresh_database(embedded.start(pgdata), BENCH_DATABASE)


@contextmanager
def copies(dsn: str, source: str, admin: str, out: Out) -> Iterator[Callable[..., str]]:
    """Yield copy(tag, template=source): a new copy of database ``template``, whose DSN it returns.

    The copies are made and dropped through ``admin``, a DSN to another
    database of the server (``require_copies`` gives both names).

    Each method of each round runs in its own copy of the sample database
    (``CREATE DATABASE … TEMPLATE``, named ``<database>__<tag>``), so every
    one starts from the same catalog and data, and no method's files are
    deleted while another is timed: on ext4 without a journal, which skips
    every recently deleted inode when it creates a file, dropping a few
    thousand tables made the next method's DDL several times slower. The copies are
    dropped at the end, but for the one a failed method ran in. So are the
    roles tenancy made in them (schema ``tenancy``'s roles, tenant owners and
    logins): roles belong to the whole server, and a copy leaves none behind.
    """
    made: list[str] = []
    current: list[str] = []  # the copy a method runs in now
    kept: list[str] = []  # the copy a failed method ran in
    with psycopg.connect(admin, autocommit=True) as conn:
        roles_before = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles").fetchall()}

    def copy(tag: str, template: str = source) -> str:
        current.clear()
        name = copy_name(source, tag)
        with psycopg.connect(admin, autocommit=True) as conn:
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
            except psycopg.errors.ObjectInUse:
                raise _in_use(template) from None
            except psycopg.errors.DuplicateDatabase:
                raise TenancyError(
                    f"database {name!r} exists: the bench copies its database under that name",
                    hint=f"Drop database {name!r} (left by a stopped bench?), then run the bench again.",
                ) from None
        made.append(name)
        current.append(name)
        out(f"    copy of {template}: database {name}")
        return make_conninfo(dsn, dbname=name)

    try:
        yield copy
    except BaseException:
        for name in current:
            made.remove(name)
            kept.append(name)
            out(f"database {name} is kept as the failure left it; drop it before the next bench")
        raise
    finally:
        if made:
            out(f"    dropping the {len(made)} copies")
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in made:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if not kept:  # a kept copy may still use them
                _drop_roles_made(conn, roles_before, out)


def copy_name(source: str, tag: str) -> str:
    """The name of the copy ``tag`` of database ``source``: ``<source>__<tag>``, cut to fit 63 bytes."""
    return f"{source[: 61 - len(tag)]}__{tag}"


def _drop_roles_made(conn: psycopg.Connection[TupleRow], before: set[str], out: Out) -> None:
    """Drop the roles tenancy made in the copies (each one's comment names tenancy), once no copy is left.

    A role that still owns something, or holds a right, in another database
    is left, and named.
    """
    made = [
        r
        for (r,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE '%tenancy%' ORDER BY 1"
        ).fetchall()
        if r not in before
    ]
    if not made:
        return
    try:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.SQL(", ").join(sql.Identifier(r) for r in made)))
    except psycopg.errors.DependentObjectsStillExist as e:
        out(f"the {len(made)} roles tenancy made in the copies are left ({e.diag.message_primary}): {', '.join(made)}")
        return
    out(f"    dropped the {len(made)} roles tenancy made in the copies")


def require_copies(conn: psycopg.Connection[TupleRow], dsn: str) -> tuple[str, str]:
    """Refuse, before anything is written, when the copies cannot be made.

    The role needs CREATEDB, and the database (dsn's, which conn is
    connected to) may have no other session: a database in use cannot be a
    template. A session that has just closed may still be listed for a
    moment: as CREATE DATABASE does, it is given up to 5 s to go. Returns the
    database's name and a DSN to make the copies from.
    """
    [(source, allowed)] = conn.execute(
        "SELECT current_database(),"
        " (SELECT r.rolcreatedb OR r.rolsuper FROM pg_roles AS r WHERE r.rolname = current_user)"
    ).fetchall()
    admin = _maintenance_dsn(dsn)
    if not allowed:
        raise TenancyError(
            "the bench's role may not create databases: each method runs in a copy of the database",
            hint="Give the bench a role with CREATEDB, or no DSN to use the embedded server.",
        )
    deadline = time.monotonic() + 5
    while _other_sessions(conn):
        if time.monotonic() > deadline:
            raise _in_use(source)
        time.sleep(0.1)
    return source, admin


def _other_sessions(conn: psycopg.Connection[TupleRow]) -> int:
    [(others,)] = conn.execute(
        "SELECT count(*) FROM pg_stat_activity AS a WHERE a.datname = current_database()"
        " AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'"
    ).fetchall()
    return int(others)


def require_empty(conn: psycopg.Connection[TupleRow], table: str) -> None:
    """Refuse a database that holds ``public.<table>`` (what the bench would build) or schema tenancy."""
    [(used,)] = conn.execute(
        "SELECT to_regclass(format('public.%%I', %s::text)) IS NOT NULL OR to_regnamespace('tenancy') IS NOT NULL",
        (table,),
    ).fetchall()
    if used:
        raise TenancyError(
            f"database {conn.info.dbname!r} is not empty: it holds table public.{table} or schema tenancy",
            hint="Give the bench an empty database, or no DSN to use the embedded server "
            "(--own-database benches a database as it is).",
        )


def _in_use(source: str) -> TenancyError:
    return TenancyError(
        f"database {source!r} has other sessions: the bench copies it, and a database in use cannot be copied",
        hint=f"Close the other sessions on {source!r} (see pg_stat_activity), then run the bench again.",
    )


def _maintenance_dsn(dsn: str) -> str:
    """A DSN to the server's `postgres` database (`template1` if that one cannot be reached)."""
    for dbname in ("postgres", "template1"):
        candidate = make_conninfo(dsn, dbname=dbname)
        try:
            psycopg.connect(candidate).close()
        except psycopg.OperationalError:
            continue
        return candidate
    raise TenancyError(
        "cannot reach database postgres or template1 on the bench's server",
        hint="The bench creates databases (copies of its sample): give a role that may connect to postgres.",
    )


def median(runs: list[Timing]) -> Timing:
    return sorted(runs, key=lambda t: t.seconds)[len(runs) // 2]


@dataclass
class _Rounds:
    """The sample benched: what was built, and the runs of each method so far."""

    manifest: Manifest
    tables: list[MovedTable]
    summary: SampleSummary
    version: str
    jobs: int
    a: list[Timing] = field(default_factory=list)
    serial: list[Timing] = field(default_factory=list)
    b: list[Timing] = field(default_factory=list)
    d: list[Timing] = field(default_factory=list)
    # Of the first round's (a): the validation after it, the runner's cost, the no-op re-run.
    validate: tuple[Timing, int, int] | None = None
    copy_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    runner_cpu: float = 0.0
    noop: float = 0.0


def _build(
    dsn: str, *, tenants: int, rows: int, seed: int, jobs: int, repeat: int, out: Out
) -> tuple[_Rounds, str, str]:
    """The sample built and installed in the database given; (the rounds, source, admin)."""
    manifest = load_manifest(EXAMPLE_MANIFEST)
    with psycopg.connect(dsn, autocommit=True) as conn:
        version = conn.info.parameter_status("server_version") or "?"
        out(f"PostgreSQL {version}; {tenants} tenants, {rows} rows, seed {seed}, {jobs} job(s), {repeat} round(s)")
        require_empty(conn, "tenants")
        source, admin = require_copies(conn, dsn)
        started = time.perf_counter()
        summary = build_sample(conn, tenants=tenants, rows=rows, seed=seed)
        install(conn, manifest)
        tables = moved_tables(conn, manifest)
        # Hint bits, visibility map and statistics set once here, so that no
        # method below pays for them on its first read of the shared tables.
        settle(conn, freeze=True)
        out(f"sample built and installed: {summary.moved_rows} rows in {time.perf_counter() - started:.1f} s")
    return _Rounds(manifest, tables, summary, version, jobs), source, admin


def _round_a(r: _Rounds, copy: Callable[..., str], round_no: int, out: Out) -> None:
    """(a) of one round (and with --jobs above 1, (a) with one job first)."""
    order, total = r.summary.tenants, r.summary.moved_rows
    if r.jobs > 1:
        serial_dsn = copy(f"a{round_no}_serial")
        r.serial.append(measure_migrate(serial_dsn, order, 1))
        out(f"(a) round {round_no} with one job: {r.serial[-1].rows} rows in {r.serial[-1].seconds:.2f} s")
        settle_copy(serial_dsn)
    a_dsn = copy(f"a{round_no}")
    cpu_before = _cpu_seconds()
    migrate = measure_migrate(a_dsn, order, r.jobs)
    validate, failures, checks = measure_validate(a_dsn, order, r.jobs, migrate.rows)
    cpu = _cpu_seconds() - cpu_before
    if migrate.rows != total:
        raise TenancyError(
            f"migrate moved {migrate.rows} rows, the sample has {total}",
            hint="See `tenancy status` in the copy kept (named above).",
        )
    r.a.append(migrate)
    with psycopg.connect(a_dsn, autocommit=True) as conn:
        [(copy_seconds,)] = conn.execute("SELECT coalesce(sum(copy_seconds), 0)::float8 FROM tenancy.ledger").fetchall()
    if round_no == 1:
        r.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        r.validate, r.copy_seconds, r.runner_cpu = (validate, failures, checks), copy_seconds, cpu
        r.noop = _measure_noop(a_dsn, order, r.jobs)
        out(f"    no-op re-run of migrate over {len(order)} migrated tenants: {r.noop:.2f} s")
    if r.serial:
        out(f"    one job took {r.serial[-1].seconds / migrate.seconds:.2f}× the time of {r.jobs} jobs")
    out(
        f"(a) round {round_no}: migrate (every copy validated): {total} rows in "
        f"{migrate.seconds:.2f} s = {migrate.rows_per_s:,.0f} rows/s "
        f"(copy statements {copy_seconds:.2f} s); then validate again, both sides "
        f"read: {validate.seconds:.2f} s, {checks} checks, {failures} failed"
    )
    # The next method should not share the server with autovacuum
    # working through the tables this one wrote.
    settle_copy(a_dsn)


def _round_raw(r: _Rounds, copy: Callable[..., str], round_no: int, out: Out) -> None:
    """(b) and (d) of one round."""
    order = r.summary.tenants
    b_dsn = copy(f"b{round_no}")
    b = measure_raw(b_dsn, r.manifest, r.tables, order, r.jobs)
    r.b.append(b)
    out(
        f"(b) round {round_no}: raw INSERT … SELECT, indexes after: {b.rows} rows in "
        f"{b.seconds:.2f} s = {b.rows_per_s:,.0f} rows/s"
    )
    settle_copy(b_dsn)
    d_dsn = copy(f"d{round_no}")
    d = _measure_split_raw(d_dsn, r.tables, order, r.jobs)
    r.d.append(d)
    out(
        f"(d) round {round_no}: raw one-pass split, indexes after: {d.rows} rows in "
        f"{d.seconds:.2f} s = {d.rows_per_s:,.0f} rows/s"
    )
    settle_copy(d_dsn)


def _naive(r: _Rounds, copy: Callable[..., str], out: Out) -> tuple[Timing, list[str]]:
    """(c) on a subset of tenants."""
    order = r.summary.tenants
    subset = _naive_subset(order, r.summary.rows_by_tenant, NAIVE_MIN_ROWS)
    c = _measure_naive(copy("c"), r.manifest, r.tables, subset)
    first = order.index(subset[0]) + 1
    out(
        f"(c) naive client copy, batches of {NAIVE_BATCH}, on tenants {first}–"
        f"{first + len(subset) - 1} of {len(order)} only: {c.rows} rows in "
        f"{c.seconds:.2f} s = {c.rows_per_s:,.0f} rows/s"
    )
    return c, subset


def _result(r: _Rounds, c: Timing, subset: list[str], repeat: int) -> dict[str, object]:
    """The JSON document of the bench (the medians of the rounds; validation of the first)."""
    a, b, d = median(r.a), median(r.b), median(r.d)
    order, total = r.summary.tenants, r.summary.moved_rows
    assert r.validate is not None  # set by the first round
    validate, failures, checks = r.validate
    return {
        "schema": "sample",
        "rows": total,
        "tenants": len(order),
        "tables": len(r.tables),
        "jobs": r.jobs,
        "server_version": r.version,
        "migrate_rows_per_s": round(a.rows_per_s),
        "raw_rows_per_s": round(b.rows_per_s),
        "naive_rows_per_s": round(c.rows_per_s),
        "ratio_vs_raw": round(a.rows_per_s / b.rows_per_s, 3),
        "migrate_over_raw": round(a.seconds / b.seconds, 3),
        "split_raw_rows_per_s": round(d.rows_per_s),
        "ratio_vs_split_raw": round(a.rows_per_s / d.rows_per_s, 3),
        "split_raw_seconds": round(d.seconds, 3),
        "split_raw_seconds_all": [round(t.seconds, 3) for t in r.d],
        "migrate_seconds_per_tenant": round(a.seconds / len(order), 5),
        "raw_seconds_per_tenant": round(b.seconds / len(order), 5),
        # The sample's registry is the tenants benched.
        "estimate_seconds_for_registry": round(a.seconds, 1),
        "noop_rerun_seconds": round(r.noop, 3),
        "runner_cpu_seconds": round(r.runner_cpu, 3),
        "ratio_vs_naive": round(a.rows_per_s / c.rows_per_s, 2),
        "migrate_seconds": round(a.seconds, 3),
        "repeat": repeat,
        "migrate_seconds_all": [round(t.seconds, 3) for t in r.a],
        "raw_seconds_all": [round(t.seconds, 3) for t in r.b],
        "migrate_copy_seconds": round(r.copy_seconds, 3),
        "validate_again_seconds": round(validate.seconds, 3),
        "ratio_vs_raw_with_validate_again": round(total / (a.seconds + validate.seconds) / b.rows_per_s, 3),
        "raw_seconds": round(b.seconds, 3),
        "naive_seconds": round(c.seconds, 3),
        "naive_rows": c.rows,
        "naive_tenants": len(subset),
        "validation_checks": checks,
        "validation_failures": failures,
        "peak_rss_mb": round(r.peak_rss_mb, 1),
        **(
            {
                "serial_migrate_seconds_all": [round(t.seconds, 3) for t in r.serial],
                "ratio_jobs_vs_serial": round(median(r.serial).seconds / a.seconds, 3),
            }
            if r.serial
            else {}
        ),
    }


def _bench(
    dsn: str, *, tenants: int, rows: int, seed: int, jobs: int, repeat: int, profile: bool, out: Out
) -> dict[str, object]:
    r, source, admin = _build(dsn, tenants=tenants, rows=rows, seed=seed, jobs=jobs, repeat=repeat, out=out)
    load_before = os.getloadavg()[0]
    with copies(dsn, source, admin, out) as copy:
        # (a), (b) and (d) alternate `repeat` times, each in its own copy of
        # the sample database; the ratios use the median of each (single runs
        # vary with disk and checkpoint timing).
        for round_no in range(1, repeat + 1):
            _round_a(r, copy, round_no, out)
            _round_raw(r, copy, round_no, out)
        out(f"    runner peak RSS after the first (a): {r.peak_rss_mb:.1f} MB")
        functions = profile_migrate(copy("p"), r.summary.tenants, jobs, out) if profile else None
        c, subset = _naive(r, copy, out)
        load_after = os.getloadavg()[0]
    result = _result(r, c, subset, repeat)
    if functions is not None:
        result["profile"] = functions
    result["loadavg_before"], result["loadavg_after"] = round(load_before, 2), round(load_after, 2)
    out(
        f"migrate (validating) vs raw: {result['ratio_vs_raw']}× (target ≥ 1.3), "
        f"vs raw split: {result['ratio_vs_split_raw']}× (target ≥ 0.75), "
        f"vs naive: {result['ratio_vs_naive']}× (target ≥ 10); "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    out(json.dumps(result))
    return result


# (a) ------------------------------------------------------------------------


def measure_migrate(dsn: str, tenants: list[str], jobs: int) -> Timing:
    """Migrate every tenant (every copy validated inside the migration)."""
    started = time.perf_counter()
    results = migrate_tenants(dsn, tenants, jobs=jobs)
    seconds = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise TenancyError(
            f"migration of tenant {failed[0].tenant_id!r} failed: {failed[0].error}",
            hint=failed[0].hint or "See `tenancy status` in the copy kept (named above).",
        )
    return Timing(sum(r.rows for r in results), seconds)


PROFILE_FUNCTIONS = 15


def profile_migrate(dsn: str, tenants: list[str], jobs: int, out: Out) -> list[dict[str, object]]:
    """Where migrate's time goes, per function: one more migrate, untimed, in a copy of its
    own with ``track_functions = 'pl'`` (a superuser's setting); the schema tenancy functions
    that took the most time of their own (``pg_stat_user_functions.self_time``: a PL/pgSQL
    function's own statements, the SQL and DDL it runs with EXECUTE included), printed and
    returned."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET track_functions = 'pl'").format(sql.Identifier(conn.info.dbname))
            )
        except psycopg.errors.InsufficientPrivilege:
            raise TenancyError(
                "--profile sets track_functions, which only a superuser may",
                hint="Run the profile as a superuser, or without --profile.",
            ) from None
        conn.execute("SELECT pg_stat_reset()")
    migrate = measure_migrate(dsn, tenants, jobs)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # A session's counts reach the statistics when it ends, before it
        # leaves pg_stat_activity: wait for migrate's sessions to be gone.
        deadline = time.monotonic() + 5
        while _other_sessions(conn) and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = conn.execute(
            "SELECT funcname::text, calls, self_time / 1000, total_time / 1000 FROM pg_stat_user_functions"
            " WHERE schemaname = 'tenancy' ORDER BY self_time DESC, funcname LIMIT %s",
            (PROFILE_FUNCTIONS,),
        ).fetchall()
    out(
        f"profile: migrate again with track_functions = 'pl': {migrate.seconds:.2f} s; "
        "the functions that took the most time of their own:"
    )
    out(f"    {'function':<32} {'calls':>8} {'self s':>9} {'total s':>9}")
    for name, calls, own, total in rows:
        out(f"    {name:<32} {calls:>8} {own:>9.3f} {total:>9.3f}")
    return [
        {"function": name, "calls": calls, "self_seconds": round(own, 3), "total_seconds": round(total, 3)}
        for name, calls, own, total in rows
    ]


def measure_validate(dsn: str, tenants: list[str], jobs: int, rows: int) -> tuple[Timing, int, int]:
    """`tenancy validate` over every migrated tenant, both sides read again: (time, failed, checks)."""
    started = time.perf_counter()
    validated = validate_tenants(dsn, tenants, jobs=jobs)
    validate = Timing(rows, time.perf_counter() - started)
    checks = sum(len(r.checks) for r in validated)
    failures = sum(1 for r in validated for c in r.checks if c["passed"] is False)
    return validate, failures, checks


# (b) ------------------------------------------------------------------------


def measure_raw(dsn: str, manifest: Manifest, tables: Sequence[MovedTable], tenants: list[str], jobs: int) -> Timing:
    """The raw floor: per tenant, one transaction: its schema, and per table the rendered
    DDL, a bare INSERT … SELECT and the rendered keys and indexes; then the rendered
    foreign keys (and NOT VALID checks), once every table has its keys."""
    schemas = {t: f"{RAW_PREFIX}{i}" for i, t in enumerate(tenants, start=1)}

    def copy(conn: psycopg.Connection[TupleRow], tenant_id: str) -> int:
        schema = schemas[tenant_id]
        moved = 0
        with conn.transaction():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for table in tables:
                _run_ddl(conn, table, "create", schema)
                cur = conn.execute(_insert_select(manifest, table, schema), (tenant_id,))
                moved += cur.rowcount
                _run_ddl(conn, table, "index", schema)
            for table in tables:
                _run_ddl(conn, table, "link", schema)
        return moved

    started = time.perf_counter()
    moved = sum(for_each_tenant(dsn, tenants, copy, jobs))
    return Timing(moved, time.perf_counter() - started)


def _insert_select(manifest: Manifest, table: MovedTable, schema: str) -> sql.Composed:
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
    return sql.SQL(
        "INSERT INTO {target} ({columns}){overriding} SELECT {columns} FROM {source} WHERE {key} = %s"
    ).format(
        target=sql.Identifier(schema, table.name),
        columns=columns,
        overriding=sql.SQL(" OVERRIDING SYSTEM VALUE" if table.overriding else ""),
        source=sql.Identifier(manifest.central_schema, table.name),
        key=sql.Identifier(manifest.tenant_key),
    )


def _measure_noop(dsn: str, tenants: list[str], jobs: int) -> float:
    """A second migrate over tenants that are all migrated: what a re-run costs."""
    started = time.perf_counter()
    results = migrate_tenants(dsn, tenants, jobs=jobs)
    if any(r.state != "skipped" for r in results):
        raise TenancyError(
            "the no-op re-run migrated something", hint="See `tenancy status` in the copy kept (named above)."
        )
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# (d) ------------------------------------------------------------------------


def _measure_split_raw(dsn: str, tables: Sequence[MovedTable], tenants: list[str], jobs: int) -> Timing:
    """The one-pass split with nothing around it, in the batches migrate uses."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        [(size,)] = conn.execute("SELECT tenancy.tenant_batch_size(%s)", (jobs,)).fetchall()
    schemas = {t: f"{SPLIT_PREFIX}{i}" for i, t in enumerate(tenants, start=1)}
    batches = [[(t, schemas[t]) for t in batch] for batch in in_batches(tenants, int(size), jobs)]

    def copy(conn: psycopg.Connection[TupleRow], batch: list[tuple[str, str]]) -> int:
        ids = [t for t, _ in batch]
        schemas = [s for _, s in batch]
        moved = 0
        with conn.transaction():
            for schema in schemas:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                for table in tables:
                    _run_ddl(conn, table, "create", schema)
            for table in tables:
                rows = conn.execute(
                    sql.SQL("SELECT sum(copied)::bigint FROM tenancy.{}(%s, %s, %s)").format(
                        sql.Identifier(f"{table.fn_prefix}__split")
                    ),
                    (f"bench_stage_{conn.info.backend_pid}", schemas, ids),
                ).fetchall()
                moved += int(rows[0][0] or 0)
                for schema in schemas:
                    _run_ddl(conn, table, "index", schema)
            for schema in schemas:
                for table in tables:
                    _run_ddl(conn, table, "link", schema)
        return moved

    started = time.perf_counter()
    moved = sum(for_each_tenant(dsn, batches, copy, jobs))
    return Timing(moved, time.perf_counter() - started)


# (c) ------------------------------------------------------------------------


def _naive_subset(order: list[str], rows_by_tenant: dict[str, int], least: int) -> list[str]:
    """Consecutive tenants in migration order holding at least ``least`` rows together.

    The run starts at the first tenant that holds no more than ``least`` rows,
    so that the slow method neither takes minutes on the largest tenant nor
    sees only the smallest ones (whose many tiny tables flatter the others).
    """
    start = next((i for i, t in enumerate(order) if rows_by_tenant[t] <= least), 0)
    subset: list[str] = []
    covered = 0
    for tenant_id in order[start:]:
        if covered >= least:
            break
        subset.append(tenant_id)
        covered += rows_by_tenant[tenant_id]
    return subset


def _measure_naive(dsn: str, manifest: Manifest, tables: Sequence[MovedTable], tenants: list[str]) -> Timing:
    moved = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        # json/jsonb back as their text, which goes back in as it came out.
        for name in ("json", "jsonb"):
            conn.adapters.register_loader(name, TextLoader)
        started = time.perf_counter()
        for i, tenant_id in enumerate(tenants, start=1):
            schema = f"{NAIVE_PREFIX}{i}"
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for table in tables:
                # The original plan's tables had their keys from CREATE TABLE on.
                _run_ddl(conn, table, "create", schema)
                _run_ddl(conn, table, "index", schema)
                columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
                fetched = conn.execute(
                    sql.SQL("SELECT {columns} FROM {source} WHERE {key} = %s").format(
                        columns=columns,
                        source=sql.Identifier(manifest.central_schema, table.name),
                        key=sql.Identifier(manifest.tenant_key),
                    ),
                    (tenant_id,),
                ).fetchall()
                for start in range(0, len(fetched), NAIVE_BATCH):
                    batch = fetched[start : start + NAIVE_BATCH]
                    conn.execute(
                        _insert_values(table, schema, len(batch)),
                        [value for row in batch for value in row],
                    )
                moved += len(fetched)
        return Timing(moved, time.perf_counter() - started)


def _insert_values(table: MovedTable, schema: str, n: int) -> sql.Composed:
    row = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(table.columns)))
    return sql.SQL("INSERT INTO {target} ({columns}){overriding} VALUES {rows}").format(
        target=sql.Identifier(schema, table.name),
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in table.columns),
        overriding=sql.SQL(" OVERRIDING SYSTEM VALUE" if table.overriding else ""),
        rows=sql.SQL(", ").join([row] * n),
    )


# Shared ----------------------------------------------------------------------


def moved_tables(conn: psycopg.Connection[TupleRow], manifest: Manifest) -> list[MovedTable]:
    """The installed moved tables in FK order, with the columns their copy writes.

    The columns are read from a tenant table created by the rendered DDL in a
    throwaway schema: every column except generated ones, which is what the
    migration's own copy writes too.
    """
    probe = f"{RAW_PREFIX}probe"
    found: list[MovedTable] = []
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(probe)))
        for name, fn_prefix in conn.execute(
            "SELECT table_name, fn_prefix FROM tenancy.moved_tables ORDER BY position"
        ).fetchall():
            table = MovedTable(name, fn_prefix, (), False)
            _run_ddl(conn, table, "create", probe)
            columns = conn.execute(
                "SELECT a.attname, a.attidentity = 'a' FROM pg_attribute AS a"
                " WHERE a.attrelid = format('%%I.%%I', %s::text, %s::text)::regclass"
                " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
                " ORDER BY a.attnum",
                (probe, name),
            ).fetchall()
            found.append(
                MovedTable(
                    name,
                    fn_prefix,
                    tuple(c for c, _ in columns),
                    any(always for _, always in columns),
                )
            )
    if len(found) != len(manifest.move):
        raise TenancyError(
            f"{len(found)} moved tables are installed, the manifest lists {len(manifest.move)}",
            hint="Run `tenancy install` again.",
        )
    return found


def _run_ddl(conn: psycopg.Connection[TupleRow], table: MovedTable, step: str, schema: str) -> None:
    """Run the DDL that the rendered tenancy.<prefix>__<step>(schema) returns."""
    conn.execute(
        sql.SQL("SELECT tenancy.run_statements(tenancy.{}(%s))").format(sql.Identifier(f"{table.fn_prefix}__{step}")),
        (schema,),
    )


def settle_copy(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        settle(conn)


def settle(conn: psycopg.Connection[TupleRow], *, freeze: bool = False) -> None:
    """Vacuum and analyze the database, then checkpoint (where allowed): a quiet start.

    Without this, autovacuum would still be working through the tables the
    previous method wrote while the next one is timed, on a 2-core machine.
    """
    conn.execute("VACUUM (FREEZE, ANALYZE)" if freeze else "VACUUM (ANALYZE)")
    with suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute("CHECKPOINT")
