"""Tenant isolation, proved on a live database after provision + migrate of every sample tenant.

Each tenant's application and read-only roles connect for real and try to
reach every other tenant's tables, the central copies of the moved tables,
the reference tables (writes), other tenants' rows of the hybrid tables and
CREATE anywhere. Every attempt must be denied; the same operations on the
tenant's own tables must work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.access.model import build_model
from runner.engine.install import install
from runner.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")
DENIED = "42501"  # insufficient_privilege, also raised for an RLS WITH CHECK violation


@dataclass
class Tally:
    attempts: int = 0
    denied: int = 0
    allowed: list[str] = field(default_factory=list)

    def record(self, what: str, was_denied: bool) -> None:
        self.attempts += 1
        if was_denied:
            self.denied += 1
        else:
            self.allowed.append(what)


def _dsn_as(db: object, role: str) -> str:
    return f"{db.dsn} user={role}"  # type: ignore[attr-defined]


def _denied(
    conn: psycopg.Connection, stmt: sql.Composable, params: tuple[object, ...] = ()
) -> bool:
    """Run ``stmt`` in a transaction that is rolled back; True when PostgreSQL refused it.

    Any other error (a constraint, say) means the privilege check passed: not denied.
    """
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(stmt, params)
    except psycopg.Error as e:
        return e.sqlstate == DENIED
    return False


def _affects_nothing(
    conn: psycopg.Connection, stmt: sql.Composable, params: tuple[object, ...]
) -> bool:
    """For RLS: a statement that runs but must see or change no row. Denied counts too."""
    try:
        with conn.transaction(force_rollback=True):
            cur = conn.execute(stmt, params)
            return cur.rowcount == 0 if cur.description is None else len(cur.fetchall()) == 0
    except psycopg.Error as e:
        if e.sqlstate == DENIED:
            return True
        raise


def _first_column(admin: psycopg.Connection, schema: str, table: str) -> str:
    row = admin.execute(
        "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = %s::regclass"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LIMIT 1",
        [f"{schema}.{table}"],
    ).fetchone()
    assert row is not None
    return str(row[0])


def _crud(admin: psycopg.Connection, schema: str, table: str) -> list[tuple[str, sql.Composable]]:
    t = sql.Identifier(schema, table)
    col = sql.Identifier(_first_column(admin, schema, table))
    return [
        ("SELECT", sql.SQL("SELECT * FROM {} LIMIT 1").format(t)),
        ("INSERT", sql.SQL("INSERT INTO {} DEFAULT VALUES").format(t)),
        # WHERE false: the privilege check still runs, no row is touched.
        ("UPDATE", sql.SQL("UPDATE {} SET {} = {} WHERE false").format(t, col, col)),
        ("DELETE", sql.SQL("DELETE FROM {} WHERE false").format(t)),
    ]


def _tables(admin: psycopg.Connection, schema: str) -> list[str]:
    return [
        r[0]
        for r in admin.execute(
            "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = %s::regnamespace"
            " AND c.relkind IN ('r', 'p') ORDER BY 1",
            [schema],
        )
    ]


@pytest.fixture
def migrated(sample_db: object) -> Iterator[tuple[object, list[str]]]:
    """The sample, installed, every tenant provisioned and migrated. Drops the tenants' roles after."""
    with sample_db.connect() as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
        assert len(tenants) >= 3
        for t in tenants:
            admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", [t]).fetchall()
    try:
        yield sample_db, tenants
    finally:
        with sample_db.connect() as admin:  # type: ignore[attr-defined]
            for t in tenants:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


def test_every_cross_tenant_attempt_is_denied(migrated: tuple[object, list[str]]) -> None:
    db, tenants = migrated
    model = build_model(MANIFEST, tenants)
    tally = Tally()
    own_checks = 0
    with db.connect() as admin:  # type: ignore[attr-defined]
        schemas = {t.tenant_id: t.schema for t in model.tenants}
        tenant_tables = {s: _tables(admin, s) for s in schemas.values()}
        assert all(set(MANIFEST.move) <= set(ts) for ts in tenant_tables.values())
        crud = {(s, t): _crud(admin, s, t) for s, ts in tenant_tables.items() for t in ts}
        central = MANIFEST.central_schema
        central_crud = {t: _crud(admin, central, t) for t in (*MANIFEST.move, *MANIFEST.central)}
        hybrid_rows = {
            (table, t): admin.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                    sql.Identifier(central, table), sql.Identifier(MANIFEST.tenant_key)
                ),
                [t],
            ).fetchone()[0]  # type: ignore[index]
            for table in MANIFEST.hybrid
            for t in tenants
        }
        assert all(n > 0 for n in hybrid_rows.values()), hybrid_rows
        own_themes = {
            s: admin.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(s, "component_themes"))
            ).fetchone()[0]  # type: ignore[index]
            for s in schemas.values()
        }
    all_schemas = [*schemas.values(), central, "tenancy"]

    for plan in model.tenants:
        for role in (plan.app, plan.readonly):
            writer = role is plan.app
            with psycopg.connect(_dsn_as(db, role.name), autocommit=True) as conn:
                # Other tenants' tables: nothing at all.
                for other, schema in schemas.items():
                    if other == plan.tenant_id:
                        continue
                    for table in tenant_tables[schema]:
                        for op, stmt in crud[(schema, table)]:
                            tally.record(f"{role.name} {op} {schema}.{table}", _denied(conn, stmt))
                # Central copies of moved tables: nothing; reference tables: no writes.
                for table in MANIFEST.move:
                    for op, stmt in central_crud[table]:
                        tally.record(f"{role.name} {op} {central}.{table}", _denied(conn, stmt))
                for table in MANIFEST.central:
                    for op, stmt in central_crud[table][1:]:
                        tally.record(f"{role.name} {op} {central}.{table}", _denied(conn, stmt))
                # Hybrid tables: other tenants' rows are invisible and unchangeable.
                for table in MANIFEST.hybrid:
                    t = sql.Identifier(central, table)
                    key = sql.Identifier(MANIFEST.tenant_key)
                    public = MANIFEST.public_column.get(table)
                    private = (
                        sql.SQL(" AND NOT {}").format(sql.Identifier(public))
                        if public
                        else sql.SQL("")
                    )
                    col = sql.Identifier(_first_column_cached(db, central, table))
                    for other in tenants:
                        if other == plan.tenant_id:
                            continue
                        attempts = [
                            (
                                "SELECT",
                                sql.SQL("SELECT 1 FROM {} WHERE {} = %s{}").format(t, key, private),
                            ),
                            (
                                "UPDATE",
                                sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(
                                    t, col, col, key
                                ),
                            ),
                            ("DELETE", sql.SQL("DELETE FROM {} WHERE {} = %s").format(t, key)),
                        ]
                        for op, stmt in attempts:
                            tally.record(
                                f"{role.name} {op} {table} rows of {other}",
                                _affects_nothing(conn, stmt, (other,)),
                            )
                        stmt = sql.SQL(
                            "INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} = %s LIMIT 1"
                        ).format(t, key, sql.Literal(other), t, key)
                        tally.record(
                            f"{role.name} INSERT {table} row of {other}",
                            _denied(conn, stmt, (plan.tenant_id,)),
                        )
                # CREATE in any schema, its own included.
                for schema in all_schemas:
                    stmt = sql.SQL("CREATE TABLE {} (x int)").format(
                        sql.Identifier(schema, "intruder")
                    )
                    tally.record(f"{role.name} CREATE in {schema}", _denied(conn, stmt))

                # Its own tables: reads always, writes for the application role only.
                for table in tenant_tables[plan.schema]:
                    for op, stmt in crud[(plan.schema, table)]:
                        if op == "SELECT":
                            assert not _denied(conn, stmt), f"{role.name} cannot read {table}"
                            own_checks += 1
                        elif op != "INSERT":
                            assert _denied(conn, stmt) is not writer, f"{role.name} {op} {table}"
                            own_checks += 1
                got = conn.execute("SELECT count(*) FROM component_themes").fetchone()
                assert got == (own_themes[plan.schema],) and own_themes[plan.schema] > 0
                own_checks += 1
                _check_own_writes(conn, plan.tenant_id, writer)
                own_checks += 1

    print(
        f"\ncross-tenant attempts: {tally.attempts}, denied: {tally.denied}"
        f" ({len(tenants)} tenants x 2 roles); own-tenant checks passed: {own_checks}"
    )
    assert tally.allowed == []
    assert tally.denied == tally.attempts
    per_role = (
        (len(tenants) - 1) * (len(MANIFEST.move) + 2) * 4  # + courses, graduates
        + len(MANIFEST.move) * 4
        + len(MANIFEST.central) * 3
        + len(MANIFEST.hybrid) * (len(tenants) - 1) * 4
        + len(all_schemas)
    )
    assert tally.attempts == per_role * 2 * len(tenants)


_COLUMN_CACHE: dict[tuple[str, str], str] = {}


def _first_column_cached(db: object, schema: str, table: str) -> str:
    if (schema, table) not in _COLUMN_CACHE:
        with db.connect() as admin:  # type: ignore[attr-defined]
            _COLUMN_CACHE[(schema, table)] = _first_column(admin, schema, table)
    return _COLUMN_CACHE[(schema, table)]


def _check_own_writes(conn: psycopg.Connection, tenant_id: str, writer: bool) -> None:
    """Insert, update and delete a row of its own moved table and of a hybrid table."""
    insert_theme = (
        "INSERT INTO component_themes (name, slug, config) VALUES ('t', 'isolation-test', '{}')"
        " RETURNING id"
    )
    if not writer:
        assert _denied(conn, sql.SQL(insert_theme))
        assert _denied(conn, sql.SQL("INSERT INTO jobs (tenant_id) VALUES (%s)"), (tenant_id,))
        return
    with conn.transaction(force_rollback=True):
        row = conn.execute(insert_theme).fetchone()
        assert row is not None
        assert (
            conn.execute("UPDATE component_themes SET name = 'u' WHERE id = %s", row).rowcount == 1
        )
        assert conn.execute("DELETE FROM component_themes WHERE id = %s", row).rowcount == 1
        job = conn.execute(
            "INSERT INTO jobs (tenant_id, title, job_type, created_at)"
            " VALUES (%s, 'isolation', 'full-time', now()) RETURNING id",
            [tenant_id],
        ).fetchone()
        assert job is not None
        assert conn.execute("UPDATE jobs SET title = 'u' WHERE id = %s", job).rowcount == 1
        assert conn.execute("DELETE FROM jobs WHERE id = %s", job).rowcount == 1


def test_tenant_sees_own_and_public_hybrid_rows(migrated: tuple[object, list[str]]) -> None:
    db, tenants = migrated
    plan = build_model(MANIFEST, tenants).tenants[0]
    with db.connect() as admin:  # type: ignore[attr-defined]
        expected = admin.execute(
            "SELECT count(*) FILTER (WHERE tenant_id = %s OR is_public),"
            " count(*) FILTER (WHERE is_public AND tenant_id <> %s) FROM public.jobs",
            [plan.tenant_id, plan.tenant_id],
        ).fetchone()
        leads = admin.execute(
            "SELECT count(*) FROM public.leads WHERE tenant_id = %s", [plan.tenant_id]
        ).fetchone()
    assert expected is not None and expected[1] > 0, (
        "the sample must hold other tenants' public jobs"
    )
    for role in (plan.app, plan.readonly):
        with psycopg.connect(_dsn_as(db, role.name), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (expected[0],)
            assert conn.execute("SELECT count(*) FROM leads").fetchone() == leads
            # Public rows of another tenant are readable, not writable.
            if role is plan.app:
                n = conn.execute(
                    "UPDATE jobs SET title = title WHERE is_public AND tenant_id <> %s",
                    [plan.tenant_id],
                ).rowcount
                assert n == 0


def test_provision_is_idempotent_and_deprovision_refuses_while_tables_exist(
    migrated: tuple[object, list[str]],
) -> None:
    db, tenants = migrated
    with db.connect() as admin:  # type: ignore[attr-defined]
        again = admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", [tenants[0]]).fetchall()
        assert again == []
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s)", [tenants[0]])
        assert err.value.sqlstate == "TY008"
        assert "still holds" in (err.value.diag.message_primary or "")
        assert "p_force" in (err.value.diag.message_hint or "")
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.provision_tenant('Bad Id')")
        assert err.value.sqlstate == "TY001"
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.provision_tenant('not-registered')")
        assert err.value.sqlstate == "TY002"
