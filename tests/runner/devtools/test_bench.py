"""runner.devtools.bench on a tiny sample: the three methods run and the result is complete.

Nothing here is timed: the numbers of real runs are in docs/bench.md.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from runner.devtools.bench import NAIVE_PREFIX, RAW_PREFIX, run_bench
from runner.errors import TenancyError
from tests.conftest import Database

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
}


def test_bench_runs_every_method_and_ends_with_json(blank_db: Database) -> None:
    lines: list[str] = []

    result = run_bench(tenants=3, rows=3000, seed=5, dsn=blank_db.dsn, out=lines.append)

    assert json.loads(lines[-1]) == result
    assert result.keys() >= KEYS
    assert result["rows"] == 3000
    assert result["tenants"] == 3
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
    copies = [line.split()[-1] for line in lines if "copy of the sample: database" in line]
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
    tags = [line.split("__")[-1] for line in lines if "copy of the sample: database" in line]
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
    tags = [line.split("__")[-1] for line in lines if "copy of the sample: database" in line]
    assert tags[:3] == ["a1_serial", "a1", "b1"]
