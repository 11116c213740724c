"""Propose a manifest from the catalog (`tenancy init --from-database`).

Only the catalog is read, never table data, and nothing is changed. The rules:

- **tenant key**: the one given, else the column name most tables carry among
  those that reference one table by a foreign key of that column alone
  (``account_id`` → ``accounts``); a column that references a table which
  itself carries another candidate (``customer_id`` → ``customers``, which has
  ``account_id``) names something inside a tenant, not a tenant;
- **registry**: the one given, else the table the tenant key references, else
  (no foreign key names it) a table named like the key (``tenant_id`` →
  ``tenants`` or ``Tenant``);
- **move**: every table that carries the tenant key;
- **hybrid**: a table with the key that must stay shared: one that a table
  which stays references (a table that stays may not reference a moved one),
  or one the tool cannot rewrite without the key (the render error says why);
  what such a table references then stays too;
- **central**: every table without the key (the registry among them);
- views, partitions (their partitioned table stands for them) and other
  schemas (the tool's own, the tenant schemas) are not read.

What the catalog cannot settle is a :class:`Decision`: its question to the
user and what the proposal does meanwhile, so that the proposal installs as it
is while the questions are open: a key that may be NULL (moved), a table with
the key but no foreign key to the registry (moved), a table that cannot move
(shared), a second column that could be the tenant key, a registry no foreign
key names.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runner.engine import catalog
from runner.engine.catalog_rows import DiscoveredColumn, DiscoveredForeignKey
from runner.engine.rows import fetch_all
from runner.engine.target import derive_table
from runner.errors import RenderError, TenancyError
from runner.manifest import Manifest, parse_manifest
from runner.names import TOOL_SCHEMAS
from runner.resources import read_query

MOVE, HYBRID, CENTRAL = "move", "hybrid", "central"
# A runner-up tenant key carried by at least this share of the tables the chosen one is: a question.
_CLOSE_CANDIDATE = 0.5
_NAME_COLUMNS = ("name", "title", "slug", "display_name")
_TEXT_TYPES = ("text", "character varying", "citext")
_SHOWN = 5  # referencing tables named in a reason


class DiscoveryError(TenancyError):
    """The catalog does not say enough to propose a manifest."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    key_position: int | None  # place in the primary key


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass
class Facts:
    """What discovery reads of one schema."""

    schema: str
    columns: dict[str, list[Column]] = field(default_factory=dict)
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    def carriers(self, column: str) -> list[str]:
        return sorted(t for t, cols in self.columns.items() if any(c.name == column for c in cols))

    def column(self, table: str, name: str) -> Column | None:
        return next((c for c in self.columns.get(table, []) if c.name == name), None)

    def primary_key(self, table: str) -> list[str]:
        key = [c for c in self.columns.get(table, []) if c.key_position is not None]
        return [c.name for c in sorted(key, key=lambda c: c.key_position or 0)]


@dataclass(frozen=True)
class Fate:
    table: str
    section: str  # move | hybrid | central
    reason: str


@dataclass(frozen=True)
class Decision:
    """A question the catalog cannot answer, the tables it concerns, what the proposal does meanwhile."""

    topic: str  # "tenant key" | "registry" | "tables"
    tables: tuple[str, ...]
    question: str
    proposed: str


@dataclass(frozen=True)
class Proposal:
    schema: str
    tenant_key: str
    key_reason: str
    registry: str
    registry_id: str
    registry_name: str | None
    registry_reason: str
    fates: tuple[Fate, ...]
    undecided: tuple[Decision, ...]

    def tables(self, section: str) -> list[str]:
        return [f.table for f in self.fates if f.section == section]

    def fate(self, table: str) -> Fate:
        return next(f for f in self.fates if f.table == table)

    def toml(self) -> str:
        """The manifest, every table with its reason as a comment, the open questions at the end."""
        out = [
            f"# Proposed from the catalog of schema {self.schema} (tenancy init --from-database).",
            "# Every table's fate carries its reason; review the questions at the end",
            "# (the lists already hold the proposed answers), then run `tenancy install`.",
            "",
            "[tenancy]",
            f"# {_comment(self.key_reason)}",
            f"tenant_key = {_toml_string(self.tenant_key)}",
            f"central_schema = {_toml_string(self.schema)}",
            'schema_pattern = "tenant_{id}"',
            "",
            "[registry]",
            f"# {_comment(self.registry_reason)}",
            f"table = {_toml_string(self.registry)}",
            f"id_column = {_toml_string(self.registry_id)}",
        ]
        if self.registry_name:
            out.append(f"name_column = {_toml_string(self.registry_name)}")
        headings = {
            MOVE: f"Tables with {self.tenant_key}: each tenant's rows move to its schema.",
            HYBRID: f"Tables with {self.tenant_key} that stay shared; row-level security per tenant.",
            CENTRAL: f"Tables without {self.tenant_key}: shared by every tenant.",
        }
        asked: dict[str, list[str]] = {}
        for i, d in enumerate(self.undecided, start=1):
            for t in d.tables:
                asked.setdefault(t, []).append(str(i))
        for section in (MOVE, HYBRID, CENTRAL):
            fates = [f for f in self.fates if f.section == section]
            if section == HYBRID and not fates:
                continue
            out += ["", f"[{section}]", f"# {_comment(headings[section])}", "tables = ["]
            for f in fates:
                question = f" (question {', '.join(asked[f.table])})" if f.table in asked else ""
                out.append(f"    {_toml_string(f.table)},  # {_comment(f.reason)}{question}")
            out.append("]")
        if self.undecided:
            out += ["", "# Not decided: questions the catalog cannot answer (the lists above hold the proposals)."]
            for i, d in enumerate(self.undecided, start=1):
                out.append(f"# {i}. {_comment(d.question)}")
                out.append(f"#    Proposed: {_comment(d.proposed)}")
        return "\n".join(out) + "\n"

    def manifest(self) -> Manifest:
        return parse_manifest(tomllib.loads(self.toml()))


def read_facts(conn: psycopg.Connection[Any], schema: str) -> Facts:
    facts = Facts(schema)
    for c in fetch_all(conn, DiscoveredColumn, read_query("queries/discover_columns.sql"), {"schema": schema}):
        cols = facts.columns.setdefault(c.table_name, [])
        if c.column_name is not None:
            cols.append(Column(c.column_name, c.type_name, c.not_null, c.key_position))
    for k in fetch_all(conn, DiscoveredForeignKey, read_query("queries/discover_foreign_keys.sql"), {"schema": schema}):
        facts.foreign_keys.append(
            ForeignKey(k.table_name, k.name, tuple(k.columns), k.ref_schema, k.ref_table, tuple(k.ref_columns))
        )
    return facts


def propose_manifest(
    conn: psycopg.Connection[Any], *, tenant_key: str | None = None, registry: str | None = None, schema: str = "public"
) -> Proposal:
    """A manifest for the tables of ``schema``, by the rules of this module."""
    if schema in TOOL_SCHEMAS:
        raise DiscoveryError(f"schema {schema} is the tool's own", hint="Name the schema that holds the shared tables.")
    facts = read_facts(conn, schema)
    if not facts.columns:
        raise DiscoveryError(f"schema {schema} has no tables", hint="Name the schema that holds the shared tables.")
    if registry is not None and registry not in facts.columns:
        raise DiscoveryError(
            f'no table "{schema}.{registry}" (--registry)', hint="Name the table that lists the tenants."
        )
    undecided: list[Decision] = []
    key, key_reason = _tenant_key(facts, tenant_key, registry, undecided)
    _look_alikes(facts, key, undecided)
    reg, reg_id, reg_reason, by_fk = _registry(facts, key, registry, undecided)
    name_column = next(
        (n for n in _NAME_COLUMNS if (c := facts.column(reg, n)) is not None and c.type in _TEXT_TYPES), None
    )
    fates = _fates(conn, facts, key, reg, reg_id, by_fk, undecided)
    return Proposal(schema, key, key_reason, reg, reg_id, name_column, reg_reason, fates, tuple(undecided))


# -- tenant key -------------------------------------------------------------------------


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _single_column_references(facts: Facts) -> dict[str, Counter[str]]:
    """column name -> referenced table -> how many tables reference it by that column alone."""
    out: dict[str, Counter[str]] = {}
    for fk in facts.foreign_keys:
        if len(fk.columns) == 1 and fk.ref_schema == facts.schema and fk.ref_table != fk.table:
            out.setdefault(fk.columns[0], Counter())[fk.ref_table] += 1
    return out


def _tenant_key(facts: Facts, given: str | None, registry: str | None, undecided: list[Decision]) -> tuple[str, str]:
    """The tenant key column and why."""
    if given is not None:
        carriers = facts.carriers(given)
        if not carriers:
            raise DiscoveryError(
                f"no table of schema {facts.schema} has a column {given} (--tenant-key)",
                hint="Name the column that says which tenant a row belongs to.",
            )
        return given, f"{given}: given; carried by {len(carriers)} tables."
    refs = _single_column_references(facts)
    # A candidate references a table (the one it references most: the registry) from at least two tables.
    candidates = {
        col: by_table.most_common(1)[0][0]
        for col, by_table in refs.items()
        if sum(by_table.values()) >= 2 and (registry is None or registry in by_table)
    }
    if registry is not None:
        candidates = {col: registry for col in candidates}
    # A column whose table itself carries another candidate names something inside a tenant.
    roots = {
        col: target
        for col, target in candidates.items()
        if not any(facts.column(target, other) for other in candidates if other != col)
    }
    ranked = sorted(roots, key=lambda c: (-len(facts.carriers(c)), c))
    if not ranked:
        raise DiscoveryError(
            "no column references one table from several tables, so no tenant key can be guessed",
            hint="Pass --tenant-key COLUMN (and --registry TABLE when no foreign key names it).",
        )
    key = ranked[0]
    count = len(facts.carriers(key))
    reason = (
        f"{key}: carried by {count} tables, {sum(refs[key].values())} of them with a foreign key to "
        f"{roots[key]} by it alone (the column most tables carry that names one table)."
    )
    for other in ranked[1:]:
        if len(facts.carriers(other)) >= _CLOSE_CANDIDATE * count:
            undecided.append(
                Decision(
                    "tenant key",
                    (),
                    f"Which column names the tenant: {key} ({count} tables, references {roots[key]}) or "
                    f"{other} ({len(facts.carriers(other))} tables, references {roots[other]})? "
                    "A manifest has one tenant key.",
                    f"{key}; pass --tenant-key {other} for the other.",
                )
            )
    return key, reason


def _look_alikes(facts: Facts, key: str, undecided: list[Decision]) -> None:
    """Another column spelled like the tenant key (tenantId, tenant_id): its tables stay central."""
    for other in sorted({c.name for cols in facts.columns.values() for c in cols}):
        carriers = facts.carriers(other)
        if other != key and _normalized(other) == _normalized(key) and len(carriers) >= 2:
            undecided.append(
                Decision(
                    "tenant key",
                    tuple(carriers),
                    f"{other} ({len(carriers)} tables) looks like {key}: do these tables belong to a tenant too? "
                    "A manifest has one tenant key; the tables with the other column stay central.",
                    f"{key}; pass --tenant-key {other} to move the tables that carry it instead.",
                )
            )


# -- registry ---------------------------------------------------------------------------


def _registry(facts: Facts, key: str, given: str | None, undecided: list[Decision]) -> tuple[str, str, str, set[str]]:
    """(registry, its id column, why, the tables that reference it by the tenant key alone)."""
    by_fk: dict[str, set[str]] = {}
    id_columns: dict[str, str] = {}
    for fk in facts.foreign_keys:
        if fk.columns == (key,) and fk.ref_schema == facts.schema and fk.ref_table != fk.table:
            by_fk.setdefault(fk.ref_table, set()).add(fk.table)
            id_columns.setdefault(fk.ref_table, fk.ref_columns[0])
    if given is not None:
        table, reason = given, f"{given}: given."
    elif by_fk:
        ranked = sorted(by_fk, key=lambda t: (-len(by_fk[t]), t))
        table = ranked[0]
        reason = f"{key} references {table}.{id_columns[table]} from {len(by_fk[table])} tables."
        if len(ranked) > 1:
            others = ", ".join(f"{t} ({len(by_fk[t])} tables)" for t in ranked[1:])
            undecided.append(
                Decision(
                    "registry",
                    tuple(ranked),
                    f"{key} references {table} ({len(by_fk[table])} tables) and also {others}: "
                    f"which lists the tenants?",
                    f"{table}; pass --registry TABLE for another.",
                )
            )
    else:
        table = _named_like(facts, key)
        reason = f"no foreign key names the registry: {table} is named like {key}."
        undecided.append(
            Decision(
                "registry",
                (table,),
                f"No foreign key on {key} names the table of tenants: is it {table}, named like {key}?",
                f"{table}; pass --registry TABLE for another.",
            )
        )
    id_column = id_columns.get(table) or _id_column(facts, table)
    return table, id_column, reason, by_fk.get(table, set())


def _named_like(facts: Facts, key: str) -> str:
    """The table named like the tenant key without its id (tenant_id → tenants, Tenant)."""
    base = _normalized(re.sub(r"(_id|Id|ID|_key)$", "", key))
    wanted = {base, base + "s", base + "es", base[:-1] + "ies" if base.endswith("y") else base}
    found = sorted(t for t in facts.columns if _normalized(t) in wanted)
    if not found:
        raise DiscoveryError(
            f"no foreign key on {key} names the table of tenants, and no table is named like it",
            hint="Pass --registry TABLE.",
        )
    return found[0]


def _id_column(facts: Facts, table: str) -> str:
    key = facts.primary_key(table)
    if len(key) == 1:
        return key[0]
    if facts.column(table, "id") is not None:
        return "id"
    raise DiscoveryError(
        f"the registry {table} has no single-column primary key and no column id",
        hint="Pass --registry with a table whose tenant id is one column.",
    )


# -- fates ------------------------------------------------------------------------------


def _fates(
    conn: psycopg.Connection[Any],
    facts: Facts,
    key: str,
    registry: str,
    registry_id: str,
    by_fk: set[str],
    undecided: list[Decision],
) -> tuple[Fate, ...]:
    """Every table's fate: the tables carrying the tenant key move unless they must stay
    shared; the others stay central. Questions for the user go to ``undecided``."""
    keyed = [t for t in facts.carriers(key) if t != registry]
    if not keyed:
        raise DiscoveryError(f"no table but the registry carries {key}", hint="Pass --tenant-key COLUMN.")
    shared = _kept_shared(conn, facts, key, registry, registry_id, keyed, undecided)
    _ask_about_moved(facts, key, registry, [t for t in keyed if t not in shared], by_fk, undecided)
    moved = set(keyed) - set(shared)
    if not moved:
        raise DiscoveryError(
            f"every table with {key} must stay shared, so nothing would move",
            detail="\n".join(f"{t}: {why}" for t, why in sorted(shared.items())),
            hint="Check the tenant key (--tenant-key) and the registry (--registry).",
        )
    fates = [Fate(t, MOVE, _move_reason(facts, t, key, registry, by_fk)) for t in keyed if t in moved]
    fates += [Fate(t, HYBRID, shared[t]) for t in keyed if t in shared]
    for t in sorted(facts.columns):
        if t == registry:
            fates.append(Fate(t, CENTRAL, "the tenant registry"))
        elif t not in keyed:
            users = sorted({fk.table for fk in facts.foreign_keys if fk.ref_table == t and fk.table in moved})
            fates.append(
                Fate(t, CENTRAL, f"no {key}" + (f"; referenced by moved tables: {_some(users)}" if users else ""))
            )
    return tuple(fates)


def _kept_shared(
    conn: psycopg.Connection[Any],
    facts: Facts,
    key: str,
    registry: str,
    registry_id: str,
    keyed: list[str],
    undecided: list[Decision],
) -> dict[str, str]:
    """The tables of ``keyed`` that must stay shared, each with why: those a staying table
    references, and those the tool cannot derive a tenant table of (each also a question
    in ``undecided``), until no more follow."""
    shared: dict[str, str] = {}
    while True:
        _close_over_references(facts, key, keyed, shared)
        refused = _render_refusals(conn, facts, key, registry, registry_id, [t for t in keyed if t not in shared])
        if not refused:
            return shared
        for table, error in refused.items():
            shared[table] = f"cannot move as it is: {error}"
            undecided.append(
                Decision(
                    "tables",
                    (table,),
                    f"{table} cannot move as it is: {error}",
                    "hybrid; change the table and move it instead.",
                )
            )


def _ask_about_moved(
    facts: Facts, key: str, registry: str, moved_in_order: list[str], by_fk: set[str], undecided: list[Decision]
) -> None:
    """Questions about the tables that move: a tenant key that may be NULL, and one without
    a foreign key to the registry (when other tables have one)."""
    nullable = [t for t in moved_in_order if (c := facts.column(t, key)) is not None and not c.not_null]
    if nullable:
        undecided.append(
            Decision(
                "tables",
                tuple(nullable),
                f"{key} may be NULL in {_some(nullable)}: does every row have a tenant (they move; a row "
                "with NULL stops the migration), or are rows without one shared by every tenant (the table "
                "stays, [hybrid])?",
                "move.",
            )
        )
    loose = [t for t in moved_in_order if t not in by_fk] if by_fk else []
    if loose:
        undecided.append(
            Decision(
                "tables",
                tuple(loose),
                f"{_some(loose)} carry {key} without a foreign key to {registry}: is it the tenant there? "
                f"Rows whose {key} is not in {registry} stop the migration.",
                "move.",
            )
        )


def _close_over_references(facts: Facts, key: str, keyed: list[str], shared: dict[str, str]) -> None:
    """A table that stays may not reference a moved one: what a staying table references stays too."""
    keyed_set = set(keyed)
    changed = True
    while changed:
        changed = False
        for fk in facts.foreign_keys:
            stays = fk.table not in keyed_set or fk.table in shared
            target = fk.ref_table
            if (
                stays
                and fk.ref_schema == facts.schema
                and target in keyed_set
                and target not in shared
                and target != fk.table
            ):
                how = "central" if fk.table not in keyed_set else "shared"
                shared[target] = (
                    f"referenced by {fk.table} ({fk.name}), which stays {how}: "
                    "a table that stays may not reference a moved one"
                )
                changed = True


def _render_refusals(
    conn: psycopg.Connection[Any], facts: Facts, key: str, registry: str, registry_id: str, move: list[str]
) -> dict[str, str]:
    """The tables of ``move`` whose tenant table the tool cannot derive, each with the render error."""
    if not move:
        return {}
    manifest = parse_manifest(
        {
            "tenancy": {"tenant_key": key, "central_schema": facts.schema},
            "registry": {"table": registry, "id_column": registry_id},
            "move": {"tables": move},
        }
    )
    refused: dict[str, str] = {}
    with conn.transaction():
        conn.execute("SET LOCAL search_path = pg_catalog")
        for position, table in enumerate(move, start=1):
            try:
                derive_table(catalog.read_table(conn, facts.schema, table), manifest, position, set())
            except RenderError as e:
                refused[table] = f"{e}" + (f" ({e.hint.rstrip('.')})" if e.hint else "")
    return refused


def _move_reason(facts: Facts, table: str, key: str, registry: str, by_fk: set[str]) -> str:
    reason = f"has {key}" + (f", references {registry} by it" if table in by_fk else "")
    if not facts.primary_key(table):
        reason += "; no primary key (migrate --online refuses a moved table without one)"
    return reason


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _comment(text: str) -> str:
    """Text for a TOML comment: on one line, without control characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)


def _toml_string(value: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
