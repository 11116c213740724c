"""runner.devtools.bench on a tiny sample: the methods run and the result is complete; and
runner.devtools.bench_database on a corpus schema as it is (--own-database), which it leaves
untouched, and on the wide synthetic schema.

Nothing here is timed: the numbers of real runs are in docs/bench.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.devtools.bench import NAIVE_PREFIX, RAW_PREFIX, run_bench
from runner.devtools.bench_database import bench_database, bench_wide
from runner.devtools.corpus import build_corpus
from runner.engine.install import install
from runner.engine.migrate import migrate_tenants
from runner.errors import ManifestError, TenancyError
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database
from tests.runner.cli.tenancy import refused, tenancy
from tests.snapshots import snapshot

KRATOS = Path(__file__).resolve().parents[2] / "corpus" / "kratos"

KEYS = {
    "rows",
    "tenants",
    "server_version",
    "migrate_rows_per_s",
    "raw_rows_per_s",
    "naive_rows_per_s",
    "ratio_vs_raw",
    "ratio_vs_naive",
    "peak_rss_mb",
    "validation_checks",
    "validation_failures",
    "naive_rows",
    "split_raw_rows_per_s",
    "ratio_vs_split_raw",
    "migrate_seconds_per_tenant",
    "raw_seconds_per_tenant",
    "noop_rerun_seconds",
    "runner_cpu_seconds",
    "migrate_over_raw",
    "estimate_seconds_for_registry",
}


def test_bench_runs_every_method_and_ends_with_json(blank_db: Database) -> None:
    lines: list[str] = []

    result = run_bench(tenants=3, rows=3000, seed=5, dsn=blank_db.dsn, out=lines.append)

    assert json.loads(lines[-1]) == result
    assert result.keys() >= KEYS
    assert result["rows"] == 3000
    assert result["tenants"] == 3
    assert result["schema"] == "sample" and result["tables"] == 12
    # ratio_vs_raw: raw's time over migrate's; migrate_over_raw: the inverse.
    assert result["migrate_over_raw"] == pytest.approx(
        result["migrate_seconds"] / result["raw_seconds"],
        rel=0.01,  # type: ignore[operator]
    )
    assert result["ratio_vs_raw"] == pytest.approx(1 / result["migrate_over_raw"], rel=0.01)  # type: ignore[operator]
    assert result["estimate_seconds_for_registry"] == round(result["migrate_seconds"], 1)  # type: ignore[call-overload]
    for key in (
        "migrate_rows_per_s",
        "raw_rows_per_s",
        "naive_rows_per_s",
        "split_raw_rows_per_s",
        "peak_rss_mb",
        "migrate_seconds_per_tenant",
        "noop_rerun_seconds",
        "runner_cpu_seconds",
    ):
        assert isinstance(result[key], int | float) and result[key] > 0, key
    assert isinstance(result["ratio_vs_raw"], float) and result["ratio_vs_raw"] > 0
    assert isinstance(result["ratio_vs_naive"], float) and result["ratio_vs_naive"] > 0
    assert isinstance(result["ratio_vs_split_raw"], float) and result["ratio_vs_split_raw"] > 0
    # (a) validated every tenant and every check passed.
    assert isinstance(result["validation_checks"], int) and result["validation_checks"] > 0
    assert result["validation_failures"] == 0
    # The naive copy covers every row of its (here: all) tenants.
    assert result["naive_rows"] == 3000
    # One job: nothing to compare it with.
    assert "ratio_jobs_vs_serial" not in result


def _copies_left(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, current_database() || '__')"
                " ORDER BY datname"
            ).fetchall()
        ]


def test_bench_runs_each_method_in_a_copy_and_leaves_its_database_as_built(blank_db: Database) -> None:
    lines: list[str] = []
    run_bench(tenants=2, rows=500, dsn=blank_db.dsn, out=lines.append)

    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        source = conn.execute("SELECT current_database()").fetchone()
        scratch = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) OR starts_with(nspname, %s)",
            (RAW_PREFIX, NAIVE_PREFIX),
        ).fetchall()
        [(migrated,)] = conn.execute("SELECT count(*) FROM tenancy.ledger").fetchall()
    assert source is not None
    copies = [line.split()[-1] for line in lines if line.strip().startswith("copy of ")]
    assert copies == [f"{source[0]}__{tag}" for tag in ("a1", "b1", "d1", "c")]
    # The methods ran in the copies: the database given holds the sample as
    # built, tenancy installed, no tenant migrated; the copies are gone.
    assert scratch == []
    assert migrated == 0
    assert _copies_left(blank_db.dsn) == []


def test_bench_refuses_to_copy_over_a_database_it_did_not_make(blank_db: Database) -> None:
    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        [(source,)] = conn.execute("SELECT current_database()").fetchall()
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(f"{source}__b1")))

    with pytest.raises(TenancyError, match="exists") as failed:
        run_bench(tenants=2, rows=500, dsn=blank_db.dsn, out=lambda _line: None)

    assert "Drop database" in (failed.value.hint or "")
    # The copy (a) ran in is dropped; the database that was in the way is not.
    assert _copies_left(blank_db.dsn) == [f"{source}__b1"]
    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(f"{source}__b1")))


def test_bench_refuses_a_role_without_createdb_before_writing_anything(blank_db: Database) -> None:
    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        [(source,)] = conn.execute("SELECT current_database()").fetchall()
        conn.execute("DROP ROLE IF EXISTS bench_no_createdb")
        conn.execute("CREATE ROLE bench_no_createdb LOGIN NOCREATEDB")
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO bench_no_createdb").format(sql.Identifier(source)))
        conn.execute("GRANT CREATE ON SCHEMA public TO bench_no_createdb")
    try:
        with pytest.raises(TenancyError, match="may not create databases") as refused:
            run_bench(tenants=2, rows=500, dsn=f"{blank_db.dsn} user=bench_no_createdb", out=lambda _line: None)
        assert "CREATEDB" in (refused.value.hint or "")
        with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
            [(written,)] = conn.execute(
                "SELECT to_regclass('public.tenants') IS NOT NULL OR to_regnamespace('tenancy') IS NOT NULL"
            ).fetchall()
        assert written is False
    finally:
        with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
            conn.execute("DROP OWNED BY bench_no_createdb")
            conn.execute("DROP ROLE bench_no_createdb")


def test_bench_refuses_a_database_with_other_sessions_before_writing_anything(blank_db: Database) -> None:
    with psycopg.connect(blank_db.dsn, autocommit=True) as other:
        with pytest.raises(TenancyError, match="other sessions") as refused:
            run_bench(tenants=2, rows=500, dsn=blank_db.dsn, out=lambda _line: None)
        assert "Close the other sessions" in (refused.value.hint or "")
        [(written,)] = other.execute(
            "SELECT to_regclass('public.tenants') IS NOT NULL OR to_regnamespace('tenancy') IS NOT NULL"
        ).fetchall()
    assert written is False


def test_bench_refuses_a_database_that_is_not_empty(blank_db: Database) -> None:
    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenancy")

    with pytest.raises(TenancyError, match="not empty"):
        run_bench(tenants=2, rows=500, dsn=blank_db.dsn, out=lambda _line: None)


def test_bench_rounds_each_run_in_fresh_copies(blank_db: Database) -> None:
    lines: list[str] = []
    result = run_bench(tenants=2, rows=600, dsn=blank_db.dsn, repeat=3, out=lines.append)
    migrate_runs, raw_runs = result["migrate_seconds_all"], result["raw_seconds_all"]
    assert isinstance(migrate_runs, list) and isinstance(raw_runs, list)
    assert len(migrate_runs) == len(raw_runs) == 3
    assert result["migrate_seconds"] == sorted(migrate_runs)[1]  # the median is compared
    tags = [line.split("__")[-1] for line in lines if line.strip().startswith("copy of ")]
    assert tags == ["a1", "b1", "d1", "a2", "b2", "d2", "a3", "b3", "d3", "c"]
    assert _copies_left(blank_db.dsn) == []


def test_bench_with_jobs_times_one_job_too(blank_db: Database) -> None:
    lines: list[str] = []
    result = run_bench(tenants=4, rows=800, dsn=blank_db.dsn, jobs=2, repeat=2, out=lines.append)
    serial_runs = result["serial_migrate_seconds_all"]
    migrate_seconds = result["migrate_seconds"]
    assert isinstance(serial_runs, list) and len(serial_runs) == 2 and isinstance(migrate_seconds, float)
    # The medians are compared: of two runs, the slower (as _median takes it).
    assert result["ratio_jobs_vs_serial"] == pytest.approx(sorted(serial_runs)[1] / migrate_seconds, rel=0.02)
    assert sum("with one job" in line for line in lines) == 2
    tags = [line.split("__")[-1] for line in lines if line.strip().startswith("copy of ")]
    assert tags[:3] == ["a1_serial", "a1", "b1"]


# -- A database as it is (--own-database) ------------------------------------------------


def _roles(dsn: str) -> list[tuple[str, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT r.rolname, r.rolcanlogin, coalesce(array_agg(g.rolname ORDER BY g.rolname)"
            " FILTER (WHERE g.rolname IS NOT NULL), '{}')::text"
            " FROM pg_roles AS r LEFT JOIN pg_auth_members AS m ON m.member = r.oid"
            " LEFT JOIN pg_roles AS g ON g.oid = m.roleid GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()


def _kratos(db: Database, tenants: int = 3) -> Manifest:
    """Ory Kratos's schema (24 moved tables), filled for a few tenants, in db."""
    with db.connect() as conn:
        build_corpus(conn, KRATOS, tenants=tenants, rows=2, seed=5)
    return load_manifest(KRATOS / "tenancy.toml")


def _state(db: Database) -> dict[str, object]:
    with db.connect() as conn:
        return snapshot(conn)


def test_bench_of_a_database_as_it_is_times_both_methods_and_leaves_it_untouched(blank_db: Database) -> None:
    manifest = _kratos(blank_db)
    before, roles = _state(blank_db), _roles(blank_db.dsn)
    lines: list[str] = []

    result = bench_database(blank_db.dsn, manifest, tenants=2, out=lines.append)

    assert json.loads(lines[-1]) == result
    assert result["schema"] == "database" and result["database"] == blank_db.name
    assert result["tenants"] == 2 and result["registry_tenants"] == 3 and result["tables"] == 24
    # Two rows per table and tenant, through migrate and through the raw floor alike.
    assert result["rows"] == 2 * 2 * 24
    assert result["validation_checks"] > 0 and result["validation_failures"] == 0  # type: ignore[operator]
    migrate_seconds, raw_seconds = result["migrate_seconds"], result["raw_seconds"]
    assert isinstance(migrate_seconds, float) and isinstance(raw_seconds, float)
    assert result["migrate_seconds_per_tenant"] == pytest.approx(migrate_seconds / 2, rel=0.01)
    assert result["raw_seconds_per_tenant"] == pytest.approx(raw_seconds / 2, rel=0.01)
    assert result["migrate_over_raw"] == pytest.approx(migrate_seconds / raw_seconds, rel=0.01)
    assert result["ratio_vs_raw"] == pytest.approx(raw_seconds / migrate_seconds, rel=0.01)
    # Per-tenant seconds times the registry's three tenants.
    assert result["estimate_seconds_for_registry"] == pytest.approx(migrate_seconds / 2 * 3, abs=0.1)
    # Installed and migrated in copies only: the database given is as it was, tables,
    # functions and rows; no copy is left, and no role tenancy made in them.
    copies = [line.split()[-1] for line in lines if line.strip().startswith("copy of ")]
    assert copies == [f"{blank_db.name}__{tag}" for tag in ("base", "a1", "b1")]
    assert _state(blank_db) == before
    assert _copies_left(blank_db.dsn) == []
    assert _roles(blank_db.dsn) == roles


def test_bench_of_a_database_refuses_a_manifest_that_does_not_match_it_before_any_copy(
    blank_db: Database, tmp_path: Path
) -> None:
    manifest = _kratos(blank_db, tenants=2)
    before = _state(blank_db)
    wrong = tmp_path / "tenancy.toml"
    wrong.write_text((KRATOS / "tenancy.toml").read_text().replace('"selfservice_errors"', '"selfservice_errs"'))

    with pytest.raises(ManifestError, match="does not match") as refused_:
        bench_database(blank_db.dsn, load_manifest(wrong), out=lambda _line: None)

    assert refused_.value.hint
    assert _copies_left(blank_db.dsn) == [] and _state(blank_db) == before
    # The right manifest, but a registry it does not find: refused too.
    with blank_db.connect() as conn:
        conn.execute("ALTER TABLE networks RENAME TO networks_old")
    with pytest.raises(TenancyError, match="no registry") as no_registry:
        bench_database(blank_db.dsn, manifest, out=lambda _line: None)
    assert "--manifest" in (no_registry.value.hint or "")
    assert _copies_left(blank_db.dsn) == []


def test_bench_of_a_database_refuses_tenants_migrated_there(blank_db: Database) -> None:
    manifest = _kratos(blank_db, tenants=2)
    with blank_db.connect() as conn:
        install(conn, manifest)
    [first] = [r for r in migrate_tenants(blank_db.dsn, [_first_tenant(blank_db, manifest)])]
    assert first.ok
    before = _state(blank_db)

    with pytest.raises(TenancyError, match="1 of the tenants to bench are migrated") as refused_:
        bench_database(blank_db.dsn, manifest, out=lambda _line: None)

    assert "before `tenancy migrate`" in (refused_.value.hint or "")
    assert _copies_left(blank_db.dsn) == [] and _state(blank_db) == before


def _first_tenant(db: Database, manifest: Manifest) -> str:
    with db.connect() as conn:
        row = conn.execute(
            sql.SQL("SELECT min({}::text) FROM {}").format(
                sql.Identifier(manifest.registry.id_column), sql.Identifier(manifest.registry.table)
            )
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_bench_of_a_database_refuses_other_sessions_and_a_role_without_createdb(blank_db: Database) -> None:
    manifest = _kratos(blank_db, tenants=2)
    before = _state(blank_db)
    with psycopg.connect(blank_db.dsn, autocommit=True), pytest.raises(TenancyError, match="other sessions"):
        bench_database(blank_db.dsn, manifest, out=lambda _line: None)
    with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS bench_reader")
        conn.execute("CREATE ROLE bench_reader LOGIN NOCREATEDB")
    try:
        with pytest.raises(TenancyError, match="may not create databases"):
            bench_database(f"{blank_db.dsn} user=bench_reader", manifest, out=lambda _line: None)
    finally:
        with psycopg.connect(blank_db.dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE bench_reader")
    assert _copies_left(blank_db.dsn) == [] and _state(blank_db) == before


def test_bench_of_the_wide_schema_builds_it_and_benches_it_as_it_is(blank_db: Database) -> None:
    lines: list[str] = []

    result = bench_wide(tables=6, tenants=2, rows=100, dsn=blank_db.dsn, out=lines.append)

    assert json.loads(lines[-1]) == result
    # Six chained tables and the partitioned one; 100 rows over 2 tenants and 7 tables: 7 per table and tenant.
    assert result["schema"] == "wide" and result["tables"] == 7 and result["tenants"] == 2
    assert result["rows"] == 2 * 7 * 7 and result["validation_failures"] == 0
    assert _copies_left(blank_db.dsn) == []
    with blank_db.connect() as conn:
        [(orgs, installed)] = conn.execute(
            "SELECT (SELECT count(*) FROM orgs), to_regnamespace('tenancy') IS NOT NULL"
        ).fetchall()
    # The database given keeps the schema built, and tenancy is installed only in the copies.
    assert orgs == 2 and installed is False


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--own-database", "--schema", "wide"], "--own-database benches the database as it is"),
        (["--own-database", "--rows", "10"], "--rows would build one"),
        (["--schema", "sample", "--tables", "10"], "--tables is the width of the wide schema"),
        (["--manifest", "tenancy.toml"], "--manifest goes with --own-database"),
    ],
)
def test_bench_refuses_options_that_do_not_go_together(argv: list[str], says: str) -> None:
    out = tenancy("bench", *argv, dsn="host=/nonexistent-socket-dir")
    assert refused(out) and says in out.stderr, out.stderr


def test_bench_of_a_database_needs_a_database() -> None:
    out = tenancy("bench", "--own-database")
    assert refused(out) and "needs the database to bench" in out.stderr, out.stderr
