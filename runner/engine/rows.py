"""Typed rows: the shape of each result the engine reads, and how rows are fetched.

Every query's rows come back as a frozen dataclass (psycopg's class_row, which
fills the fields by column name, so a row type names exactly the columns of its
query) or, for a query of one column, as its values (scalar_row). No engine code
reads a row by position or by key. The rows of the catalog queries are in
runner/engine/catalog_rows.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import class_row, scalar_row

R = TypeVar("R")
Connection = psycopg.Connection[Any]


def fetch_all(conn: Connection, row: type[R], query: QueryNoTemplate, params: Params | None = None) -> list[R]:
    """Every row of the query, each as a `row`."""
    with conn.cursor(row_factory=class_row(row)) as cur:
        return cur.execute(query, params).fetchall()


def fetch_one(conn: Connection, row: type[R], query: QueryNoTemplate, params: Params | None = None) -> R | None:
    """The first row of the query as a `row`, or None when it returns none."""
    with conn.cursor(row_factory=class_row(row)) as cur:
        return cur.execute(query, params).fetchone()


def fetch_values(conn: Connection, query: QueryNoTemplate, params: Params | None = None) -> list[Any]:
    """The value of every row of a query of one column."""
    with conn.cursor(row_factory=scalar_row) as cur:
        return cur.execute(query, params).fetchall()


def fetch_value(conn: Connection, query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The value of the first row of a query of one column; None when it returns no row."""
    with conn.cursor(row_factory=scalar_row) as cur:
        return cur.execute(query, params).fetchone()


# -- a tenant's tables: migration, copy, rollback, contract ---------------------------------------


class CopiedTable(Protocol):
    """A row that says how one table of a tenant was copied (TableRow, BatchRow, MigratedTable)."""

    @property
    def table_name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def rows_copied(self) -> int: ...
    @property
    def seconds(self) -> Decimal | None: ...


@dataclass(frozen=True)
class TableRow:
    """One moved table of a tenant's migration or copy (queries/migrate_tenant.sql,
    migrate_batched_tables.sql, online_copy_tenant_snapshot.sql)."""

    table_name: str
    state: str
    rows_copied: int
    seconds: Decimal | None
    action: str  # migrated | skipped | copied


@dataclass(frozen=True)
class BatchRow:
    """A row of tenancy.migrate_tenants (queries/migrate_tenants.sql): one moved table of a
    tenant migrated or skipped, or, for a tenant that failed (action 'failed'), its error; the
    table columns of that row are NULL."""

    tenant_id: str
    table_name: str
    state: str
    rows_copied: int
    seconds: Decimal | None
    action: str  # migrated | skipped | failed
    error_code: str | None
    error: str | None
    error_detail: str | None
    error_hint: str | None


@dataclass(frozen=True)
class MigratedTable:
    """A table of a tenant migrated already (queries/migrate_migrated_tables.sql)."""

    tenant_id: str
    table_name: str
    state: str
    rows_copied: int
    seconds: Decimal | None


@dataclass(frozen=True)
class TableAction:
    """What a rollback or the contract did to one table (queries/migrate_rollback_tenant.sql,
    online_contract.sql)."""

    table_name: str
    action: str


@dataclass(frozen=True)
class CutoverRow:
    """A row of tenancy.cutover_tenant (queries/online_cutover_tenant.sql): one table, or the
    summary (table_name NULL) with the rows replayed under the fence and how long it held
    (NULL in the rows of the tables)."""

    table_name: str | None
    row_count: int | None
    replayed: int
    fence_ms: Decimal
    action: str | None


# -- preflight and plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class PreflightProblem:
    """A problem that stops every tenant (queries/migrate_preflight.sql) or one tenant
    (plan_preflight_tenant.sql)."""

    table_name: str | None
    check_name: str
    problem_rows: int | None
    detail: str
    hint: str | None


@dataclass(frozen=True)
class SchemaCollision:
    """A registry tenant whose id maps to a schema name other ids map to too
    (queries/migrate_schema_collisions.sql)."""

    tenant_id: str
    schema_name: str
    tenant_ids: list[str]


@dataclass(frozen=True)
class IncompleteTenant:
    """A migrated tenant that misses tables added to [move] later (queries/migrate_incomplete_tenants.sql)."""

    tenant_id: str
    missing_tables: list[str]


@dataclass(frozen=True)
class PlannedTable:
    """What migrating one tenant does to one table (queries/plan_tenant_tables.sql)."""

    table_name: str
    state: str
    rows_to_move: int
    ddl: str


# -- status, validation, locks, install ----------------------------------------------------------


@dataclass(frozen=True)
class StatusRow:
    """A row of tenancy.tenant_status (queries/status_tenants.sql)."""

    tenant_id: str
    schema_name: str | None
    state: str
    tables: int
    tables_done: int
    rows_copied: Decimal
    seconds: Decimal | None
    validated: bool | None
    validated_at: dt.datetime | None
    failed_checks: int | None
    last_error: str | None


@dataclass(frozen=True)
class ValidationCheck:
    """One check of one tenant (queries/validate_tenants.sql); passed NULL: a check that does
    not apply yet (a syncing tenant's cutover checks)."""

    tenant_id: str
    table_name: str | None
    check_name: str
    expected: str | None
    actual: str | None
    passed: bool | None


@dataclass(frozen=True)
class LockWait:
    """A lock a backend waits for, and the pids holding it (queries/executor_lock_waits.sql)."""

    pid: int
    target: str
    mode: str
    held_by: list[int]


@dataclass(frozen=True)
class RoutineDigest:
    """One routine of the tool and a digest of its definition (queries/install_routine_digests.sql)."""

    identity: str
    digest: str


@dataclass(frozen=True)
class InstalledVersion:
    """The install in place (queries/install_in_place.sql)."""

    version: str
    checksum: str


@dataclass(frozen=True)
class Stamp:
    """A tenant table an older version made, and whether it was stamped (queries/install_stamp_unstamped.sql)."""

    tenant_id: str
    table_name: str
    action: str


@dataclass(frozen=True)
class PolicyChange:
    """Row-level security brought up to date on one object (queries/install_refresh_hybrid_policies.sql)."""

    object_type: str
    object_name: str
    action: str


# -- the CLI's and access's reads --------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryCheck:
    """The registry recorded at install, and whether it still exists (queries/registry_check.sql)."""

    id_column: str
    registry_table: str
    has_table: bool
    has_column: bool


@dataclass(frozen=True)
class CredentialSet:
    """A login given its credential (tenancy.set_tenant_credential)."""

    tenant_id: str
    object_name: str
    action: str
