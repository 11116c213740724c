"""Derive each tenant table from a shared table's shape: the tenant key goes away.

The rules, in one place:
- the tenant key column is dropped;
- PRIMARY KEY / UNIQUE keys and unique indexes lose the tenant key; a key made
  of the tenant key alone becomes a unique index on a constant (at most one row);
- plain indexes lose the tenant key; one on the tenant key alone is dropped;
- foreign keys between moved tables become tenant-local (the tenant key pair is
  dropped); the FK on the tenant key alone (to the registry) is dropped; FKs to
  tables that stay central are kept, schema-qualified;
- CHECKs on the tenant key alone are dropped; NOT VALID CHECKs and foreign keys
  are added after the copy, NOT VALID again, so legacy rows copy as they are;
- a partitioned table stays partitioned with the same key and partition
  bounds, unless it is partitioned by the tenant key: then each tenant's table
  is a plain table (a tenant's rows were all in one partition anyway);
- storage parameters (fillfactor, autovacuum_*, toast.*, ...) of tables, partitions and
  indexes are kept;
- serial columns get their own sequence per tenant table; identity stays identity;
- anything else that uses the tenant key cannot be rewritten and is an error.
Keys the source does not already enforce per tenant (extra keys from the
manifest, FKs that did not include the tenant key) get a preflight check.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from runner.engine.catalog import (
    Check,
    Column,
    ForeignKey,
    Index,
    IndexKey,
    KeyConstraint,
    TableShape,
)
from runner.errors import ManifestError, RenderError
from runner.manifest import MAX_IDENTIFIER_BYTES, Manifest

_SERIAL_TYPES = {"bigint": "bigserial", "integer": "serial", "smallint": "smallserial"}
_LONGEST_SUFFIX = "__source_count"
_OPTION_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")

StorageOptions = tuple[tuple[str, str], ...]  # (name, value) of WITH (name = 'value', ...)


def storage_options(options: tuple[str, ...], where: str) -> StorageOptions:
    """reloptions ("name=value") as (name, value) pairs; a name that is not a plain word is refused."""
    pairs = []
    for opt in options:
        name, _, value = opt.partition("=")
        if not _OPTION_NAME.match(name):
            raise RenderError(f"{where}: storage parameter {opt!r} cannot be rendered")
        pairs.append((name, value))
    return tuple(pairs)


@dataclass(frozen=True)
class TargetKey:
    """A PRIMARY KEY or UNIQUE key of the tenant table."""

    name: str
    primary: bool
    columns: tuple[str, ...]  # empty: the source key was the tenant key alone
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    deferrable: bool = False
    deferred: bool = False
    enforced_by_source: bool = True
    options: StorageOptions = ()


@dataclass(frozen=True)
class TargetIndex:
    name: str
    unique: bool
    method: str
    keys: tuple[IndexKey, ...]  # empty for a unique index on the tenant key alone
    include: tuple[str, ...]
    predicate: str | None
    nulls_not_distinct: bool
    options: StorageOptions = ()


@dataclass(frozen=True)
class TargetPartition:
    name: str
    bound: str  # "FOR VALUES ..." or "DEFAULT"
    options: StorageOptions


@dataclass(frozen=True)
class TargetForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str | None  # None: the referenced table is in the same tenant schema
    ref_table: str
    ref_columns: tuple[str, ...]
    on_update: str
    on_delete: str
    match_full: bool
    deferrable: bool
    deferred: bool
    validated: bool
    enforced_by_source: bool  # false: preflight must look for rows the tenant FK would refuse


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type: str  # as declared in the tenant table: bigserial etc. for serial columns
    base_type: str  # the column's actual type, for casts
    not_null: bool
    default: str | None
    identity: str
    generated: str | None
    hashable: bool

    @property
    def copied(self) -> bool:
        return self.generated is None

    @property
    def from_sequence(self) -> bool:
        """Whether the shared table's column draws its values from a sequence (serial,
        identity, or a default that calls nextval)."""
        return self.type.endswith("serial") or bool(self.identity) or "nextval(" in (self.default or "")


@dataclass(frozen=True)
class TargetTable:
    position: int
    name: str
    schema: str  # central schema of the source table
    fn_prefix: str
    key_column: str
    key_type: str
    columns: tuple[TargetColumn, ...]
    primary_key: TargetKey | None
    uniques: tuple[TargetKey, ...]
    checks: tuple[Check, ...]
    indexes: tuple[TargetIndex, ...]
    foreign_keys: tuple[TargetForeignKey, ...]
    notes: tuple[str, ...] = field(default=())
    options: StorageOptions = ()
    partition_key: str | None = None  # "RANGE (created_at)": the tenant table is partitioned so
    partitions: tuple[TargetPartition, ...] = ()

    @property
    def valid_checks(self) -> tuple[Check, ...]:
        """CHECKs created with the table: every row copied satisfies them."""
        return tuple(c for c in self.checks if c.validated)

    @property
    def not_valid_checks(self) -> tuple[Check, ...]:
        """CHECKs that were NOT VALID in the shared table: added after the copy, NOT VALID again."""
        return tuple(c for c in self.checks if not c.validated)

    @property
    def copy_columns(self) -> tuple[TargetColumn, ...]:
        return tuple(c for c in self.columns if c.copied)

    @property
    def overriding(self) -> bool:
        return any(c.identity == "a" for c in self.columns)

    @property
    def keyset(self) -> tuple[TargetColumn, ...]:
        """Columns that order keyset batches: the primary key without the tenant key."""
        if self.primary_key is None or not self.primary_key.columns:
            return ()
        by_name = {c.name: c for c in self.columns}
        return tuple(by_name[n] for n in self.primary_key.columns)

    @property
    def keys(self) -> tuple[TargetKey, ...]:
        return ((self.primary_key,) if self.primary_key else ()) + self.uniques

    @property
    def local_references(self) -> tuple[str, ...]:
        return tuple(sorted({fk.ref_table for fk in self.foreign_keys if fk.ref_schema is None}))


def function_prefix(table: str) -> str:
    """Name prefix of a table's rendered functions, within the 63-byte limit."""
    if len((table + _LONGEST_SUFFIX).encode()) <= MAX_IDENTIFIER_BYTES:
        return table
    digest = hashlib.md5(table.encode()).hexdigest()[:8]
    return table.encode()[:36].decode(errors="ignore") + "_" + digest


def _without(names: tuple[str, ...], key: str) -> tuple[str, ...]:
    return tuple(n for n in names if n != key)


def _rewrite_key(k: KeyConstraint, key: str, table: str) -> TargetKey:
    return TargetKey(
        options=storage_options(k.options, f'key "{k.name}" of "{table}"'),
        name=k.name,
        primary=k.primary,
        columns=_without(k.columns, key),
        include=_without(k.include, key),
        nulls_not_distinct=k.nulls_not_distinct,
        deferrable=k.deferrable,
        deferred=k.deferred,
    )


def _rewrite_index(shape: TableShape, idx: Index, key: str) -> TargetIndex | str:
    """The index without the tenant key, or a note saying why it was dropped."""
    plain = {k.column for k in idx.keys if k.column}
    if key in idx.referenced_columns and key not in plain and key not in idx.include:
        raise RenderError(
            f'index "{idx.name}" of "{shape.name}" uses {key} in an expression or predicate',
            hint="Drop or rewrite that index before the migration; it cannot be rewritten without the tenant key.",
        )
    keys = tuple(k for k in idx.keys if k.column != key)
    if not keys and not idx.unique:
        return f"index {idx.name} was on {key} alone: dropped"
    return TargetIndex(
        name=idx.name,
        unique=idx.unique,
        method=idx.method,
        keys=keys,
        include=_without(idx.include, key),
        predicate=idx.predicate,
        nulls_not_distinct=idx.nulls_not_distinct,
        options=storage_options(idx.options, f'index "{idx.name}" of "{shape.name}"'),
    )


def _rewrite_fk(
    shape: TableShape, fk: ForeignKey, manifest: Manifest, moved: set[str]
) -> TargetForeignKey | str:
    key = manifest.tenant_key
    if fk.columns == (key,):
        return f"foreign key {fk.name} on {key} alone (to the registry): dropped"
    local = fk.ref_schema == manifest.central_schema and fk.ref_table in moved
    pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
    if local:
        for mine, theirs in pairs:
            if (mine == key) != (theirs == key):
                raise RenderError(
                    f'foreign key "{fk.name}" of "{shape.name}" pairs {mine} with {theirs}',
                    hint="Tenant-local foreign keys must pair the tenant key with the tenant key.",
                )
        kept = [(m, t) for m, t in pairs if m != key]
        return TargetForeignKey(
            name=fk.name,
            columns=tuple(m for m, _ in kept),
            ref_schema=None,
            ref_table=fk.ref_table,
            ref_columns=tuple(t for _, t in kept),
            on_update=fk.on_update,
            on_delete=fk.on_delete,
            match_full=fk.match_full,
            deferrable=fk.deferrable,
            deferred=fk.deferred,
            validated=fk.validated,
            # A NOT VALID key stays NOT VALID: existing rows are not checked,
            # so there is nothing for preflight to find.
            enforced_by_source=not fk.validated or len(kept) < len(pairs),
        )
    if key in fk.columns:
        raise RenderError(
            f'foreign key "{fk.name}" of "{shape.name}" uses {key} to reference '
            f'"{fk.ref_schema}.{fk.ref_table}", which is not moved',
            hint="Move the referenced table too, or drop the tenant key from that foreign key first.",
        )
    return TargetForeignKey(
        name=fk.name,
        columns=fk.columns,
        ref_schema=fk.ref_schema,
        ref_table=fk.ref_table,
        ref_columns=fk.ref_columns,
        on_update=fk.on_update,
        on_delete=fk.on_delete,
        match_full=fk.match_full,
        deferrable=fk.deferrable,
        deferred=fk.deferred,
        validated=fk.validated,
        enforced_by_source=True,
    )


def _column(c: Column, hashable: set[str]) -> TargetColumn:
    ctype = c.type
    if c.serial:
        if ctype not in _SERIAL_TYPES:
            raise RenderError(
                f"column {c.name} owns a sequence but is of type {ctype}",
                hint="Only smallint, integer and bigint serial columns are supported.",
            )
        ctype = _SERIAL_TYPES[ctype]
    return TargetColumn(
        name=c.name,
        type=ctype,
        base_type=c.type,
        not_null=c.not_null and not c.serial and not c.identity,
        default=c.default,
        identity=c.identity,
        generated=c.generated,
        hashable=c.type in hashable,
    )


def derive_table(
    shape: TableShape, manifest: Manifest, position: int, hashable: set[str]
) -> TargetTable:
    key = manifest.tenant_key
    try:
        key_col = shape.column(key)
    except KeyError:
        raise RenderError(
            f'moved table "{shape.schema}.{shape.name}" has no column {key}',
            hint="Every table under [move] must carry the tenant key named in [tenancy] tenant_key.",
        ) from None
    if key_col.generated:
        raise RenderError(f'the tenant key of "{shape.name}" is a generated column; not supported')
    notes: list[str] = []
    moved = set(manifest.move)

    primary = _rewrite_key(shape.primary_key, key, shape.name) if shape.primary_key else None
    uniques = [_rewrite_key(u, key, shape.name) for u in shape.uniques]
    indexes: list[TargetIndex] = []
    for idx in shape.indexes:
        out = _rewrite_index(shape, idx, key)
        if isinstance(out, str):
            notes.append(out)
        else:
            indexes.append(out)

    columns = tuple(_column(c, hashable) for c in shape.columns if c.name != key)
    names = {c.name for c in columns}
    source_keys = [set(k.columns) for k in (shape.primary_key, *shape.uniques) if k]
    for i, cols in enumerate(manifest.extra_unique.get(shape.name, ())):
        missing = [c for c in cols if c not in names]
        if missing:
            raise ManifestError(
                f"[move.unique] {shape.name} names unknown column(s) {', '.join(missing)}",
                hint=f"Columns of {shape.name}: {', '.join(sorted(names))}.",
            )
        enforced = any(s <= set(cols) | {key} for s in source_keys)
        uniques.append(
            TargetKey(
                name=f"{shape.name}_tenant_unique_{i + 1}"[:MAX_IDENTIFIER_BYTES],
                primary=False,
                columns=cols,
                enforced_by_source=enforced,
            )
        )

    checks = []
    for chk in shape.checks:
        if key in chk.columns:
            if set(chk.columns) == {key}:
                notes.append(f"check {chk.name} on {key} alone: dropped")
                continue
            raise RenderError(
                f'check constraint "{chk.name}" of "{shape.name}" uses {key} with other columns',
                hint="Drop or rewrite it before the migration.",
            )
        checks.append(chk)

    fks = []
    for fk in shape.foreign_keys:
        out_fk = _rewrite_fk(shape, fk, manifest, moved)
        if isinstance(out_fk, str):
            notes.append(out_fk)
        else:
            fks.append(out_fk)

    partition_key: str | None = shape.partition_key
    partitions: tuple[TargetPartition, ...] = ()
    if partition_key and key in shape.partition_columns:
        notes.append(f"partitioned by {partition_key}, which uses {key}: each tenant table is a plain table")
        partition_key = None
    elif partition_key:
        partitions = tuple(
            TargetPartition(p.name, p.bound, storage_options(p.options, f'partition "{p.name}" of "{shape.name}"'))
            for p in shape.partitions
        )

    for c in columns:
        if c.default and "nextval(" in c.default:
            notes.append(f"column {c.name} keeps its default {c.default} (a sequence it does not own)")

    return TargetTable(
        position=position,
        name=shape.name,
        schema=shape.schema,
        fn_prefix=function_prefix(shape.name),
        key_column=key,
        key_type=key_col.type,
        columns=columns,
        primary_key=primary,
        uniques=tuple(uniques),
        checks=tuple(checks),
        indexes=tuple(indexes),
        foreign_keys=tuple(fks),
        notes=tuple(notes),
        options=storage_options(shape.options, f'table "{shape.name}"'),
        partition_key=partition_key,
        partitions=partitions,
    )


def fk_order(names: list[str], references: dict[str, set[str]]) -> list[str]:
    """Parents before children (stable: manifest order among equals); cycles keep manifest order."""
    ordered: list[str] = []
    pending = list(names)
    while pending:
        ready = [n for n in pending if not (references.get(n, set()) - {n}) - set(ordered)]
        if not ready:  # a cycle: FKs are added after the copy, so any order is still correct
            ready = pending[:1]
        for n in ready:
            ordered.append(n)
            pending.remove(n)
    return ordered
