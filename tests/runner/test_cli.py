"""The `tenancy` command end to end, as a user runs it: exit codes, FAILED: with a hint,
JSON reports, status, rollback, sample and demo against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Database
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
    rows = json.loads(status.stdout)
    assert [r["state"] for r in rows] == ["migrated"] * 3
    assert sum(int(r["rows_copied"]) for r in rows) == 900

    first = rows[0]["tenant_id"]
    out = tenancy("rollback", "--tenant", first, dsn=dsn)
    assert out.returncode == 0 and "dropped 12 tenant tables" in out.stdout
    out = tenancy("validate", "--tenant", first, dsn=dsn)
    assert out.returncode == 1 and "FAILED:" in out.stderr and "table exists" in out.stderr
    out = tenancy("validate", "--report", str(tmp_path / "v.json"), dsn=dsn)
    doc = json.loads((tmp_path / "v.json").read_text())
    assert out.returncode == 1 and [t["state"] for t in doc["tenants"]].count("validated") == 2


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
    out = tenancy("migrate")
    assert out.returncode == 2 and "no database given" in out.stderr and "DATABASE_URL" in out.stderr
    with sample_db.connect() as conn:
        assert snapshot(conn) == before


def test_demo_with_database_url(blank_db: Database, tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    out = tenancy("demo", "--tenants", "3", "--rows", "1500", "--report", str(report), dsn=blank_db.dsn)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK: 3/3 tenants migrated, 3/3 validated, 1,500 rows" in out.stdout
    doc = json.loads(report.read_text())
    assert doc["ok"] is True
    assert {t["state"] for t in doc["tenants"]} == {"migrated", "validated"}
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
