"""The executor: tenant order, and every failure inside one tenant's work is that
tenant's result, against a real PostgreSQL: lock timeouts (and the wait reported), a
terminated backend, a server that goes away mid-run, a second runner on the same tenant."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner import db as runner_db
from runner.engine import executor, migrate, validate
from runner.engine.executor import in_batches, natural_order
from runner.manifest import Manifest
from tests.conftest import Database, registry_ids

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def short_lock_timeout() -> Iterator[None]:
    runner_db.set_lock_timeout(3)  # the watcher polls each second: it sees the wait first
    yield
    runner_db.set_lock_timeout(runner_db.DEFAULT_LOCK_TIMEOUT)


def _hold_tenant_row(conn: psycopg.Connection, tenant: str) -> None:
    """Row-lock a tenant's ledger row in an open transaction (the tenant must be provisioned)."""
    conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant,)).fetchall()
    conn.execute("BEGIN")
    conn.execute("SELECT 1 FROM tenancy.tenants WHERE tenant_id = %s FOR UPDATE", (tenant,))


def _release_later(conn: psycopg.Connection, seconds: float) -> threading.Timer:
    """Without a lock timeout the runner would wait for the holder: let it go eventually,
    so that a failing test ends (with the wrong result) instead of hanging."""
    timer = threading.Timer(seconds, lambda: conn.execute("ROLLBACK"))
    timer.start()
    return timer


def test_a_lock_held_too_long_fails_that_tenant_reports_the_wait_and_the_run_goes_on(
    db: Database, manifest: Manifest, short_lock_timeout: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first, *others = registry_ids(db, manifest)
    with db.connect() as holder:
        _hold_tenant_row(holder, first)
        holder_pid = holder.info.backend_pid
        timer = _release_later(holder, 20)
        try:
            results = migrate.migrate_tenants(db.dsn, [first, *others])
        finally:
            timer.cancel()
            if holder.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                holder.execute("ROLLBACK")
    failed = results[0]
    assert failed.state == "failed" and failed.sqlstate == "55P03", (failed.state, failed.error)
    assert failed.hint and "lock timeout" in failed.hint
    assert [r.state for r in results[1:]] == ["migrated"] * len(others)
    waits = capsys.readouterr().err
    assert any(
        first in line and "waiting for lock on " in line and f"held by pid {holder_pid}" in line
        for line in waits.splitlines()
    ), waits
    with db.connect() as conn:
        state = conn.execute("SELECT state, last_error FROM tenancy.tenants WHERE tenant_id = %s", (first,)).fetchone()
        # Nothing of it was committed (the holder's lock on its row also kept the
        # failure from being noted there), and no lock of the runner is left.
        assert state == ("provisioned", None)
        assert conn.execute("SELECT count(*) FROM tenancy.ledger WHERE tenant_id = %s", (first,)).fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
        ).fetchone() == (0,)
    # A re-run migrates it.
    (again,) = migrate.migrate_tenants(db.dsn, [first])
    assert again.state == "migrated"


def test_a_terminated_backend_fails_its_tenant_and_the_run_goes_on(db: Database, manifest: Manifest) -> None:
    first, *others = registry_ids(db, manifest)
    with db.connect() as holder, db.connect() as killer:
        _hold_tenant_row(holder, first)
        timer = _release_later(holder, 20)

        def kill_the_waiting_runner() -> None:
            for _ in range(200):
                row = killer.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'tenancy' AND wait_event_type = 'Lock'"
                ).fetchone()
                if row:
                    killer.execute("SELECT pg_terminate_backend(%s)", row)
                    return
                time.sleep(0.05)

        assassin = threading.Thread(target=kill_the_waiting_runner)
        assassin.start()
        try:
            # One tenant per transaction (the split engine moves a batch of
            # tenants in one, and a killed session takes its batch with it).
            results = migrate.migrate_tenants(db.dsn, [first, *others], split=False)
        finally:
            assassin.join()
            timer.cancel()
            if holder.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                holder.execute("ROLLBACK")
    assert results[0].state == "failed" and results[0].sqlstate == "57P01", (results[0].state, results[0].error)
    assert results[0].hint and "re-run" in results[0].hint
    assert [r.state for r in results[1:]] == ["migrated"] * len(others)
    checks = validate.validate_tenants(db.dsn, others)
    assert all(c.state == "validated" for c in checks)


def test_a_second_runner_is_refused_at_once_and_leaves_the_other_runners_state(
    db: Database, manifest: Manifest
) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as first:
        # The first runner is mid-migration: it made the shared grants and policies
        # once for its run (as migrate_tenants does), and its transaction holds the tenant.
        first.execute("SELECT * FROM tenancy.provision_shared_privileges()").fetchall()
        first.execute("BEGIN")
        first.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (t,)).fetchall()
        timer = _release_later(first, 20)
        second: list[executor.TenantResult] = []
        runner = threading.Thread(target=lambda: second.extend(migrate.migrate_tenants(db.dsn, [t])))
        runner.start()
        runner.join(15)
        refused_while_first_was_open = not runner.is_alive()
        timer.cancel()
        first.execute("COMMIT")
        runner.join()
    assert refused_while_first_was_open, "the second runner waited for the first one's transaction"
    (result,) = second
    assert result.state == "failed" and result.sqlstate == "TY004"
    with db.connect() as conn:
        assert conn.execute("SELECT state, last_error FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == (
            "migrated",
            None,
        )


def test_a_statement_timeout_fails_that_tenant_and_the_run_goes_on(db: Database, manifest: Manifest) -> None:
    slow, *others = registry_ids(db, manifest)
    with db.connect() as conn:
        # One tenant's migration takes longer than the role allows a statement to run.
        conn.execute(
            "CREATE FUNCTION public.slow_tenant() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$BEGIN IF NEW.tenant_id = '{slow}' THEN PERFORM pg_sleep(3); END IF; RETURN NULL; END$$"
        )
        conn.execute(
            "CREATE TRIGGER slow AFTER INSERT ON tenancy.ledger FOR EACH ROW EXECUTE FUNCTION public.slow_tenant()"
        )
    dsn = f"{db.dsn} options='-c statement_timeout=1500'"
    results = migrate.migrate_tenants(dsn, [slow, *others])
    assert results[0].state == "failed" and results[0].sqlstate == "57014", (results[0].state, results[0].error)
    assert results[0].hint and "statement_timeout" in results[0].hint
    assert [r.state for r in results[1:]] == ["migrated"] * len(others)
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM tenancy.ledger WHERE tenant_id = %s", (slow,)).fetchone() == (0,)


def test_tenant_ids_sort_naturally() -> None:
    ids = ["10", "2", "1", "11", "a10", "a2", "b", "a", "ab_1", "ab-1", "3e"]
    assert natural_order(ids) == ["1", "2", "3e", "10", "11", "a", "a2", "a10", "ab-1", "ab_1", "b"]


def test_ids_with_equal_numbers_keep_a_total_order() -> None:
    # '01' and '1' are different tenants: the order must not depend on the input order.
    assert natural_order(["1", "01", "x"]) == natural_order(["x", "01", "1"]) == ["01", "1", "x"]


def test_batches_are_even_and_a_multiple_of_the_jobs() -> None:
    ids = [str(i) for i in range(1000)]
    for size, jobs, expected in ((200, 2, [167] * 5 + [165]), (43, 1, [42] * 23 + [34]), (21, 2, [21] * 47 + [13])):
        batches = in_batches(ids, size, jobs)
        assert [t for b in batches for t in b] == ids  # every id once, in order
        assert max(len(b) for b in batches) <= size
        assert [len(b) for b in batches] == expected
    # 60 tenants at 43 a batch: two of 30, not 43 and 17.
    assert [len(b) for b in in_batches(ids[:60], 43)] == [30, 30]
    assert in_batches(ids[:3], 10, 4) == [["0"], ["1"], ["2"]]
    assert in_batches([], 10, 2) == []
