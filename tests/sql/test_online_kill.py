"""kill -9 of the runner at seeded random moments of migrate --online, cutover and
contract; a re-run must end with the same rows as an uninterrupted run, every
tenant contracted and nobody fenced."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import Server, _load_sample

REPO = Path(__file__).resolve().parents[2]
TRIALS = 21
SEED = 8

# The runner's whole online flow, in one process; it says which step it is in.
FLOW = """
import sys, time
from runner.engine import executor, online
from runner.manifest import load_manifest
from runner.db import connect
dsn = sys.argv[1]
with connect(dsn) as conn:
    tenants = executor.registry_tenants(conn, load_manifest("tenancy.toml"))
print("migrate", time.time(), flush=True)
assert all(r.ok for r in online.migrate_online(dsn, tenants)), "migrate"
print("cutover", time.time(), flush=True)
assert all(r.ok for r in online.cutover_tenants(dsn, tenants)), "cutover"
print("contract", time.time(), flush=True)
online.contract(dsn, None)
print("done", time.time(), flush=True)
"""


def _load_installed(conn: psycopg.Connection) -> None:
    _load_sample(conn)
    install(conn, load_manifest(REPO / "tenancy.toml"))
    # Contract is one short statement: slowed down (each drop 50 ms) so that kills land inside it.
    conn.execute("CREATE FUNCTION public.slow_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_sleep(0.05); END$$")
    conn.execute("CREATE EVENT TRIGGER slow_drop ON sql_drop EXECUTE FUNCTION public.slow_drop()")


def _flow(dsn: str, kill_after: float | None) -> tuple[str, dict[str, float]]:
    """Run the flow; with kill_after, SIGKILL it after that many seconds. Returns the last
    step it began and when each step began (seconds after the start)."""
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOW, dsn], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if kill_after is None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    else:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.kill()
        out, _ = proc.communicate()
    steps = {line.split()[0]: float(line.split()[1]) - started for line in out.splitlines()}
    return (list(steps)[-1] if steps else "start"), steps


def _tenant_sums(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """Count and checksum of every tenant table (the rendered <table>__target_sum)."""
    sums = {}
    for tenant, schema in conn.execute("SELECT tenant_id, schema_name FROM tenancy.tenants ORDER BY 1").fetchall():
        for table, prefix in conn.execute("SELECT table_name, fn_prefix FROM tenancy.moved_tables").fetchall():
            row = conn.execute(
                psycopg.sql.SQL("SELECT * FROM tenancy.{}(%s)").format(psycopg.sql.Identifier(prefix + "__target_sum")),
                (schema,),
            ).fetchone()
            assert row is not None
            sums[(tenant, table)] = (int(row[0]), int(row[1]))
    return sums


def _wait_for_dead_sessions(conn: psycopg.Connection) -> None:
    """The server ends the killed runner's sessions within a second or so (client_connection_check_interval)."""
    deadline = time.monotonic() + 30
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenancy' AND pid <> pg_backend_pid()"
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "the killed runner's session did not end"
        time.sleep(0.05)


def _final_state(conn: psycopg.Connection) -> tuple[dict[tuple[str, str], tuple[int, int]], set[str]]:
    states = {r[0] for r in conn.execute("SELECT state FROM tenancy.tenants").fetchall()}
    fenced = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
    ).fetchone()
    assert fenced == (0,), "a lock (fence or tenant lock) is still held"
    moved = conn.execute(
        "SELECT count(*) FROM tenancy.moved_tables AS m WHERE to_regclass(format('public.%I', m.table_name)) IS NOT NULL"
    ).fetchone()
    assert moved == (0,), "shared tables left after contract"
    return _tenant_sums(conn), states


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun_ends_like_an_uninterrupted_run(
    pg_server: Server, make_template: Callable[[str, Callable[[psycopg.Connection], None]], str]
) -> None:
    template = make_template("online_installed", _load_installed)
    reference = pg_server.create("online_reference", template)
    try:
        last, steps = _flow(reference.dsn, None)
        assert last == "done"
        with reference.connect() as conn:
            expected, states = _final_state(conn)
        assert states == {"contracted"} and expected
    finally:
        pg_server.drop("online_reference")
    rnd = random.Random(SEED)
    hit: Counter[str] = Counter()
    # Each step in turn, at a random moment within it (as long as it took in the reference run).
    windows = [(steps[a], steps[b]) for a, b in (("migrate", "cutover"), ("cutover", "contract"), ("contract", "done"))]
    for trial in range(TRIALS):
        name = f"online_kill_{trial}"
        db = pg_server.create(name, template)
        try:
            low, high = windows[trial % len(windows)]
            hit[_flow(db.dsn, rnd.uniform(low, high))[0]] += 1
            with db.connect() as conn:
                _wait_for_dead_sessions(conn)
            assert _flow(db.dsn, None)[0] == "done"
            with db.connect() as conn:
                sums, states = _final_state(conn)
            assert states == {"contracted"}, (trial, states)
            assert sums == expected, f"trial {trial}: rows differ from the uninterrupted run"
        finally:
            pg_server.drop(name)
    # The kills landed in every step of the flow.
    assert {"migrate", "cutover", "contract"} <= set(hit), hit
    print(f"kill -9 trials: {TRIALS}, landed in {dict(hit)}")
