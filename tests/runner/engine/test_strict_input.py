"""Strict input against a real PostgreSQL: install verifies the manifest against the
catalog before changing anything, a table added to [move] later is moved for tenants
already migrated, and two tenant ids that map to one schema fail as a pair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.engine.plan import plan_database, tenant_results
from runner.errors import ManifestError, PreflightFailed
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = (REPO / "tenancy.toml").read_text()


def _manifest(tmp_path: Path, text: str, name: str = "m.toml") -> Manifest:
    path = tmp_path / name
    path.write_text(text)
    return load_manifest(path)


def test_a_table_added_to_move_later_is_moved_for_migrated_tenants(sample_db: Database, tmp_path: Path) -> None:
    without = _manifest(tmp_path, EXAMPLE.replace('    "brand_fonts",\n', ""), "before.toml")
    full = _manifest(tmp_path, EXAMPLE, "after.toml")
    assert "brand_fonts" not in without.move and "brand_fonts" in full.move
    with sample_db.connect() as conn:
        install(conn, without)
        tenants = executor.registry_tenants(conn, full)
    first = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in first] == ["migrated"] * len(tenants)

    with sample_db.connect() as conn:
        install(conn, full)
        assert migrate.incomplete_tenants(conn) == {t: ["brand_fonts"] for t in tenants}
    second = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in second] == ["migrated"] * len(tenants), [r.error for r in second]
    with sample_db.connect() as conn:
        assert migrate.incomplete_tenants(conn) == {}
    for r in second:
        assert [t.table_name for t in r.tables if t.table_name == "brand_fonts"] == ["brand_fonts"]
    validated = validate.validate_tenants(sample_db.dsn, tenants)
    assert [v.state for v in validated] == ["validated"] * len(tenants), [v.error for v in validated]
    with sample_db.connect() as conn:
        shared = conn.execute("SELECT count(*) FROM public.brand_fonts").fetchone()
        moved = sum(
            conn.execute(f"SELECT count(*) FROM tenant_{t}.brand_fonts").fetchone()[0]  # noqa: S608
            for t in tenants
        )
        assert shared == (moved,) and moved > 0
    # A third run has nothing left to do.
    third = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in third] == ["skipped"] * len(tenants)


def test_a_table_added_to_move_later_is_moved_by_the_batched_path(sample_db: Database, tmp_path: Path) -> None:
    without = _manifest(tmp_path, EXAMPLE.replace('    "brand_fonts",\n', ""), "before.toml")
    full = _manifest(tmp_path, EXAMPLE, "after.toml")
    with sample_db.connect() as conn:
        install(conn, without)
        tenants = executor.registry_tenants(conn, full)
    migrate.migrate_tenants(sample_db.dsn, tenants, batch_size=100)
    path = tmp_path / "after.toml"
    run = subprocess.run(
        [sys.executable, "-m", "runner.cli", "install", "--dsn", sample_db.dsn, "--manifest", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert f"{len(tenants)} migrated tenant(s) do not have brand_fonts yet" in " ".join(run.stdout.split())
    second = migrate.migrate_tenants(sample_db.dsn, tenants, batch_size=100)
    assert [r.state for r in second] == ["migrated"] * len(tenants)
    validated = validate.validate_tenants(sample_db.dsn, tenants)
    assert [v.state for v in validated] == ["validated"] * len(tenants), [v.error for v in validated]


def test_two_tenant_ids_for_one_schema_fail_as_a_pair_and_the_run_goes_on(sample_db: Database, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, EXAMPLE)
    with sample_db.connect() as conn:
        conn.execute("INSERT INTO tenants (id, name, created_at) VALUES ('ab-1', 'A', now()), ('ab_1', 'B', now())")
        # Rows for both, so that either one alone would migrate.
        conn.execute(
            "INSERT INTO brand_fonts (tenant_id, family) SELECT t, 'serif' FROM unnest(ARRAY['ab-1', 'ab_1']) AS t"
        )
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
    planned = plan_database(sample_db.dsn, manifest, tenants, online=False, per_tenant=True)
    plan = {r.tenant_id: r for r in tenant_results(planned)}
    assert plan["ab-1"].state == plan["ab_1"].state == "failed"
    assert any("'ab-1', 'ab_1'" in str(c.get("detail")) for c in plan["ab_1"].checks)

    results = {r.tenant_id: r for r in migrate.migrate_tenants(sample_db.dsn, tenants)}
    for t in ("ab-1", "ab_1"):
        r = results[t]
        assert r.state == "failed" and r.sqlstate == "TY030"
        assert "'ab-1', 'ab_1'" in (r.error or "") and "tenant_ab_1" in (r.error or "")
        assert r.hint and "another id" in r.hint
    others = [t for t in tenants if t not in ("ab-1", "ab_1")]
    assert others and all(results[t].state == "migrated" for t in others)
    with sample_db.connect() as conn:
        assert conn.execute("SELECT to_regnamespace('tenant_ab_1')").fetchone() == (None,)


def test_a_dba_migrating_the_second_id_of_a_shared_schema_is_refused(sample_db: Database, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, EXAMPLE)
    with sample_db.connect() as conn:
        conn.execute("INSERT INTO tenants (id, name, created_at) VALUES ('ab-1', 'A', now()), ('ab_1', 'B', now())")
        install(conn, manifest)
        conn.execute("SELECT * FROM tenancy.provision_tenant('ab-1')").fetchall()
        conn.execute("SELECT * FROM tenancy.migrate_tenant('ab-1')").fetchall()
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT * FROM tenancy.migrate_tenant('ab_1')").fetchall()
        assert e.value.sqlstate == "TY030"
        assert "'ab-1' and 'ab_1'" in (e.value.diag.message_detail or "")
        # Recording the failure does not crash, and leaves the first tenant's row alone.
        conn.execute("SELECT tenancy.record_failure('ab_1', 'refused')")
        assert conn.execute(
            "SELECT tenant_id, state FROM tenancy.tenants WHERE schema_name = 'tenant_ab_1'"
        ).fetchall() == [("ab-1", "migrated")]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('table = "tenants"', 'table = "tenant"'),
            '[registry] table "public.tenant" does not exist (did you mean tenants?)',
        ),
        (('id_column = "id"', 'id_column = "uid"'), '[registry] id_column: table "public.tenants" has no column uid'),
        (('name_column = "name"', 'name_column = "nmae"'), "has no column nmae (did you mean name?)"),
        (('tenant_key = "tenant_id"', 'tenant_key = "org_id"'), "[tenancy] tenant_key: table"),
        (('"domains",', '"domain",'), '[central] table "public.domain" does not exist (did you mean domains?)'),
        (('"employers"', '"employer"'), '[hybrid] table "public.employer" does not exist'),
        (('jobs = "is_public"', 'jobs = "public"'), '[hybrid.public_column]: table "public.jobs" has no column public'),
    ],
)
def test_install_checks_the_manifest_against_the_database_before_any_change(
    sample_db: Database, tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    assert edit[0] in EXAMPLE
    manifest = _manifest(tmp_path, EXAMPLE.replace(edit[0], edit[1], 1))
    with sample_db.connect() as conn:
        before = snapshot(conn)
        with pytest.raises(ManifestError) as e:
            install(conn, manifest)
        assert message in str(e.value)
        assert e.value.hint and "tenancy install" in e.value.hint
        assert snapshot(conn) == before


def test_a_tenant_key_missing_from_a_hybrid_table_is_named(sample_db: Database, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, EXAMPLE)
    with sample_db.connect() as conn:
        conn.execute("ALTER TABLE leads RENAME COLUMN tenant_id TO tenant")
        before = snapshot(conn)
        with pytest.raises(
            ManifestError, match=r'table "public\.leads" has no column tenant_id \(did you mean tenant\?\)'
        ):
            install(conn, manifest)
        assert snapshot(conn) == before


def test_cli_install_prints_failed_and_the_hint(sample_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(EXAMPLE.replace('id_column = "id"', 'id_column = "ident"'))
    run = subprocess.run(
        [sys.executable, "-m", "runner.cli", "install", "--dsn", sample_db.dsn, "--manifest", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 2, run.stderr
    assert "FAILED:" in run.stderr and "has no column ident" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_table_added_later_that_moved_tables_reference_asks_for_a_second_migration(
    sample_db: Database, tmp_path: Path
) -> None:
    """landing_pages and template_variants reference templates by id alone: moved first,
    their tenant tables point at the shared templates; moving templates later is refused
    until those tenants are rolled back and migrated again, as the hint says."""
    # Before, templates stays central: the moved tables that reference it keep keys to it.
    without = _manifest(
        tmp_path,
        EXAMPLE.replace('    "templates",\n', "").replace('tables = ["tenants",', 'tables = ["templates", "tenants",'),
        "before.toml",
    )
    full = _manifest(tmp_path, EXAMPLE, "after.toml")
    with sample_db.connect() as conn:
        install(conn, without)
        tenants = executor.registry_tenants(conn, full)
    migrate.migrate_tenants(sample_db.dsn, tenants)
    with sample_db.connect() as conn:
        install(conn, full)
    with pytest.raises(PreflightFailed) as e:
        migrate.migrate_tenants(sample_db.dsn, tenants)
    assert "references public.templates" in (e.value.detail or "")
    assert "tenancy rollback --tenant" in e.value.hint and "migrate it again" in e.value.hint
    for t in tenants:
        migrate.rollback_tenants(sample_db.dsn, [t])[0]
    again = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in again] == ["migrated"] * len(tenants), [r.error for r in again]
    validated = validate.validate_tenants(sample_db.dsn, tenants)
    assert [v.state for v in validated] == ["validated"] * len(tenants), [v.error for v in validated]
