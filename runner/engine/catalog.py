"""Read the shape of the shared tables from the live catalog.

Only catalog rows are read here, never table data. Names come back exactly as
PostgreSQL stores them; types, defaults and expressions are read with
``search_path = pg_catalog`` so that they come back schema-qualified and stay
valid when executed from any schema.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import psycopg

from runner.engine.catalog_rows import (
    ColumnRow,
    ColumnTypeRow,
    ConstraintRow,
    ExclusionRow,
    IndexRow,
    LeftBehindRow,
    OwnerRow,
    PartitionRow,
    ReferenceRow,
    RelationRow,
    TableColumnsRow,
    TriggerRow,
)
from runner.engine.rows import fetch_all, fetch_one, fetch_values
from runner.errors import RenderError
from runner.manifest import Manifest
from runner.resources import read_query


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str  # "" | "a" (ALWAYS) | "d" (BY DEFAULT)
    generated: str | None  # expression of a STORED generated column
    serial: bool  # default is nextval() of a sequence owned by this column
    type_oid: int
    collation: str | None = None  # schema-qualified, when not the type's own


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str
    on_delete: str
    match_full: bool
    deferrable: bool
    deferred: bool
    validated: bool


@dataclass(frozen=True)
class KeyConstraint:
    """A PRIMARY KEY or UNIQUE constraint."""

    name: str
    primary: bool
    columns: tuple[str, ...]
    include: tuple[str, ...]
    nulls_not_distinct: bool
    deferrable: bool
    deferred: bool
    options: tuple[str, ...] = ()  # storage parameters of its index, "name=value"


@dataclass(frozen=True)
class Check:
    name: str
    columns: tuple[str, ...]
    definition: str  # "CHECK (...)" as pg_get_constraintdef prints it
    validated: bool


@dataclass(frozen=True)
class IndexKey:
    expression: str  # a column name or an expression, as pg_get_indexdef prints it
    column: str | None  # set when the key is a plain column
    descending: bool
    nulls_first: bool
    opclass: str | None  # only when not the type's default


@dataclass(frozen=True)
class Index:
    """An index that does not back a constraint."""

    name: str
    unique: bool
    method: str
    keys: tuple[IndexKey, ...]
    include: tuple[str, ...]
    predicate: str | None
    nulls_not_distinct: bool
    referenced_columns: frozenset[str]  # every column the index uses, plain or in expressions
    options: tuple[str, ...] = ()  # storage parameters, "name=value"


@dataclass(frozen=True)
class ExclusionElement:
    expression: str  # a column name or an expression, as pg_get_indexdef prints it
    column: str | None  # set when the element is a plain column
    opclass: str | None  # only when not the type's default
    operator: str  # OPERATOR(schema.op)
    operator_name: str  # op


@dataclass(frozen=True)
class Exclusion:
    """An exclusion constraint."""

    name: str
    definition: str  # as pg_get_constraintdef prints it
    method: str
    elements: tuple[ExclusionElement, ...]
    include: tuple[str, ...]
    predicate: str | None
    deferrable: bool
    deferred: bool
    referenced_columns: frozenset[str]  # every column it uses, plain, in expressions or in the predicate
    options: tuple[str, ...] = ()  # storage parameters of its index, "name=value"


@dataclass(frozen=True)
class Trigger:
    """A trigger the application put on a table (not internal, not the tool's own)."""

    name: str
    definition: str  # as pg_get_triggerdef prints it, every name schema-qualified
    enabled: str  # O (origin, the default) | D (disabled) | R (replica) | A (always)
    on_name: str  # the table as the definition names it: "schema.table", each part quoted as needed
    on_schema: str  # its schema as the definition names it
    from_schema: str | None  # the FROM table of a constraint trigger
    from_table: str | None
    from_name: str | None  # the FROM table as the definition names it
    has_when: bool
    update_columns: tuple[str, ...]  # UPDATE OF
    referenced_columns: frozenset[str]  # every column it uses (UPDATE OF, WHEN)
    function: str  # regprocedure
    trusted: bool  # the function and its schema belong to a superuser, the central schema's owner or the table's
    source: str  # the function's source text


@dataclass(frozen=True)
class LeftBehind:
    """Something attached to the table, or to one of its partitions only, that no tenant table gets."""

    kind: str  # rule | policy | statistics | index | unique index | primary key | ... | trigger
    name: str
    relation: str  # the table, or the partition it is on
    on_partition: bool


@dataclass(frozen=True)
class Partition:
    name: str
    bound: str  # "FOR VALUES ..." or "DEFAULT", as pg_get_expr prints it
    options: tuple[str, ...]  # storage parameters, "name=value"


@dataclass(frozen=True)
class TableShape:
    schema: str
    name: str
    oid: int
    columns: tuple[Column, ...]
    primary_key: KeyConstraint | None
    uniques: tuple[KeyConstraint, ...]
    checks: tuple[Check, ...]
    foreign_keys: tuple[ForeignKey, ...]
    indexes: tuple[Index, ...]
    options: tuple[str, ...] = ()  # storage parameters, "name=value"
    partition_key: str | None = None  # "RANGE (created_at)" for a partitioned table
    partition_columns: tuple[str, ...] = ()
    partitions: tuple[Partition, ...] = ()
    subpartitioned: tuple[str, ...] = ()  # partitions that are partitioned again
    row_security: bool = False  # ENABLE ROW LEVEL SECURITY
    guard_open: bool = False  # the tool's guard opened it for everyone (its policy tenancy_open)
    exclusions: tuple[Exclusion, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    left_behind: tuple[LeftBehind, ...] = ()

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


@dataclass(frozen=True)
class _Constraints:
    """The PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints of a table."""

    primary_key: KeyConstraint | None
    uniques: tuple[KeyConstraint, ...]
    checks: tuple[Check, ...]
    foreign_keys: tuple[ForeignKey, ...]


@dataclass(frozen=True)
class _Partitioning:
    """The partitions of a partitioned table, and those of them that are partitioned again."""

    partitions: tuple[Partition, ...]
    subpartitioned: tuple[str, ...]


def read_table(conn: psycopg.Connection, schema: str, table: str) -> TableShape:
    """Read one table's shape, all of it (what cannot move is for runner.engine.target to
    refuse); raises RenderError if it does not exist."""
    table_row = _read_table_row(conn, schema, table)
    oid = int(table_row.oid)
    columns = _read_columns(conn, oid)
    constraints = _read_constraints(conn, oid)
    exclusions = _read_exclusions(conn, oid)
    triggers = _read_triggers(conn, oid, schema)
    left_behind = _read_left_behind(conn, oid)
    indexes = _read_indexes(conn, oid)
    partitioning = _read_partitions(conn, oid)
    return TableShape(
        schema=schema,
        name=table,
        oid=oid,
        columns=columns,
        primary_key=constraints.primary_key,
        uniques=constraints.uniques,
        checks=constraints.checks,
        foreign_keys=constraints.foreign_keys,
        indexes=indexes,
        options=tuple(table_row.options),
        partition_key=table_row.partition_key,
        partition_columns=tuple(table_row.partition_columns),
        partitions=partitioning.partitions,
        subpartitioned=partitioning.subpartitioned,
        row_security=table_row.row_security,
        guard_open=table_row.guard_open,
        exclusions=exclusions,
        triggers=triggers,
        left_behind=left_behind,
    )


def _read_table_row(conn: psycopg.Connection, schema: str, table: str) -> RelationRow:
    """The table's own row (oid, storage parameters, partition key, row-level security);
    RenderError if the table does not exist."""
    table_row = fetch_one(
        conn, RelationRow, read_query("queries/catalog_table.sql"), {"schema": schema, "table": table}
    )
    if table_row is None:
        raise RenderError(
            f'table "{schema}.{table}" does not exist',
            hint="Check the [move] list of the manifest against the database.",
        )
    return table_row


def _read_columns(conn: psycopg.Connection, oid: int) -> tuple[Column, ...]:
    """The table's columns, in order; a serial column's default (its nextval) and a generated
    column's expression are not its default."""
    columns = []
    for r in fetch_all(conn, ColumnRow, read_query("queries/catalog_columns.sql"), {"oid": oid}):
        default = r.default_expr
        serial = bool(r.owned_seq and not r.attidentity and default is not None and default.startswith("nextval("))
        columns.append(
            Column(
                name=r.attname,
                type=r.type,
                not_null=r.attnotnull,
                default=None if (serial or r.attgenerated) else default,
                identity=r.attidentity,
                generated=default if r.attgenerated == "s" else None,
                serial=serial,
                type_oid=r.type_oid,
                collation=r.collation,
            )
        )
    return tuple(columns)


def _read_constraints(conn: psycopg.Connection, oid: int) -> _Constraints:
    """The table's PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints (one query for all four)."""
    pk: KeyConstraint | None = None
    uniques: list[KeyConstraint] = []
    checks: list[Check] = []
    fks: list[ForeignKey] = []
    for r in fetch_all(conn, ConstraintRow, read_query("queries/catalog_constraints.sql"), {"oid": oid}):
        kind = r.contype
        if kind == "p":
            pk = _key_constraint(r)
        elif kind == "u":
            uniques.append(_key_constraint(r))
        elif kind == "c":
            checks.append(Check(r.conname, tuple(r.columns), r.definition, r.convalidated))
        elif kind == "f":
            fks.append(_foreign_key(r))
    return _Constraints(pk, tuple(uniques), tuple(checks), tuple(fks))


def _key_constraint(r: ConstraintRow) -> KeyConstraint:
    """A PRIMARY KEY or UNIQUE constraint from its row of catalog_constraints.sql."""
    return KeyConstraint(
        name=r.conname,
        primary=r.contype == "p",
        columns=tuple(r.columns),
        include=tuple(r.include),
        nulls_not_distinct=r.nulls_not_distinct,
        deferrable=r.condeferrable,
        deferred=r.condeferred,
        options=tuple(r.index_options),
    )


def _foreign_key(r: ConstraintRow) -> ForeignKey:
    """A FOREIGN KEY constraint from its row of catalog_constraints.sql."""
    return ForeignKey(
        name=r.conname,
        columns=tuple(r.columns),
        ref_schema=r.ref_schema,
        ref_table=r.ref_table,
        ref_columns=tuple(r.ref_columns),
        on_update=_FK_ACTIONS[r.confupdtype],
        on_delete=_FK_ACTIONS[r.confdeltype],
        match_full=r.confmatchtype == "f",
        deferrable=r.condeferrable,
        deferred=r.condeferred,
        validated=r.convalidated,
    )


def _read_exclusions(conn: psycopg.Connection, oid: int) -> tuple[Exclusion, ...]:
    """The table's exclusion constraints, each element with its operator."""
    exclusions = []
    for r in fetch_all(conn, ExclusionRow, read_query("queries/catalog_exclusions.sql"), {"oid": oid}):
        nkey = r.indnkeyatts
        elements = tuple(
            ExclusionElement(
                expression=r.exprs[k],
                column=r.columns[k] or None,
                opclass=r.opclasses[k] or None,
                operator=r.operators[k],
                operator_name=r.operator_names[k],
            )
            for k in range(nkey)
        )
        exclusions.append(
            Exclusion(
                name=r.name,
                definition=r.definition,
                method=r.method,
                elements=elements,
                include=tuple(r.columns[nkey : r.indnatts]),
                predicate=r.predicate,
                deferrable=r.condeferrable,
                deferred=r.condeferred,
                referenced_columns=frozenset(r.referenced) | {c for c in r.columns if c},
                options=tuple(r.options),
            )
        )
    return tuple(exclusions)


def _read_triggers(conn: psycopg.Connection, oid: int, schema: str) -> tuple[Trigger, ...]:
    """The application's triggers on the table (not internal, not the tool's own)."""
    return tuple(
        Trigger(
            name=r.name,
            definition=r.definition,
            enabled=r.enabled,
            on_name=r.on_name,
            on_schema=r.on_schema,
            from_schema=r.from_schema,
            from_table=r.from_table,
            from_name=r.from_name,
            has_when=r.has_when,
            update_columns=tuple(r.update_columns),
            referenced_columns=frozenset(r.referenced) | set(r.update_columns),
            function=r.function,
            trusted=r.trusted,
            source=r.source or "",
        )
        for r in fetch_all(conn, TriggerRow, read_query("queries/catalog_triggers.sql"), {"oid": oid, "schema": schema})
    )


def _read_left_behind(conn: psycopg.Connection, oid: int) -> tuple[LeftBehind, ...]:
    """What is attached to the table, or to one of its partitions only, that no tenant table gets."""
    return tuple(
        LeftBehind(r.kind, r.name, r.relation, r.partition)
        for r in fetch_all(conn, LeftBehindRow, read_query("queries/catalog_left_behind.sql"), {"oid": oid})
    )


def _read_indexes(conn: psycopg.Connection, oid: int) -> tuple[Index, ...]:
    """The table's indexes that back no constraint, each key with its order and operator class."""
    indexes = []
    for r in fetch_all(conn, IndexRow, read_query("queries/catalog_indexes.sql"), {"oid": oid}):
        nkey = r.indnkeyatts
        keys = tuple(
            IndexKey(
                expression=r.exprs[k],
                column=r.columns[k] or None,
                descending=bool(r.options_per_key[k] & 1),
                nulls_first=bool(r.options_per_key[k] & 2),
                opclass=r.opclasses[k] or None,
            )
            for k in range(nkey)
        )
        indexes.append(
            Index(
                name=r.name,
                unique=r.indisunique,
                method=r.amname,
                keys=keys,
                include=tuple(r.columns[nkey : r.indnatts]),
                predicate=r.predicate,
                nulls_not_distinct=r.indnullsnotdistinct,
                referenced_columns=frozenset(r.referenced),
                options=tuple(r.options),
            )
        )
    return tuple(indexes)


def _read_partitions(conn: psycopg.Connection, oid: int) -> _Partitioning:
    """The partitions of the table (none when it is not partitioned), with their bounds."""
    partitions = []
    subpartitioned = []
    for r in fetch_all(conn, PartitionRow, read_query("queries/catalog_partitions.sql"), {"oid": oid}):
        if r.relkind == "p":
            subpartitioned.append(r.name)
        partitions.append(Partition(r.name, r.bound, tuple(r.options)))
    return _Partitioning(tuple(partitions), tuple(subpartitioned))


def hashable_types(conn: psycopg.Connection, type_names: set[str]) -> set[str]:
    """The types hash_record_extended() can hash (probed, so domains and arrays are right)."""
    ok = set()
    for t in sorted(type_names):
        try:
            with conn.transaction():
                conn.execute(f"SELECT hash_record_extended(ROW(NULL::{t}), 0)")
            ok.add(t)
        except psycopg.errors.UndefinedFunction:
            pass
    return ok


def column_types(conn: psycopg.Connection, schema: str, columns: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(table, column) -> type without modifier, schema-qualified; RenderError for a column that does not exist."""
    with conn.transaction():
        conn.execute("SET LOCAL search_path = pg_catalog")
        rows = fetch_all(
            conn,
            ColumnTypeRow,
            read_query("queries/catalog_column_types.sql"),
            {"schema": schema, "tables": [t for t, _ in columns], "columns": [c for _, c in columns]},
        )
    found = {(r.tbl, r.col): r.type for r in rows}
    for table, column in columns:
        if (table, column) not in found:
            raise RenderError(
                f'column "{schema}.{table}.{column}" does not exist',
                hint="Check the [registry] and [central.access] entries of the manifest against the database.",
            )
    return found


def reserved_words(conn: psycopg.Connection) -> frozenset[str]:
    """Keywords that must be quoted as identifiers on this server."""
    return frozenset(fetch_values(conn, read_query("queries/catalog_reserved_words.sql")))


def unlisted_tenant_tables(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """Tables of the central schema with the tenant key column that the manifest does not list."""
    listed = set(manifest.move) | set(manifest.central) | set(manifest.hybrid)
    names = fetch_values(
        conn,
        read_query("queries/catalog_unlisted_tables.sql"),
        {"key": manifest.tenant_key, "schema": manifest.central_schema},
    )
    return [name for name in names if name not in listed]


@dataclass(frozen=True)
class SharedOwner:
    """The role that owns every moved table, which contract acts as (docs/online.md)."""

    name: str
    superuser: bool


def shared_tables_owner(conn: psycopg.Connection, manifest: Manifest) -> SharedOwner | None:
    """The one owner of all the moved tables, or None when they have several."""
    owners = fetch_all(
        conn,
        OwnerRow,
        read_query("queries/catalog_moved_owners.sql"),
        {"schema": manifest.central_schema, "tables": list(manifest.move)},
    )
    return SharedOwner(owners[0].rolname, bool(owners[0].rolsuper)) if len(owners) == 1 else None


def _nearest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def table_columns(conn: psycopg.Connection, schema: str, tables: list[str]) -> dict[str, list[str]]:
    """The columns of each of these tables of the schema that exists (a missing table has no key)."""
    rows = fetch_all(
        conn, TableColumnsRow, read_query("queries/catalog_table_columns.sql"), {"schema": schema, "tables": tables}
    )
    return {r.relname: list(r.columns) for r in rows}


def unlisted_references(conn: psycopg.Connection, manifest: Manifest) -> list[tuple[str, str]]:
    """(moved table, referenced table): foreign keys of moved tables to tables of the central
    schema that the manifest lists nowhere."""
    reg = manifest.registry
    listed = sorted({*manifest.move, *manifest.central, *manifest.hybrid, reg.table})
    rows = fetch_all(
        conn,
        ReferenceRow,
        read_query("queries/catalog_unlisted_references.sql"),
        {"schema": manifest.central_schema, "moved": list(manifest.move), "listed": listed},
    )
    return [(r.moved_table, r.referenced_table) for r in rows]


def manifest_problems(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """What the manifest names that the database does not have: tables of every
    section, the registry's columns, the tenant key in moved and hybrid tables,
    the public column of hybrid tables; and the tables the moved tables
    reference that it does not list (the engine may reference only what the
    privilege model grants it). Empty when everything is there."""
    reg = manifest.registry
    wanted = sorted({*manifest.move, *manifest.central, *manifest.hybrid, reg.table})
    schema = manifest.central_schema
    columns = table_columns(conn, schema, wanted)
    all_tables = fetch_values(conn, read_query("queries/catalog_tables.sql"), {"schema": schema})
    problems: list[str] = []

    def need_column(table: str, column: str, role: str) -> None:
        if table in columns and column not in columns[table]:
            problems.append(
                f'{role}: table "{schema}.{table}" has no column {column}{_nearest(column, columns[table])}'
            )

    for section, names in (
        ("registry", (reg.table,)),
        ("move", manifest.move),
        ("central", manifest.central),
        ("hybrid", manifest.hybrid),
    ):
        for t in names:
            if t not in columns:
                problems.append(f'[{section}] table "{schema}.{t}" does not exist{_nearest(t, all_tables)}')
    need_column(reg.table, reg.id_column, "[registry] id_column")
    if reg.name_column:
        need_column(reg.table, reg.name_column, "[registry] name_column")
    for t in (*manifest.move, *manifest.hybrid):
        need_column(t, manifest.tenant_key, "[tenancy] tenant_key")
    for t, col in manifest.public_column.items():
        need_column(t, col, "[hybrid.public_column]")
    for moved, referenced in unlisted_references(conn, manifest):
        problems.append(
            f'[move] table "{schema}.{moved}" references "{schema}.{referenced}", which the manifest does not'
            f" list: add it to [central] (its rows stay shared) or to [move]"
        )
    return problems
