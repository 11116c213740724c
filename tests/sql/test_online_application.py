"""The online flow as the application sees it, connected as an ordinary role of its own.

Once a tenant is cut over, every statement that reaches its shared rows (a read,
an update or a delete by tenant key or by primary key, an insert, one whose
row references a parent) fails with TY050, and before any foreign key or
constraint check. A rollback after cutover leaves the application able to insert
through the shared tables. A refused cutover changes no state; validate judges a
syncing tenant by what holds then; the tool's own row moves fire none of the
application's triggers. And a small application that routes each tenant by the
ledger and switches a tenant when it sees TY050 loses no write.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from runner.devtools.appload import Application, application_login, initial_state, table_recipes
from runner.engine import migrate, online, validate
from runner.manifest import Manifest
from tests.conftest import Database, Server, registry_ids

_names = itertools.count()
CUT_OVER = "TY050"


@pytest.fixture
def app(pg_server: Server, db: Database) -> Iterator[str]:
    """DSN of the application's own login: DML on the central schema's tables, its sequences.
    Not a superuser and not the tables' owner (row-level security applies to it)."""
    name = f"app_{os.getpid()}_{next(_names)}"
    with db.connect() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(name)
            )
        )
        admin.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(sql.Identifier(name)))
    try:
        yield f"host={pg_server.host} port={pg_server.port} user={name} dbname={db.name}"
    finally:
        with db.connect() as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _sqlstate(conn: psycopg.Connection, stmt: str, params: tuple[object, ...] = ()) -> str | None:
    """The SQLSTATE `stmt` fails with (its transaction rolled back), or None when it succeeds."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(stmt, params)
    except psycopg.Error as e:
        return e.sqlstate
    return None


def _cut_over(db: Database, *tenants: str) -> None:
    assert {r.state for r in online.migrate_online(db.dsn, list(tenants))} == {"syncing"}
    assert {r.state for r in online.cutover_tenants(db.dsn, list(tenants))} == {"cut_over"}


def test_every_statement_on_a_cut_over_tenants_shared_rows_answers_ty050(
    db: Database, manifest: Manifest, app: str
) -> None:
    t, other = registry_ids(db, manifest)[:2]
    with db.connect() as admin:
        some_id = admin.execute("SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s", (t,)).fetchone()[0]  # type: ignore[index]
        template = admin.execute("SELECT min(id) FROM public.templates WHERE tenant_id = %s", (t,)).fetchone()[0]  # type: ignore[index]
    _cut_over(db, t)
    statements = {
        "UPDATE by tenant key": ("UPDATE public.brand_colors SET name = 'x' WHERE tenant_id = %s", (t,)),
        "DELETE by tenant key": ("DELETE FROM public.brand_colors WHERE tenant_id = %s", (t,)),
        "UPDATE by primary key": ("UPDATE public.brand_colors SET name = 'x' WHERE id = %s", (some_id,)),
        "DELETE by primary key": ("DELETE FROM public.brand_colors WHERE id = %s", (some_id,)),
        "SELECT by tenant key": ("SELECT * FROM public.brand_colors WHERE tenant_id = %s", (t,)),
        "SELECT by primary key": ("SELECT * FROM public.brand_colors WHERE id = %s", (some_id,)),
        "SELECT FOR UPDATE": ("SELECT * FROM public.brand_colors WHERE tenant_id = %s FOR UPDATE", (t,)),
        "INSERT": ("INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, 'n', '#000000')", (t,)),
        "INSERT ... ON CONFLICT": (
            "INSERT INTO public.brand_colors (id, tenant_id, name, hex) VALUES (%s, %s, 'n', '#000000') "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            (some_id, t),
        ),
    }
    with psycopg.connect(app, autocommit=True) as conn:
        answers = {what: _sqlstate(conn, stmt, params) for what, (stmt, params) in statements.items()}
        # A child row that references a parent: the refusal comes before the foreign key check.
        answers["INSERT of a child"] = _sqlstate(
            conn,
            "INSERT INTO public.template_variants (tenant_id, template_id, name, weight) VALUES (%s, %s, 'v', 1)",
            (t, template),
        )
        # Another tenant's rows answer as before.
        assert _sqlstate(conn, "UPDATE public.brand_colors SET name = name WHERE tenant_id = %s", (other,)) is None
        assert conn.execute(
            "SELECT count(*) > 0 FROM public.brand_colors WHERE tenant_id = %s", (other,)
        ).fetchone() == (True,)
    assert answers == dict.fromkeys(answers, CUT_OVER)


def test_rollback_after_cutover_leaves_the_application_inserting(db: Database, manifest: Manifest, app: str) -> None:
    t = registry_ids(db, manifest)[0]
    _cut_over(db, t)
    with db.connect() as admin:
        # The tenant writes 300 rows in its schema after cutover (ids from its own sequence).
        admin.execute(
            f"INSERT INTO tenant_{t}.brand_colors (name, hex) SELECT 'after ' || g, '#111111' "  # noqa: S608
            "FROM generate_series(1, 300) AS g"
        )
    (back,) = migrate.rollback_tenants(db.dsn, [t])
    assert back.ok, back
    with db.connect() as admin:
        came_back = admin.execute("SELECT max(id) FROM public.brand_colors").fetchone()[0]  # type: ignore[index]
        assert admin.execute("SELECT count(*) FROM public.brand_colors WHERE name LIKE 'after %'").fetchone() == (300,)
    with psycopg.connect(app, autocommit=True) as conn:
        new = [
            conn.execute(
                "INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, 'next', '#222222') RETURNING id",
                (t,),
            ).fetchone()[0]  # type: ignore[index]
            for _ in range(3)
        ]
    assert min(new) > came_back
    with db.connect() as admin:
        # And the guard is off again: nobody is cut over any more.
        assert admin.execute(
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'public.brand_colors'::regclass"
        ).fetchone() == (False,)


def test_a_rollback_after_cutover_while_the_others_insert_through_the_shared_tables(
    db: Database, manifest: Manifest, app: str
) -> None:
    """Ids a tenant writes in its schema after cutover and ids drawn meanwhile for the other
    tenants' shared rows never meet (serial and identity columns): the rollback copies them
    back without TY054, and the shared tables draw every value again after it."""
    t, *others = registry_ids(db, manifest)
    _cut_over(db, t)
    with db.connect() as admin, psycopg.connect(app, autocommit=True) as conn:
        for round_ in range(20):
            admin.execute(f"INSERT INTO tenant_{t}.brand_colors (name, hex) VALUES ('after', '#111111')")  # noqa: S608
            admin.execute(f"INSERT INTO tenant_{t}.brand_fonts (family) VALUES ('after')")  # noqa: S608
            for other in others:
                conn.execute(
                    "INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, %s, '#222222')",
                    (other, f"r{round_}"),
                )
                conn.execute("INSERT INTO public.brand_fonts (tenant_id, family) VALUES (%s, 'shared')", (other,))
    (back,) = migrate.rollback_tenants(db.dsn, [t])
    assert back.ok, back
    with db.connect() as admin:
        assert admin.execute(
            "SELECT count(*) FROM public.brand_colors WHERE name = 'after' AND tenant_id = %s", (t,)
        ).fetchone() == (20,)
        # Nobody is cut over any more: the shared sequences draw every value again.
        assert admin.execute(
            "SELECT count(*) FROM pg_sequences WHERE schemaname = 'public' AND increment_by <> 1"
        ).fetchone() == (0,)
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("INSERT INTO public.brand_fonts (tenant_id, family) VALUES (%s, 'next')", (t,))


def test_a_refused_cutover_changes_no_state(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    assert {r.state for r in migrate.migrate_tenants(db.dsn, tenants)} == {"migrated"}
    refused = online.cutover_tenants(db.dsn, tenants)
    assert {(r.state, r.sqlstate) for r in refused} == {("failed", "TY008")}
    assert all("migrate --online" in (r.hint or "") for r in refused)
    with db.connect() as admin:
        assert {r[0] for r in admin.execute("SELECT state FROM tenancy.tenants")} == {"migrated"}
    assert {r.state for r in validate.validate_tenants(db.dsn, tenants)} == {"validated"}


def test_validate_judges_a_syncing_tenant_by_what_holds_while_it_syncs(
    db: Database, manifest: Manifest, app: str
) -> None:
    tenants = registry_ids(db, manifest)
    assert {r.state for r in online.migrate_online(db.dsn, tenants)} == {"syncing"}
    with psycopg.connect(app, autocommit=True) as conn:
        # The application goes on writing; the change log holds what is not replayed yet.
        for t in tenants:
            conn.execute("UPDATE public.brand_colors SET name = name || '+' WHERE tenant_id = %s", (t,))
            conn.execute(
                "INSERT INTO public.templates (tenant_id, name, slug, structure) VALUES (%s, 'new', %s, '{}')",
                (t, f"new-{t}"),
            )
    checked = validate.validate_tenants(db.dsn, tenants)
    assert [r.state for r in checked] == ["validated"] * len(tenants), [r.error for r in checked]
    for r in checked:
        names = {c["check_name"] for c in r.checks}
        assert "checksum (not awaiting replay)" in names and "at cutover" in names
        assert not [c for c in r.checks if c["passed"] is False]
    # A real difference (a row written in the tenant schema only, not awaiting replay) still fails.
    with db.connect() as admin:
        admin.execute(
            f"UPDATE tenant_{tenants[0]}.templates SET name = 'only here' "  # noqa: S608
            f"WHERE id = (SELECT min(id) FROM tenant_{tenants[0]}.templates)"
        )
    (bad,) = validate.validate_tenants(db.dsn, tenants[:1])
    assert bad.state == "invalid"
    assert [(c["table_name"], c["check_name"]) for c in bad.checks if c["passed"] is False] == [
        ("templates", "checksum (not awaiting replay)")
    ]


def test_moving_rows_fires_none_of_the_applications_triggers(db: Database, manifest: Manifest, app: str) -> None:
    """An application trigger on a moved shared table writes to another table through an
    unqualified name (it works under the application's search_path, not under the tool's).
    migrate --online, cutover, rollback after cutover, migrate --online and cutover again,
    contract: the other table is unchanged by all of it."""
    tenants = registry_ids(db, manifest)
    with db.connect() as admin:
        admin.execute("CREATE TABLE public.audit (what text, tenant_id text)")
        admin.execute("GRANT INSERT ON public.audit TO PUBLIC")
        admin.execute(
            "CREATE FUNCTION public.audit_brand_colors() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO audit VALUES (TG_OP, coalesce(NEW.tenant_id, OLD.tenant_id)); RETURN NULL; END $$"
        )
        admin.execute(
            "CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON public.brand_colors "
            "FOR EACH ROW EXECUTE FUNCTION public.audit_brand_colors()"
        )
    _cut_over(db, *tenants[:1])
    (back,) = migrate.rollback_tenants(db.dsn, tenants[:1])
    assert back.ok, back
    _cut_over(db, *tenants)
    with db.connect() as admin:
        assert admin.execute("SELECT count(*) FROM public.audit").fetchone() == (0,)
    assert {t.state for t in online.contract(db.dsn, "kept")} == {"moved to kept"}
    with db.connect() as admin:
        assert admin.execute("SELECT count(*) FROM public.audit").fetchone() == (0,)


# -- An application that routes each tenant by the ledger ----------------------------------


def test_a_switching_application_loses_no_write(db: Database, manifest: Manifest) -> None:
    """runner/devtools/appload.py is the application of docs/online.md: its own login, each
    tenant routed by tenancy.online_tenants, switched on TY050. It writes every moved table
    of every tenant through migrate --online and one cutover after the other."""
    tenants = registry_ids(db, manifest)
    with db.connect() as admin:
        recipes = table_recipes(admin, manifest)
        state = initial_state(admin, manifest, recipes, tenants)
        with application_login(admin, manifest, tenants, f"switching_app_{os.getpid()}") as app_dsn:
            with Application(app_dsn, manifest, recipes, state, seed=7) as application:
                assert {r.state for r in online.migrate_online(db.dsn, tenants)} == {"syncing"}
                for t in tenants:
                    (cut,) = online.cutover_tenants(db.dsn, [t])
                    assert cut.state == "cut_over", cut
                    application.cut_over_at[t] = time.perf_counter()
                # Until each writer has met (and switched) every tenant it writes.
                deadline = time.monotonic() + 60
                while any(w.in_schema != set(w.tenants) for w in application.writers):
                    assert time.monotonic() < deadline and not application.failures, application.failures
                    time.sleep(0.05)
            assert not application.failures, application.failures
            compared = application.compare(admin)
    assert application.total("refused_after_cutover") >= 1
    assert application.total("silently_ignored") == application.total("wrong_error_first") == 0
    assert application.total("acknowledged") > 0 and compared["rows_compared"] > 0
    assert compared["rows_lost"] == compared["rows_duplicated"] == compared["rows_mismatched"] == 0, compared
