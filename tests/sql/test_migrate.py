"""The migration engine against a real PostgreSQL: install, migrate, validate, dry run,
preflight, hostile input, locks, resume after a killed runner, rollback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from runner.db import typed_errors
from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.engine.plan import plan_database, tenant_results
from runner.errors import InvalidTenantId, ManifestError, PreflightFailed, TenantBusy, UnknownTenant
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database, registry_ids
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]


def test_install_is_idempotent_and_records_version(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        first = install(conn, manifest)
        before = snapshot(conn)
        second = install(conn, manifest)
        assert first.changed and not second.changed
        assert second.checksum == first.checksum
        assert snapshot(conn) == before
        assert conn.execute("SELECT count(*) FROM tenancy.installed").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM tenancy.moved_tables").fetchone() == (12,)


def test_migrate_every_tenant_then_validate(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    results = migrate.migrate_tenants(db.dsn, tenants, jobs=2)
    assert [r.state for r in results] == ["migrated"] * len(tenants)
    validated = validate.validate_tenants(db.dsn, tenants)
    assert all(v.state == "validated" for v in validated), [v.error for v in validated]
    checks = {c["check_name"] for c in validated[0].checks}
    assert {"row count", "checksum", "no tenant key column", "foreign keys in place", "ledger done"} <= checks
    assert any(c.startswith("sequence of id") for c in checks)
    with db.connect() as conn:
        shared = conn.execute("SELECT count(*) FROM public.analytics_events").fetchone()
        moved = sum(
            conn.execute(f"SELECT count(*) FROM tenant_{t}.analytics_events").fetchone()[0]  # noqa: S608
            for t in tenants
        )
        assert shared == (moved,)
        # The tenant key is gone, and the tenant table takes new rows with fresh ids.
        t = tenants[0]
        cols = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (f"tenant_{t}", "component_themes"),
        ).fetchall()
        assert ("tenant_id",) not in cols and ("slug",) in cols
        conn.execute(
            f"INSERT INTO tenant_{t}.component_themes (name, slug, config) VALUES ('New', 'new-one', '{{}}')"  # noqa: S608
        )
        # Unique (tenant_id, slug) became unique (slug) within the tenant.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                f"INSERT INTO tenant_{t}.component_themes (name, slug, config) VALUES ('Dup', 'new-one', '{{}}')"  # noqa: S608
            )
        # FKs between moved tables are tenant-local.
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                f"INSERT INTO tenant_{t}.template_variants (template_id, name) VALUES (-1, 'orphan')"  # noqa: S608
            )
    # A second run skips every tenant.
    again = migrate.migrate_tenants(db.dsn, tenants)
    assert {r.state for r in again} == {"skipped"}


def test_validate_reports_each_mismatch_as_a_row(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[1]
    migrate.migrate_tenants(db.dsn, [t])
    with db.connect() as conn:
        conn.execute(
            f"DELETE FROM tenant_{t}.analytics_events WHERE id = (SELECT min(id) FROM tenant_{t}.analytics_events)"  # noqa: S608
        )
        conn.execute(
            f"UPDATE tenant_{t}.brand_colors SET name = name || 'x' WHERE id = (SELECT min(id) FROM tenant_{t}.brand_colors)"  # noqa: S608
        )
        conn.execute(f"SELECT setval(pg_get_serial_sequence('tenant_{t}.templates', 'id'), 1)")
    (result,) = validate.validate_tenants(db.dsn, [t])
    failed = {(c["table_name"], c["check_name"]) for c in result.checks if not c["passed"]}
    assert failed == {
        ("analytics_events", "row count"),
        ("analytics_events", "checksum"),
        ("brand_colors", "checksum"),
        ("templates", "sequence of id ahead"),
    }
    assert result.state == "invalid"


def test_dry_run_changes_nothing(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    with db.connect() as conn:
        before = snapshot(conn)
    plans = tenant_results(plan_database(db.dsn, manifest, tenants, online=False, per_tenant=True))
    with db.connect() as conn:
        after = snapshot(conn)
    assert after == before
    assert all(p.state == "planned" for p in plans)
    first = plans[0]
    assert first.rows > 0 and len(first.tables) == 12
    ddl = [c["ddl"] for c in first.checks if "ddl" in c]
    assert any(f"CREATE TABLE tenant_{first.tenant_id}.component_themes" in d for d in ddl)


def test_cli_dry_run_prints_ddl_and_changes_nothing(db: Database) -> None:
    with db.connect() as conn:
        before = snapshot(conn)
    out = subprocess.run(
        [sys.executable, "-m", "runner.cli", "migrate", "--dry-run", "--dsn", db.dsn],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "CREATE TABLE" in out.stdout and "rows to move" in out.stdout
    with db.connect() as conn:
        assert snapshot(conn) == before


@pytest.mark.parametrize("tenant_id", ["", "a'b", "x; DROP TABLE tenants", "with space", "UPPER", "y" * 64, 'a"b'])
def test_hostile_tenant_ids_are_refused_and_change_nothing(db: Database, manifest: Manifest, tenant_id: str) -> None:
    with db.connect() as conn:
        before = snapshot(conn)
        # Straight to SQL, as a DBA would.
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (tenant_id,))
        assert e.value.sqlstate == "TY001"
        assert e.value.diag.message_hint
        # Through the runner.
        with pytest.raises(ManifestError):
            executor.select_tenants(conn, manifest, [tenant_id])
        assert snapshot(conn) == before


def test_unknown_tenant_is_refused_with_hint(db: Database, manifest: Manifest) -> None:
    with db.connect() as conn, pytest.raises(UnknownTenant) as e:
        executor.select_tenants(conn, manifest, ["nosuch1"])
    assert "nosuch1" in str(e.value) and e.value.hint


def test_preflight_refuses_rows_the_tenant_table_would_reject(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        bad, other = tenants[0], tenants[1]
        # A landing page pointing at another tenant's template.
        conn.execute(
            "UPDATE landing_pages SET template_id = (SELECT min(id) FROM templates WHERE tenant_id = %s) "
            "WHERE id = (SELECT min(id) FROM landing_pages WHERE tenant_id = %s)",
            (other, bad),
        )
        install(conn, manifest)
        before = snapshot(conn)
    results = migrate.migrate_tenants(sample_db.dsn, [bad, other])
    assert results[0].state == "failed" and results[0].sqlstate == "TY003"
    assert "landing_pages" in (results[0].detail or "") and "1 rows" in (results[0].detail or "")
    assert results[0].hint
    assert results[1].state == "migrated"  # the others go on
    with sample_db.connect() as conn:
        assert conn.execute("SELECT to_regclass(%s)", (f"tenant_{bad}.landing_pages",)).fetchone() == (None,)
        state = conn.execute("SELECT state, last_error FROM tenancy.tenants WHERE tenant_id = %s", (bad,)).fetchone()
        assert state is not None and state[0] == "failed" and "preflight" in state[1]
        # Central tables untouched.
        assert snapshot(conn)["rows"]["public.landing_pages"] == before["rows"]["public.landing_pages"]


def test_preflight_finds_duplicates_of_a_manifest_unique_key(sample_db: Database, tmp_path: Path) -> None:
    text = (
        (REPO / "tenancy.toml")
        .read_text()
        .replace("[central]", '[move.unique]\nbrand_colors = [["name"]]\n\n[central]')
    )
    (tmp_path / "m.toml").write_text(text)
    manifest = load_manifest(tmp_path / "m.toml")
    with sample_db.connect() as conn:
        t = executor.registry_tenants(conn, manifest)[0]
        conn.execute(
            "UPDATE brand_colors SET name = 'same' WHERE id IN "
            "(SELECT id FROM brand_colors WHERE tenant_id = %s ORDER BY id LIMIT 2)",
            (t,),
        )
        install(conn, manifest)
        problems = conn.execute("SELECT check_name, problem_rows FROM tenancy.preflight_tenant(%s)", (t,)).fetchall()
    assert problems == [("unique brand_colors_tenant_unique_1", 2)]
    (result,) = migrate.migrate_tenants(sample_db.dsn, [t])
    assert result.state == "failed" and "2 rows" in (result.detail or "")


def test_rows_without_a_registered_tenant_stop_the_run(db: Database, manifest: Manifest) -> None:
    with db.connect() as conn:
        conn.execute("ALTER TABLE brand_colors DROP CONSTRAINT brand_colors_tenant_id_fkey")
        conn.execute("INSERT INTO brand_colors (tenant_id, name, hex) VALUES ('ghost1', 'x', '#000000')")
        before = snapshot(conn)
    with pytest.raises(PreflightFailed) as e:
        migrate.migrate_tenants(db.dsn, registry_ids(db, manifest))
    assert "tenant not in registry, 1 rows" in (e.value.detail or "")
    with db.connect() as conn:
        assert snapshot(conn) == before


def test_a_second_session_on_the_same_tenant_is_refused(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as holder, db.connect() as other:
        holder.execute("SELECT pg_advisory_lock(tenancy.lock_key(%s))", (t,))
        with pytest.raises(psycopg.Error) as e:
            other.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (t,))
        assert e.value.sqlstate == "TY004"
        assert f"pid {holder.info.backend_pid}" in str(e.value)
        (result,) = migrate.migrate_tenants(db.dsn, [t])
        assert result.state == "failed" and result.sqlstate == "TY004"
        assert other.execute("SELECT count(*) FROM tenancy.ledger WHERE tenant_id = %s", (t,)).fetchone() == (0,)
    # The step functions refuse to run without the lock.
    with db.connect() as conn, pytest.raises(psycopg.Error) as e2:
        conn.execute("SELECT tenancy.begin_tenant_migration(%s)", (t,))
    assert e2.value.sqlstate == "TY004"


def test_batched_migration_equals_single_statement(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    migrate.migrate_tenants(db.dsn, tenants[:2], batch_size=7)
    migrate.migrate_tenants(db.dsn, tenants[2:])
    with db.connect() as conn:
        batches = conn.execute("SELECT max(batches) FROM tenancy.ledger WHERE tenant_id = %s", (tenants[0],)).fetchone()
        assert batches is not None and batches[0] > 10
    assert all(v.ok for v in validate.validate_tenants(db.dsn, tenants))


def _ledger_rows(db: Database, tenant: str) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT coalesce(sum(rows_copied), 0) FROM tenancy.ledger WHERE tenant_id = %s", (tenant,)
        ).fetchone()
        return int(row[0]) if row else 0


def test_runner_killed_mid_tenant_resumes_to_the_same_rows(db: Database, manifest: Manifest) -> None:
    tenant = registry_ids(db, manifest)[0]  # the largest tenant
    env = dict(os.environ, DATABASE_URL=db.dsn)
    # Small batches, and a pause per batch so the kill lands mid-copy.
    with db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION public.slow_batch() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END$$"
        )
        conn.execute(
            "CREATE TRIGGER slow AFTER UPDATE ON tenancy.ledger FOR EACH STATEMENT EXECUTE FUNCTION public.slow_batch()"
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.cli", "migrate", "--tenant", tenant, "--batch-size", "5"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _ledger_rows(db, tenant) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    copied_when_killed = _ledger_rows(db, tenant)
    # The server notices the dead client and stops; wait for its session to end.
    with db.connect() as conn:
        for _ in range(100):
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenancy' AND pid <> pg_backend_pid()"
            ).fetchone()
            if busy == (0,):
                break
            time.sleep(0.1)
        state = conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (tenant,)).fetchone()
        conn.execute("DROP TRIGGER slow ON tenancy.ledger")
    assert copied_when_killed >= 50
    assert state == ("migrating",), "the kill must land mid-tenant"
    (result,) = migrate.migrate_tenants(db.dsn, [tenant], batch_size=5)
    assert result.state == "migrated"
    (check,) = validate.validate_tenants(db.dsn, [tenant])
    assert check.state == "validated", check.error
    with db.connect() as conn:
        rows = conn.execute(f"SELECT count(*) FROM tenant_{tenant}.analytics_events").fetchone()  # noqa: S608
        source = conn.execute("SELECT count(*) FROM analytics_events WHERE tenant_id = %s", (tenant,)).fetchone()
    assert rows == source


def test_rollback_drops_new_tables_only(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        before = snapshot(conn)
    migrate.migrate_tenants(db.dsn, [t])
    result = migrate.rollback_tenants(db.dsn, [t])[0]
    assert [x.state for x in result.tables] == ["dropped"] * 12
    with db.connect() as conn:
        after = snapshot(conn)
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (f"tenant_{t}",)
        ).fetchall()
    # The tables that existed before the migration stay; shared tables are untouched.
    assert tables == [("courses",), ("graduates",)]
    assert {k: v for k, v in after["rows"].items() if k.startswith("public.")} == {
        k: v for k, v in before["rows"].items() if k.startswith("public.")
    }
    # And the tenant migrates again from scratch.
    (again,) = migrate.migrate_tenants(db.dsn, [t])
    assert again.state == "migrated"


def test_existing_table_in_tenant_schema_is_never_overwritten(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        conn.execute(f"CREATE TABLE tenant_{t}.brand_fonts (id int)")
    (result,) = migrate.migrate_tenants(db.dsn, [t])
    assert result.sqlstate == "TY007" and "brand_fonts" in (result.detail or "")
    migrate.rollback_tenants(db.dsn, [t])
    with db.connect() as conn:
        assert conn.execute(f"SELECT to_regclass('tenant_{t}.brand_fonts')").fetchone() != (None,)


def test_sql_errors_map_to_typed_exceptions(db: Database) -> None:
    with db.connect() as conn, pytest.raises(InvalidTenantId) as e, typed_errors():
        conn.execute("SELECT tenancy.require_tenant('Bad Id')")
    assert e.value.sqlstate == "TY001" and "Bad Id" in str(e.value) and e.value.hint
    with db.connect() as conn, pytest.raises(TenantBusy), typed_errors():
        conn.execute(
            "SELECT tenancy.assert_tenant_locked(%s)", (registry_ids(db, load_manifest(REPO / "tenancy.toml"))[0],)
        )


def test_a_shared_row_changed_after_the_copy_is_reported(db: Database, manifest: Manifest) -> None:
    """Validation reads both sides: a later change to a shared row is a checksum mismatch."""
    tenants = registry_ids(db, manifest)
    migrate.migrate_tenants(db.dsn, tenants)
    with db.connect() as conn:
        conn.execute(
            "UPDATE brand_colors SET name = name || ' (changed after the copy)' "
            "WHERE id = (SELECT min(id) FROM brand_colors WHERE tenant_id = %s)",
            (tenants[0],),
        )
        # One tenant at a time (the DBA's call) and many at once (one pass per shared table) agree.
        single = conn.execute(
            "SELECT table_name, check_name, expected, actual, passed FROM tenancy.validate_tenant(%s) ORDER BY 1, 2",
            (tenants[0],),
        ).fetchall()
        bulk = conn.execute(
            "SELECT table_name, check_name, expected, actual, passed FROM tenancy.validate_tenants(%s) "
            "WHERE tenant_id = %s ORDER BY 1, 2",
            (tenants, tenants[0]),
        ).fetchall()
    assert single == bulk
    results = validate.validate_tenants(db.dsn, tenants, jobs=2)
    failed = [(r.tenant_id, c["table_name"], c["check_name"]) for r in results for c in r.checks if not c["passed"]]
    assert failed == [(tenants[0], "brand_colors", "checksum")]
    assert [r.state for r in results[1:]] == ["validated"] * (len(tenants) - 1)


def test_rows_added_to_the_source_during_a_batched_copy_stop_the_tenant(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        # After the first committed batch of brand_colors, a write sneaks into the shared table
        # (as the application: the function runs as its owner, whoever updates the ledger).
        conn.execute(
            "CREATE FUNCTION public.sneak() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$BEGIN "
            "IF NEW.table_name = 'brand_colors' AND NEW.batches = 1 THEN "
            "INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (NEW.tenant_id, 'late', '#000000'); "
            "END IF; RETURN NEW; END$$"
        )
        conn.execute("CREATE TRIGGER sneak AFTER UPDATE ON tenancy.ledger FOR EACH ROW EXECUTE FUNCTION public.sneak()")
    (result,) = migrate.migrate_tenants(db.dsn, [t], batch_size=1000)
    assert result.state == "failed" and result.sqlstate == "TY010"
    assert "brand_colors" in result.error and result.hint


def _trigger_on_ledger(db: Database, when: str, action: str) -> None:
    """Run `action` (SQL) inside the migration when a ledger row reaches `when`, as the
    application would (the function runs as its owner, whoever writes the ledger)."""
    with db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$BEGIN "
            f"IF NEW.table_name = 'brand_colors' AND NEW.state = '{when}' THEN {action}; END IF; "
            "RETURN NEW; END$$"
        )
        conn.execute(
            "CREATE TRIGGER meddle AFTER INSERT OR UPDATE ON tenancy.ledger FOR EACH ROW EXECUTE FUNCTION public.meddle()"
        )


def test_dba_migrate_validates_each_copy_and_commits_nothing_on_a_mismatch(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    # A shared row changes right after its table was copied, inside the migration.
    _trigger_on_ledger(
        db,
        "copied",
        "UPDATE public.brand_colors SET name = name || '!' WHERE id = (SELECT min(id) FROM public.brand_colors)",
    )
    with db.connect() as conn:
        before = snapshot(conn)["rows"]
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (t,))
        assert e.value.sqlstate == "TY010"
        assert "brand_colors" in str(e.value) and e.value.diag.message_detail and e.value.diag.message_hint
        assert snapshot(conn)["rows"] == before  # one transaction: nothing was committed


def test_runner_validates_against_the_shared_rows_as_they_are_after_the_copy(db: Database, manifest: Manifest) -> None:
    """A row updated before its table is copied is copied as updated, and the validation agrees;
    one updated after its copy is tests/sql/test_online.py's offline case (TY010)."""
    t = registry_ids(db, manifest)[0]
    _trigger_on_ledger(
        db,
        "created",
        "UPDATE public.brand_colors SET name = name || '!' "
        "WHERE id = (SELECT min(id) FROM public.brand_colors WHERE tenant_id = NEW.tenant_id)",
    )
    (result,) = migrate.migrate_tenants(db.dsn, [t], split=False)
    assert result.state == "migrated", result
    with db.connect() as conn:
        assert conn.execute(f"SELECT count(*) FROM tenant_{t}.brand_colors WHERE name LIKE '%!'").fetchone() == (1,)  # noqa: S608


def test_no_table_is_made_for_a_tenant_without_its_schema(db: Database, manifest: Manifest) -> None:
    """create_tenant_tables (step 1 after the checks) refuses a tenant whose schema is gone
    rather than leaving it without tables to be marked migrated."""
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn, conn.transaction():
        conn.execute(f'DROP SCHEMA "tenant_{t}" CASCADE')
        conn.execute("SELECT tenancy.lock_tenant(%s)", (t,))
        with pytest.raises(psycopg.Error) as e, conn.transaction():
            conn.execute("SELECT tenancy.create_tenant_tables(%s)", ([t],))
        assert e.value.sqlstate == "TY008" and "no schema" in (e.value.diag.message_primary or "")
        assert conn.execute("SELECT count(*) FROM tenancy.ledger").fetchone() == (0,)
