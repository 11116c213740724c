"""Refusals on a real cluster: nothing changes when distribute, move or grants say no;
a killed distribution leaves nothing behind and a second run finishes it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.citus.distribute import DistributeRefused, distribute
from runner.citus.move import move_tenant
from runner.cli import main
from runner.engine.executor import registry_tenants
from runner.engine.validate import validate_tenants
from runner.errors import NotDistributed, UnknownWorker
from runner.manifest import Manifest
from tests.citus.cluster import REPO
from tests.snapshots import snapshot

pytestmark = pytest.mark.citus

_CITUS_METADATA = (
    "SELECT logicalrelid::text, partmethod, repmodel FROM pg_dist_partition ORDER BY 1",
    "SELECT schemaid::regnamespace::text FROM pg_dist_schema ORDER BY 1",
)


def _state(dsn: str) -> dict[str, object]:
    """The catalog snapshot, Citus's metadata, and role login flags."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        state = snapshot(conn)
        state["citus"] = [conn.execute(q).fetchall() for q in _CITUS_METADATA]
        state["roles"] = conn.execute("SELECT rolname, rolcanlogin FROM pg_roles ORDER BY 1").fetchall()
    return state


def test_refused_without_consent_changes_nothing(
    example_manifest: Manifest, make_migrated: Callable[..., str], tmp_path: Path
) -> None:
    dsn = make_migrated(example_manifest, tenants=4)
    before = _state(dsn)

    with pytest.raises(DistributeRefused) as refused:
        distribute(dsn, example_manifest, tenants=None, make_reference=[])
    fk = [p for p in refused.value.problems if "public.users" in p.problem]
    assert len(fk) == 4 and all("--make-reference users" in p.hint for p in fk)
    assert all('reference_tables = ["users"]' in p.hint for p in fk)
    assert _state(dsn) == before

    # The CLI: FAILED with the hint, exit 2, nothing changed.
    assert main(["distribute", "--dsn", dsn, "--manifest", "tenancy.toml"]) == 2
    assert _state(dsn) == before

    # A table whose write policies call tenancy's lookups cannot become a reference
    # table (they would run on the workers, where the registry is not).
    with pytest.raises(DistributeRefused) as refused:
        distribute(dsn, example_manifest, tenants=None, make_reference=["users", "jobs"])
    assert [(p.object_name, p.severity) for p in refused.value.problems if "write policies" in p.problem] == [
        ("public.jobs", "error")
    ]
    assert _state(dsn) == before

    # Policies Citus cannot keep on the tables it takes over with users: a subquery
    # (refused by Citus) and a RESTRICTIVE one (Citus would make it PERMISSIVE).
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE POLICY audit_subquery ON public.domains FOR SELECT TO tenancy_app"
            " USING (tenant_id IN (SELECT id FROM public.tenants))"
        )
        conn.execute(
            "CREATE POLICY audit_restrictive ON public.domains AS RESTRICTIVE FOR ALL TO tenancy_app USING (true)"
        )
    with_policies = _state(dsn)
    with pytest.raises(DistributeRefused) as refused:
        distribute(dsn, example_manifest, tenants=None, make_reference=["users"])
    policies = {p.problem.split(" ")[1] for p in refused.value.problems if p.object_name == "public.domains"}
    assert policies == {"audit_subquery", "audit_restrictive"}
    assert [p.object_name for p in refused.value.problems if p.severity == "error"] == ["public.domains"] * 2
    assert _state(dsn) == with_policies
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP POLICY audit_subquery ON public.domains")
        conn.execute("DROP POLICY audit_restrictive ON public.domains")

    # Consent kept in the manifest ([citus] reference_tables) needs no flag.
    manifest = tmp_path / "tenancy.toml"
    manifest.write_text((REPO / "tenancy.toml").read_text() + '\n[citus]\nreference_tables = ["users"]\n')
    assert main(["distribute", "--dsn", dsn, "--manifest", str(manifest)]) == 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT table_name FROM tenancy.reference_tables").fetchall() == [("users",)]
        assert conn.execute("SELECT count(*) FROM tenancy.placements").fetchone() == (4,)


def test_killed_distribution_leaves_nothing_and_resumes(
    example_manifest: Manifest, make_migrated: Callable[..., str]
) -> None:
    dsn = make_migrated(example_manifest, tenants=4)
    with psycopg.connect(dsn, autocommit=True) as conn:
        tenants = registry_tenants(conn, example_manifest)
    distribute(dsn, example_manifest, tenants=[tenants[0]], make_reference=["users"])
    victim = tenants[1]
    schema = example_manifest.schema_for(victim)
    before = _state(dsn)

    # A writer holds the tenant's table: the distribution waits for it inside its transaction, and is killed there.
    blocker = psycopg.connect(dsn)
    blocker.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(sql.Identifier(schema, "templates")))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True, application_name="doomed") as conn:
                conn.execute("SELECT * FROM tenancy.citus_distribute_tenant(%s)", (victim,))
        except psycopg.Error as e:
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    with psycopg.connect(dsn, autocommit=True) as admin:
        for _ in range(200):
            waiting = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'doomed' AND wait_event_type = 'Lock'"
            ).fetchall()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the distribution never waited on the lock"
        admin.execute("SELECT pg_terminate_backend(%s::integer)", (waiting[0][0],))
    thread.join(timeout=30)
    blocker.rollback()
    blocker.close()
    assert errors and isinstance(errors[0], psycopg.OperationalError)
    assert _state(dsn) == before

    # Running again finishes what is left; the tenant done before is skipped.
    run = distribute(dsn, example_manifest, tenants=None, make_reference=["users"])
    assert [r.state for r in run.results] == ["skipped", "distributed", "distributed", "distributed"]
    assert run.references == [("users", "already reference")]
    assert all(v.ok for v in validate_tenants(dsn, tenants))
    again = distribute(dsn, example_manifest, tenants=None, make_reference=[])
    assert [r.state for r in again.results] == ["skipped"] * 4


def test_move_refusals(example_manifest: Manifest, make_migrated: Callable[..., str]) -> None:
    dsn = make_migrated(example_manifest, tenants=2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        first, second = registry_tenants(conn, example_manifest)
    distribute(dsn, example_manifest, tenants=[first], make_reference=["users"])
    before = _state(dsn)
    with pytest.raises(UnknownWorker) as unknown:
        move_tenant(dsn, example_manifest, first, "127.0.0.1:1")
    assert "Active workers" in (unknown.value.detail or "")
    with pytest.raises(NotDistributed):
        move_tenant(dsn, example_manifest, second, "127.0.0.1:1")
    assert _state(dsn) == before


def test_refused_for_an_extension_type_missing_on_a_worker(
    example_manifest: Manifest, make_migrated: Callable[..., str]
) -> None:
    dsn = make_migrated(example_manifest, tenants=2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        tenant = registry_tenants(conn, example_manifest)[0]
        # Created on the coordinator only (Citus would otherwise propagate it).
        conn.execute("SET citus.enable_ddl_propagation TO off")
        conn.execute("CREATE EXTENSION citext")
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN nickname citext").format(
                sql.Identifier(example_manifest.schema_for(tenant), "graduates")
            )
        )
    before = _state(dsn)
    with pytest.raises(DistributeRefused) as refused:
        distribute(dsn, example_manifest, tenants=None, make_reference=["users"])
    assert [(p.tenant_id, p.problem) for p in refused.value.problems if p.severity == "error"] == [
        (tenant, "needs extension citext, which is missing on a worker")
    ]
    assert _state(dsn) == before
