"""The `tenancy` command end to end, as a user runs it: exit codes, FAILED: with a hint,
JSON reports, status, rollback, sample and demo against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Database, Server
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]


def tenancy(*args: str, dsn: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if dsn:
        env["DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )


def test_sample_install_migrate_report_status_rollback(blank_db: Database, tmp_path: Path) -> None:
    dsn = blank_db.dsn
    out = tenancy("sample", "--tenants", "3", "--rows", "900", "--seed", "5", dsn=dsn)
    assert out.returncode == 0, out.stderr
    assert "sample: 3 tenants, 900 rows" in out.stdout
    again = tenancy("sample", "--tenants", "3", "--rows", "900", dsn=dsn)
    assert again.returncode == 2 and "FAILED:" in again.stderr and "--replace" in again.stderr

    assert tenancy("install", dsn=dsn).returncode == 0
    report = tmp_path / "migrate.json"
    out = tenancy("migrate", "--jobs", "2", "--report", str(report), dsn=dsn)
    assert out.returncode == 0, out.stderr
    doc = json.loads(report.read_text())
    assert doc["ok"] is True and len(doc["tenants"]) == 3
    assert sum(t["rows"] for t in doc["tenants"]) == 900
    assert all(t["state"] == "migrated" and len(t["tables"]) == 12 for t in doc["tenants"])

    status = tenancy("status", "--json", dsn=dsn)
    rows = json.loads(status.stdout)["tenants"]
    assert [r["state"] for r in rows] == ["migrated"] * 3
    assert sum(r["rows_copied"] for r in rows) == 900

    first = rows[0]["tenant_id"]
    out = tenancy("rollback", "--tenant", first, dsn=dsn)
    assert out.returncode == 0 and "dropped 12 tenant tables" in out.stdout
    out = tenancy("validate", "--tenant", first, dsn=dsn)
    assert out.returncode == 1 and f"FAILED: tenant {first}: not migrated" in out.stderr
    assert "tenancy migrate" in out.stderr
    out = tenancy("validate", "--report", str(tmp_path / "v.json"), dsn=dsn)
    doc = json.loads((tmp_path / "v.json").read_text())
    assert out.returncode == 1
    assert sorted(t["state"] for t in doc["tenants"]) == ["not migrated", "validated", "validated"]


def test_bad_input_prints_failed_with_a_hint_and_changes_nothing(sample_db: Database) -> None:
    with sample_db.connect() as conn:
        before = snapshot(conn)
    out = tenancy("migrate", "--tenant", "x'; DROP TABLE tenants; --", dsn=sample_db.dsn)
    assert out.returncode == 2
    assert out.stderr.startswith("FAILED: invalid tenant id") and "hint:" in out.stderr
    assert "Traceback" not in out.stderr
    out = tenancy("status", dsn=sample_db.dsn)
    assert out.returncode == 2 and "not installed" in out.stderr and "tenancy install" in out.stderr
    out = tenancy("migrate", "--manifest", str(REPO / "nope.toml"), dsn=sample_db.dsn)
    assert out.returncode == 2 and "manifest" in out.stderr and "not found" in out.stderr
    out = tenancy("migrate")  # no --dsn, no DATABASE_URL, no PG* variable: libpq's defaults, tried and said
    assert out.returncode == 2 and "cannot connect to the database" in out.stderr and "DATABASE_URL" in out.stderr
    assert "tried: libpq's environment" in out.stderr and "Traceback" not in out.stderr
    with sample_db.connect() as conn:
        assert snapshot(conn) == before


def test_demo_with_database_url(blank_db: Database, tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    out = tenancy("demo", "--tenants", "3", "--rows", "1500", "--report", str(report), dsn=blank_db.dsn)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK: 3/3 tenants migrated, 3/3 validated, 1,500 rows" in out.stdout
    assert "1/6 using the database given (--dsn, DATABASE_URL or libpq's PG* environment)" in out.stderr
    doc = json.loads(report.read_text())
    assert doc["ok"] is True
    assert {t["state"] for t in doc["tenants"]} == {"migrated", "validated"}
    # The demo records its validation: status says every tenant is validated.
    rows = json.loads(tenancy("status", "--json", dsn=blank_db.dsn).stdout)["tenants"]
    assert [r["validated"] for r in rows] == [True, True, True]
    # --json: the same document on stdout, nothing else.
    again = tenancy("demo", "--tenants", "3", "--rows", "1500", "--replace", "--json", dsn=blank_db.dsn)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["ok"] is True
    # A second demo on the same database refuses to overwrite the sample unless told to.
    again = tenancy("demo", "--tenants", "3", "--rows", "1500", dsn=blank_db.dsn)
    assert again.returncode == 2 and "--replace" in again.stderr


def test_help_describes_every_command() -> None:
    out = tenancy("--help")
    assert out.returncode == 0
    for command in ("sample", "render", "install", "migrate", "validate", "rollback", "status", "demo", "bench"):
        assert command in out.stdout
    migrate = tenancy("migrate", "--help").stdout
    for flag in ("--tenant", "--dry-run", "--batch-size", "--jobs", "--report"):
        assert flag in migrate


# -- Habits: flags, databases, status, validate, dry run, output, reports ---------------

NUMBERED = """
CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE notes (
    tenant_id integer NOT NULL REFERENCES accounts,
    id integer NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO accounts SELECT n, 'account ' || n FROM unnest(ARRAY[11, 2, 10, 1]) AS n;
INSERT INTO notes SELECT a.id, n, 'note ' || n FROM accounts AS a, generate_series(1, 5) AS n;
"""

NUMBERED_MANIFEST = """
[tenancy]
tenant_key = "tenant_id"
schema_pattern = "acct_{id}"

[registry]
table = "accounts"
id_column = "id"

[move]
tables = ["notes"]

[central]
tables = ["accounts"]
"""


@pytest.fixture
def numbered(blank_db: Database, tmp_path: Path) -> tuple[str, str]:
    """A database whose tenants are 1, 2, 10 and 11, installed; (dsn, manifest path)."""
    with blank_db.connect() as conn:
        conn.execute(NUMBERED)
    manifest = tmp_path / "tenancy.toml"
    manifest.write_text(NUMBERED_MANIFEST)
    out = tenancy("install", "--manifest", str(manifest), dsn=blank_db.dsn)
    assert out.returncode == 0, out.stderr
    return blank_db.dsn, str(manifest)


def test_status_lists_every_registry_tenant_in_natural_order_with_its_validation(numbered: tuple[str, str]) -> None:
    dsn, manifest = numbered
    rows = json.loads(tenancy("status", "--json", dsn=dsn).stdout)["tenants"]
    assert [r["tenant_id"] for r in rows] == ["1", "2", "10", "11"]
    assert {r["state"] for r in rows} == {"new"}

    out = tenancy("migrate", "--manifest", manifest, "--tenant", "10", "--tenant", "1", dsn=dsn)
    assert out.returncode == 0, out.stderr
    rows = {r["tenant_id"]: r for r in json.loads(tenancy("status", "--json", dsn=dsn).stdout)["tenants"]}
    assert rows["10"]["state"] == "migrated" and rows["2"]["state"] == "new"
    # Numbers are JSON numbers, not strings.
    assert rows["10"]["rows_copied"] == 5 and rows["10"]["tables"] == 1 and isinstance(rows["10"]["seconds"], float)
    assert rows["10"]["validated"] is None and rows["10"]["validated_at"] is None

    # validate: the migrated tenants validate, the others are "not migrated" (exit 1), in natural order.
    out = tenancy("validate", "--manifest", manifest, dsn=dsn)
    assert out.returncode == 1
    table = [line.split() for line in out.stdout.splitlines()[3:7]]
    assert [(t[0], " ".join(t[1:-2])) for t in table] == [
        ("1", "validated"),
        ("2", "not migrated"),
        ("10", "validated"),
        ("11", "not migrated"),
    ]
    assert "2 validated, 2 not migrated" in out.stdout or "2 not migrated" in out.stdout
    assert "FAILED: tenant 2: not migrated (state new)" in out.stderr
    assert "invalid" not in out.stdout

    rows = {r["tenant_id"]: r for r in json.loads(tenancy("status", "--json", dsn=dsn).stdout)["tenants"]}
    assert rows["1"]["validated"] is True and rows["1"]["failed_checks"] == 0
    assert rows["1"]["validated_at"] is not None
    assert rows["2"]["validated"] is None
    plain = tenancy("status", dsn=dsn).stdout
    assert "4 tenants: 2 migrated, 2 new; 2 validated" in plain
    line_of_1 = next(line for line in plain.splitlines() if line.startswith("1 "))
    assert " yes " in line_of_1

    # A rollback makes the recorded validation stale: the tenant is no longer validated.
    assert tenancy("rollback", "--manifest", manifest, "--tenant", "1", dsn=dsn).returncode == 0
    rows = {r["tenant_id"]: r for r in json.loads(tenancy("status", "--json", dsn=dsn).stdout)["tenants"]}
    assert rows["1"]["state"] == "provisioned" and rows["1"]["validated"] is None

    # Only the validated tenant selected: exit 0.
    out = tenancy("validate", "--manifest", manifest, "--tenant", "10", "--json", dsn=dsn)
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    assert doc["ok"] is True and [t["state"] for t in doc["tenants"]] == ["validated"]


def test_migrate_and_validate_list_tenants_in_natural_order(numbered: tuple[str, str]) -> None:
    dsn, manifest = numbered
    out = tenancy("migrate", "--manifest", manifest, "--json", dsn=dsn)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [t["tenant_id"] for t in doc["tenants"]] == ["1", "2", "10", "11"]
    assert all(isinstance(t["rows"], int) and isinstance(t["seconds"], float) for t in doc["tenants"])


def test_dry_run_lists_every_preflight_problem_with_its_hint(sample_db: Database) -> None:
    dsn = sample_db.dsn
    assert tenancy("install", dsn=dsn).returncode == 0
    with sample_db.connect() as conn:
        tenants = [r[0] for r in conn.execute("SELECT id FROM public.tenants ORDER BY id")]
        victim = tenants[0]
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "tenant_{victim}"')
        conn.execute(f'CREATE TABLE "tenant_{victim}".brand_fonts (x int)')
        conn.execute(f'CREATE TABLE "tenant_{victim}".brand_colors (x int)')
        before = snapshot(conn)
    out = tenancy("migrate", "--dry-run", dsn=dsn)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    problems = [line for line in lines if line.strip().startswith("problem:")]
    assert len(problems) == 2
    assert any("brand_fonts: table already exists" in p and f"tenant_{victim}.brand_fonts" in p for p in problems)
    # The hint prints whole, on one line, square brackets included.
    assert lines.count("    hint: Rename or drop that table, or take this table out of [move].") == 2
    with sample_db.connect() as conn:
        assert snapshot(conn) == before


def test_report_path_is_checked_before_any_work(sample_db: Database, tmp_path: Path) -> None:
    dsn = sample_db.dsn
    assert tenancy("install", dsn=dsn).returncode == 0
    for bad in (tmp_path / "missing" / "r.json", tmp_path):
        out = tenancy("migrate", "--report", str(bad), dsn=dsn)
        assert out.returncode == 2 and out.stderr.startswith(f"FAILED: cannot write the report to {bad}")
        assert "hint:" in out.stderr
    rows = json.loads(tenancy("status", "--json", dsn=dsn).stdout)["tenants"]
    assert {r["state"] for r in rows} == {"new"}


def test_each_command_accepts_only_the_flags_it_uses() -> None:
    for args in (
        ("sample", "--manifest", "x.toml"),
        ("status", "--manifest", "x.toml"),
        ("federation", "search", "--manifest", "x.toml"),
        ("bench-queries", "--manifest", "x.toml"),
        ("demo", "--manifest", "x.toml"),
        ("contract", "--manifest", "x.toml"),
        ("completion", "bash", "--dsn", "x"),
    ):
        out = tenancy(*args)
        assert out.returncode == 2 and "unrecognized arguments" in out.stderr, args
    # bench takes a manifest for --own-database only (a schema it builds has its own).
    out = tenancy("bench", "--manifest", "x.toml")
    assert out.returncode == 2 and "--manifest goes with --own-database" in out.stderr, out.stderr


def test_demo_honours_dsn() -> None:
    out = tenancy("demo", "--dsn", "host=/nonexistent-socket-dir dbname=nothing", "--tenants", "2")
    assert out.returncode == 2 and "cannot connect" in out.stderr


def test_bench_honours_database_url(sample_db: Database) -> None:
    out = tenancy("bench", "--tenants", "2", "--rows", "100", dsn=sample_db.dsn)
    assert out.returncode == 2 and "is not empty" in out.stderr


def test_bench_queries_never_drops_a_database_it_did_not_create(sample_db: Database, pg_server: Server) -> None:
    # A database that happens to have the name the benchmark uses on its own server.
    other = pg_server.create("tenancy_querybench")
    try:
        with other.connect() as conn:
            conn.execute("CREATE TABLE precious (x int)")
        out = tenancy("bench-queries", "--tenants", "3", "--rows", "300", dsn=sample_db.dsn)
        assert out.returncode == 2 and "is not empty" in out.stderr, out.stderr
        with other.connect() as conn:
            assert conn.execute("SELECT to_regclass('public.precious') IS NOT NULL").fetchone() == (True,)
        with sample_db.connect() as conn:
            assert conn.execute("SELECT count(*) FROM public.tenants").fetchone() == (4,)
    finally:
        pg_server.drop("tenancy_querybench")


def test_piped_output_is_plain_and_unwrapped(sample_db: Database) -> None:
    dsn = sample_db.dsn
    assert tenancy("install", dsn=dsn).returncode == 0
    out = tenancy("migrate", dsn=dsn)
    assert out.returncode == 0, out.stderr
    for text in (out.stdout, out.stderr):
        assert "\x1b[" not in text and "━" not in text and "│" not in text
    # One plain summary line of progress on stderr, not one line per tenant.
    assert out.stderr.count("migrate: 4/4 tenants") == 1 and len(out.stderr.splitlines()) == 1
    header = out.stdout.splitlines()[1]
    assert header.split() == ["tenant", "state", "rows", "seconds", "rows/s", "error"]


def test_a_no_op_re_run_prints_a_summary_not_a_row_per_tenant(sample_db: Database) -> None:
    dsn = sample_db.dsn
    assert tenancy("install", dsn=dsn).returncode == 0
    assert tenancy("migrate", dsn=dsn).returncode == 0
    out = tenancy("migrate", dsn=dsn)
    assert out.returncode == 0
    assert out.stdout == "migrate: 4 tenants: 4 skipped (already done); 0 rows moved\n"
    assert out.stderr.startswith("migrate: 4/4 tenants, 0 rows, ")


def test_provision_prints_one_line_per_tenant(sample_db: Database) -> None:
    dsn = sample_db.dsn
    assert tenancy("install", dsn=dsn).returncode == 0
    out = tenancy("provision", dsn=dsn)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"[{i}/4 provision:") for i, line in enumerate(lines, 1))
    assert "no change" not in lines[0]
    # Idempotent: the second run changes nothing, and --json says so per tenant.
    again = tenancy("provision", "--json", dsn=dsn)
    assert again.returncode == 0
    assert [t["changes"] for t in json.loads(again.stdout)["tenants"]] == [[], [], [], []]
    assert tenancy("provision", dsn=dsn).stdout.count("] no change\n") == 4
