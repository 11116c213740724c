"""Real application schemas (tests/corpus/<app>/schema.sql, filled by
runner.devtools.corpus) through the whole flow, as each app's tenancy.toml says:
plan → install → provision → migrate → validate, and migrate --online → cutover --all →
contract while a writer inserts and updates rows of the tenants not yet cut over.
Every tenant's rows of every moved table are compared with its shared rows
(count and checksum), no write the writer saw committed is lost, and every
trigger, key and unique index of every moved table is on the tenant tables, or
the plan named it."""

from __future__ import annotations

import itertools
import json
import os
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from runner.access.provision import provision_tenants
from runner.db import typed_errors
from runner.devtools.corpus import build_corpus
from runner.engine import migrate, online, validate
from runner.engine.executor import registry_tenants
from runner.engine.install import install
from runner.engine.plan import plan_database
from runner.engine.render import derive_all
from runner.engine.target import DROPPED, KEPT, REWRITTEN, TargetTable
from runner.errors import (
    NotCapturable,
    PreflightFailed,
    RenderError,
    SharedTableInUse,
    TenantCutOver,
)
from runner.manifest import Manifest, load_manifest, parse_manifest
from tests.conftest import Database, Server
from tests.runner.cli.tenancy import tenancy
from tests.snapshots import snapshot

CORPUS = Path(__file__).resolve().parent
# Tenants per schema: as many as keep each test well under a minute on two cores
# (a tenant of the wide schema is 115 tables).
TENANTS = {"lago": 12, "hatchet": 30, "kratos": 30}
ROWS = 3
SEED = 19


@dataclass(frozen=True)
class WriteTable:
    """Where the writer writes: rows it copies (a new key) and a column it updates."""

    table: str
    key: str
    new_key: str | None  # SQL for a new key; None: the column's default
    column: str


WRITES = {
    "lago": WriteTable("adjusted_fees", "id", None, "invoice_display_name"),
    "hatchet": WriteTable("v1_match", "id", None, "signal_key"),
    "kratos": WriteTable("selfservice_errors", "id", "gen_random_uuid()", "csrf_token"),
}
# Views or functions depend on shared tables: contract refuses to drop them (TY063).
CONTRACT_NEEDS_ARCHIVE = {"lago": True, "hatchet": True, "kratos": False}
# Written to the shared rows while the tenants are syncing, besides the writer's: a table
# of one row per tenant (captured by the empty key).
SYNCING_WRITES = {"hatchet": ("tenant_entitlement", "UPDATE public.tenant_entitlement SET audit_logs = NOT audit_logs")}

# What `tenancy plan` reports on each schema as the tests fill it: no problem, every object's
# fate (counted), and a few objects each, as a user reads them.
PLANNED = {
    "lago": {"kept": 1705, "rewritten": 297, "added": 0, "dropped": 332, "refused": 0},
    "hatchet": {"kept": 601, "rewritten": 52, "added": 0, "dropped": 50, "refused": 0},
    "kratos": {"kept": 313, "rewritten": 55, "added": 0, "dropped": 63, "refused": 0},
}
# Triggers, keys and unique indexes of the moved tables, each compared with the tenant tables.
KEPT_OR_NAMED = {
    "lago": {"primary key": 115, "trigger": 1, "unique index": 116},
    "hatchet": {"primary key": 50, "trigger": 20, "unique constraint": 1, "unique index": 4},
    "kratos": {"primary key": 24, "unique constraint": 1, "unique index": 9},
}


Sums = dict[tuple[str, str], tuple[int, str]]


@dataclass(frozen=True)
class Corpus:
    app: str
    db: Database
    manifest: Manifest


_databases = itertools.count()


@pytest.fixture(params=sorted(TENANTS))
def corpus(request: pytest.FixtureRequest, pg_server: Server, make_template: Callable[..., str]) -> Iterator[Corpus]:
    """A fresh database holding one corpus schema, filled (a copy of a template built once)."""
    app = request.param

    def load(conn: psycopg.Connection) -> None:
        build_corpus(conn, CORPUS / app, tenants=TENANTS[app], rows=ROWS, seed=SEED)

    template = make_template(f"corpus_{app}", load)
    name = f"corpus_{os.getpid()}_{next(_databases)}"
    db = pg_server.create(name, template)
    try:
        yield Corpus(app, db, load_manifest(CORPUS / app / "tenancy.toml"))
    finally:
        pg_server.drop(name)


def _columns(conn: psycopg.Connection, schema: str, table: str, without: str) -> sql.Composable:
    names = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = format('%%I.%%I', %s::text, %s::text)::regclass "
        "AND attnum > 0 AND NOT attisdropped AND attname <> %s ORDER BY attnum",
        (schema, table, without),
    ).fetchall()
    return sql.SQL(", ").join(sql.Identifier(n[0]) for n in names)


def _checksum(row: sql.Composable) -> sql.Composable:
    return sql.SQL("count(*), md5(string_agg(({})::text, E'\\n' ORDER BY ({})::text))").format(row, row)


def shared_sums(conn: psycopg.Connection, manifest: Manifest) -> Sums:
    """(tenant, table) -> (rows, checksum) of the shared rows of every moved table."""
    out: Sums = {}
    schema, key = manifest.central_schema, manifest.tenant_key
    for table in manifest.move:
        row = sql.SQL("ROW({})").format(_columns(conn, schema, table, key))
        query = sql.SQL("SELECT {}::text, {} FROM {}.{} GROUP BY 1").format(
            sql.Identifier(key), _checksum(row), sql.Identifier(schema), sql.Identifier(table)
        )
        for tenant, count, digest in conn.execute(query):
            out[(tenant, table)] = (count, digest)
    return out


def tenant_sum(conn: psycopg.Connection, manifest: Manifest, tenant: str, table: str) -> tuple[int, str]:
    schema = manifest.schema_for(tenant)
    row = sql.SQL("ROW({})").format(_columns(conn, manifest.central_schema, table, manifest.tenant_key))
    query = sql.SQL("SELECT {} FROM {}.{}").format(_checksum(row), sql.Identifier(schema), sql.Identifier(table))
    found = conn.execute(query).fetchone()
    assert found is not None
    return found[0], found[1]


def _install_and_provision(db: Database, manifest: Manifest) -> list[str]:
    with db.connect() as conn:
        install(conn, manifest)
        tenants = registry_tenants(conn, manifest)
    provisioned = provision_tenants(db.dsn, tenants)
    assert [r.state for r in provisioned] == ["provisioned"] * len(tenants), [r.error for r in provisioned]
    return tenants


# What an object of a shared table is, for the comparison with the tenant tables.
_OBJECTS = """
SELECT 'trigger', t.tgname::text FROM pg_trigger AS t
WHERE t.tgrelid = %(rel)s::regclass AND NOT t.tgisinternal AND t.tgname NOT LIKE 'tenancy%%'
UNION ALL
SELECT CASE c.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint' ELSE 'exclusion constraint' END,
       c.conname::text
FROM pg_constraint AS c WHERE c.conrelid = %(rel)s::regclass AND c.contype IN ('p', 'u', 'x')
UNION ALL
SELECT 'unique index', i.indexrelid::regclass::text FROM pg_index AS i
WHERE i.indrelid = %(rel)s::regclass AND i.indisunique
    AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
"""
# Names on a tenant table: its triggers, constraints and indexes.
_NAMES = """
SELECT t.tgname::text FROM pg_trigger AS t WHERE t.tgrelid = %(rel)s::regclass AND NOT t.tgisinternal
UNION ALL SELECT c.conname::text FROM pg_constraint AS c WHERE c.conrelid = %(rel)s::regclass
UNION ALL SELECT c.relname::text FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE i.indrelid = %(rel)s::regclass
"""


def assert_kept_or_named(
    conn: psycopg.Connection, manifest: Manifest, tables: tuple[TargetTable, ...], tenant: str
) -> dict[str, int]:
    """Every trigger, primary key, unique constraint, exclusion constraint and unique index of
    every moved table is on the tenant's table (by name), or the plan's fates name it as not
    kept; each one on the tenant table has a fate (kept or rewritten). Returns how many of
    each kind were compared."""
    fates = {(f.table, f.name): f for t in tables for f in t.fates}
    compared: dict[str, int] = {}
    for table in manifest.move:
        shared = conn.execute(_OBJECTS, {"rel": f'{manifest.central_schema}."{table}"'}).fetchall()
        names = {r[0] for r in conn.execute(_NAMES, {"rel": f'{manifest.schema_for(tenant)}."{table}"'})}
        for kind, name in shared:
            fate = fates.get((table, name))
            assert fate is not None, (table, kind, name)
            if name in names:
                assert fate.fate in (KEPT, REWRITTEN), (table, name, fate)
            else:
                assert fate.fate == DROPPED, (table, name, fate)
            compared[kind] = compared.get(kind, 0) + 1
    return compared


def test_migrate_and_validate_keep_every_row(corpus: Corpus) -> None:
    db, manifest = corpus.db, corpus.manifest
    plan = plan_database(db.dsn, manifest)
    assert plan.ok, [p.line for p in plan.problems]
    tenants = _install_and_provision(db, manifest)
    with db.connect() as conn:
        before = shared_sums(conn, manifest)
    # The data reaches every moved table of every tenant.
    assert set(before) == {(t, table) for t in tenants for table in manifest.move}
    migrated = migrate.migrate_tenants(db.dsn, tenants)
    assert [r.state for r in migrated] == ["migrated"] * len(tenants), next(r for r in migrated if not r.ok)
    checked = validate.validate_tenants(db.dsn, tenants)
    assert [r.state for r in checked] == ["validated"] * len(tenants), next(r for r in checked if not r.ok)
    with db.connect() as conn:
        assert shared_sums(conn, manifest) == before
        for (tenant, table), expected in before.items():
            assert tenant_sum(conn, manifest, tenant, table) == expected, (tenant, table)
        compared = assert_kept_or_named(conn, manifest, plan.tables, tenants[-1])
    assert compared == KEPT_OR_NAMED[corpus.app]


@dataclass
class Writer:
    """Inserts (a copy of a row of the tenant, with a new key) and updates rows of the
    shared write table, tenant after tenant, until every tenant refuses (cut over) or
    it is stopped. Records every write that committed."""

    db: Database
    manifest: Manifest
    target: WriteTable
    tenants: list[str]
    inserted: dict[str, list[str]] = field(default_factory=dict)  # tenant -> new keys
    updated: dict[str, str] = field(default_factory=dict)  # key -> the value last written
    refused: set[str] = field(default_factory=set)  # tenants cut over
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    committed: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def run(self) -> None:
        try:
            with self.db.connect() as conn:
                self._loop(conn)
        except BaseException as e:
            self.errors.append(e)

    def _loop(self, conn: psycopg.Connection) -> None:
        schema, key = self.manifest.central_schema, self.manifest.tenant_key
        t = self.target
        table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(t.table))
        copied = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = format('%%I.%%I', %s::text, %s::text)::regclass "
            "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity = '' AND attname <> %s "
            "ORDER BY attnum",
            (schema, t.table, t.key),
        ).fetchall()
        columns = [sql.Identifier(c[0]) for c in copied]
        if t.new_key:
            columns_with_key = [sql.Identifier(t.key), *columns]
            values = [sql.SQL(t.new_key), *columns]
        else:
            columns_with_key, values = columns, columns
        insert = sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT {vals} FROM {table} WHERE {key}::text = %s LIMIT 1 "
            "RETURNING {pk}::text"
        ).format(
            table=table,
            cols=sql.SQL(", ").join(columns_with_key),
            vals=sql.SQL(", ").join(values),
            key=sql.Identifier(key),
            pk=sql.Identifier(t.key),
        )
        update = sql.SQL(
            "UPDATE {table} SET {col} = %s WHERE {pk} = (SELECT {pk} FROM {table} WHERE {key}::text = %s "
            "ORDER BY {pk} LIMIT 1) RETURNING {pk}::text, {col}::text"
        ).format(table=table, col=sql.Identifier(t.column), pk=sql.Identifier(t.key), key=sql.Identifier(key))
        n = 0
        # The last tenants are cut over last: they take writes the longest.
        live = list(reversed(self.tenants))
        while live and not self.stop.is_set():
            tenant = live[n % len(live)]
            n += 1
            try:
                with typed_errors(), conn.transaction():
                    if n % 2:
                        row = conn.execute(insert, (tenant,)).fetchone()
                        assert row is not None
                        self.inserted.setdefault(tenant, []).append(row[0])
                    else:
                        row = conn.execute(update, (f"written {n}", tenant)).fetchone()
                        assert row is not None
                        self.updated[row[0]] = row[1]
                self.committed.release()
            except TenantCutOver:
                live.remove(tenant)
                self.refused.add(tenant)


def test_online_flow_under_a_writer_keeps_every_row(corpus: Corpus) -> None:
    db, manifest, app = corpus.db, corpus.manifest, corpus.app
    tenants = _install_and_provision(db, manifest)
    target = WRITES[app]
    with db.connect() as conn:
        before = shared_sums(conn, manifest)
    writer = Writer(db, manifest, target, tenants)
    thread = threading.Thread(target=writer.run)
    thread.start()
    try:
        # The writer has committed before the capture starts, so its writes span every step.
        assert writer.committed.acquire(timeout=30)
        syncing = online.migrate_online(db.dsn, tenants)
        assert [r.state for r in syncing] == ["syncing"] * len(tenants), next(r for r in syncing if not r.ok)
        if app in SYNCING_WRITES:
            with db.connect() as conn:
                conn.execute(SYNCING_WRITES[app][1])
        cut = online.cutover_tenants(db.dsn, tenants)
        assert [r.state for r in cut] == ["cut_over"] * len(tenants), next(r for r in cut if not r.ok)
    except BaseException:
        writer.stop.set()
        raise
    finally:
        # The writer ends by itself once every tenant refuses its writes.
        thread.join(60)
        writer.stop.set()
    assert not writer.errors, writer.errors
    # Every tenant ended refusing the writer's writes to its shared rows.
    assert writer.refused == set(tenants)
    assert writer.inserted and writer.updated
    changed = {target.table, *(SYNCING_WRITES[app][:1] if app in SYNCING_WRITES else ())}
    with db.connect() as conn:
        for (tenant, table), expected in before.items():
            if table not in changed:
                assert tenant_sum(conn, manifest, tenant, table) == expected, (tenant, table)
        _assert_writes_kept(conn, manifest, writer, before)
        # The shared rows stay behind the guard until contract, as cutover proved them:
        # each tenant's equal its tenant table (nothing wrote either since).
        left = shared_sums(conn, manifest)
        assert left == {k: tenant_sum(conn, manifest, *k) for k in left}
        assert {t for t, _ in left} == set(tenants)
        if app in SYNCING_WRITES:  # the syncing writes reached the tenant tables, by their replay
            assert all(left[(t, SYNCING_WRITES[app][0])] != before[(t, SYNCING_WRITES[app][0])] for t in tenants)
        # The triggers were recreated at cutover, the keys and indexes at the copy.
        assert assert_kept_or_named(conn, manifest, derive_all(conn, manifest), tenants[0]) == KEPT_OR_NAMED[app]
    if CONTRACT_NEEDS_ARCHIVE[app]:
        with pytest.raises(SharedTableInUse):
            online.contract(db.dsn, None)
    contracted = online.contract(db.dsn, "corpus_archive" if CONTRACT_NEEDS_ARCHIVE[app] else None)
    assert sorted(t.table_name for t in contracted) == sorted(manifest.move)
    checked = validate.validate_tenants(db.dsn, tenants)
    assert [r.state for r in checked] == ["validated"] * len(tenants), next(r for r in checked if not r.ok)
    with db.connect() as conn:
        _assert_writes_kept(conn, manifest, writer, before)


def _assert_writes_kept(conn: psycopg.Connection, manifest: Manifest, writer: Writer, before: Sums) -> None:
    """The write table of each tenant: its rows before, plus every row inserted, each update's last value."""
    t = writer.target
    for tenant in writer.tenants:
        schema = sql.Identifier(manifest.schema_for(tenant))
        table = sql.SQL("{}.{}").format(schema, sql.Identifier(t.table))
        rows = dict(
            conn.execute(
                sql.SQL("SELECT {}::text, {}::text FROM {}").format(
                    sql.Identifier(t.key), sql.Identifier(t.column), table
                )
            ).fetchall()
        )
        mine = writer.inserted.get(tenant, [])
        assert len(rows) == before[(tenant, t.table)][0] + len(mine), tenant
        assert set(mine) <= set(rows), tenant
        for key, value in writer.updated.items():
            assert rows.get(key, value) == value, (tenant, key)


def _changed(app: str, change: Callable[[dict[str, Any]], None]) -> Manifest:
    doc = tomllib.loads((CORPUS / app / "tenancy.toml").read_text())
    change(doc)
    return parse_manifest(doc)


def _fate(doc: dict[str, Any], table: str, section: str) -> None:
    for name in ("move", "central", "hybrid"):
        if table in doc[name]["tables"]:
            doc[name]["tables"].remove(table)
    doc[section]["tables"].append(table)


@pytest.mark.parametrize("corpus", ["lago"], indirect=True)
def test_lago_tables_kept_shared_are_refused_when_moved(corpus: Corpus) -> None:
    """Why the Lago manifest keeps some tables with organization_id shared: each refusal as the tool gives it."""
    db = corpus.db
    with db.connect() as conn, pytest.raises(RenderError, match='"custom_role_should_have_permissions" of "roles"'):
        install(conn, _changed("lago", lambda d: _fate(d, "roles", "move")))
    with db.connect() as conn:
        install(conn, _changed("lago", lambda d: _fate(d, "customers", "move")))
        tenants = registry_tenants(conn, load_manifest(CORPUS / "lago" / "tenancy.toml"))
    with pytest.raises(PreflightFailed) as refused:
        migrate.migrate_tenants(db.dsn, tenants[:1])
    assert "public.applied_add_ons references public.customers" in (refused.value.detail or "")
    manifest = _changed("lago", lambda d: _fate(d, "enriched_events", "move"))
    with db.connect() as conn:
        install(conn, manifest)
    provision_tenants(db.dsn, tenants[:1])
    (result,) = online.migrate_online(db.dsn, tenants[:1])
    assert (result.state, result.sqlstate) == ("failed", NotCapturable.sqlstate), result
    assert "enriched_events" in (result.error or "")


def test_plan_of_each_schema(corpus: Corpus) -> None:
    db, manifest, app = corpus.db, corpus.manifest, corpus.app
    with db.connect() as conn:
        before = snapshot(conn)
    out = tenancy("plan", "--manifest", str(manifest.path), "--json", dsn=db.dsn)
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    with db.connect() as conn:
        assert snapshot(conn) == before
    assert (doc["problems"], doc["tenants"], len(doc["tables"])) == ([], TENANTS[app], len(manifest.move))
    assert doc["objects"] == PLANNED[app]
    fates = {(t["table"], f["name"]): f for t in doc["tables"] for f in t["fates"]}
    triggers = {k: f for k, f in fates.items() if f["kind"] == "trigger"}
    assert all(f["fate"] == "kept" and f["how"].startswith("recreated after the copy") for f in triggers.values())
    assert all(t["captured"] for t in doc["tables"] if t["table"] != "enriched_events")
    if app == "lago":
        assert list(triggers) == [("payment_receipts", "before_payment_receipt_insert")]
        assert fates[("api_keys", "index_api_keys_on_value")]["how"] == (
            "unique (value) across all tenants is now unique per tenant"
        )
    elif app == "hatchet":
        assert len(triggers) == 20 and len({table for table, _ in triggers}) == 9
        entitlement = fates[("tenant_entitlement", "tenant_entitlement_pkey")]
        assert (entitlement["fate"], entitlement["how"]) == (
            "rewritten",
            "(tenant_id) → at most one row per tenant: UNIQUE INDEX ((true)); the tenant table has no primary key",
        )
        # Functions that read tenant_id of the rows they get: flagged for the user to check.
        assert sum(1 for f in triggers.values() if f["caution"]) == 15
    else:
        assert triggers == {}
        assert fates[("identities", "identities_nid_external_id_idx")]["how"] == (
            "(nid, external_id) → (external_id) where (external_id IS NOT NULL)"
        )
