"""kill -9 of the runner at seeded random moments of the whole online flow (migrate
--online, cutover, a rollback of one tenant after cutover, migrate and cutover it again,
contract) while
an application keeps writing (runner/devtools/appload.py: its own login, routing by the
ledger, switching a tenant on TY050 and back after a rollback). A re-run must end with
every tenant contracted, nobody fenced, and every tenant table equal to what the
application was acknowledged."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from runner.devtools.appload import Application, application_login, initial_state, table_recipes
from runner.engine.install import install
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database, Server, _load_sample, provision_all

REPO = Path(__file__).resolve().parents[2]
TRIALS = 21
SEED = 8

# The runner's whole online flow, in one process; it says which step it is in. A re-run
# resumes from the ledger: every step skips what is already done, and a flow whose
# tenants are all contracted is done.
FLOW = """
import sys, time
from runner.engine import executor, migrate, online
from runner.manifest import load_manifest
from runner.db import connect
dsn = sys.argv[1]
with connect(dsn) as conn:
    tenants = executor.registry_tenants(conn, load_manifest("tenancy.toml"))
    states = {r[0] for r in conn.execute("SELECT state FROM tenancy.tenants")}
if states == {"contracted"}:
    print("done", time.time(), flush=True)
    sys.exit(0)
# One tenant goes back after cutover (while the others write on), then forward again.
back = tenants[:1]
def step(name, results):
    print(name, time.time(), flush=True)
    failed = [r for r in results() if not r.ok]
    assert not failed, (name, failed)
step("migrate", lambda: online.migrate_online(dsn, tenants))
step("cutover", lambda: online.cutover_tenants(dsn, tenants))
step("rollback", lambda: migrate.rollback_tenants(dsn, back))
step("migrate-again", lambda: online.migrate_online(dsn, back))
step("cutover-again", lambda: online.cutover_tenants(dsn, back))
print("contract", time.time(), flush=True)
online.contract(dsn, None)
print("done", time.time(), flush=True)
"""
STEPS = ("migrate", "cutover", "rollback", "migrate-again", "cutover-again", "contract", "done")


def _load_installed(conn: psycopg.Connection) -> None:
    _load_sample(conn)
    manifest = load_manifest(REPO / "tenancy.toml")
    install(conn, manifest)
    provision_all(conn, manifest)
    # Contract is one short statement: slowed down (each drop 50 ms) so that kills land inside it.
    conn.execute(
        "CREATE FUNCTION public.slow_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_sleep(0.05); END$$"
    )
    conn.execute("CREATE EVENT TRIGGER slow_drop ON sql_drop EXECUTE FUNCTION public.slow_drop()")


def _flow(dsn: str, kill: tuple[str, float] | None) -> tuple[str, dict[str, float]]:
    """Run the flow; with kill = (step, seconds), SIGKILL it that many seconds after it
    says it began that step. Returns the last step it began and when each step began
    (seconds after the start)."""
    started = time.time()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", FLOW, dsn], cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True
        )
        assert proc.stdout is not None
        hung = threading.Event()

        def give_up() -> None:
            hung.set()
            proc.kill()

        timers = [threading.Timer(120, give_up)]
        timers[0].start()
        steps: dict[str, float] = {}
        for line in proc.stdout:
            name, at = line.split()
            steps[name] = float(at) - started
            if kill is not None and name == kill[0]:
                timers.append(threading.Timer(kill[1], proc.kill))
                timers[-1].start()
        proc.wait()
        proc.stdout.close()
        for timer in timers:
            timer.cancel()
        err.seek(0)
        assert not hung.is_set(), ("the flow did not end", steps, err.read())
        if kill is None:
            assert proc.returncode == 0, err.read()
    return (list(steps)[-1] if steps else "start"), steps


def _wait_for_dead_sessions(conn: psycopg.Connection) -> None:
    """The server ends the killed runner's sessions within a second or so (client_connection_check_interval)."""
    deadline = time.monotonic() + 30
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenancy' AND pid <> pg_backend_pid()"
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "the killed runner's session did not end"
        time.sleep(0.05)


def _assert_contracted(conn: psycopg.Connection, trial: object) -> None:
    states = {r[0] for r in conn.execute("SELECT state FROM tenancy.tenants").fetchall()}
    assert states == {"contracted"}, (trial, states)
    fenced = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
    ).fetchone()
    assert fenced == (0,), (trial, "a lock (fence or tenant lock) is still held")
    moved = conn.execute(
        "SELECT count(*) FROM tenancy.moved_tables AS m WHERE to_regclass(format('public.%I', m.table_name)) IS NOT NULL"
    ).fetchone()
    assert moved == (0,), (trial, "shared tables left after contract")


def _trial(
    db: Database, manifest: Manifest, trial: int, kill: tuple[str, float] | None
) -> tuple[str, dict[str, float]]:
    """The flow (killed within a step, then run again) under the application;
    then every tenant contracted and every tenant table what the application was told."""
    with db.connect() as admin:
        tenants = [r[0] for r in admin.execute("SELECT tenant_id FROM tenancy.tenants ORDER BY 1")]
        recipes = table_recipes(admin, manifest)
        state = initial_state(admin, manifest, recipes, tenants)
        with application_login(admin, manifest, tenants, f"kill_app_{trial}") as app_dsn:
            with Application(app_dsn, manifest, recipes, state, seed=trial, writers=2) as app:
                last, steps = _flow(db.dsn, kill)
                if kill is not None:
                    _wait_for_dead_sessions(admin)
                    assert _flow(db.dsn, None)[0] == "done", trial
            assert not app.failures, (trial, app.failures)
            _assert_contracted(admin, trial)
            compared = app.compare(admin)
    assert app.total("acknowledged") > 0 and compared["rows_compared"] > 0, (trial, compared)
    assert compared["rows_lost"] == compared["rows_duplicated"] == compared["rows_mismatched"] == 0, (trial, compared)
    return last, steps


@pytest.mark.slow
def test_kill_9_at_random_moments_under_an_application_then_rerun_loses_no_write(
    pg_server: Server, make_template: Callable[[str, Callable[[psycopg.Connection], None]], str]
) -> None:
    manifest = load_manifest(REPO / "tenancy.toml")
    template = make_template("online_installed", _load_installed)
    reference = pg_server.create("online_reference", template)
    try:
        last, steps = _trial(reference, manifest, TRIALS, None)
        assert last == "done"
    finally:
        pg_server.drop("online_reference")
    rnd = random.Random(SEED)
    hit: Counter[str] = Counter()
    # Each step in turn, at a random moment of the first half of it (as long as it took in
    # the reference run), counted from when the killed run began it: a run slower or faster
    # than the reference still dies inside the step aimed at.
    lengths = {a: steps[b] - steps[a] for a, b in itertools.pairwise(STEPS)}
    aims = list(lengths)
    for trial in range(TRIALS):
        name = f"online_kill_{trial}"
        db = pg_server.create(name, template)
        try:
            aim = aims[trial % len(aims)]
            hit[_trial(db, manifest, trial, (aim, rnd.uniform(0, lengths[aim] / 2)))[0]] += 1
        finally:
            pg_server.drop(name)
    # The kills landed in each kind of step (the second migrate and cutover of the
    # rolled-back tenant are short: they are hit when the timing allows).
    assert {"migrate", "cutover", "rollback", "contract"} <= set(hit), hit
    print(f"kill -9 trials: {TRIALS}, landed in {dict(hit)}")
