"""`tenancy uninstall`: removes schemas tenancy and tenancy_federation and the shared
roles; refuses while anything depends on them; --force never drops tenant data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.cli import main
from runner.engine import migrate
from runner.engine.install import install
from runner.engine.uninstall import shared_roles, uninstall
from runner.errors import UninstallRefused
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[3]
# Role names of their own: roles are cluster-wide and other tests share the cluster.
ROLES = """
[roles]
owner = "{schema}_uo"
app = "{schema}_ua"
readonly = "{schema}_ur"
migrator = "un_migrator"
app_group = "un_app"
readonly_group = "un_readonly"
"""


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    path = tmp_path / "tenancy.toml"
    path.write_text((REPO / "tenancy.toml").read_text() + ROLES)
    return path


@pytest.fixture
def manifest(manifest_path: Path) -> Manifest:
    return load_manifest(manifest_path)


def _lasting(schemas: object) -> list[str]:
    assert isinstance(schemas, list)
    return [s[0] for s in schemas if "_temp_" not in s[0]]


def _roles(conn: psycopg.Connection, like: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY 1", (like,))]


@pytest.fixture
def migrated(sample_db: Database, manifest: Manifest) -> Iterator[tuple[Database, list[str]]]:
    """tenancy installed, two tenants migrated (their roles dropped after the test)."""
    with sample_db.connect() as conn:
        install(conn, manifest)
        tenants = [r[0] for r in conn.execute("SELECT id::text FROM public.tenants ORDER BY id LIMIT 2")]
    results = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert all(r.ok for r in results), [r.error for r in results]
    yield sample_db, tenants
    with sample_db.connect() as conn:
        for role in _roles(conn, "%\\_u_") + _roles(conn, "un\\_%"):
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_uninstall_of_a_bare_install_removes_schemas_and_roles(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        before = snapshot(conn)
        install(conn, manifest)
        conn.execute("SELECT * FROM tenancy.provision_shared_privileges()").fetchall()
        assert _roles(conn, "un\\_%") == ["un_app", "un_migrator", "un_readonly"]
        result = uninstall(conn, manifest, force=False)
        assert result.schemas == ("tenancy", "tenancy_federation")
        assert {"un_app", "un_migrator", "un_readonly"} <= set(result.roles)
        assert "tenancy_federation" in result.roles + result.kept_roles
        assert _roles(conn, "un\\_%") == []
        after = snapshot(conn)
        # The shared tables and their rows are as they were before install.
        assert after["rows"] == before["rows"]
        # PostgreSQL's temporary schemas (install uses a session-local helper) are not ours.
        assert _lasting(after["schemas"]) == _lasting(before["schemas"])
        # Nothing left to remove: a second run says so and succeeds.
        again = uninstall(conn, manifest, force=False)
        assert again.schemas == () and not set(again.roles) & {"un_app", "un_migrator", "un_readonly"}


def test_uninstall_refuses_while_tenants_depend_and_changes_nothing(
    migrated: tuple[Database, list[str]], manifest: Manifest
) -> None:
    db, tenants = migrated
    with db.connect() as conn:
        before = snapshot(conn)
        with pytest.raises(UninstallRefused) as err:
            uninstall(conn, manifest, force=False)
        assert "depend on tenancy" in str(err.value) and "nothing was removed" in str(err.value)
        detail = err.value.detail or ""
        for t in tenants:
            assert f"tenant schema: tenant_{t}" in detail
            assert f"member: tenant_{t}_ua (member of un_app)" in detail
        assert "--force" in err.value.hint
        assert snapshot(conn) == before


def test_uninstall_force_drops_dependents_but_keeps_tenant_data(
    migrated: tuple[Database, list[str]], manifest: Manifest
) -> None:
    db, tenants = migrated
    with db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION tenancy.note_change() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"
        )
        conn.execute(
            "CREATE TRIGGER note AFTER INSERT ON public.brand_colors "
            "FOR EACH ROW EXECUTE FUNCTION tenancy.note_change()"
        )
        with pytest.raises(UninstallRefused) as err:
            uninstall(conn, manifest, force=False)
        assert "dependent: trigger note on table public.brand_colors" in (err.value.detail or "")

        tenant_rows = {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}.brand_colors").format(sql.Identifier(f"tenant_{t}"))
            ).fetchone()
            for t in tenants
        }
        shared_rows = conn.execute("SELECT count(*) FROM public.brand_colors").fetchone()
        result = uninstall(conn, manifest, force=True)

        assert {b.kind for b in result.forced} == {"tenant schema", "member", "dependent"}
        assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'note'").fetchone() == (0,)
        assert _roles(conn, "un\\_%") == []
        for t in tenants:
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.brand_colors").format(sql.Identifier(f"tenant_{t}"))
            ).fetchone()
            assert count == tenant_rows[t] and count != (0,)
            assert _roles(conn, f"tenant\\_{t}\\_u_") == [f"tenant_{t}_ua", f"tenant_{t}_uo", f"tenant_{t}_ur"]
        assert conn.execute("SELECT count(*) FROM public.brand_colors").fetchone() == shared_rows


def test_uninstall_never_drops_what_a_shared_role_owns(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        install(conn, manifest)
        conn.execute("SELECT * FROM tenancy.provision_shared_privileges()").fetchall()
        conn.execute("CREATE TABLE public.keep_me (id int)")
        conn.execute("ALTER TABLE public.keep_me OWNER TO un_migrator")
        try:
            with pytest.raises(UninstallRefused) as err:
                uninstall(conn, manifest, force=True)
            assert "owned: table public.keep_me (owned by un_migrator)" in (err.value.detail or "")
            assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() != (None,)
        finally:
            conn.execute("DROP TABLE public.keep_me")
            uninstall(conn, manifest, force=False)


def test_cli_uninstall_fails_with_a_hint(
    migrated: tuple[Database, list[str]], manifest_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = migrated
    assert main(["uninstall", "--dsn", db.dsn, "--manifest", str(manifest_path)]) == 2
    err = capsys.readouterr().err
    assert "FAILED:" in err and "hint:" in err and "--force" in err
    assert main(["uninstall", "--force", "--yes", "--dsn", db.dsn, "--manifest", str(manifest_path)]) == 0
    out = capsys.readouterr().out
    assert "uninstalled: schemas tenancy, tenancy_federation; roles " in out


def test_shared_roles_come_from_the_manifest(manifest: Manifest) -> None:
    assert shared_roles(manifest) == (
        "un_migrator",
        "tenancy_engine",
        "un_app",
        "un_readonly",
        "tenancy_federation_owner",
        "tenancy_federation",
        "tenancy_capture",
    )
