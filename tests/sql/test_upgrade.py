"""`tenancy install` over an older install upgrades it in place.

The previous release (0.1.0: the commit tagged v0.1.0) is installed exactly as it was released:
its own runner and SQL, taken from git history, run in a subprocess. It
migrates some tenants and leaves one half done; the current code then
upgrades, finishes the rest, and validates every tenant.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner import __version__
from runner.db import typed_errors
from runner.engine import executor, migrate
from runner.engine.install import describe_install, install
from runner.engine.validate import validate_tenants
from runner.errors import UpgradeConflict
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
# The commit of release 0.1.0 (tag v0.1.0): named by hash, so a clone without tags has it too.
PREVIOUS_RELEASE = "589063d6f01c2dd42b5f58078cefa0386721ba65"


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The released 0.1.0 tree (runner/, sql/, tenancy.toml), from git history."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", PREVIOUS_RELEASE, "runner", "sql", "tenancy.toml"],
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.fail(
            f"the upgrade test needs git history with commit {PREVIOUS_RELEASE} (release 0.1.0; a full clone): "
            f"git archive said: {out.stderr.decode().strip()}",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("release")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(root, filter="data")
    assert (root / "runner" / "install.py").is_file(), "0.1.0 had runner/install.py"
    return root


def old_tenancy(release: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(release)
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args, "--dsn", dsn, "--manifest", str(release / "tenancy.toml")],
        capture_output=True,
        text=True,
        cwd=release,
        env=env,
        check=False,
    )


@pytest.fixture
def old_install(sample_db: Database, previous_release: Path, manifest: Manifest) -> Iterator[Database]:
    """The sample with 0.1.0 installed; first two tenants migrated, the third begun."""
    out = old_tenancy(previous_release, sample_db.dsn, "install")
    assert out.returncode == 0, out.stderr
    assert "tenancy 0.1.0 installed" in out.stdout
    with sample_db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
    out = old_tenancy(previous_release, sample_db.dsn, "migrate", "--tenant", tenants[0], "--tenant", tenants[1])
    assert out.returncode == 0, out.stdout + out.stderr
    # A batched run that stopped in the middle of its first table: tenant tables
    # created, one keyset batch committed (what 0.1.0's migrate_tenant_batched does).
    with sample_db.connect() as conn:
        with conn.transaction():
            conn.execute("SELECT tenancy.lock_tenant(%s)", (tenants[2],))
            conn.execute("SELECT tenancy.begin_tenant_migration(%s)", (tenants[2],))
        with conn.transaction():
            conn.execute("SELECT tenancy.lock_tenant(%s)", (tenants[2],))
            first = conn.execute("SELECT table_name FROM tenancy.moved_tables ORDER BY position LIMIT 1").fetchone()
            assert first is not None
            conn.execute("SELECT tenancy.copy_tenant_table(%s, %s, 5)", (tenants[2], first[0]))
    yield sample_db


def test_upgrade_from_0_1_0_keeps_the_ledger_and_finishes_the_migration(
    old_install: Database, manifest: Manifest
) -> None:
    with old_install.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        ledger_before = conn.execute(
            "SELECT tenant_id, table_name, state, rows_copied FROM tenancy.ledger ORDER BY 1, 2"
        ).fetchall()
        states = dict(conn.execute("SELECT tenant_id, state FROM tenancy.tenants").fetchall())
        assert states == {tenants[0]: "migrated", tenants[1]: "migrated", tenants[2]: "migrating"}
        assert conn.execute(
            "SELECT state, rows_copied, last_key IS NOT NULL FROM tenancy.ledger "
            "WHERE tenant_id = %s AND state <> 'created'",
            (tenants[2],),
        ).fetchall() == [("copying", 5, True)]

        subqueries = (
            "SELECT count(*) FROM pg_policy WHERE polname LIKE 'tenancy%%'"
            " AND (polqual::text LIKE '%%{SUBLINK %%' OR polwithcheck::text LIKE '%%{SUBLINK %%')"
        )
        assert conn.execute(subqueries).fetchone() == (12,)

        result = install(conn, manifest)

        assert result.changed and result.previous_version == "0.1.0" and result.version == __version__
        # 0.1.0's hybrid policies compared through a subquery: replaced by this version's.
        assert conn.execute(subqueries).fetchone() == (0,)
        assert conn.execute("SELECT bool_and(current) FROM tenancy.hybrid_policies()").fetchone() == (True,)
        assert "  row-level security: public.jobs tenancy_tenant_select: replaced" in describe_install(result)
        visible = conn.execute(
            "SELECT count(*) FILTER (WHERE tenant_id = %s OR is_public), count(*) FROM public.jobs", (tenants[0],)
        ).fetchone()
        assert visible is not None and 0 < visible[0] < visible[1]
        with psycopg.connect(f"{old_install.dsn} user={manifest.schema_for(tenants[0])}_app") as tenant:
            assert tenant.execute("SELECT count(*) FROM public.jobs").fetchone() == visible[:1]
        assert "ledger/0002_upgrades.sql" in result.ledger_files
        assert "tenancy.record_install(text,text,text,text[],jsonb)" in result.routines.added
        assert result.routines.unchanged > 20
        lines = describe_install(result)
        assert lines[0].startswith(f"tenancy upgraded 0.1.0 -> {__version__}: 12 moved tables")
        assert "  added tenancy.record_install(text,text,text,text[],jsonb)" in lines
        assert (
            conn.execute(
                "SELECT tenant_id, table_name, state, rows_copied FROM tenancy.ledger ORDER BY 1, 2"
            ).fetchall()
            == ledger_before
        )
        assert conn.execute(
            "SELECT version, previous_version FROM tenancy.installed ORDER BY installed_at DESC LIMIT 1"
        ).fetchone() == (__version__, "0.1.0")
        assert conn.execute("SELECT count(*) FROM tenancy.installed").fetchone() == (2,)
        # 0002 altered the 0.1.0 tables in place.
        assert conn.execute(
            "SELECT array_agg(column_name::text ORDER BY column_name) FROM information_schema.columns "
            "WHERE table_schema = 'tenancy' AND table_name = 'settings' AND column_name LIKE 'schema_%%'"
        ).fetchone() == (None,)

    results = migrate.migrate_tenants(old_install.dsn, tenants[2:])
    assert [(r.tenant_id, r.state) for r in results] == [(t, "migrated") for t in tenants[2:]], [
        r.error for r in results
    ]
    validated = validate_tenants(old_install.dsn, tenants, 1)
    assert [(v.tenant_id, v.state) for v in validated] == [(t, "validated") for t in tenants], [
        v.error for v in validated
    ]


def test_reinstall_after_upgrade_is_a_no_op(old_install: Database, manifest: Manifest) -> None:
    with old_install.connect() as conn:
        install(conn, manifest)
        before = snapshot(conn)
        again = install(conn, manifest)
        assert not again.changed
        assert describe_install(again)[0].startswith(f"tenancy {__version__} already installed (no change)")
        assert snapshot(conn) == before


def test_installing_the_previous_checksum_again_is_not_mistaken_for_the_current(
    sample_db: Database, manifest: Manifest, tmp_path: Path
) -> None:
    """A then B then A: the third install must apply A again, not say "already installed"."""
    other = tmp_path / "other.toml"
    other.write_text((REPO / "tenancy.toml").read_text().replace('"analytics_events",', ""))
    with sample_db.connect() as conn:
        first = install(conn, manifest)
        install(conn, load_manifest(other))
        assert conn.execute("SELECT count(*) FROM tenancy.moved_tables").fetchone() == (11,)
        third = install(conn, manifest)
        assert third.changed and third.checksum == first.checksum
        assert conn.execute("SELECT count(*) FROM tenancy.moved_tables").fetchone() == (12,)


def test_a_changed_return_type_is_replaced(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        conn.execute("CREATE SCHEMA tenancy")
        conn.execute(
            "CREATE FUNCTION tenancy.tenant_schema(p_tenant_id text) RETURNS integer LANGUAGE sql AS 'SELECT 1'"
        )
        conn.execute("CREATE FUNCTION tenancy.gone(p integer) RETURNS integer LANGUAGE sql AS 'SELECT p'")
        result = install(conn, manifest)
        assert "tenancy.gone(integer)" in result.routines.dropped
        assert "tenancy.tenant_schema(text)" in result.routines.replaced
        assert conn.execute("SELECT tenancy.tenant_schema('ab-1')").fetchone() == ("tenant_ab_1",)
        assert conn.execute("SELECT to_regprocedure('tenancy.gone(integer)')").fetchone() == (None,)


def test_a_routine_used_elsewhere_is_replaced_in_place(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        install(conn, manifest)
        conn.execute("CREATE VIEW public.schemas AS SELECT tenancy.tenant_schema('x1') AS s")
        oid = conn.execute("SELECT 'tenancy.tenant_schema(text)'::regprocedure::oid").fetchone()
        conn.execute("DELETE FROM tenancy.installed")  # force a full install
        install(conn, manifest)
        assert conn.execute("SELECT 'tenancy.tenant_schema(text)'::regprocedure::oid").fetchone() == oid
        assert conn.execute("SELECT s FROM public.schemas").fetchone() == ("tenant_x1",)


def test_a_routine_the_new_version_drops_but_a_trigger_uses_is_refused(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        install(conn, manifest)
        conn.execute(
            "CREATE FUNCTION tenancy.capture_change() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'"
        )
        conn.execute(
            "CREATE TRIGGER capture AFTER INSERT ON public.brand_colors "
            "FOR EACH ROW EXECUTE FUNCTION tenancy.capture_change()"
        )
        conn.execute("DELETE FROM tenancy.installed")
        before = snapshot(conn)
        with pytest.raises(UpgradeConflict) as err, typed_errors():
            install(conn, manifest)
        assert "no longer defines 1 routine" in str(err.value)
        assert err.value.detail and "tenancy.capture_change() (used by trigger capture on table brand_colors)" in (
            err.value.detail
        )
        assert snapshot(conn) == before
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'capture'").fetchone() == (1,)


def test_install_refuses_to_run_inside_a_transaction(sample_db: Database, manifest: Manifest) -> None:
    with psycopg.connect(sample_db.dsn) as conn, pytest.raises(RuntimeError, match="outside any transaction"):
        conn.execute("SELECT 1")
        install(conn, manifest)
