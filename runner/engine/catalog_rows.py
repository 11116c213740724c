"""The rows of the catalog queries (sql/queries/catalog_*.sql, discover_*.sql), one frozen
dataclass per query, its fields named and ordered as the query's columns.

runner/engine/catalog.py and runner/engine/discover.py fetch them (runner.engine.rows)
and turn them into table shapes and discovery facts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RelationRow:
    """The table itself (catalog_table.sql)."""

    oid: int
    relkind: str
    options: list[str]  # storage parameters, its TOAST table's as toast.*
    partition_key: str | None
    partition_columns: list[str]
    row_security: bool
    guard_open: bool


@dataclass(frozen=True)
class ColumnRow:
    """A column of the table (catalog_columns.sql)."""

    attnum: int
    attname: str
    type: str
    collation: str | None
    type_oid: int
    attnotnull: bool
    attidentity: str
    attgenerated: str
    default_expr: str | None
    owned_seq: str | None


@dataclass(frozen=True)
class ConstraintRow:
    """A PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK constraint of the table (catalog_constraints.sql)."""

    conname: str
    contype: str  # p | u | f | c
    condeferrable: bool
    condeferred: bool
    convalidated: bool
    definition: str
    columns: list[str]
    ref_schema: str  # the referenced table: NULL but for a foreign key
    ref_table: str
    ref_columns: list[str]
    confupdtype: str
    confdeltype: str
    confmatchtype: str
    conindid: int
    include: list[str]
    nulls_not_distinct: bool
    index_options: list[str]


@dataclass(frozen=True)
class ExclusionRow:
    """An exclusion constraint of the table (catalog_exclusions.sql); the arrays have one
    entry per column of its index, key columns first."""

    name: str
    definition: str
    method: str
    condeferrable: bool
    condeferred: bool
    indnkeyatts: int
    indnatts: int
    predicate: str | None
    options: list[str]
    exprs: list[str]
    columns: list[str]  # "" for an expression
    opclasses: list[str]  # "" for the type's default
    operators: list[str]
    operator_names: list[str]
    referenced: list[str]


@dataclass(frozen=True)
class IndexRow:
    """An index of the table that backs no constraint (catalog_indexes.sql); the arrays have
    one entry per column of the index, key columns first."""

    name: str
    indisunique: bool
    amname: str
    indnkeyatts: int
    indnatts: int
    indnullsnotdistinct: bool
    predicate: str | None
    options: list[str]
    exprs: list[str]
    columns: list[str]  # "" for an expression
    options_per_key: list[int]  # pg_index.indoption: 1 DESC, 2 NULLS FIRST
    opclasses: list[str]  # "" for the type's default
    referenced: list[str]


@dataclass(frozen=True)
class TriggerRow:
    """A trigger the application put on the table (catalog_triggers.sql)."""

    name: str
    definition: str
    enabled: str
    on_name: str
    on_schema: str
    from_schema: str | None
    from_table: str | None
    from_name: str | None
    has_when: bool
    update_columns: list[str]
    referenced: list[str]
    function: str
    trusted: bool
    source: str | None


@dataclass(frozen=True)
class LeftBehindRow:
    """Something attached to the table, or to one of its partitions only (catalog_left_behind.sql)."""

    kind: str
    name: str
    relation: str
    partition: bool


@dataclass(frozen=True)
class PartitionRow:
    """A partition of the table (catalog_partitions.sql)."""

    name: str
    relkind: str  # p: partitioned again
    bound: str
    options: list[str]


@dataclass(frozen=True)
class ColumnTypeRow:
    """The type of one column, without its modifier (catalog_column_types.sql)."""

    tbl: str
    col: str
    type: str


@dataclass(frozen=True)
class OwnerRow:
    """An owner of the moved tables (catalog_moved_owners.sql)."""

    rolname: str
    rolsuper: bool


@dataclass(frozen=True)
class TableColumnsRow:
    """The columns of one table (catalog_table_columns.sql)."""

    relname: str
    columns: list[str]


@dataclass(frozen=True)
class ReferenceRow:
    """A foreign key of a moved table to an unlisted table (catalog_unlisted_references.sql)."""

    moved_table: str
    referenced_table: str


@dataclass(frozen=True)
class DiscoveredColumn:
    """A table of the schema and one of its columns; NULL for a table without columns
    (discover_columns.sql)."""

    table_name: str
    column_name: str | None
    type_name: str  # NULL with column_name
    not_null: bool
    key_position: int | None


@dataclass(frozen=True)
class DiscoveredForeignKey:
    """A foreign key of a table of the schema (discover_foreign_keys.sql)."""

    table_name: str
    name: str
    columns: list[str]
    ref_schema: str
    ref_table: str
    ref_columns: list[str]
