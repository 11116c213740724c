"""Online mode against a real PostgreSQL: capture while copying from one snapshot,
replay, cutover (fence per tenant, writes refused after), rollback at every step,
contract."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from runner.db import typed_errors
from runner.engine import migrate, online, validate
from runner.engine.install import install
from runner.errors import (
    CaptureLost,
    Contracted,
    KeyCollision,
    NeedsSnapshot,
    NotAllCutOver,
    NotCapturable,
    TenantCutOver,
    TenantOnlyWrites,
    TruncateRefused,
    WritersStillOpen,
)
from runner.manifest import Manifest
from tests.conftest import Database, registry_ids

REPO = Path(__file__).resolve().parents[2]
PAUSE_KEY = 4242


def _pause_on_ledger(db: Database, table: str, state: str) -> None:
    """Make the migration wait (on advisory lock PAUSE_KEY) when `table` reaches `state` in the ledger."""
    with db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION public.pause() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
            f"IF NEW.table_name = '{table}' AND NEW.state = '{state}' THEN PERFORM pg_advisory_xact_lock({PAUSE_KEY}); "
            "END IF; RETURN NEW; END$$"
        )
        conn.execute(
            "CREATE TRIGGER pause AFTER INSERT OR UPDATE ON tenancy.ledger FOR EACH ROW EXECUTE FUNCTION public.pause()"
        )


def _while_paused(db: Database, run: Callable[[], Any], meanwhile: Callable[[psycopg.Connection], None]) -> Any:
    """Run `run` in a thread; once it waits on PAUSE_KEY, do `meanwhile` (committed), then let it go on."""
    result: list[Any] = []
    with db.connect() as holder, db.connect() as other:
        holder.execute("SELECT pg_advisory_lock(%s)", (PAUSE_KEY,))
        thread = threading.Thread(target=lambda: result.append(run()))
        thread.start()
        deadline = time.monotonic() + 30
        while not other.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s)",
            (PAUSE_KEY,),
        ).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the migration never reached the pause"
            time.sleep(0.02)
        meanwhile(other)
        holder.execute("SELECT pg_advisory_unlock(%s)", (PAUSE_KEY,))
        thread.join(60)
    return result[0]


def _touch_first_brand_color(tenant: str) -> Callable[[psycopg.Connection], None]:
    def touch(conn: psycopg.Connection) -> None:
        conn.execute(
            "UPDATE public.brand_colors SET name = 'changed after its copy' "
            "WHERE id = (SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s)",
            (tenant,),
        )

    return touch


def _shared_vs_tenant(conn: psycopg.Connection, tenant: str, table: str) -> tuple[list[Any], list[Any]]:
    cols = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (f"tenant_{tenant}", table),
        ).fetchall()
    ]
    collist = ", ".join(cols)
    shared = conn.execute(
        f"SELECT {collist} FROM public.{table} WHERE tenant_id = %s ORDER BY 1",  # noqa: S608
        (tenant,),
    ).fetchall()
    mine = conn.execute(f"SELECT {collist} FROM tenant_{tenant}.{table} ORDER BY 1").fetchall()  # noqa: S608
    return shared, mine


@pytest.mark.parametrize("split", [False, True], ids=["per-tenant", "split-batch"])
def test_offline_runner_catches_a_row_updated_after_its_table_was_copied(
    db: Database, manifest: Manifest, split: bool
) -> None:
    """The runner used to take the shared sums before any copy: this tenant ended `migrated`
    with a stale row, in the per-tenant path and in the batched split copy alike. In a batch
    only the tenant whose row changed fails; the others are migrated."""
    tenants = registry_ids(db, manifest)
    victim = tenants[0]
    # Tables are copied in manifest order (for the whole batch in the split copy):
    # when templates is copied, every brand_colors copy is done.
    _pause_on_ledger(db, "templates", "copied")
    results = _while_paused(
        db,
        lambda: migrate.migrate_tenants(db.dsn, tenants if split else [victim], split=split),
        _touch_first_brand_color(victim),
    )
    by_id = {r.tenant_id: r for r in results}
    assert by_id[victim].state == "failed" and by_id[victim].sqlstate == "TY010", by_id[victim]
    assert "brand_colors" in (by_id[victim].error or "")
    assert [r.state for r in results if r.tenant_id != victim] == ["migrated"] * (len(results) - 1)
    with db.connect() as conn:
        # The victim keeps no copy: nothing unvalidated is ever committed.
        assert conn.execute("SELECT to_regclass(%s)", (f"tenant_{victim}.brand_colors",)).fetchone() == (None,)


def test_online_copy_replays_a_row_updated_after_its_table_was_copied(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    t = tenants[0]
    _pause_on_ledger(db, "brand_colors", "indexed")
    (result,) = _while_paused(db, lambda: online.migrate_online(db.dsn, [t]), _touch_first_brand_color(t))
    assert result.state == "syncing", result
    with db.connect() as conn:
        conn.execute("DROP TRIGGER pause ON tenancy.ledger")
        # Copied from the snapshot, then replayed: the tenant table has the update.
        assert conn.execute(
            f"SELECT count(*) FROM tenant_{t}.brand_colors WHERE name = 'changed after its copy'"  # noqa: S608
        ).fetchone() == (1,)
        for table in ("brand_colors", "templates", "analytics_events"):
            shared, mine = _shared_vs_tenant(conn, t, table)
            assert shared == mine and shared
    (cut,) = online.cutover_tenants(db.dsn, [t])
    assert cut.state == "cut_over", cut
    assert cut.checks[0]["fence_ms"] is not None
    with db.connect() as conn:
        # Its shared rows stay as they were, behind the guard, until contract.
        shared, mine = _shared_vs_tenant(conn, t, "brand_colors")
        assert shared == mine and shared
        assert conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == ("cut_over",)
        # Writes to its shared rows are refused with a hint; other tenants write on.
        with pytest.raises(TenantCutOver) as e, typed_errors():
            conn.execute("INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, 'late', '#000000')", (t,))
        assert "brand_colors" in str(e.value) and "schema" in e.value.hint
        conn.execute(
            "INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, 'other', '#000000')", (tenants[1],)
        )
        # The tenant's schema takes writes, with keys, FKs and sequences in place.
        conn.execute(f"INSERT INTO tenant_{t}.brand_colors (name, hex) VALUES ('new', '#111111')")  # noqa: S608
        fks = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = %s::regnamespace",
            (f"tenant_{t}",),
        ).fetchone()
        assert fks and fks[0] > 0


def test_online_refuses_tables_without_a_primary_key(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        conn.execute("ALTER TABLE public.brand_fonts DROP CONSTRAINT brand_fonts_pkey")
        install(conn, manifest)
    t = registry_ids(sample_db, manifest)[0]
    (result,) = online.migrate_online(sample_db.dsn, [t])
    assert result.state == "failed" and result.sqlstate == "TY051"
    assert "brand_fonts" in (result.error or "") and result.hint
    with sample_db.connect() as conn, pytest.raises(NotCapturable), typed_errors():
        conn.execute("CALL tenancy.start_capture(%s)", (t,))


def test_copy_and_replay_refuse_read_committed(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        conn.execute("CALL tenancy.start_capture(%s)", (t,))
        with pytest.raises(NeedsSnapshot) as e, typed_errors():
            conn.execute("SELECT * FROM tenancy.copy_tenant_snapshot(%s)", (t,))
        assert "REPEATABLE READ" in e.value.hint
        with pytest.raises(NeedsSnapshot), typed_errors():
            conn.execute("SELECT * FROM tenancy.replay_tenant(%s)", (t,))


def test_fence_holds_only_that_tenants_writers(db: Database, manifest: Manifest) -> None:
    a, b = registry_ids(db, manifest)[:2]
    online.migrate_online(db.dsn, [a, b])
    with db.connect() as fence, db.connect() as writer:
        fence.execute("SELECT pg_advisory_lock(tenancy.fence_key(%s))", (a,))
        writer.execute("SET lock_timeout = '300ms'")
        # Tenant b's writer does not wait for tenant a's fence.
        writer.execute("UPDATE public.templates SET name = name || '.' WHERE tenant_id = %s", (b,))
        with pytest.raises(psycopg.errors.LockNotAvailable):
            writer.execute("UPDATE public.templates SET name = name || '.' WHERE tenant_id = %s", (a,))
        fence.execute("SELECT pg_advisory_unlock(tenancy.fence_key(%s))", (a,))
        writer.execute("UPDATE public.templates SET name = name || '.' WHERE tenant_id = %s", (a,))
    # A cutover that cannot get the fence in time fails as a result and leaves the tenant syncing.
    with db.connect() as writer:
        writer.execute("BEGIN")
        writer.execute("UPDATE public.templates SET name = name || '!' WHERE tenant_id = %s", (a,))
        (failed,) = online.cutover_tenants(db.dsn, [a], lock_timeout="200ms")
        writer.execute("COMMIT")
    assert failed.state == "failed" and failed.sqlstate == "55P03", failed
    results = online.cutover_tenants(db.dsn, [a, b])
    assert [r.state for r in results] == ["cut_over", "cut_over"]
    with db.connect() as conn:
        # Every acknowledged write reached the tenant tables; the shared rows, kept behind
        # the guard until contract, are those cutover proved equal.
        for t, last in ((a, ".!"), (b, ".")):
            shared, mine = _shared_vs_tenant(conn, t, "templates")
            assert shared == mine and mine and all(str(r[1]).endswith(last) for r in mine)


def test_rollback_before_cutover_refuses_writes_made_only_in_the_tenant_schema(
    db: Database, manifest: Manifest
) -> None:
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    with db.connect() as conn:
        conn.execute(
            f"UPDATE tenant_{t}.brand_colors SET name = 'written in the schema' WHERE id = (SELECT min(id) FROM tenant_{t}.brand_colors)"  # noqa: S608
        )
    refused = migrate.rollback_tenants(db.dsn, [t])[0]
    assert (refused.state, refused.sqlstate) == ("failed", TenantOnlyWrites.sqlstate)
    assert "brand_colors: 1 rows" in (refused.detail or "")
    with db.connect() as conn:
        assert conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == ("syncing",)
    result = migrate.rollback_tenants(db.dsn, [t], force=True)[0]
    assert result.state == "rolled back" and {x.state for x in result.tables} == {"dropped"}
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM tenancy.online_tenants").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass(%s)", (f"tenant_{t}.brand_colors",)).fetchone() == (None,)


def test_cutover_refuses_a_tenant_table_that_differs_from_its_shared_rows(db: Database, manifest: Manifest) -> None:
    """A write made only in the tenant schema before cutover: the check under the fence
    (tenancy.assert_same_rows) refuses the cutover and nothing changes."""
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    with db.connect() as conn:
        conn.execute(
            f"UPDATE tenant_{t}.brand_colors SET name = 'written in the schema' WHERE id = (SELECT min(id) FROM tenant_{t}.brand_colors)"  # noqa: S608
        )
    (refused,) = online.cutover_tenants(db.dsn, [t])
    assert (refused.state, refused.sqlstate) == ("failed", "TY010"), refused
    assert "brand_colors does not match its shared rows under the fence" in (refused.error or "")
    assert "shared:" in (refused.detail or "") and refused.hint
    with db.connect() as conn:
        assert conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == ("syncing",)


def test_rollback_after_cutover_copies_rows_back(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    online.cutover_tenants(db.dsn, [t])
    with db.connect() as conn:
        free = conn.execute("SELECT max(id) + 1000 FROM public.brand_colors").fetchone()[0]  # type: ignore[index]
        conn.execute(
            f"INSERT INTO tenant_{t}.brand_colors (id, name, hex) VALUES (%s, 'after cutover', '#222222')",  # noqa: S608
            (free,),
        )
        expected = conn.execute(f"SELECT id, name, hex FROM tenant_{t}.brand_colors ORDER BY id").fetchall()  # noqa: S608
    result = migrate.rollback_tenants(db.dsn, [t])[0]
    assert result.state == "rolled back"
    assert all(x.state.startswith("copied back") for x in result.tables), result.tables
    with db.connect() as conn:
        back = conn.execute(
            "SELECT id, name, hex FROM public.brand_colors WHERE tenant_id = %s ORDER BY id", (t,)
        ).fetchall()
        assert back == expected
        # The fence is lifted: the shared rows take writes again.
        conn.execute("UPDATE public.brand_colors SET name = 'again' WHERE id = %s", (free,))
        assert conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == (
            "provisioned",
        )


def test_rollback_after_cutover_does_not_deadlock_with_a_writer_checking_a_foreign_key(
    db: Database, manifest: Manifest
) -> None:
    """The rollback locks the tenant's tables one after the other. A writer that holds the
    referencing table (sequence_emails) and then checks a foreign key against a table the
    rollback took first (email_sequences) must neither deadlock with it nor fail: the
    rollback gives way in short tries and takes them all once the writer commits."""
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    online.cutover_tenants(db.dsn, [t])
    schema = f"tenant_{t}"
    result: list[Any] = []
    with db.connect() as writer, db.connect() as watch:
        writer.execute("BEGIN")
        # Holds sequence_emails (no foreign key checked: the key column is not changed).
        writer.execute(f"UPDATE {schema}.sequence_emails SET subject = subject || '.'")  # noqa: S608
        thread = threading.Thread(target=lambda: result.append(migrate.rollback_tenants(db.dsn, [t])[0]))
        thread.start()
        deadline = time.monotonic() + 30
        while watch.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
            (f"{schema}.sequence_emails",),
        ).fetchone() == (0,):
            assert time.monotonic() < deadline, "the rollback never waited for the writer"
            time.sleep(0.02)
        # Now the foreign key check: a row share lock on email_sequences.
        writer.execute(
            f"INSERT INTO {schema}.sequence_emails (sequence_id, position, subject) "  # noqa: S608
            f"SELECT id, 99, 'written while the rollback waits' FROM {schema}.email_sequences ORDER BY id LIMIT 1"
        )
        writer.execute("COMMIT")
        thread.join(60)
    (rolled_back,) = result
    assert rolled_back.state == "rolled back", rolled_back
    with db.connect() as conn:
        assert conn.execute(
            "SELECT count(*) FROM public.sequence_emails WHERE tenant_id = %s AND subject = %s",
            (t, "written while the rollback waits"),
        ).fetchone() == (1,)


def test_rollback_after_cutover_refuses_keys_taken_in_the_shared_table(db: Database, manifest: Manifest) -> None:
    a, b = registry_ids(db, manifest)[:2]
    online.migrate_online(db.dsn, [a])
    online.cutover_tenants(db.dsn, [a])
    with db.connect() as conn:
        taken = conn.execute("SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s", (b,)).fetchone()[0]  # type: ignore[index]
        conn.execute(f"INSERT INTO tenant_{a}.brand_colors (id, name, hex) VALUES (%s, 'clash', '#333333')", (taken,))  # noqa: S608
    refused = migrate.rollback_tenants(db.dsn, [a])[0]
    assert (refused.state, refused.sqlstate) == ("failed", KeyCollision.sqlstate)
    assert "brand_colors" in (refused.error or "") and refused.hint
    with db.connect() as conn:
        assert conn.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (a,)).fetchone() == ("cut_over",)
        # Nothing changed: the shared rows are still those cutover proved.
        shared, mine = _shared_vs_tenant(conn, a, "templates")
        assert shared == mine and shared


def test_contract_waits_for_every_tenant_then_archives(db: Database, manifest: Manifest) -> None:
    tenants = registry_ids(db, manifest)
    online.migrate_online(db.dsn, tenants, jobs=2)
    online.cutover_tenants(db.dsn, tenants[:1])
    with pytest.raises(NotAllCutOver) as e:
        online.contract(db.dsn, None)
    assert all(t in (e.value.detail or "") for t in tenants[1:]) and tenants[0] not in (e.value.detail or "")
    online.cutover_tenants(db.dsn, tenants[1:])
    with db.connect() as conn:
        before = conn.execute("SELECT count(*) FROM public.brand_colors").fetchone()
    tables = online.contract(db.dsn, "archive")
    assert len(tables) == 12 and {t.state for t in tables} == {"moved to archive"}
    with db.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.brand_colors')").fetchone() == (None,)
        # The archive holds every tenant's rows as they were at its cutover, guard off.
        assert conn.execute("SELECT count(*) FROM archive.brand_colors").fetchone() == before
        assert conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'archive.brand_colors'::regclass"
        ).fetchone() == (False, False)
        assert conn.execute("SELECT count(*) FROM tenancy.change_log").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'tenancy_capture'").fetchone() == (0,)
        assert {r[0] for r in conn.execute("SELECT state FROM tenancy.tenants").fetchall()} == {"contracted"}
    # After contract, validate still checks what is left to check (no shared side).
    checked = validate.validate_tenants(db.dsn, tenants)
    assert {r.state for r in checked} == {"validated"}, [r.error for r in checked]
    assert "row count" not in {c["check_name"] for c in checked[0].checks}
    refused = migrate.rollback_tenants(db.dsn, [tenants[0]])[0]
    assert (refused.state, refused.sqlstate) == ("failed", Contracted.sqlstate)
    assert "archive" in (refused.hint or "")


def test_capture_start_waits_for_writers_that_logged_nothing(db: Database, manifest: Manifest) -> None:
    """A write in progress when capture starts was not logged: the copy must come after its commit."""
    t = registry_ids(db, manifest)[0]
    with db.connect() as writer, db.connect() as conn:
        writer.execute("BEGIN")
        writer.execute("UPDATE public.brand_colors SET name = 'in progress' WHERE tenant_id = %s", (t,))
        pid = writer.info.backend_pid
        with pytest.raises(WritersStillOpen) as e, typed_errors():
            conn.execute("CALL tenancy.start_capture(%s, 0.3)", (t,))
        assert str(pid) in (e.value.detail or "") and e.value.hint
        writer.execute("COMMIT")
        conn.execute("CALL tenancy.start_capture(%s, 5)", (t,))
        assert conn.execute("SELECT state FROM tenancy.online_tenants WHERE tenant_id = %s", (t,)).fetchone() == (
            "capturing",
        )


def test_offline_migrate_refuses_a_syncing_tenant(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    (result,) = migrate.migrate_tenants(db.dsn, [t])
    assert result.state == "failed" and result.sqlstate == "TY008" and "--online" in (result.hint or "")
    with db.connect() as conn:
        # The failed attempt leaves the online migration as it was.
        assert conn.execute(
            "SELECT state, last_error IS NOT NULL FROM tenancy.tenants WHERE tenant_id = %s", (t,)
        ).fetchone() == ("syncing", True)
    (cut,) = online.cutover_tenants(db.dsn, [t])
    assert cut.state == "cut_over", cut


def test_cli_online_flow_start_to_finish(db: Database, manifest: Manifest, capsys: pytest.CaptureFixture[str]) -> None:
    from runner.cli import main

    dsn = ["--dsn", db.dsn, "--manifest", str(REPO / "tenancy.toml")]
    assert main(["migrate", "--online", *dsn]) == 0
    assert main(["contract", "--dsn", db.dsn]) == 2  # not every tenant is cut over
    assert "FAILED:" in capsys.readouterr().err
    first = registry_ids(db, manifest)[0]
    assert main(["cutover", "--tenant", first, *dsn]) == 0
    assert main(["cutover", "--all", *dsn]) == 0
    out = capsys.readouterr().out
    assert "cut_over" in out and "skipped" in out
    assert main(["rollback", "--tenant", first, *dsn]) == 0
    assert "copied back" in capsys.readouterr().out
    assert main(["migrate", "--online", "--tenant", first, *dsn]) == 0
    assert main(["cutover", "--tenant", first, *dsn]) == 0
    assert main(["contract", "--archive", "alumate_archive", "--yes", "--dsn", db.dsn]) == 0
    assert "moved to alumate_archive" in capsys.readouterr().out


def test_truncate_is_refused_while_tenants_are_in_flight(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        conn.execute("BEGIN")
        conn.execute("TRUNCATE public.brand_fonts")  # nobody in flight: allowed
        conn.execute("ROLLBACK")
    online.migrate_online(db.dsn, [t])
    with db.connect() as conn, pytest.raises(TruncateRefused) as e, typed_errors():
        conn.execute("TRUNCATE public.brand_fonts")
    assert "brand_fonts" in str(e.value) and e.value.hint


def test_reinstall_keeps_the_capture_and_uninstall_takes_it(db: Database, manifest: Manifest) -> None:
    from runner.engine.uninstall import blockers, shared_roles, uninstall

    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    with db.connect() as conn:
        # An install of another version in flight: the capture triggers are made again, in one transaction.
        conn.execute("DELETE FROM tenancy.installed")
        install(conn, manifest)
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'tenancy_capture'").fetchone() == (12,)
        conn.execute("UPDATE public.brand_colors SET name = 'after reinstall' WHERE tenant_id = %s", (t,))
        assert conn.execute("SELECT count(*) FROM tenancy.change_log WHERE tenant_id = %s", (t,)).fetchone()[0] > 0  # type: ignore[index]
    assert migrate.rollback_tenants(db.dsn, [t])[0].state == "rolled back"
    with db.connect() as conn:
        # The capture triggers are the tool's own: no blocker of an uninstall.
        found = blockers(conn, shared_roles(manifest))
        assert found and not [b for b in found if "tenancy_capture" in b.object_name]
        result = uninstall(conn, manifest, force=True)  # the sample's tenant schemas stay
        assert "tenancy_capture" in result.roles + result.kept_roles  # kept while another database uses it
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tenancy_capture%'").fetchone() == (0,)


def test_an_install_that_would_stop_the_capture_in_flight_is_refused(db: Database, manifest: Manifest) -> None:
    t = registry_ids(db, manifest)[0]
    online.migrate_online(db.dsn, [t])
    with db.connect() as conn:
        # Without its primary key, brand_fonts would get no capture trigger from this install.
        conn.execute("ALTER TABLE public.brand_fonts DROP CONSTRAINT brand_fonts_pkey")
        with pytest.raises(CaptureLost) as e:
            install(conn, manifest)
        assert "brand_fonts" in (e.value.detail or "") and e.value.hint
        assert conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'tenancy_capture' AND tgrelid = 'public.brand_fonts'::regclass"
        ).fetchone() == (1,)
