"""Row-level security from the Pulumi path: the pulumi-command resource, declared and run.

pulumi-postgresql has no policy resource, so the program declares a
``command:local:Command`` that runs psql to call ``tenancy.secure_hybrid_tables()``.
The first tests read it under mocks (preview=False); the others run the exact
command string with the environment the program sets against a live database,
and compare the policies it leaves with those the SQL path's provision creates.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infra.mocks import Declared, is_secret, plain, run_program
from infra.program import RLS_INTERPRETER, Connection, Settings, rls_fingerprint
from runner.engine.install import install
from runner.manifest import Manifest, load_manifest
from runner.privileges import build_model

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")
COMMAND = "command:local:Command"
RLS = "hybrid-row-level-security"
HYBRID = ("employers", "jobs", "leads")
# Hybrid tables and the central tables [central.access] filters by rows.
SECURED = build_model(MANIFEST, ()).shared.secured_tables
ADMIN_PASSWORD = "s3cret-admin-pw"

CONNECTION = Connection(
    host="db.internal",
    port=6432,
    username="tenancy_admin",
    sslmode="verify-full",
    password=ADMIN_PASSWORD,
)


def _settings(
    manifest: Manifest = MANIFEST,
    tenants: tuple[str, ...] = ("abc123", "def-456"),
    database: str = "alumate",
    connection: Connection = CONNECTION,
) -> Settings:
    passwords = {t: {"app": f"app-{t}", "readonly": f"ro-{t}"} for t in tenants}
    return Settings(manifest, database, tenants, passwords, connection)


def _rls(settings: Settings) -> tuple[Declared, list[Declared]]:
    resources, _ = run_program(settings)
    found = [r for r in resources if r.type == COMMAND and r.name != "tenant-role-settings"]
    assert len(found) == 1, [r.name for r in found]
    return found[0], resources


# -- declared (mocks) ---------------------------------------------------------


def test_exactly_one_rls_command_that_calls_the_sql_paths_function() -> None:
    rls, _ = _rls(_settings())
    assert rls.name == RLS
    create = plain(rls.inputs["create"])
    assert "SELECT * FROM tenancy.secure_hybrid_tables();" in create
    assert create.startswith("psql ")
    assert "--set ON_ERROR_STOP=1" in create and "--no-password" in create
    # An update (changed trigger or connection) runs the same idempotent script.
    assert plain(rls.inputs["update"]) == create
    # No delete command: destroying the stack leaves RLS on the shared tables.
    assert "delete" not in rls.inputs
    assert plain(rls.inputs["interpreter"]) == RLS_INTERPRETER


def test_rls_command_triggers_on_the_hybrid_policies_only() -> None:
    rls, _ = _rls(_settings())
    trigger = plain(rls.inputs["triggers"])
    assert trigger == [rls_fingerprint(build_model(MANIFEST, ()).shared.row_policies)]
    assert len(trigger[0]) == 64
    # Adding a tenant does not re-run it: the policies are tenant-independent.
    more, _ = _rls(_settings(tenants=("abc123", "def-456", "ghi789")))
    assert plain(more.inputs["triggers"]) == trigger
    # A changed public column or hybrid table list does.
    no_public = dataclasses.replace(MANIFEST, public_column={})
    changed, _ = _rls(_settings(manifest=no_public))
    assert plain(changed.inputs["triggers"]) != trigger
    fewer = dataclasses.replace(MANIFEST, hybrid=("jobs", "employers"))
    changed, _ = _rls(_settings(manifest=fewer))
    assert plain(changed.inputs["triggers"]) != trigger
    assert "'leads'" not in plain(changed.inputs["create"])


def test_rls_command_depends_on_the_roles_its_policies_name_and_gates_the_hybrid_grants() -> None:
    rls, resources = _rls(_settings())
    # Every role a policy names that the program makes (the engine and the federation
    # owner are install's, there before `pulumi up`).
    assert rls.depends_on == {"role-tenancy_app", "role-tenancy_readonly", "role-tenancy_migrator"}
    by_name = {r.name: r for r in resources}
    # Group grants on hybrid tables wait for RLS, so they never exist without it.
    for name in (
        "grant-tenancy_app-table-public-delete-insert-select-update",
        "grant-tenancy_readonly-table-public-select",
    ):
        assert set(plain(by_name[name].inputs["objects"])) >= set(HYBRID)
        assert RLS in by_name[name].depends_on, name
    # So do grants on central tables filtered by rows (users, ...): no window
    # in which a tenant reads every row.
    assert RLS in by_name["grant-tenancy_app-table-public-select"].depends_on
    # Tenant resources do not wait for it.
    assert RLS not in by_name["schema-tenant_abc123"].depends_on


def test_admin_password_only_in_a_secret_environment() -> None:
    rls, _ = _rls(_settings())
    for key in ("create", "update"):
        assert ADMIN_PASSWORD not in plain(rls.inputs[key])
    raw_env = rls.inputs["environment"]
    env = plain(raw_env)
    assert is_secret(raw_env) or is_secret(env["PGPASSWORD"])
    assert plain(env["PGPASSWORD"]) == ADMIN_PASSWORD
    assert {k: plain(v) for k, v in env.items() if k != "PGPASSWORD"} == {
        "PGHOST": "db.internal",
        "PGPORT": "6432",
        "PGUSER": "tenancy_admin",
        "PGSSLMODE": "verify-full",
        "PGDATABASE": "alumate",
        "PGAPPNAME": "tenancy-pulumi-rls",
    }
    # Without a configured password (e.g. a .pgpass file), none is set.
    rls, _ = _rls(_settings(connection=dataclasses.replace(CONNECTION, password=None)))
    assert "PGPASSWORD" not in plain(rls.inputs["environment"])


def test_no_rls_command_without_hybrid_tables() -> None:
    resources, built = run_program(
        _settings(manifest=dataclasses.replace(MANIFEST, hybrid=(), public_column={}, central_access={}))
    )
    assert [r.name for r in resources if r.type == COMMAND] == ["tenant-role-settings"]
    assert built.row_level_security is None


# -- run for real ---------------------------------------------------------------


def _run(rls: Declared) -> subprocess.CompletedProcess[str]:
    """Run the command as pulumi-command does: interpreter + create, env added to ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({k: str(plain(v)) for k, v in plain(rls.inputs["environment"]).items()})
    return subprocess.run(
        [*plain(rls.inputs["interpreter"]), plain(rls.inputs["create"])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _live_connection(conn: psycopg.Connection) -> Connection:
    info = conn.info
    return Connection(
        host=info.host,
        port=info.port,
        username=info.user,
        sslmode="disable",
        password="not-checked-by-trust-auth",
    )


def _command_for(conn: psycopg.Connection, database: str) -> Declared:
    rls, _ = _rls(_settings(tenants=(), database=database, connection=_live_connection(conn)))
    return rls


def _policies(conn: psycopg.Connection) -> set[tuple[Any, ...]]:
    rows = conn.execute(
        """
        SELECT p.schemaname, p.tablename, p.policyname, p.permissive, p.cmd,
               array_to_string(ARRAY(SELECT unnest(p.roles) ORDER BY 1), ','),
               p.qual, p.with_check
        FROM pg_policies AS p
        WHERE p.schemaname = 'public'
        """
    ).fetchall()
    return {tuple(r) for r in rows}


def _rls_enabled(conn: psycopg.Connection) -> dict[str, bool]:
    rows = conn.execute(
        "SELECT relname, relrowsecurity FROM pg_class"
        " WHERE relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
        [list(SECURED)],
    ).fetchall()
    return dict(rows)


def _create_group_roles(conn: psycopg.Connection) -> None:
    # What the program's Role resources do before the command runs.
    for role in ("tenancy_app", "tenancy_readonly", "tenancy_migrator"):
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(f"CREATE ROLE {role} NOLOGIN")


@pytest.fixture
def installed(sample_db: Any) -> Iterator[tuple[psycopg.Connection, str]]:
    with sample_db.connect() as conn:
        install(conn, MANIFEST)
        _create_group_roles(conn)
        yield conn, sample_db.name


def test_the_command_creates_the_same_policies_as_the_sql_path(
    installed: tuple[psycopg.Connection, str],
) -> None:
    conn, database = installed
    rls = _command_for(conn, database)
    assert _policies(conn) == set()
    assert _rls_enabled(conn) == dict.fromkeys(SECURED, False)

    done = _run(rls)
    assert done.returncode == 0, done.stderr
    assert "public.jobs tenancy_tenant_select" in done.stdout
    by_pulumi = _policies(conn)
    assert _rls_enabled(conn) == dict.fromkeys(SECURED, True)
    names = {f"tenancy_tenant_{c}" for c in ("select", "insert", "update", "delete")}
    for table in HYBRID:
        assert names <= {p[2] for p in by_pulumi if p[1] == table}, table
    # jobs.employer_id has no tenant key: its insert and update policies check the
    # referenced employer; users: read filter only. All permissive, no subquery (Citus).
    jobs = {p[2]: p for p in by_pulumi if p[1] == "jobs"}
    for name in ("tenancy_tenant_insert", "tenancy_tenant_update"):
        assert "tenancy.row_visible('public.employers'" in jobs[name][7], jobs[name]
    assert {p[3] for p in by_pulumi} == {"PERMISSIVE"}
    assert not any("SELECT" in (p[6] or "") + (p[7] or "") for p in by_pulumi)
    assert {p[2] for p in by_pulumi if p[1] == "users"} == {
        "tenancy_tenant_select",
        "tenancy_federation_select",
    }
    jobs_select = next(p for p in by_pulumi if p[1:3] == ("jobs", "tenancy_tenant_select"))
    assert jobs_select[5] == "tenancy_app,tenancy_readonly" and "is_public" in jobs_select[6]

    # Running it again (an update) changes nothing and still succeeds.
    again = _run(rls)
    assert again.returncode == 0, again.stderr
    assert "(0 rows)" in again.stdout
    assert _policies(conn) == by_pulumi

    # The SQL path on the same database from scratch: the same policies.
    for _, table, name, *_ in by_pulumi:
        conn.execute(f"DROP POLICY {name} ON public.{table}")
    for table in SECURED:
        conn.execute(f"ALTER TABLE public.{table} DISABLE ROW LEVEL SECURITY")
    assert _policies(conn) == set()
    tenant = conn.execute("SELECT id FROM public.tenants ORDER BY id LIMIT 1").fetchone()[0]  # type: ignore[index]
    try:
        conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", [tenant]).fetchall()
        by_sql = _policies(conn)
    finally:
        conn.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [tenant]).fetchall()
    assert len(by_sql) > 12
    assert by_pulumi == by_sql
    assert _rls_enabled(conn) == dict.fromkeys(SECURED, True)


def test_the_command_replaces_a_policy_that_differs_from_the_model(
    installed: tuple[psycopg.Connection, str],
) -> None:
    conn, database = installed
    rls = _command_for(conn, database)
    assert _run(rls).returncode == 0
    made = _policies(conn)
    # Someone narrowed a policy, widened another's expression, dropped a third:
    # secure_hybrid_tables() replaces what is not as it made it.
    conn.execute("ALTER POLICY tenancy_tenant_select ON public.jobs TO tenancy_app")
    conn.execute("ALTER POLICY tenancy_tenant_select ON public.leads USING (true)")
    conn.execute("DROP POLICY tenancy_tenant_delete ON public.leads")
    done = _run(rls)
    assert done.returncode == 0, done.stderr
    changes = {tuple(c.strip() for c in line.split("|")) for line in done.stdout.splitlines() if "|" in line}
    assert {
        ("policy", "public.jobs tenancy_tenant_select", "replaced"),
        ("policy", "public.leads tenancy_tenant_select", "replaced"),
        ("policy", "public.leads tenancy_tenant_delete", "created"),
    } <= changes
    assert _policies(conn) == made


def test_the_command_fails_clearly_without_tenancy_install(blank_db: Any) -> None:
    with blank_db.connect() as conn:
        rls = _command_for(conn, blank_db.name)
        done = _run(rls)
        assert _policies(conn) == set()
    assert done.returncode != 0
    assert "schema tenancy is not installed" in done.stderr
    assert "HINT:  Run `tenancy install --dsn <this database>`" in done.stderr


def test_the_command_fails_when_a_hybrid_table_is_missing(
    installed: tuple[psycopg.Connection, str],
) -> None:
    conn, database = installed
    conn.execute("ALTER TABLE public.leads RENAME TO leads_old")
    done = _run(_command_for(conn, database))
    assert done.returncode != 0
    assert "public.leads: table not found" in done.stderr
    assert _policies(conn) == set()


def test_the_role_settings_command_sets_what_the_sql_path_sets(
    installed: tuple[psycopg.Connection, str],
) -> None:
    conn, database = installed
    tenant = conn.execute("SELECT id FROM public.tenants ORDER BY id LIMIT 1").fetchone()[0]  # type: ignore[index]
    plan = build_model(MANIFEST, [tenant]).tenant(tenant)

    def settings_of(role: str) -> list[str]:
        row = conn.execute(
            "SELECT coalesce(array_agg(c ORDER BY c), '{}') FROM pg_db_role_setting AS s, unnest(s.setconfig) AS c"
            " WHERE s.setrole = %s::regrole AND s.setdatabase = 0",
            [role],
        ).fetchone()
        return list(row[0]) if row else []

    try:
        conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", [tenant]).fetchall()
        by_sql = {r.name: settings_of(r.name) for r in plan.roles}
        for role in (plan.app, plan.readonly):
            conn.execute(f"ALTER ROLE {role.name} RESET lock_timeout")
        resources, _ = run_program(_settings(tenants=(tenant,), database=database, connection=_live_connection(conn)))
        command = next(r for r in resources if r.name == "tenant-role-settings")
        done = _run(command)
        assert done.returncode == 0, done.stderr
        assert {r.name: settings_of(r.name) for r in plan.roles} == by_sql
        assert f"lock_timeout={MANIFEST.roles.lock_timeout}" in by_sql[plan.app.name]
    finally:
        conn.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [tenant]).fetchall()
