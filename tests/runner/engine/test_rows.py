"""Typed rows and the failure of one tenant, against a real PostgreSQL: every query the
engine reads into a row type returns exactly that type's fields, in order; every query
file says what it returns; tenant_failed rolls back, records and reports as asked."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import psycopg
import pytest

from runner.db import ProgressEvent
from runner.engine import catalog_rows as c
from runner.engine import rows as r
from runner.engine.executor import TenantResult, tenant_failed
from runner.engine.history import Event
from runner.manifest import Manifest
from runner.resources import QUERIES_DIR, read_query
from runner.sqlscript import run_script
from runner.states import TenantOutcome
from tests.conftest import Database, registry_ids

# Each query file the engine reads into a row type, and that type (None: the query's one column).
TYPED_QUERIES: dict[str, type | None] = {
    "catalog_column_types": c.ColumnTypeRow,
    "catalog_columns": c.ColumnRow,
    "catalog_constraints": c.ConstraintRow,
    "catalog_exclusions": c.ExclusionRow,
    "catalog_indexes": c.IndexRow,
    "catalog_left_behind": c.LeftBehindRow,
    "catalog_moved_owners": c.OwnerRow,
    "catalog_partitions": c.PartitionRow,
    "catalog_reserved_words": None,
    "catalog_table": c.RelationRow,
    "catalog_table_columns": c.TableColumnsRow,
    "catalog_tables": None,
    "catalog_triggers": c.TriggerRow,
    "catalog_unlisted_references": c.ReferenceRow,
    "catalog_unlisted_tables": None,
    "discover_columns": c.DiscoveredColumn,
    "discover_foreign_keys": c.DiscoveredForeignKey,
    "executor_lock_waits": r.LockWait,
    "history_events": Event,
    "install_has_citus": None,
    "install_in_place": r.InstalledVersion,
    "install_refresh_hybrid_policies": r.PolicyChange,
    "install_routine_digests": r.RoutineDigest,
    "install_stamp_unstamped": r.Stamp,
    "migrate_batched_tables": r.TableRow,
    "migrate_incomplete_tenants": r.IncompleteTenant,
    "migrate_migrated_tables": r.MigratedTable,
    "migrate_preflight": r.PreflightProblem,
    "migrate_rollback_tenant": r.TableAction,
    "migrate_schema_collisions": r.SchemaCollision,
    "migrate_tenant": r.TableRow,
    "migrate_tenants": r.BatchRow,
    "migrate_unbatched_tables": None,
    "online_contract": r.TableAction,
    "online_copy_tenant_snapshot": r.TableRow,
    "online_cut_over_tenants": None,
    "online_cutover_tenant": r.CutoverRow,
    "online_replay_tenant": None,
    "online_tenant_state": None,
    "plan_online_in_flight": None,
    "plan_preflight_tenant": r.PreflightProblem,
    "plan_tenant_tables": r.PlannedTable,
    "status_tenants": r.StatusRow,
    "validate_tenants": r.ValidationCheck,
    "registry_check": r.RegistryCheck,
}

_PARAMETER = re.compile(r"%\((\w+)\)s")


def _columns(conn: psycopg.Connection, query: str) -> list[str]:
    """The names of the columns the query returns, from the server's description of it
    (prepared, never run: %(name)s parameters become $1, $2, ...)."""
    numbers: dict[str, int] = {}
    text = _PARAMETER.sub(lambda m: f"${numbers.setdefault(m.group(1), len(numbers) + 1)}", query)
    if numbers:
        text = text.replace("%%", "%")
    conn.pgconn.prepare(b"", text.encode())
    described = conn.pgconn.describe_prepared(b"")
    assert described.status == psycopg.pq.ExecStatus.COMMAND_OK, described.error_message
    return [(described.fname(i) or b"").decode() for i in range(described.nfields)]


def test_every_typed_query_returns_the_fields_of_its_row_type(installed_db: Database) -> None:
    with installed_db.connect() as conn:
        run_script(conn, read_query("install/routines.sql"))  # pg_temp.tenancy_routines()
        for name, row in TYPED_QUERIES.items():
            columns = _columns(conn, read_query(f"queries/{name}.sql"))
            fields = [f.name for f in dataclasses.fields(row)] if row else columns[:1]
            assert columns == fields, name


def test_every_query_file_says_what_it_returns_on_its_first_line() -> None:
    for path in sorted(QUERIES_DIR.glob("*.sql")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("-- ") and len(first) > 10, path.name


def test_the_engine_reads_every_typed_query_file() -> None:
    engine = "\n".join(p.read_text(encoding="utf-8") for p in Path(r.__file__).parents[1].rglob("*.py"))
    for name in TYPED_QUERIES:
        assert f'"queries/{name}.sql"' in engine, name


class _Finished:
    def __init__(self) -> None:
        self.results: list[TenantResult] = []

    def start(self, tenant_id: str) -> None: ...
    def advance(self, event: ProgressEvent) -> None: ...

    def finish(self, result: TenantResult) -> None:
        self.results.append(result)


def _error(conn: psycopg.Connection, *, in_transaction: bool = False) -> psycopg.Error:
    """An error of a statement; in_transaction: inside a transaction, which it leaves open (and failed)."""
    if in_transaction:
        conn.execute("BEGIN")
    try:
        conn.execute("SELECT 1 / 0")
    except psycopg.Error as e:
        return e
    raise AssertionError("no error")


def _ledger(conn: psycopg.Connection, tenant: str) -> tuple[str, str | None]:
    row = conn.execute("SELECT state, last_error FROM tenancy.tenants WHERE tenant_id = %s", (tenant,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_tenant_failed_rolls_back_when_asked_records_and_reports(db: Database, manifest: Manifest) -> None:
    tenant = registry_ids(db, manifest)[0]
    progress = _Finished()
    with db.connect() as conn:
        error = _error(conn, in_transaction=True)
        result = tenant_failed(conn, tenant, error, time.monotonic(), rollback=True, progress=progress)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert _ledger(conn, tenant) == ("failed", "22012: division by zero")
    assert result.state == TenantOutcome.FAILED and result.sqlstate == "22012"
    assert result.error == "division by zero" and result.detail is None
    assert progress.results == [result]


def test_tenant_failed_adds_what_remains_to_the_detail(db: Database, manifest: Manifest) -> None:
    tenant = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        result = tenant_failed(conn, tenant, _error(conn), time.monotonic(), remains="A re-run starts it again.")
        assert _ledger(conn, tenant) == ("failed", "22012: division by zero")
    assert result.detail == "A re-run starts it again."


def test_tenant_failed_without_rollback_leaves_the_transaction_to_the_caller(db: Database, manifest: Manifest) -> None:
    tenant = registry_ids(db, manifest)[0]
    with db.connect() as conn:
        error = _error(conn, in_transaction=True)
        result = tenant_failed(conn, tenant, error, time.monotonic())
        # The failed transaction refused the ledger's update (best effort): nothing recorded.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        conn.execute("ROLLBACK")
        assert _ledger(conn, tenant) == ("provisioned", None)
    assert result.state == TenantOutcome.FAILED


@pytest.mark.parametrize("rollback", [False, True])
def test_tenant_failed_on_a_closed_session_records_nothing(db: Database, manifest: Manifest, rollback: bool) -> None:
    tenant = registry_ids(db, manifest)[0]
    conn = db.connect()
    conn.close()
    result = tenant_failed(conn, tenant, RuntimeError("gone"), time.monotonic(), rollback=rollback)
    assert result.state == TenantOutcome.FAILED and result.error == "RuntimeError: gone"
    with db.connect() as check:
        assert _ledger(check, tenant) == ("provisioned", None)
