"""A real `tenancy` process stopped by SIGINT/SIGTERM, or left by its server:
no traceback, a report of each tenant, the documented exit code, nothing held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from runner.engine import executor, validate
from runner.engine.install import install
from runner.manifest import Manifest
from tests.conftest import SAMPLE_ROWS, SAMPLE_TENANTS, Database, PrivateServer

REPO = Path(__file__).resolve().parents[2]


def _tenancy(dsn: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner.cli", *args, "--dsn", dsn],
        cwd=REPO,
        env=dict(os.environ, COLUMNS="200"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hold_first_tenant(conn: psycopg.Connection, manifest: Manifest) -> str:
    """Provision the first tenant and row-lock it in an open transaction: a runner on it waits."""
    tenant = executor.registry_tenants(conn, manifest)[0]
    conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant,)).fetchall()
    conn.execute("BEGIN")
    conn.execute("SELECT 1 FROM tenancy.tenants WHERE tenant_id = %s FOR UPDATE", (tenant,))
    return tenant


def _wait_for_runner_blocked(conn: psycopg.Connection) -> int:
    for _ in range(400):
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenancy' AND wait_event_type = 'Lock'"
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError("the runner never reached the held lock")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("batched", [False, True])
def test_a_stop_signal_ends_the_run_cleanly(
    db: Database, manifest: Manifest, signum: signal.Signals, code: int, batched: bool
) -> None:
    with db.connect() as holder, db.connect() as observer:
        tenant = _hold_first_tenant(holder, manifest)
        args = ["migrate", "--lock-timeout", "120", *(["--batch-size", "50"] if batched else [])]
        proc = _tenancy(db.dsn, *args)
        try:
            _wait_for_runner_blocked(observer)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        holder.execute("ROLLBACK")
        assert proc.returncode == code, (out, err)
        assert "Traceback" not in out + err
        # The tenant in flight is reported as interrupted, with what is left of it;
        # the tenants never started are reported too.
        assert f"tenant {tenant}: stopped by {signum.name}" in err, err
        what = "a re-run resumes from the ledger" if batched else "Nothing of this tenant was committed"
        assert what in err
        # (Tenants copied in the same batch transaction are interrupted with it.)
        assert "interrupted" in out and ("not run" in out or batched is False)
        # No session of the runner is left, nor any lock it took.
        for _ in range(100):
            left = observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenancy'"
            ).fetchone()
            if left == (0,):
                break
            time.sleep(0.05)
        assert left == (0,)
        assert observer.execute("SELECT count(*) FROM tenancy.ledger").fetchone() == (0,)


def test_a_server_that_goes_away_ends_the_run_with_failed_at_once(
    private_server: PrivateServer, manifest: Manifest
) -> None:
    from runner.devtools.sample import build_sample

    name = f"gone_{os.getpid()}"
    private_server.drop(name)
    db = private_server.create(name)
    with db.connect() as conn:
        build_sample(conn, tenants=SAMPLE_TENANTS, rows=SAMPLE_ROWS, seed=7)
        install(conn, manifest)
    holder = db.connect()
    tenant = _hold_first_tenant(holder, manifest)
    proc = _tenancy(db.dsn, "migrate", "--jobs", "2", "--lock-timeout", "120")
    try:
        with db.connect() as observer:
            _wait_for_runner_blocked(observer)
        private_server.stop()
        # A pool would retry for 30 s; the runner must give up at once.
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        holder.close()
        if not private_server.process.running():
            private_server.start()
    assert proc.returncode == 2, (out, err)
    assert "Traceback" not in out + err
    assert "FAILED: the database went away during the run" in err and "hint:" in err, err
    assert f"{tenant}" in out  # the per-tenant report came first
    # Once the server is back, a re-run finishes the job.
    rerun = _tenancy(db.dsn, "migrate")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, (out, err)
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
    assert all(v.state == "validated" for v in validate.validate_tenants(db.dsn, tenants))
    private_server.drop(name)
