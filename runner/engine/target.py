"""Derive each tenant table from a shared table's shape: the tenant key goes away.

The rules, in one place (docs/fidelity.md has them as a table, object by object):
- the tenant key column is dropped;
- PRIMARY KEY / UNIQUE keys and unique indexes lose the tenant key; a key made
  of the tenant key alone becomes a unique index on a constant (at most one
  row); a unique key or index without the tenant key was unique across all
  tenants and is now unique per tenant (a note says so);
- plain indexes lose the tenant key; one on the tenant key alone is dropped;
- exclusion constraints without the tenant key are kept; one that compares the
  tenant key with `=` loses that element;
- foreign keys between moved tables become tenant-local (the tenant key pair is
  dropped); the FK on the tenant key alone (to the registry) is dropped; FKs to
  tables that stay central are kept, schema-qualified;
- CHECKs on the tenant key alone are dropped; NOT VALID CHECKs and foreign keys
  are added after the copy, NOT VALID again, so legacy rows copy as they are;
- triggers are recreated on the tenant table after the copy (with the foreign
  keys), the same function and arguments; one whose WHEN or UPDATE OF uses the
  tenant key, or whose function the tenant's side could control, is refused;
- a partitioned table stays partitioned with the same key and partition
  bounds, unless it is partitioned by the tenant key: then each tenant's table
  is a plain table (a tenant's rows were all in one partition anyway);
- storage parameters (fillfactor, autovacuum_*, toast.*, ...) of tables, partitions and
  indexes are kept; column collations are kept;
- serial columns get their own sequence per tenant table; identity stays identity;
- rules, row-level security policies, extended statistics, and indexes,
  constraints and triggers of one partition only are not recreated (named);
- anything else that uses the tenant key cannot be rewritten and is refused.
Every object of the shared table gets an :class:`ObjectFate` (what `tenancy
plan` prints); a table with a refused object is refused as a whole, every
refusal named. Keys the source does not already enforce per tenant (extra keys
from the manifest, FKs that did not include the tenant key) get a preflight
check.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from runner.engine.catalog import (
    Check,
    Column,
    Exclusion,
    ForeignKey,
    Index,
    IndexKey,
    KeyConstraint,
    TableShape,
    Trigger,
)
from runner.errors import RenderError
from runner.manifest import MAX_IDENTIFIER_BYTES, Manifest

_SERIAL_TYPES = {"bigint": "bigserial", "integer": "serial", "smallint": "smallserial"}
_LONGEST_SUFFIX = "__source_count"
_OPTION_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")
# ALTER TABLE ... to give a recreated trigger the state of the shared table's (origin, the default, needs none).
_TRIGGER_STATES = {"D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER"}

StorageOptions = tuple[tuple[str, str], ...]  # (name, value) of WITH (name = 'value', ...)

# What becomes of each object of a shared table in its tenant tables.
KEPT = "kept"  # the same
REWRITTEN = "rewritten"  # changed, as `how` says (the tenant key taken out, made tenant-local, ...)
ADDED = "added"  # not in the shared table: the manifest adds it ([move.unique])
DROPPED = "dropped"  # not in the tenant tables, as `how` says why
REFUSED = "refused"  # the table cannot move while it is there: `how` says why, `hint` the way out
FATES = (KEPT, REWRITTEN, ADDED, DROPPED, REFUSED)


@dataclass(frozen=True)
class ObjectFate:
    """One object of a moved table and what becomes of it; `caution` flags a kept object the
    user should check (e.g. a trigger function that names the tenant key)."""

    table: str
    kind: str  # column, primary key, unique constraint, unique index, index, check, foreign key, ...
    name: str
    fate: str  # one of FATES
    how: str
    hint: str | None = None
    caution: str | None = None
    routine: bool = False  # what every moved table loses: its tenant key, and what is on the tenant key alone

    @property
    def line(self) -> str:
        return f"{self.kind} {self.name}: {self.how}"


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
class TargetExclusion:
    """An exclusion constraint of the tenant table: elements are (element, operator)."""

    name: str
    method: str
    elements: tuple[tuple[str, str], ...]
    include: tuple[str, ...]
    predicate: str | None
    deferrable: bool
    deferred: bool
    options: StorageOptions = ()


@dataclass(frozen=True)
class TargetTrigger:
    """A trigger recreated on the tenant table: its definition as the shared table's, split
    where the tenant schema goes (the table it is on, a moved FROM table)."""

    name: str
    parts: tuple[str, ...]
    state: str | None  # ALTER TABLE ... <state> <name> after CREATE TRIGGER, when not enabled as by default


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
    collation: str | None = None

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
    exclusions: tuple[TargetExclusion, ...] = ()
    triggers: tuple[TargetTrigger, ...] = ()
    fates: tuple[ObjectFate, ...] = ()

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
    def one_row(self) -> bool:
        """At most one row per tenant: a key (or a unique index without a predicate) of the
        shared table was the tenant key alone."""
        return any(not k.columns for k in self.keys) or any(
            i.unique and not i.keys and i.predicate is None for i in self.indexes
        )

    @property
    def captured(self) -> bool:
        """Whether online mode can capture and replay its rows: by the primary key, or, for a
        table of at most one row per tenant, by the empty key (the tenant's row)."""
        return bool(self.keyset) or self.one_row

    @property
    def keys(self) -> tuple[TargetKey, ...]:
        return ((self.primary_key,) if self.primary_key else ()) + self.uniques

    @property
    def local_references(self) -> tuple[str, ...]:
        return tuple(sorted({fk.ref_table for fk in self.foreign_keys if fk.ref_schema is None}))

    @property
    def refused(self) -> tuple[ObjectFate, ...]:
        return tuple(f for f in self.fates if f.fate == REFUSED)


def function_prefix(table: str) -> str:
    """Name prefix of a table's rendered functions, within the 63-byte limit."""
    if len((table + _LONGEST_SUFFIX).encode()) <= MAX_IDENTIFIER_BYTES:
        return table
    digest = hashlib.md5(table.encode()).hexdigest()[:8]
    return table.encode()[:36].decode(errors="ignore") + "_" + digest


def _without(names: tuple[str, ...], key: str) -> tuple[str, ...]:
    return tuple(n for n in names if n != key)


def _cols(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(names) + ")"


class _Derivation:
    """The objects of one shared table, each with its fate, as they are derived."""

    def __init__(self, shape: TableShape, manifest: Manifest):
        self.shape = shape
        self.key = manifest.tenant_key
        self.fates: list[ObjectFate] = []

    def fate(
        self,
        kind: str,
        name: str,
        fate: str,
        how: str,
        *,
        hint: str | None = None,
        caution: str | None = None,
        routine: bool = False,
    ) -> None:
        self.fates.append(ObjectFate(self.shape.name, kind, name, fate, how, hint, caution, routine))

    def refuse(self, kind: str, name: str, why: str, hint: str) -> None:
        self.fate(kind, name, REFUSED, why, hint=hint)

    def options(self, options: tuple[str, ...], kind: str, name: str) -> StorageOptions:
        try:
            return storage_options(options, f'{kind} "{name}" of "{self.shape.name}"')
        except RenderError as e:
            self.refuse(kind, name, str(e), "Reset that storage parameter (ALTER ... RESET) before the migration.")
            return ()


def _key_kind(k: KeyConstraint) -> str:
    return "primary key" if k.primary else "unique constraint"


def _rewrite_key(d: _Derivation, k: KeyConstraint) -> TargetKey:
    key = d.key
    target = TargetKey(
        options=d.options(k.options, _key_kind(k), k.name),
        name=k.name,
        primary=k.primary,
        columns=_without(k.columns, key),
        include=_without(k.include, key),
        nulls_not_distinct=k.nulls_not_distinct,
        deferrable=k.deferrable,
        deferred=k.deferred,
    )
    kind, source = _key_kind(k), _cols(k.columns)
    include = f"; INCLUDE loses {key}" if key in k.include else ""
    if not target.columns:
        d.fate(
            kind,
            k.name,
            REWRITTEN,
            f"{source} → at most one row per tenant: UNIQUE INDEX ((true))"
            + ("; the tenant table has no primary key" if k.primary else "")
            + include,
        )
    elif key in k.columns:
        d.fate(kind, k.name, REWRITTEN, f"{source} → {_cols(target.columns)}{include}")
    elif include:
        d.fate(kind, k.name, REWRITTEN, f"{source}{include}")
    elif k.primary:
        d.fate(kind, k.name, KEPT, source)
    else:
        d.fate(kind, k.name, REWRITTEN, f"unique {source} across all tenants is now unique per tenant")
    return target


def _rewrite_index(d: _Derivation, idx: Index) -> TargetIndex | None:
    """The index without the tenant key; None when it is not kept (dropped or refused, as its fate says)."""
    key = d.key
    kind = "unique index" if idx.unique else "index"
    plain = {k.column for k in idx.keys if k.column}
    if key in idx.referenced_columns and key not in plain and key not in idx.include:
        d.refuse(
            kind,
            idx.name,
            f"uses {key} in an expression or predicate",
            "Drop or rewrite that index before the migration; it cannot be rewritten without the tenant key.",
        )
        return None
    keys = tuple(k for k in idx.keys if k.column != key)
    source = _cols(tuple(k.expression for k in idx.keys))
    where = f" where {idx.predicate}" if idx.predicate else ""
    include = f"; INCLUDE loses {key}" if key in idx.include else ""
    if not keys and not idx.unique:
        d.fate(
            kind, idx.name, DROPPED, f"on {key} alone: every row of a tenant table has the same tenant", routine=True
        )
        return None
    if not keys:
        d.fate(
            kind,
            idx.name,
            REWRITTEN,
            f"{source}{where} → at most one row per tenant{where}: UNIQUE INDEX ((true)){include}",
        )
    elif len(keys) < len(idx.keys):
        d.fate(kind, idx.name, REWRITTEN, f"{source} → {_cols(tuple(k.expression for k in keys))}{where}{include}")
    elif idx.unique:
        d.fate(
            kind, idx.name, REWRITTEN, f"unique {source}{where} across all tenants is now unique per tenant{include}"
        )
    else:
        d.fate(kind, idx.name, REWRITTEN if include else KEPT, f"{source}{where}{include}")
    return TargetIndex(
        name=idx.name,
        unique=idx.unique,
        method=idx.method,
        keys=keys,
        include=_without(idx.include, key),
        predicate=idx.predicate,
        nulls_not_distinct=idx.nulls_not_distinct,
        options=d.options(idx.options, kind, idx.name),
    )


def _mentions(text: str, name: str) -> bool:
    """Whether SQL text names the column (as a whole word, quoted or not)."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text, re.IGNORECASE) is not None


def _rewrite_exclusion(d: _Derivation, x: Exclusion) -> TargetExclusion | None:
    key = d.key
    kind = "exclusion constraint"
    hint = "Drop it before the migration (and re-create it in each tenant schema afterwards), or keep the table shared."
    by_key = [e for e in x.elements if e.column == key]
    others = [e for e in x.elements if e.column != key]
    elsewhere = (
        any(e.column is None and _mentions(e.expression, key) for e in x.elements)
        or (x.predicate is not None and _mentions(x.predicate, key))
        or key in x.include
        or (key in x.referenced_columns and not by_key)
    )
    if elsewhere:
        d.refuse(kind, x.name, f"uses {key} in an expression, its predicate or INCLUDE", hint)
        return None
    if any(e.operator_name != "=" for e in by_key):
        d.refuse(kind, x.name, f"compares {key} with another operator than =", hint)
        return None
    if by_key and not others:
        d.refuse(kind, x.name, f"compares {key} alone", hint)
        return None
    if by_key:
        d.fate(kind, x.name, REWRITTEN, f"{x.definition} → without `{key} WITH =` (within a tenant it always holds)")
    else:
        d.fate(kind, x.name, KEPT, x.definition)
    return TargetExclusion(
        name=x.name,
        method=x.method,
        elements=tuple(
            ((e.column if e.column else f"({e.expression})") + (f" {e.opclass}" if e.opclass else ""), e.operator)
            for e in others
        ),
        include=x.include,
        predicate=x.predicate,
        deferrable=x.deferrable,
        deferred=x.deferred,
        options=d.options(x.options, kind, x.name),
    )


def _target_fk(
    fk: ForeignKey, columns: tuple[str, ...], ref_schema: str | None, ref_columns: tuple[str, ...], enforced: bool
) -> TargetForeignKey:
    """The tenant table's foreign key: `fk` with these columns and target (ref_schema None: the tenant's own)."""
    return TargetForeignKey(
        name=fk.name,
        columns=columns,
        ref_schema=ref_schema,
        ref_table=fk.ref_table,
        ref_columns=ref_columns,
        on_update=fk.on_update,
        on_delete=fk.on_delete,
        match_full=fk.match_full,
        deferrable=fk.deferrable,
        deferred=fk.deferred,
        validated=fk.validated,
        enforced_by_source=enforced,
    )


def _local_fk(d: _Derivation, fk: ForeignKey, key: str) -> TargetForeignKey | None:
    """A foreign key to another moved table: tenant-local, without the tenant key."""
    pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
    for mine, theirs in pairs:
        if (mine == key) != (theirs == key):
            d.refuse(
                "foreign key",
                fk.name,
                f"pairs {mine} with {theirs}",
                "Tenant-local foreign keys must pair the tenant key with the tenant key.",
            )
            return None
    kept = [(m, t) for m, t in pairs if m != key]
    if len(kept) < len(pairs):
        how = f"to moved table {fk.ref_table} becomes tenant-local: {_cols(fk.columns)} → {_cols(tuple(m for m, _ in kept))}"
    else:
        how = (
            f"to moved table {fk.ref_table} becomes tenant-local {_cols(fk.columns)} "
            "(preflight checks that each parent row belongs to the same tenant)"
        )
    d.fate("foreign key", fk.name, REWRITTEN, how + ("" if fk.validated else ", NOT VALID"))
    # A NOT VALID key stays NOT VALID: existing rows are not checked, so there is
    # nothing for preflight to find.
    enforced = not fk.validated or len(kept) < len(pairs)
    return _target_fk(fk, tuple(m for m, _ in kept), None, tuple(t for _, t in kept), enforced)


def _rewrite_fk(d: _Derivation, fk: ForeignKey, manifest: Manifest, moved: set[str]) -> TargetForeignKey | None:
    key = manifest.tenant_key
    if fk.columns == (key,):
        d.fate(
            "foreign key",
            fk.name,
            DROPPED,
            f"({key}) → {fk.ref_table}: every row of a tenant table belongs to its tenant",
            routine=True,
        )
        return None
    if fk.ref_schema == manifest.central_schema and fk.ref_table in moved:
        return _local_fk(d, fk, key)
    if key in fk.columns:
        d.refuse(
            "foreign key",
            fk.name,
            f'uses {key} to reference "{fk.ref_schema}.{fk.ref_table}", which is not moved',
            "Move the referenced table too, or drop the tenant key from that foreign key first.",
        )
        return None
    d.fate(
        "foreign key",
        fk.name,
        KEPT,
        f"{_cols(fk.columns)} to central table {fk.ref_schema}.{fk.ref_table}"
        + ("" if fk.validated else ", NOT VALID"),
    )
    return _target_fk(fk, fk.columns, fk.ref_schema, fk.ref_columns, True)


def _split_at(text: str, marker: str, cut: int) -> tuple[str, str] | None:
    """text split after marker[:cut] of marker's one occurrence; None when it is not there exactly once."""
    if text.count(marker) != 1:
        return None
    at = text.index(marker) + cut
    return text[:at], text[at:]


_KEEP_SHARED = "Or keep the table shared ([hybrid])."


def _trigger_refused(d: _Derivation, trig: Trigger) -> bool:
    """Refuse a trigger that needs the tenant key, or runs code a role other than a trusted one controls."""
    key = d.key
    if key in trig.update_columns:
        why = f"fires on UPDATE OF {key}, a column the tenant table has not"
        hint = f"Drop {key} from its column list (or drop the trigger) before the migration."
    elif trig.has_when and key in trig.referenced_columns:
        why = f"has a WHEN clause that uses {key}, a column the tenant table has not"
        hint = f"Rewrite the WHEN clause without {key} (or drop the trigger) before the migration."
    elif not trig.trusted:
        why = (
            f"calls {trig.function}, which (or whose schema) belongs to a role other than a superuser, the "
            "owner of the central schema or the table's owner: every tenant table would run code that such "
            "a role controls"
        )
        hint = "Give the function and its schema to the owner of the shared tables."
    else:
        return False
    d.refuse("trigger", trig.name, why, f"{hint} {_KEEP_SHARED}")
    return True


def _trigger_parts(d: _Derivation, trig: Trigger, manifest: Manifest, moved: set[str]) -> list[str] | None:
    """The definition cut where the tenant schema goes: before the table it is on (and a
    moved FROM table of a constraint trigger); None (refused) when that cannot be done."""
    # The table the trigger is on: " ON schema.table ", the schema to be the tenant's.
    on = _split_at(trig.definition, f" ON {trig.on_name} ", len(" ON "))
    if on is None:
        d.refuse(
            "trigger",
            trig.name,
            f"names {trig.on_name} more than once in its definition: it cannot be rewritten",
            f"Rename the trigger or its columns before the migration. {_KEEP_SHARED}",
        )
        return None
    head, rest = on[0], on[1][len(trig.on_schema) :]
    parts = [head]
    if trig.from_name and trig.from_schema == manifest.central_schema and trig.from_table in moved:
        # A moved table of the central schema: its schema is written as the table's own.
        frm = _split_at(rest, f" FROM {trig.from_name} ", len(" FROM "))
        if frm is None:
            d.refuse(
                "trigger",
                trig.name,
                f"names {trig.from_name} more than once in its definition: it cannot be rewritten",
                f"Rename the trigger before the migration. {_KEEP_SHARED}",
            )
            return None
        parts.append(frm[0])
        rest = frm[1][len(trig.on_schema) :]
    parts.append(rest)
    return parts


def _rewrite_trigger(d: _Derivation, trig: Trigger, manifest: Manifest, moved: set[str]) -> TargetTrigger | None:
    """The trigger on the tenant table: its definition with the tenant schema in place of the
    central one for the table it is on (and for a moved FROM table of a constraint trigger)."""
    if _trigger_refused(d, trig):
        return None
    parts = _trigger_parts(d, trig, manifest, moved)
    if parts is None:
        return None
    how = f"recreated after the copy, with {trig.function}"
    if trig.from_name and len(parts) == 3:
        how += f"; FROM the tenant's {trig.from_table}"
    if trig.enabled in _TRIGGER_STATES:
        how += f"; {_TRIGGER_STATES[trig.enabled].split(' TRIGGER')[0].lower()}d as in the shared table"
    caution = None
    if _mentions(trig.source, d.key):
        caution = (
            f"its function names {d.key}, which the tenant table has not: check that it still works there "
            "(it runs with the search_path of the role that writes, tenant schema first)"
        )
    d.fate("trigger", trig.name, KEPT, how, caution=caution)
    return TargetTrigger(trig.name, tuple(parts), _TRIGGER_STATES.get(trig.enabled))


def _column(d: _Derivation, c: Column, hashable: set[str]) -> TargetColumn:
    ctype = c.type
    if c.serial:
        if ctype not in _SERIAL_TYPES:
            d.refuse(
                "column",
                c.name,
                f"owns a sequence but is of type {ctype}",
                "Only smallint, integer and bigint serial columns are supported.",
            )
        else:
            ctype = _SERIAL_TYPES[ctype]
            d.fate(
                "column",
                c.name,
                REWRITTEN,
                f"{c.type} serial → {ctype}: a sequence of the tenant table's own, set past the largest copied value",
            )
    elif c.identity:
        d.fate(
            "column",
            c.name,
            KEPT,
            f"{c.type} identity: a sequence of the tenant table's own, set past the largest copied value",
        )
    elif c.default and "nextval(" in c.default:
        d.fate(
            "column",
            c.name,
            KEPT,
            f"{c.type} keeps its default {c.default} (a sequence it does not own, shared by every tenant table)",
        )
    else:
        d.fate("column", c.name, KEPT, c.type + (f" COLLATE {c.collation}" if c.collation else ""))
    return TargetColumn(
        name=c.name,
        type=ctype,
        base_type=c.type,
        not_null=c.not_null and not c.serial and not c.identity,
        default=c.default,
        identity=c.identity,
        generated=c.generated,
        hashable=c.type in hashable,
        collation=c.collation,
    )


def _notes(fates: list[ObjectFate]) -> tuple[str, ...]:
    """What the rendered header and tenancy.moved_tables.notes say: every object that is not
    kept as it is, and every caution."""
    notes = [f.line for f in fates if f.fate in (REWRITTEN, ADDED, DROPPED) and f.kind != "column"]
    notes += [f"{f.kind} {f.name}: {f.caution}" for f in fates if f.caution]
    notes += [f.line for f in fates if f.kind == "column" and "does not own" in f.how]
    return tuple(notes)


def _tenant_key(d: _Derivation, shape: TableShape, key: str) -> Column:
    """The tenant key column: dropped from the tenant table (refused when generated)."""
    try:
        key_col = shape.column(key)
    except KeyError:
        raise RenderError(
            f'moved table "{shape.schema}.{shape.name}" has no column {key}',
            hint="Every table under [move] must carry the tenant key named in [tenancy] tenant_key.",
        ) from None
    if key_col.generated:
        d.refuse(
            "column",
            key,
            "is the tenant key and a generated column",
            "Make it a plain column, or keep the table shared.",
        )
    else:
        d.fate("column", key, DROPPED, "the tenant key: a tenant table holds one tenant's rows", routine=True)
    return key_col


def _extra_uniques(
    d: _Derivation, shape: TableShape, manifest: Manifest, columns: tuple[TargetColumn, ...]
) -> list[TargetKey]:
    """The unique constraints [move.unique] adds per tenant."""
    names = {c.name for c in columns}
    source_keys = [set(k.columns) for k in (shape.primary_key, *shape.uniques) if k]
    added = []
    for i, cols in enumerate(manifest.extra_unique.get(shape.name, ())):
        name = f"{shape.name}_tenant_unique_{i + 1}"[:MAX_IDENTIFIER_BYTES]
        missing = [c for c in cols if c not in names]
        if missing:
            d.refuse(
                "unique constraint",
                name,
                f"is from [move.unique] {shape.name}, which names unknown column(s) {', '.join(missing)}",
                f"Columns of {shape.name}: {', '.join(sorted(names))}.",
            )
            continue
        enforced = any(s <= set(cols) | {manifest.tenant_key} for s in source_keys)
        d.fate(
            "unique constraint",
            name,
            ADDED,
            f"{_cols(cols)} unique per tenant, from [move.unique]"
            + ("" if enforced else "; preflight looks for duplicates"),
        )
        added.append(TargetKey(name=name, primary=False, columns=cols, enforced_by_source=enforced))
    return added


def _checks(d: _Derivation, shape: TableShape, key: str) -> tuple[Check, ...]:
    """The CHECK constraints kept; one on the tenant key alone is dropped, one mixing it is refused."""
    checks = []
    for chk in shape.checks:
        if key in chk.columns:
            if set(chk.columns) == {key}:
                d.fate("check constraint", chk.name, DROPPED, f"on {key} alone: {chk.definition}", routine=True)
                continue
            d.refuse(
                "check constraint",
                chk.name,
                f"uses {key} with other columns: {chk.definition}",
                "Drop or rewrite it before the migration.",
            )
            continue
        later = "" if chk.validated else ", added after the copy NOT VALID"
        d.fate("check constraint", chk.name, KEPT, chk.definition + later)
        checks.append(chk)
    return tuple(checks)


def _partitioning(d: _Derivation, shape: TableShape, key: str) -> tuple[str | None, tuple[TargetPartition, ...]]:
    """(partition key, partitions) of the tenant table: partitioning by the tenant key is dropped."""
    partition_key = shape.partition_key
    if partition_key and key in shape.partition_columns:
        d.fate("partitioning", partition_key, REWRITTEN, f"by {key}: each tenant table is a plain table")
        return None, ()
    if not partition_key:
        return None, ()
    for sub in shape.subpartitioned:
        d.refuse(
            "partition",
            sub,
            "is partitioned again; sub-partitioning is not supported",
            "Attach its rows to a plain partition (or use one partitioning level) before the migration.",
        )
    partitions = tuple(
        TargetPartition(p.name, p.bound, d.options(p.options, "partition", p.name)) for p in shape.partitions
    )
    d.fate("partitioning", partition_key, KEPT, f"{len(partitions)} partitions, the same names and bounds")
    return partition_key, partitions


def _left_behind(d: _Derivation, shape: TableShape) -> None:
    """Row security (refused when it hides rows from the copy), and the objects not recreated."""
    policies = [lb.name for lb in shape.left_behind if lb.kind == "policy" and not lb.on_partition]
    if shape.row_security and (policies or not shape.guard_open):
        d.refuse(
            "table",
            shape.name,
            "has row-level security on: the tool reads the shared rows as tenancy_engine, whose rows its "
            "policies filter"
            + (f" ({', '.join(policies)})" if policies else " (none: every row hidden)")
            + ", so rows would be left behind",
            f"Disable it for the migration (ALTER TABLE {shape.schema}.{shape.name} DISABLE ROW LEVEL "
            "SECURITY; each tenant schema holds one tenant's rows afterwards), or keep the table shared.",
        )
    for lb in shape.left_behind:
        if lb.on_partition:
            d.fate(
                lb.kind,
                lb.name,
                DROPPED,
                f"on partition {lb.relation} only: define it on the partitioned table to keep it",
            )
        elif lb.kind == "policy":
            d.fate(
                lb.kind,
                lb.name,
                DROPPED,
                "row-level security policy: not recreated (the tenant schema separates tenants)",
            )
        elif lb.kind == "rule":
            d.fate(lb.kind, lb.name, DROPPED, "not recreated: a tenant table gets no rules")
        else:
            d.fate(
                lb.kind,
                lb.name,
                DROPPED,
                "extended statistics: not recreated (CREATE STATISTICS in the "
                "tenant schemas after the migration if the planner needs them)",
            )


def derive(shape: TableShape, manifest: Manifest, position: int, hashable: set[str]) -> TargetTable:
    """The tenant table of a shared table, and the fate of every object of it (refused ones
    among them: such a table cannot be installed, see derive_table)."""
    key = manifest.tenant_key
    d = _Derivation(shape, manifest)
    key_col = _tenant_key(d, shape, key)
    moved = set(manifest.move)
    columns = tuple(_column(d, c, hashable) for c in shape.columns if c.name != key)
    primary = _rewrite_key(d, shape.primary_key) if shape.primary_key else None
    uniques = [_rewrite_key(d, u) for u in shape.uniques]
    indexes = [t for t in (_rewrite_index(d, idx) for idx in shape.indexes) if t is not None]
    exclusions = [t for t in (_rewrite_exclusion(d, x) for x in shape.exclusions) if t is not None]
    uniques += _extra_uniques(d, shape, manifest, columns)
    checks = _checks(d, shape, key)
    fks = [t for t in (_rewrite_fk(d, fk, manifest, moved) for fk in shape.foreign_keys) if t is not None]
    triggers = [t for t in (_rewrite_trigger(d, g, manifest, moved) for g in shape.triggers) if t is not None]
    partition_key, partitions = _partitioning(d, shape, key)
    _left_behind(d, shape)
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
        checks=checks,
        indexes=tuple(indexes),
        foreign_keys=tuple(fks),
        notes=_notes(d.fates),
        options=d.options(shape.options, "table", shape.name),
        partition_key=partition_key,
        partitions=partitions,
        exclusions=tuple(exclusions),
        triggers=tuple(triggers),
        fates=tuple(d.fates),
    )


def refusal(table: TargetTable) -> RenderError:
    """The error that refuses a table with refused objects: the first in the message, every one in
    the detail."""
    first, *more = table.refused
    return RenderError(
        f'{first.kind} "{first.name}" of "{table.name}" {first.how}'
        + (f" (and {len(more)} more refused object(s) of the table)" if more else ""),
        hint=first.hint,
        detail="\n".join(f"{f.kind} {f.name} {f.how}. {f.hint or ''}".rstrip() for f in table.refused),
    )


def derive_table(shape: TableShape, manifest: Manifest, position: int, hashable: set[str]) -> TargetTable:
    """The tenant table; RenderError when any object of the shared table is refused."""
    table = derive(shape, manifest, position, hashable)
    if table.refused:
        raise refusal(table)
    return table


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
