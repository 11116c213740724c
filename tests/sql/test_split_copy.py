"""The one-pass split copy (tenancy.migrate_tenants / split_copy_table): every row of a
batch of tenants routed into its tenant's table by one statement per shared table, on
several tenant key types, composite keys and a partitioned source; a batch killed mid-way
and resumed. (A row changed after its table was copied: tests/sql/test_online.py.)"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.db import ProgressEvent
from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.errors import SettingTooLow
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database, provision_all

REPO = Path(__file__).resolve().parents[2]


def _always_split(conn: psycopg.Connection, db: Database) -> None:
    """Route every table, however small (by default, tables smaller than shared_buffers
    are copied per tenant)."""
    conn.execute(sql.SQL("ALTER DATABASE {} SET tenancy.split_min_bytes = 0").format(sql.Identifier(db.name)))


@pytest.fixture
def db(sample_db: Database, manifest: Manifest) -> Database:
    with sample_db.connect() as conn:
        install(conn, manifest)
        provision_all(conn, manifest)
        _always_split(conn, sample_db)
    return sample_db


class _Events:
    """A Progress that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []
        self.started: list[str] = []
        self.finished: list[executor.TenantResult] = []

    def start(self, tenant_id: str) -> None:
        self.started.append(tenant_id)

    def advance(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def finish(self, result: executor.TenantResult) -> None:
        self.finished.append(result)


def test_sample_is_copied_in_one_pass_per_table_and_keeps_no_visible_tenant_key(
    db: Database, manifest: Manifest
) -> None:
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
    progress = _Events()
    results = migrate.migrate_tenants(db.dsn, tenants, progress=progress)
    assert [r.state for r in results] == ["migrated"] * len(tenants), [r.error for r in results]
    assert sorted(progress.started) == sorted(tenants)
    assert sorted(r.tenant_id for r in progress.finished) == sorted(tenants)
    assert {e.get("step") for e in progress.events} >= {"create", "copy", "index", "done"}
    assert all(v.state == "validated" for v in validate.validate_tenants(db.dsn, tenants))
    with db.connect() as conn:
        # One routed statement per table and batch: every ledger row says one batch.
        assert conn.execute("SELECT DISTINCT batches, state FROM tenancy.ledger").fetchall() == [(1, "done")]
        # No staging table is left behind.
        assert conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'tenancy'::regnamespace AND relname LIKE 'split%'"
        ).fetchone() == (0,)
        schema = f"tenant_{tenants[0]}"
        # The tenant key is a dropped column: not in SELECT *, not in information_schema.
        cur = conn.execute(f'SELECT * FROM "{schema}".analytics_events LIMIT 1')  # noqa: S608
        assert "tenant_id" not in [d.name for d in cur.description or ()]
        assert conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND column_name = 'tenant_id'",
            (schema,),
        ).fetchone() == (0,)
        dropped = conn.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attisdropped",
            (f"{schema}.analytics_events",),
        ).fetchone()
        assert dropped == (1,)
        # The tenant table is a plain table again, no longer a partition.
        assert conn.execute(
            "SELECT relkind, relispartition FROM pg_class WHERE oid = %s::regclass", (f"{schema}.analytics_events",)
        ).fetchone() == ("r", False)
        # New rows go in with fresh ids, from a serial and from an identity column
        # (identity is dropped for the routed copy and added back after it).
        for table, columns, values in (
            ("brand_colors", "name, hex", "'x', '#000000'"),
            ("brand_fonts", "family", "'x'"),
        ):
            new = conn.execute(
                f'INSERT INTO "{schema}".{table} ({columns}) VALUES ({values}) RETURNING id'  # noqa: S608
            ).fetchone()
            top = conn.execute(
                f"SELECT max(id) FROM public.{table} WHERE tenant_id = %s",  # noqa: S608
                (tenants[0],),
            ).fetchone()
            assert new is not None and top is not None and new[0] > (top[0] or 0), table
        assert conn.execute(
            "SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'",
            (f"{schema}.brand_fonts",),
        ).fetchone() == ("d",)


KEY_TYPES = {
    "bigint": ("bigint", "SELECT 1000 + n FROM generate_series(1, 5) AS n"),
    "text": ("text", "SELECT 'org-' || n FROM generate_series(1, 5) AS n"),
    "uuid": ("uuid", "SELECT ('00000000-0000-4000-8000-00000000000' || n)::uuid FROM generate_series(1, 5) AS n"),
}


def _keyed_schema(key_type: str, ids_query: str) -> str:
    return f"""
CREATE TABLE orgs (id {key_type} PRIMARY KEY, name text NOT NULL);
INSERT INTO orgs SELECT i, 'org ' || i FROM ({ids_query}) AS x (i);
CREATE TABLE items (
    org {key_type} NOT NULL REFERENCES orgs,
    id bigint NOT NULL,
    sku text NOT NULL,
    price numeric(10, 2) CHECK (price >= 0),
    doubled numeric GENERATED ALWAYS AS (price * 2) STORED,
    PRIMARY KEY (org, id),
    UNIQUE (org, sku)
);
CREATE TABLE events (
    org {key_type} NOT NULL,
    id bigserial,
    item_id bigint NOT NULL,
    at date NOT NULL,
    payload jsonb,
    PRIMARY KEY (org, id, at),
    FOREIGN KEY (org, item_id) REFERENCES items (org, id)
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO items (org, id, sku, price)
SELECT o.id, n, 'sku-' || n, n % 50 FROM orgs AS o, generate_series(1, 40) AS n;
INSERT INTO events (org, item_id, at, payload)
SELECT o.id, 1 + n % 40, date '2024-06-01' + n, jsonb_build_object('n', n)
FROM generate_series(1, 400) AS n, orgs AS o ORDER BY n;
"""  # noqa: S608 (key_type and ids_query are this module's constants)


KEYED_MANIFEST = """
[tenancy]
tenant_key = "org"
schema_pattern = "org_{id}"

[registry]
table = "orgs"
id_column = "id"

[move]
tables = ["events", "items"]

[central]
tables = ["orgs"]
"""


@pytest.mark.parametrize("key", sorted(KEY_TYPES))
def test_split_copy_on_key_types_composite_keys_and_a_partitioned_source(
    blank_db: Database, tmp_path: Path, key: str
) -> None:
    key_type, ids_query = KEY_TYPES[key]
    path = tmp_path / "keyed.toml"
    path.write_text(KEYED_MANIFEST)
    manifest = load_manifest(path)
    with blank_db.connect() as conn:
        conn.execute(_keyed_schema(key_type, ids_query))
        install(conn, manifest)
        _always_split(conn, blank_db)
        tenants = executor.registry_tenants(conn, manifest)
    assert len(tenants) == 5
    results = migrate.migrate_tenants(blank_db.dsn, tenants, jobs=2)
    assert [r.state for r in results] == ["migrated"] * 5, [(r.error, r.detail) for r in results]
    assert all(v.state == "validated" for v in validate.validate_tenants(blank_db.dsn, tenants))
    with blank_db.connect() as conn:
        assert conn.execute("SELECT DISTINCT batches FROM tenancy.ledger").fetchall() == [(1,)]
        for t in tenants:
            schema = conn.execute("SELECT schema_name FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone()
            assert schema is not None
            s = schema[0]
            assert conn.execute(f'SELECT count(*) FROM "{s}".events').fetchone() == (400,)  # noqa: S608
            assert conn.execute(f'SELECT count(*), sum(doubled) FROM "{s}".items').fetchone() == (  # noqa: S608
                40,
                sum(2 * (n % 50) for n in range(1, 41)),
            )
            pk = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                (f'"{s}".events',),
            ).fetchone()
            assert pk == ("PRIMARY KEY (id, at)",)
        # A sequence of its own per tenant, past the copied ids.
        s = f"org_{tenants[0].replace('-', '_')}"
        new = conn.execute(
            f"INSERT INTO \"{s}\".events (item_id, at) VALUES (1, '2025-02-02') RETURNING id"  # noqa: S608
        ).fetchone()
        top = conn.execute(
            f'SELECT max(id) FROM "{s}".events WHERE id < %s',  # noqa: S608
            (new[0] if new else 0,),
        ).fetchone()
        assert new is not None and top is not None and new[0] > top[0]


def _tenant_rows(conn: psycopg.Connection) -> list[tuple[str, int]]:
    return conn.execute("SELECT l.tenant_id, count(*)::int FROM tenancy.ledger AS l GROUP BY 1 ORDER BY 1").fetchall()


def test_a_batch_killed_mid_way_leaves_nothing_and_resumes(db: Database, manifest: Manifest) -> None:
    """The batch's server process is stopped right after its first table is routed,
    inspected from outside, then terminated; the next run migrates every tenant."""
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        install(conn, manifest)
    stopped = threading.Event()
    seen_from_outside: list[object] = []

    with db.connect() as runner, db.connect() as watcher:
        pid = runner.info.backend_pid

        def on_notice(diag: psycopg.errors.Diagnostic) -> None:
            if stopped.is_set() or "copy" not in (diag.message_primary or ""):
                return
            os.kill(pid, signal.SIGSTOP)
            stopped.set()
            seen_from_outside.append(_tenant_rows(watcher))
            seen_from_outside.append(
                watcher.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'split%'").fetchone()
            )
            watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
            os.kill(pid, signal.SIGCONT)

        runner.add_notice_handler(on_notice)
        with pytest.raises(psycopg.OperationalError):
            runner.execute("SELECT * FROM tenancy.migrate_tenants(%s)", (tenants,)).fetchall()
        assert stopped.is_set(), "the batch must be stopped mid-way"
        # Mid-way, nothing of the batch was visible outside it; after the kill nothing is left.
        assert seen_from_outside == [[], (0,)]
        assert _tenant_rows(watcher) == []
        assert watcher.execute(
            "SELECT count(*) FROM pg_class WHERE relname = 'analytics_events' AND relnamespace <> 'public'::regnamespace"
        ).fetchone() == (0,)

    results = migrate.migrate_tenants(db.dsn, tenants)
    assert [r.state for r in results] == ["migrated"] * len(tenants), [r.error for r in results]
    assert all(v.state == "validated" for v in validate.validate_tenants(db.dsn, tenants))
    # And again: nothing to do.
    assert [r.state for r in migrate.migrate_tenants(db.dsn, tenants)] == ["skipped"] * len(tenants)


def test_settings_too_low_for_one_tenant_are_refused_before_any_work(db: Database, manifest: Manifest) -> None:
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        assert conn.execute("SELECT tenancy.tenant_batch_size(1)").fetchone() >= (1,)
    with pytest.raises(SettingTooLow) as err:
        migrate.migrate_tenants(db.dsn, tenants, jobs=100_000)
    assert "max_locks_per_transaction" in str(err.value) and "at least" in err.value.hint
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM tenancy.ledger").fetchone() == (0,)
        assert conn.execute("SELECT DISTINCT state FROM tenancy.tenants").fetchall() == [("provisioned",)]


def test_validation_in_chunks_reads_the_shared_side_once_and_catches_a_changed_row(
    db: Database, manifest: Manifest
) -> None:
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
    assert [r.state for r in migrate.migrate_tenants(db.dsn, tenants)] == ["migrated"] * len(tenants)
    with db.connect() as conn:
        conn.execute(
            "UPDATE public.brand_colors SET name = name || '!' "
            "WHERE id = (SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s)",
            (tenants[-1],),
        )
    # Sessions flush their statistics when they end.
    before = _scans(db, "brand_colors")
    results = validate.validate_tenants(db.dsn, tenants, jobs=2)
    assert [r.state for r in results[:-1]] == ["validated"] * (len(tenants) - 1)
    assert results[-1].state == "invalid"
    failed = [(c["table_name"], c["check_name"]) for c in results[-1].checks if not c["passed"]]
    assert failed == [("brand_colors", "checksum")]
    # Two chunks (two jobs), yet the shared table was scanned once.
    assert _scans(db, "brand_colors") == before + 1


def _scans(db: Database, table: str) -> int:
    """Scans of a shared table so far, once every other session of the database has
    ended (a session flushes its statistics as it ends)."""
    with db.connect() as conn:
        deadline = time.monotonic() + 30
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "other sessions did not end"
            time.sleep(0.05)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE schemaname = 'public' "
            "AND relname = %s",
            (table,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_tenant_part_copied_in_keyset_batches_is_finished_by_the_split_run(db: Database, manifest: Manifest) -> None:
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        part = tenants[0]
        conn.execute("SELECT tenancy.lock_tenant(%s, true)", (part,))
        conn.execute("SELECT tenancy.begin_tenant_migration(%s)", (part,))
        assert conn.execute("SELECT tenancy.copy_tenant_table(%s, 'analytics_events', 10)", (part,)).fetchone() == (
            True,
        )
        conn.execute("SELECT pg_advisory_unlock_all()")
    results = migrate.migrate_tenants(db.dsn, tenants)
    assert [r.state for r in results] == ["migrated"] * len(tenants), [r.error for r in results]
    assert all(v.state == "validated" for v in validate.validate_tenants(db.dsn, tenants))
    with db.connect() as conn:
        batches = conn.execute(
            "SELECT batches FROM tenancy.ledger WHERE tenant_id = %s AND table_name = 'analytics_events'", (part,)
        ).fetchone()
        assert batches == (2,)  # the keyset batch, then the rest in one statement


def test_tables_smaller_than_the_threshold_are_copied_per_tenant(sample_db: Database, manifest: Manifest) -> None:
    with sample_db.connect() as conn:
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET tenancy.split_min_bytes = {}").format(
                sql.Identifier(sample_db.name),
                sql.Literal(str(conn.execute("SELECT pg_relation_size('public.analytics_events') - 1").fetchone()[0])),  # type: ignore[index]
            )
        )
    results = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in results] == ["migrated"] * len(tenants)
    assert all(v.state == "validated" for v in validate.validate_tenants(sample_db.dsn, tenants))
    with sample_db.connect() as conn:
        dropped = dict(
            conn.execute(
                "SELECT c.relname, count(*) FILTER (WHERE a.attisdropped) FROM pg_class AS c "
                "JOIN pg_attribute AS a ON a.attrelid = c.oid WHERE c.relnamespace = %s::regnamespace "
                "GROUP BY 1",
                (f"tenant_{tenants[0]}",),
            ).fetchall()
        )
    # Only the table at least as large as the threshold was routed (and has the dropped key).
    assert dropped["analytics_events"] == 1
    assert {n for n, d in dropped.items() if d} == {"analytics_events"}


def test_a_tenant_whose_left_tables_were_planted_on_is_refused_alone_in_its_batch(
    db: Database, manifest: Manifest
) -> None:
    """Tables left by an earlier run are checked before the batch copies into them: a
    trigger planted since refuses that tenant (TY040, one row), its code never runs, and
    the rest of the batch is migrated."""
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
        left = tenants[1]
        with conn.transaction():
            conn.execute("SELECT tenancy.lock_tenant(%s)", (left,))
            conn.execute("SELECT tenancy.begin_tenant_migration(%s)", (left,))
        conn.execute(
            "CREATE FUNCTION public.planted() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'planted code ran'; END $$"
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER spy BEFORE INSERT ON {}.templates FOR EACH ROW EXECUTE FUNCTION public.planted()"
            ).format(sql.Identifier(f"tenant_{left}"))
        )
        rows = conn.execute(
            "SELECT tenant_id, action, error_code, error_detail FROM tenancy.migrate_tenants(%s)", (tenants,)
        ).fetchall()
    refused = [(t, code) for t, action, code, _ in rows if action == "failed"]
    assert refused == [(left, "TY040")]
    assert any(
        "templates was changed since tenancy made it: its triggers differ" in (detail or "")
        for t, _, _, detail in rows
        if t == left
    )
    assert {t for t, action, _, _ in rows if action == "migrated"} == set(tenants) - {left}
    with db.connect() as conn:
        # Nothing was copied into the planted-on tables.
        assert conn.execute(
            sql.SQL("SELECT count(*) FROM {}.templates").format(sql.Identifier(f"tenant_{left}"))
        ).fetchone() == (0,)


def test_foreign_keys_to_central_tables_come_last_for_the_whole_batch(sample_db: Database, manifest: Manifest) -> None:
    """Adding a foreign key to a central table locks it against writes until commit: a
    batch adds every tenant's tenant-local keys first and the central ones after them all."""
    with sample_db.connect() as conn:
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
        # __link splits by where a key points; together the two halves are all of it.
        for (prefix,) in conn.execute("SELECT fn_prefix FROM tenancy.moved_tables").fetchall():
            whole, local, central = (
                conn.execute(
                    sql.SQL("SELECT tenancy.{}('s', %s)").format(sql.Identifier(f"{prefix}__link")), (part,)
                ).fetchone()[0]  # type: ignore[index]
                for part in (None, False, True)
            )
            assert sorted(local + central) == sorted(whole), prefix
            assert all("REFERENCES public." in s for s in central) and not any("REFERENCES public." in s for s in local)
    results = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in results] == ["migrated"] * len(tenants)
    with sample_db.connect() as conn:
        # Constraints are numbered as they are made: every central key after every local one.
        local, central = conn.execute(
            "SELECT max(c.oid::bigint) FILTER (WHERE f.relnamespace <> 'public'::regnamespace),"
            " min(c.oid::bigint) FILTER (WHERE f.relnamespace = 'public'::regnamespace)"
            " FROM pg_constraint AS c JOIN pg_class AS f ON f.oid = c.confrelid"
            " JOIN pg_class AS r ON r.oid = c.conrelid"
            " WHERE c.contype = 'f' AND r.relnamespace::regnamespace::text = ANY (%s)"
            " AND r.relname IN (SELECT table_name FROM tenancy.moved_tables)",
            ([f"tenant_{t}" for t in tenants],),
        ).fetchone()  # type: ignore[misc]
        assert local is not None and central is not None and local < central
