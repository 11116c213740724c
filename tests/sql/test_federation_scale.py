"""Federated reads over many tenants: one small statement per tenant, whose locks are
released as the loop goes, so the lock table (and the plan) does not grow with the
number of tenants; the results equal a read of every tenant schema one by one."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[2]
EXTRA = 40


def _add_tenants(conn: psycopg.Connection, n: int) -> None:
    """n more registered tenants, each with a schema holding courses and graduates."""
    for i in range(n):
        tenant_id = f"many-{i:03d}"
        schema = f"tenant_many_{i:03d}"
        conn.execute("INSERT INTO public.tenants (id, name, created_at) VALUES (%s, %s, now())", (tenant_id, tenant_id))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {c} (id bigserial PRIMARY KEY, name varchar(255) NOT NULL,"
                " code varchar(50) NOT NULL UNIQUE, created_at timestamp);"
                "CREATE TABLE {g} (id bigserial PRIMARY KEY, name varchar(255) NOT NULL,"
                " email varchar(255) NOT NULL UNIQUE, phone varchar(255), address text,"
                " graduation_year integer, course_id bigint REFERENCES {c} (id), user_id bigint,"
                " created_at timestamp, updated_at timestamp);"
                "INSERT INTO {c} (name, code) VALUES ('Physics', 'PHY');"
                "INSERT INTO {g} (name, email, graduation_year, course_id)"
                " SELECT 'Grad ' || g, 'g' || g || '@x.test', 2000 + g % 3, 1 FROM generate_series(1, 3) AS g"
            ).format(c=sql.Identifier(schema, "courses"), g=sql.Identifier(schema, "graduates"))
        )


def _locks_after(conn: psycopg.Connection, query: str) -> tuple[int, list[tuple[object, ...]]]:
    """Rows of query and the relation locks this session holds right after it, in one transaction."""
    with conn.transaction(force_rollback=True):
        rows = conn.execute(query).fetchall()  # type: ignore[arg-type]
        locks = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation'"
        ).fetchone()
    assert locks is not None
    return int(locks[0]), rows


def test_federated_reads_hold_no_lock_per_tenant_and_match_the_schemas(sample_db: Database) -> None:
    with sample_db.connect() as conn:
        install(conn, load_manifest(REPO / "tenancy.toml"))
        few_locks, _ = _locks_after(conn, "SELECT * FROM tenancy_federation.analytics_summary()")
        _add_tenants(conn, EXTRA)
        # Federated reads cover provisioned tenants: provisioning grants their tables' owner SELECT.
        for (t,) in conn.execute("SELECT id FROM public.tenants").fetchall():
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
        many_locks, summary = _locks_after(conn, "SELECT * FROM tenancy_federation.analytics_summary()")
        # 40 more tenants, 2 tables and 2 indexes each: a lock per relation would be 160 more.
        assert many_locks - few_locks < 5, (few_locks, many_locks)
        search_locks, found = _locks_after(
            conn, "SELECT tenant_id, name FROM tenancy_federation.search_graduates(p_name => 'grad 2', p_limit => 7)"
        )
        assert search_locks - few_locks < 5

        tenants = [r[0] for r in conn.execute("SELECT id FROM public.tenants").fetchall()]
        assert len([r for r in summary if r[0] == "tenant"]) == len(tenants)
        expected_grads = 0
        for t in tenants:
            schema = f"tenant_{t.replace('-', '_')}"
            if conn.execute("SELECT to_regclass(%s)", (f"{schema}.graduates",)).fetchone() != (None,):
                row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "graduates")))
                count = row.fetchone()
                assert count is not None
                expected_grads += int(count[0])
        total = [r for r in summary if r[0] == "total"]
        assert len(total) == 1 and total[0][3] == expected_grads
        # Search: the best 7 by name, tenant, id over every tenant, as one ordered list.
        assert len(found) == 7
        assert all("grad 2" in str(r[1]).lower() for r in found)
        oracle = conn.execute(
            sql.SQL(" UNION ALL ").join(
                sql.SQL(
                    "SELECT {t}::text AS tenant_id, name::text AS name, id FROM {g} WHERE name ILIKE '%%grad 2%%'"
                ).format(t=sql.Literal(f"many-{i:03d}"), g=sql.Identifier(f"tenant_many_{i:03d}", "graduates"))
                for i in range(EXTRA)
            )
            + sql.SQL(" ORDER BY name, tenant_id, id LIMIT 7")
        ).fetchall()
        # The sample's own graduates have other names, so the oracle over the added tenants suffices.
        assert [(r[0], r[1]) for r in found] == [(r[0], r[1]) for r in oracle]
