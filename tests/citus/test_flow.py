"""The whole path on a real cluster, with the shipped example manifest (tenancy.toml): sample →
install → migrate → distribute → validate → an application query routed to a worker → row-level
security on the central tables Citus took over → move → validate → federation → grants → rollback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from runner.access import drift as grants
from runner.citus import grants as citus_grants
from runner.citus.distribute import distribute
from runner.citus.move import move_tenant
from runner.citus.placement import placements
from runner.cli import main
from runner.engine.executor import registry_tenants
from runner.engine.install import install
from runner.engine.migrate import migrate_tenants, rollback_tenants
from runner.engine.validate import validate_tenants
from runner.federation.commands import search_graduates
from runner.manifest import Manifest
from runner.privileges import build_model
from tests.citus.cluster import Cluster
from tests.conftest import allow_logins

pytestmark = pytest.mark.citus


def _search(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = search_graduates(conn, limit=10_000).rows
    return sorted(tuple(r.values()) for r in rows)


def test_distribute_move_validate_rollback(
    citus_cluster: Cluster, example_manifest: Manifest, make_migrated: Callable[..., str]
) -> None:
    dsn = make_migrated(example_manifest)
    with psycopg.connect(dsn, autocommit=True) as conn:
        tenants = registry_tenants(conn, example_manifest)
    assert len(tenants) == 20
    before = _search(dsn)
    assert len(before) > 100

    run = distribute(dsn, example_manifest, tenants=None, make_reference=["users"], jobs=2)
    assert run.references == [("users", "made reference")]
    # Citus re-created the policies of the tables it took over with users (Citus local
    # tables): tenancy made them again; users' own policies stayed as they were.
    assert "public.jobs tenancy_tenant_select: replaced" in run.row_security
    assert not any(c.startswith("public.users ") for c in run.row_security)
    assert [(w.object_name, w.severity) for w in run.warnings] == [("public.users", "warning")]
    assert [(r.tenant_id, r.state) for r in run.results] == [(t, "distributed") for t in tenants]
    assert all(r.rows > 0 for r in run.results)

    with psycopg.connect(dsn, autocommit=True) as conn:
        placed = placements(conn)
        # The local copies Citus leaves behind were truncated after the verified copy.
        local_rows = conn.execute(
            "SELECT sum(pg_relation_size(c.oid)) FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE 'tenant%%' AND c.relkind = 'r'"
        ).fetchone()
    per_worker = Counter(p.node for p in placed)
    assert sorted(per_worker) == sorted(w.address for w in citus_cluster.workers)
    assert min(per_worker.values()) >= 5, per_worker
    assert sum(per_worker.values()) == 20
    assert local_rows == (0,)

    # Row by row, reading the tenant tables through the coordinator.
    validated = validate_tenants(dsn, tenants, jobs=2)
    assert [v.tenant_id for v in validated if not v.ok] == []
    assert all(any(c["check_name"] == "checksum" and c["passed"] for c in v.checks) for v in validated)

    # The application role connects to the coordinator; Citus routes its query to the tenant's worker.
    tenant = placed[0].tenant_id
    schema = placed[0].schema_name
    worker = next(w for w in citus_cluster.workers if w.address == placed[0].node)
    app = make_conninfo(dsn, user=f"{schema}_app")
    with psycopg.connect(dsn, autocommit=True) as admin:
        allow_logins(admin, [tenant])
    count_own = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "analytics_events"))
    count_other = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(placed[1].schema_name, "analytics_events"))
    with psycopg.connect(app, autocommit=True) as conn:
        plan = "\n".join(r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + count_own))
        (count,) = conn.execute(count_own).fetchone() or (None,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(count_other)
    assert "Task Count: 1" in plan and f"port={worker.port}" in plan, plan
    with psycopg.connect(worker.dsn(conninfo_to_dict(dsn)["dbname"]), autocommit=True) as wconn:
        # The rows are on that worker, in the shard (Citus hides shards from pg_class unless asked).
        wconn.execute("SET citus.override_table_visibility TO off")
        shard = wconn.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname ~ '^analytics_events_[0-9]+$'",
            (schema,),
        ).fetchall()
        assert len(shard) == 1
        on_worker = wconn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, shard[0][0])))
        assert count and count > 0 and on_worker.fetchone() == (count,)

    _row_level_security_after_distribution(dsn, example_manifest, placed[0].tenant_id, placed[1].tenant_id)

    # Move the largest tenant to the other worker; validated after.
    other = next(w for w in citus_cluster.workers if w.address != placed[0].node)
    moved = move_tenant(dsn, example_manifest, tenant, other.address)
    assert moved.moved and moved.source == worker.address and moved.target == other.address
    assert moved.bytes > 0 and moved.mode in ("force_logical", "block_writes")
    assert moved.validation.ok, moved.validation.error
    with psycopg.connect(dsn, autocommit=True) as conn:
        after_move = {p.tenant_id: p.node for p in placements(conn)}
        # The owner could log in only during the move.
        owner_login = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (f"{schema}_owner",)
        ).fetchone()
    assert after_move[tenant] == other.address
    assert owner_login == (False,)

    # The federation functions read the same rows across the distributed schemas.
    assert _search(dsn) == before

    # Privileges: the model holds on the coordinator and on every worker.
    model = build_model(example_manifest, tenants)
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert grants.verify(conn, model, all_tenants=True) == []
        assert citus_grants.verify_workers(conn, dsn, model) == []

    # Drift on a worker is found there, and distribute (run again) repairs the sequence grants.
    seq = sql.Identifier(schema, "analytics_events_id_seq")
    with psycopg.connect(other.dsn(conninfo_to_dict(dsn)["dbname"]), autocommit=True) as wconn:
        wconn.execute("SET citus.enable_ddl_propagation TO off")
        wconn.execute(sql.SQL("REVOKE USAGE ON SEQUENCE {} FROM {}").format(seq, sql.Identifier(f"{schema}_app")))
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = citus_grants.verify_workers(conn, dsn, model)
    assert {(w.worker, w.drift.status, w.drift.fact.name) for w in found} == {
        (other.address, "missing", "analytics_events_id_seq")
    }
    assert [r.state for r in distribute(dsn, example_manifest, tenants=[tenant], make_reference=[]).results] == [
        "skipped"
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert citus_grants.verify_workers(conn, dsn, model) == []
    assert main(["status", "--dsn", dsn]) == 0

    # Roll one tenant back: its tables are dropped, the schema comes back to the coordinator.
    victim = placed[-1]
    (rolled,) = rollback_tenants(dsn, [victim.tenant_id])
    assert rolled.ok
    with psycopg.connect(dsn, autocommit=True) as conn:
        distributed = conn.execute(
            "SELECT count(*) FROM pg_dist_schema WHERE schemaid = to_regnamespace(%s)", (victim.schema_name,)
        ).fetchone()
        left = {p.tenant_id for p in placements(conn)}
        state = conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (victim.tenant_id,)).fetchone()
    assert distributed == (0,) and victim.tenant_id not in left and len(left) == 19
    assert state == ("provisioned",)
    # ... and can be migrated and distributed again.
    assert all(r.ok for r in migrate_tenants(dsn, [victim.tenant_id]))
    again = distribute(dsn, example_manifest, tenants=[victim.tenant_id], make_reference=[])
    assert [r.state for r in again.results] == ["distributed"]
    assert all(v.ok for v in validate_tenants(dsn, [victim.tenant_id]))
    assert _search(dsn) == before


def _row_level_security_after_distribution(dsn: str, manifest: Manifest, tenant: str, other: str) -> None:
    """The central tables Citus took over keep tenancy's row-level security: the hybrid
    tables are Citus local tables (on the coordinator, their policies evaluated there),
    users a reference table (evaluated where the query runs)."""
    schema = manifest.schema_for(tenant)
    with psycopg.connect(dsn, autocommit=True) as admin:
        kinds = dict(
            admin.execute(
                "SELECT c.relname, CASE p.repmodel WHEN 't' THEN 'reference' ELSE 'local' END"
                " FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY (%s)",
                (["jobs", "leads", "users"],),
            ).fetchall()
        )
        assert kinds == {"jobs": "local", "leads": "local", "users": "reference"}
        assert admin.execute("SELECT bool_and(current) FROM tenancy.hybrid_policies()").fetchone() == (True,)
        jobs = admin.execute(
            "SELECT count(*) FILTER (WHERE tenant_id = %s OR is_public),"
            " count(*) FILTER (WHERE is_public AND tenant_id <> %s), count(*) FROM public.jobs",
            (tenant, tenant),
        ).fetchone()
        leads = admin.execute("SELECT count(*) FROM public.leads WHERE tenant_id = %s", (tenant,)).fetchone()
        users = admin.execute(
            "SELECT count(*) FROM public.users AS u JOIN public.institutions AS i ON i.id = u.institution_id"
            " WHERE i.tenant_id = %s",
            (tenant,),
        ).fetchone()
        employer = admin.execute("SELECT min(id) FROM public.employers WHERE tenant_id = %s", (other,)).fetchone()
    assert jobs is not None and jobs[1] > 0 and jobs[0] < jobs[2] and users is not None and users[0] > 0
    insert_job = (
        "INSERT INTO public.jobs (tenant_id, employer_id, title, job_type, created_at)"
        " VALUES (%s, %s, 'x', 'full-time', now())"
    )
    with psycopg.connect(make_conninfo(dsn, user=f"{schema}_app"), autocommit=True) as app:
        # Reads on the coordinator: its own and the public rows, its own users.
        assert app.execute("SELECT count(*) FROM public.jobs").fetchone() == jobs[:1]
        assert app.execute("SELECT count(*) FROM public.leads").fetchone() == leads
        assert app.execute("SELECT count(*) FROM public.users").fetchone() == users
        assert app.execute("SELECT count(*) FROM public.leads WHERE tenant_id = %s", (other,)).fetchone() == (0,)
        # Writes: its own rows only, and no reference to another tenant's hidden employer.
        for values in ((other, None), (tenant, employer[0] if employer else None)):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                app.execute(insert_job, values)
        with app.transaction(force_rollback=True):
            app.execute(insert_job, (tenant, None))
        assert app.execute("UPDATE public.leads SET email = email WHERE tenant_id = %s", (other,)).rowcount == 0
        # Its tables joined with users run on its worker, where users' policy cannot look
        # the tenant up (the registry is on the coordinator): refused, nothing returned.
        with pytest.raises(psycopg.errors.InternalError) as joined:
            app.execute(
                sql.SQL("SELECT count(*) FROM {} AS e JOIN public.users AS u ON u.id = e.user_id").format(
                    sql.Identifier(schema, "sequence_enrollments")
                )
            )
        assert "cannot execute a distributed query from a query on a shard" in str(joined.value)


def test_an_upgrade_on_a_distributed_coordinator_reapplies_every_routine(
    example_manifest: Manifest, make_migrated: Callable[..., str]
) -> None:
    """Citus propagates DDL in tenancy's schema to the workers once it is a dependency
    of a distributed object (the policies of the reference tables call its functions);
    an install that changes routines there must go through, and the tenants stay valid."""
    dsn = make_migrated(example_manifest, tenants=6)
    distribute(dsn, example_manifest, tenants=None, make_reference=["users"], jobs=1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # As after an upgrade of the package: the install in place is not this one.
        conn.execute("UPDATE tenancy.installed SET checksum = 'an older release'")
        result = install(conn, example_manifest)
        tenants = registry_tenants(conn, example_manifest)
    assert result.changed
    assert [v.tenant_id for v in validate_tenants(dsn, tenants) if not v.ok] == []
