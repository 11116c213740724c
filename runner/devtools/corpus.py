"""Fill an application's schema with rows for N tenants, inside PostgreSQL.

A schema without data (one of the corpus of real application schemas under
``tests/corpus/``, the wide synthetic schema of :mod:`runner.devtools.wide`, or
a copy of a user's schema) is filled from its own catalog: every table gets one
set-based ``INSERT … SELECT`` over ``generate_series``, parents before children,
so that every foreign key, unique key, NOT NULL, enum and (where the catalog
says which values it takes) CHECK holds. Python only reads the catalog and
composes the statements; no row passes through it.

Rows per table:
- the tenant registry gets one row per tenant; its id is the tenant id;
- a table with the tenant key, or a foreign key to such a table or to the
  registry, gets ``rows`` rows per tenant, and every reference stays inside
  the tenant (a parent row of the same tenant);
- any other table gets ``rows`` × N rows in all.

Values are functions of (tenant, row number, seed): the same arguments give
the same rows. Per row, ``s.ord`` is the tenant's number (1..N; 0 for a table
of no tenant), ``s.tenant`` its id, ``s.g`` the row's number within the tenant
and ``s.n`` within the table; a data spec (:class:`DataSpec`) may give any
column an expression over them, run SQL before the rows are generated (e.g.
create the partitions an application creates at run time), and set the rows
of a table. User triggers are switched off while the rows are generated (the
generator fills every table itself) and restored as they were.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from runner.errors import TenancyError
from runner.manifest import load_manifest
from runner.resources import SAMPLE_DIR
from runner.sqlscript import run_script

# The first instant of generated time values; a data spec's setup creates the
# partitions that hold it (and the seconds after it).
EPOCH = "2024-01-01 00:00:00+00"
# Rows whose nullable columns (outside keys and CHECKs) are NULL: every NULLS_EVERY-th.
NULLS_EVERY = 4
_MAX_ATTEMPTS = 12
# A column, maybe in parentheses and cast, compared with a value: `(c = 1)`,
# `((c)::text = ANY (ARRAY[...]))` (as PostgreSQL prints IN); not `f(c) = 1`.
_COLUMN = r'"?(\w+)"?\)*(?:::[\w. "]+(?:\[\])?\)*)?\s*'
_VALUES = r"(?:ANY\s*\(+\s*ARRAY\[(.*?)\]|('(?:[^']|'')*'|-?\d+(?:\.\d+)?))"
_EQUALS = re.compile(r"(?<!\w)\(+" + _COLUMN + "=\\s*" + _VALUES, re.DOTALL)
# The same with "<>" too, anywhere in a CHECK of several columns.
_COMPARED = re.compile(_COLUMN + r"(?:=|<>)\s*" + _VALUES, re.DOTALL)
_LITERAL = re.compile(r"'((?:[^']|'')*)'|(?<![\w.'])(-?\d+(?:\.\d+)?)(?![\w.])")


class CorpusError(TenancyError):
    """A schema the generator cannot fill as it is (the message names the table and column)."""


@dataclass(frozen=True)
class DataSpec:
    """What the catalog does not say: SQL to run first, per-column expressions, rows per table."""

    setup: str = ""
    # (table, column) -> SQL expression over s.ord, s.tenant, s.g, s.n
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # table -> rows per tenant (a table of no tenant: that many times the tenants, in all)
    rows: dict[str, int] = field(default_factory=dict)


def load_data_spec(path: Path) -> DataSpec:
    """A data spec file (TOML: ``setup``, ``[columns] "table.column" = "expr"``, ``[rows] table = N``)."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(doc) - {"setup", "columns", "rows"})
    if unknown:
        raise CorpusError(f"{path}: unknown key(s) {', '.join(unknown)}", hint="Keys: setup, [columns], [rows].")
    columns: dict[tuple[str, str], str] = {}
    for name, expr in doc.get("columns", {}).items():
        table, dot, column = name.partition(".")
        if not dot or not isinstance(expr, str):
            raise CorpusError(f'{path}: [columns] "{name}" must be "table.column" = "SQL expression"')
        columns[(table, column)] = expr
    rows = doc.get("rows", {})
    if not all(isinstance(n, int) and n >= 0 for n in rows.values()):
        raise CorpusError(f"{path}: [rows] values must be whole numbers >= 0")
    return DataSpec(setup=str(doc.get("setup", "")), columns=columns, rows=dict(rows))


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    base_type: str
    category: str  # pg_type.typcategory of the base type
    enum_labels: tuple[str, ...]
    not_null: bool
    has_default: bool
    automatic: bool  # identity, generated, or a sequence's nextval() default: never given
    typmod: int

    @property
    def max_length(self) -> int | None:
        if self.base_type in ("character varying", "character") and self.typmod > 4:
            return self.typmod - 4
        return None

    @property
    def int_digits(self) -> int | None:
        """Digits before the point of numeric(p, s)."""
        if self.base_type == "numeric" and self.typmod > 4:
            return (((self.typmod - 4) >> 16) & 65535) - ((self.typmod - 4) & 65535)
        return None


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class UniqueKey:
    name: str
    columns: tuple[str, ...]  # "" for an expression
    partial: bool


@dataclass(frozen=True)
class Check:
    name: str
    columns: tuple[str, ...]
    definition: str

    def literals(self) -> tuple[str, ...]:
        """The values a one-column check compares its column with by "=" (`IN (...)`,
        `= ANY (ARRAY[...])`, `(c = 1) OR (c = 2)`), else none."""
        if len(self.columns) != 1:
            return ()
        found: list[str] = []
        for column, listed, single in _EQUALS.findall(self.definition):
            if column == self.columns[0]:
                found += [v for v in _values(listed or single) if v not in found]
        return tuple(found)

    def compared(self) -> dict[str, tuple[str, ...]]:
        """Column -> the literals a check of several columns compares it with ("=" or "<>")."""
        if len(self.columns) < 2:
            return {}
        out: dict[str, list[str]] = {}
        for column, listed, single in _COMPARED.findall(self.definition):
            if column in self.columns:
                out.setdefault(column, []).extend(_values(listed or single))
        return {c: tuple(v) for c, v in out.items()}


def _values(text: str) -> list[str]:
    """The literals of a value list as PostgreSQL prints it ('a'::text, 2, ...)."""
    return [q.replace("''", "'") if q or not number else number for q, number in _LITERAL.findall(text)]


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    uniques: list[UniqueKey] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    partition_columns: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def checks_with_lists(self) -> list[tuple[str, tuple[str, ...]]]:
        """(column, values) of each one-column CHECK that lists the values its column takes."""
        return [(chk.columns[0], chk.literals()) for chk in self.checks if chk.literals()]

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)


@dataclass(frozen=True)
class FillSummary:
    """What was generated: tenant ids in order, rows per table."""

    tenants: list[str]
    rows_by_table: dict[str, int]


def read_tables(conn: psycopg.Connection[Any], schema: str) -> dict[str, Table]:
    """Every table of the schema (partitions left out) with what the generator needs."""
    tables: dict[str, Table] = {}
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET LOCAL search_path = pg_catalog")
        for r in cur.execute(_query("corpus_columns.sql"), {"schema": schema}):
            tables.setdefault(r["table_name"], Table(r["table_name"])).columns.append(
                Column(
                    name=r["column_name"],
                    type=r["type_name"],
                    base_type=r["base_type"],
                    category=r["category"],
                    enum_labels=tuple(r["enum_labels"]),
                    not_null=r["not_null"],
                    has_default=r["has_default"],
                    automatic=r["automatic"],
                    typmod=int(r["typmod"]),
                )
            )
        for r in cur.execute(_query("corpus_constraints.sql"), {"schema": schema}):
            table = tables[r["table_name"]]
            if r["kind"] == "f":
                table.foreign_keys.append(
                    ForeignKey(r["name"], tuple(r["columns"]), r["ref_schema"], r["ref_table"], tuple(r["ref_columns"]))
                )
            elif r["kind"] == "c":
                table.checks.append(Check(r["name"], tuple(r["columns"]), r["definition"]))
            else:
                table.uniques.append(UniqueKey(r["name"], tuple(r["columns"]), r["partial"]))
        for r in cur.execute(_query("corpus_partition_columns.sql"), {"schema": schema}):
            tables[r["table_name"]].partition_columns = tuple(r["columns"])
    return tables


def load_schema(conn: psycopg.Connection[Any], path: Path) -> None:
    """Run a schema file (DDL as pg_dump writes it) statement by statement on an
    autocommit connection, then reset the settings the file changed."""
    if not conn.autocommit:
        raise CorpusError("load_schema() needs an autocommit connection (a dump may build indexes concurrently)")
    run_script(conn, path.read_text(encoding="utf-8"))
    conn.execute("RESET ALL")


def build_corpus(
    conn: psycopg.Connection[Any], directory: Path, *, tenants: int = 30, rows: int = 3, seed: int = 42
) -> FillSummary:
    """Load ``directory``/schema.sql, run the setup of its data.toml (if any) and fill
    it for the tenant key and registry its tenancy.toml names."""
    load_schema(conn, directory / "schema.sql")
    spec_path = directory / "data.toml"
    spec = load_data_spec(spec_path) if spec_path.exists() else DataSpec()
    manifest = load_manifest(directory / "tenancy.toml")
    return fill_tenants(
        conn,
        schema=manifest.central_schema,
        tenant_key=manifest.tenant_key,
        registry=manifest.registry.table,
        registry_id=manifest.registry.id_column,
        tenants=tenants,
        rows=rows,
        seed=seed,
        spec=spec,
    )


def fill_tenants(
    conn: psycopg.Connection[Any],
    *,
    tenant_key: str,
    registry: str,
    registry_id: str = "id",
    schema: str = "public",
    tenants: int = 30,
    rows: int = 3,
    seed: int = 42,
    spec: DataSpec | None = None,
) -> FillSummary:
    """Generate the registry's ``tenants`` rows and ``rows`` rows per tenant in every
    table of ``schema`` (see the module docstring), in one transaction."""
    if tenants < 1 or rows < 1:
        raise CorpusError("tenants and rows must be at least 1")
    spec = spec or DataSpec()
    with conn.transaction():
        if spec.setup.strip():
            run_script(conn, spec.setup)
        tables = read_tables(conn, schema)
        if registry not in tables or not tables[registry].has(registry_id):
            raise CorpusError(f'no table "{schema}.{registry}" with column {registry_id} (the tenant registry)')
        gen = _Generator(conn, schema, tables, tenant_key, registry, registry_id, tenants, rows, seed, spec)
        with _triggers_off(conn, schema):
            gen.create_tenant_list()
            for name in gen.load_order():
                gen.fill(name)
            gen.advance_registry_sequence()
        ids = [str(r[0]) for r in conn.execute("SELECT tenant::text FROM pg_temp.corpus_tenants ORDER BY ord")]
        conn.execute("DROP TABLE pg_temp.corpus_tenants")
    conn.execute(
        sql.SQL("ANALYZE {}").format(
            sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(t)) for t in tables)
        )
    )
    return FillSummary(ids, dict(gen.counts))


@contextmanager
def _triggers_off(conn: psycopg.Connection[Any], schema: str) -> Iterator[None]:
    """User triggers off while the generator writes every table itself; each restored as it was."""
    found = conn.execute(_query("corpus_triggers.sql"), {"schema": schema}).fetchall()
    modes = {"O": "ENABLE TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "R": "ENABLE REPLICA TRIGGER"}
    for table, trigger, _ in found:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} DISABLE TRIGGER {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(trigger)
            )
        )
    yield
    for table, trigger, mode in found:
        conn.execute(
            sql.SQL("ALTER TABLE {}.{} {} {}").format(
                sql.Identifier(schema), sql.Identifier(table), sql.SQL(modes[mode]), sql.Identifier(trigger)
            )
        )


def _query(name: str) -> str:
    return (SAMPLE_DIR / name).read_text(encoding="utf-8")


@dataclass
class _Plan:
    """How one table's INSERT gives each column a value."""

    values: dict[str, sql.Composable] = field(default_factory=dict)
    # Column -> the lateral lookup (fk_<i>) its value comes from.
    picked: dict[str, str] = field(default_factory=dict)
    laterals: list[sql.Composable] = field(default_factory=list)
    rows: int = 0


class _Generator:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        schema: str,
        tables: dict[str, Table],
        tenant_key: str,
        registry: str,
        registry_id: str,
        tenants: int,
        rows: int,
        seed: int,
        spec: DataSpec,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.tables = tables
        self.key = tenant_key
        self.registry = registry
        self.registry_id = registry_id
        self.tenants = tenants
        self.rows = rows
        self.seed = seed
        self.spec = spec
        self.counts: dict[str, int] = {}
        # (table, foreign key) not looked up: a self-reference, or the edge that breaks a cycle.
        self.deferred: set[tuple[str, str]] = set()
        for table, column in spec.columns:
            if table not in tables or not tables[table].has(column):
                raise CorpusError(f"data spec: no column {table}.{column} in schema {schema}")
        self.scoped = {name: self._per_tenant(t) for name, t in tables.items()}

    # -- which rows a table gets -------------------------------------------------------

    def keyed(self, table: str) -> bool:
        """A table of a tenant: the registry, or a table with the tenant key."""
        return table == self.registry or (table in self.tables and self.tables[table].has(self.key))

    def _per_tenant(self, t: Table) -> bool:
        """Rows per tenant: a table of a tenant, or one that references one."""
        return self.keyed(t.name) or any(
            fk.ref_schema == self.schema and fk.ref_table != t.name and self.keyed(fk.ref_table)
            for fk in t.foreign_keys
        )

    def candidates(self, child: str, parent: str) -> tuple[int, bool]:
        """How many rows of `parent` a row of `child` chooses from, and whether they are
        its tenant's (both of a tenant) or all of them."""
        own = self.scoped[child] and self.keyed(parent)
        count = self.counts.get(parent, 0)
        return (count // self.tenants if own else count), own

    # -- order -------------------------------------------------------------------------

    def load_order(self) -> list[str]:
        """Parents first. A cycle is broken at a foreign key whose columns are all
        nullable (left NULL); a self-reference is left NULL (or points at its own row)."""
        edges: dict[str, dict[str, list[ForeignKey]]] = {}
        for t in self.tables.values():
            for fk in t.foreign_keys:
                if fk.ref_schema != self.schema or fk.ref_table not in self.tables:
                    continue
                if fk.ref_table == t.name:
                    self.deferred.add((t.name, fk.name))
                else:
                    edges.setdefault(t.name, {}).setdefault(fk.ref_table, []).append(fk)
        order: list[str] = []
        pending = sorted(self.tables, key=lambda n: (n != self.registry, n))
        while pending:
            ready = [n for n in pending if not set(edges.get(n, {})) - set(order)]
            if not ready:
                ready = [self._break_cycle(pending, edges)]
            for n in ready:
                order.append(n)
                pending.remove(n)
        return order

    def _break_cycle(self, pending: list[str], edges: dict[str, dict[str, list[ForeignKey]]]) -> str:
        for name in pending:
            waiting = {p: fks for p, fks in edges.get(name, {}).items() if p in pending}
            if all(
                not self.tables[name].column(c).not_null for fks in waiting.values() for fk in fks for c in fk.columns
            ):
                for parent, fks in waiting.items():
                    self.deferred.update((name, fk.name) for fk in fks)
                    del edges[name][parent]
                return name
        raise CorpusError(
            f"foreign keys form a cycle of NOT NULL columns among {', '.join(sorted(pending))}",
            hint="Give one of those columns a value in the data spec ([columns]).",
        )

    # -- tenants -----------------------------------------------------------------------

    def create_tenant_list(self) -> None:
        """pg_temp.corpus_tenants (ord, tenant): the tenant ids, typed like the registry's id column."""
        col = self.tables[self.registry].column(self.registry_id)
        override = self.spec.columns.get((self.registry, self.registry_id))
        if override:
            value: sql.Composable = sql.SQL(override)
        elif col.base_type == "uuid":
            value = sql.SQL("md5({} || ':tenant:' || s.ord)::uuid").format(sql.Literal(str(self.seed)))
        elif col.category == "N":
            value = sql.SQL("s.ord")
        elif col.category == "S":
            value = sql.SQL("'t' || s.ord")
        else:
            raise CorpusError(
                f"no tenant id can be generated for {self.registry}.{self.registry_id} of type {col.type}",
                hint=f'Give it one in the data spec: [columns] "{self.registry}.{self.registry_id}" = "...".',
            )
        self.conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE corpus_tenants AS SELECT s.ord, CAST({} AS {}) AS tenant "
                "FROM generate_series(1, {}) AS s (ord)"
            ).format(value, sql.SQL(col.type), sql.Literal(self.tenants))
        )

    def advance_registry_sequence(self) -> None:
        """The registry's ids were given: its sequence (serial or identity), if any, moves past them."""
        if not self.tables[self.registry].column(self.registry_id).automatic:
            return
        self.conn.execute(
            sql.SQL(
                "SELECT setval(seq, (SELECT max({})::bigint FROM {}.{})) "
                "FROM pg_get_serial_sequence({}, {}) AS seq WHERE seq IS NOT NULL"
            ).format(
                sql.Identifier(self.registry_id),
                sql.Identifier(self.schema),
                sql.Identifier(self.registry),
                sql.Literal(sql.Identifier(self.schema, self.registry).as_string(self.conn)),
                sql.Literal(self.registry_id),
            )
        )

    # -- one table ---------------------------------------------------------------------

    def fill(self, name: str) -> None:
        """One INSERT; a CHECK that refuses it leaves one more of its nullable columns NULL,
        a unique key that refuses it leaves one row per tenant, then it is tried again."""
        nulls: set[str] = set()
        one_row = False
        for _ in range(_MAX_ATTEMPTS):
            plan = self.plan(name, nulls, one_row)
            if plan.rows == 0:
                self.counts[name] = 0
                return
            try:
                with self.conn.transaction():
                    cur = self.conn.execute(self.statement(name, plan))
            except psycopg.errors.CheckViolation as e:
                nulls.add(self._column_to_spare(name, e, plan, nulls))
                continue
            except psycopg.errors.UniqueViolation as e:
                if plan.rows == 1:
                    raise self._error(name, e) from None
                one_row = True
                continue
            except psycopg.Error as e:
                raise self._error(name, e) from None
            self.counts[name] = cur.rowcount
            return
        raise CorpusError(f"table {self.schema}.{name}: no rows could be generated", hint=_SPEC_HINT)

    def _column_to_spare(self, name: str, e: psycopg.errors.CheckViolation, plan: _Plan, nulls: set[str]) -> str:
        """The last nullable column the refusing CHECK reads that still has a value."""
        t = self.tables[name]
        check = next((c for c in t.checks if c.name == e.diag.constraint_name), None)
        spare = [
            c
            for c in (check.columns if check else ())
            if not t.column(c).not_null and c not in nulls and c in plan.values and c != self.key
        ]
        if not spare:
            raise self._error(name, e)
        return spare[-1]

    def _error(self, name: str, e: psycopg.Error) -> CorpusError:
        hint = _SPEC_HINT
        if isinstance(e, psycopg.errors.CheckViolation) and not e.diag.constraint_name:
            hint = "Create the partitions that hold the generated rows in the data spec's setup."
        return CorpusError(
            f"table {self.schema}.{name}: {e.diag.message_primary or e}", hint=hint, detail=e.diag.message_detail
        )

    def plan(self, name: str, nulls: set[str], one_row: bool) -> _Plan:
        t = self.tables[name]
        row = sql.SQL("s.g" if self.scoped[name] else "s.n")
        plan = _Plan()
        for (table, column), expr in self.spec.columns.items():
            if table == name:
                plan.values[column] = sql.SQL("({})").format(sql.SQL(expr))
        for c in nulls:
            plan.values[c] = sql.SQL("NULL")
        if name == self.registry:
            plan.values.setdefault(self.registry_id, sql.SQL("s.tenant"))
        elif self.keyed(name):
            plan.values.setdefault(self.key, sql.SQL("CAST(s.tenant AS {})").format(sql.SQL(t.column(self.key).type)))
        # Foreign keys: a lateral lookup of one parent row each, composite ones first.
        looked_up: list[ForeignKey] = []
        for fk in sorted(t.foreign_keys, key=lambda k: (-len(k.columns), k.name)):
            if all(c in plan.values for c in fk.columns):
                continue
            if (name, fk.name) in self.deferred or fk.ref_schema != self.schema or fk.ref_table not in self.tables:
                self._defer(t, fk, plan)
                continue
            looked_up.append(fk)
            alias = f"fk_{len(looked_up)}"
            for c in fk.columns:
                if c not in plan.values:
                    plan.values[c] = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c))
                    plan.picked[c] = alias
        choices = _choices(t)
        digits, cap = self._digits(t, plan, choices, looked_up)
        wanted = self.spec.rows.get(name, self.rows) * (1 if self.scoped[name] else self.tenants)
        if name == self.registry:
            wanted = 1
        plan.rows = min(wanted, cap, 1 if one_row else wanted)
        for i, fk in enumerate(looked_up, start=1):
            plan.laterals.append(self._lateral(name, fk, f"fk_{i}", plan, digits.get(fk.name)))
            if self.candidates(name, fk.ref_table)[0] == 0 and any(t.column(c).not_null for c in fk.columns):
                plan.rows = 0
        keys = {c for u in t.uniques for c in u.columns} | set(t.partition_columns)
        checked = {c for chk in t.checks for c in chk.columns}
        for col in t.columns:
            given = keys | {c for c, _ in t.checks_with_lists()}
            if col.name in plan.values or col.automatic or (col.has_default and col.name not in given):
                continue
            value = self._value(col, name, digits.get(col.name), choices.get(col.name), row)
            if value is None:
                if col.not_null and not col.has_default:
                    raise CorpusError(
                        f"table {self.schema}.{name}: no value can be generated for column {col.name} ({col.type})",
                        hint=f'Give it one in the data spec: [columns] "{name}.{col.name}" = "...".',
                    )
                continue
            if not col.not_null and col.name not in keys | checked | set(digits):
                value = sql.SQL("CASE WHEN s.g % {} = 0 THEN NULL ELSE {} END").format(sql.Literal(NULLS_EVERY), value)
            plan.values[col.name] = value
        return plan

    def _defer(self, t: Table, fk: ForeignKey, plan: _Plan) -> None:
        """A foreign key not looked up: its columns NULL, or, for a NOT NULL self-reference
        to columns given here, the row's own values."""
        for c, ref in zip(fk.columns, fk.ref_columns, strict=True):
            if c in plan.values:
                continue
            if not t.column(c).not_null:
                plan.values[c] = sql.SQL("NULL")
            elif fk.ref_table == t.name and ref in plan.values:
                plan.values[c] = plan.values[ref]
            else:
                raise CorpusError(
                    f"table {self.schema}.{t.name}: NOT NULL column {c} of foreign key {fk.name} "
                    "references a table that is filled later or lies outside the schema",
                    hint=f'Give it a value in the data spec: [columns] "{t.name}.{c}" = "...".',
                )

    def _digits(
        self,
        t: Table,
        plan: _Plan,
        choices: dict[str, tuple[str, ...]],
        looked_up: list[ForeignKey],
    ) -> tuple[dict[str, sql.Composable], int]:
        """Unique keys made only of few-valued parts (foreign keys, enums, booleans, CHECK
        lists; the tenant key is one value per tenant): each row takes the next combination,
        one digit of its number in the table (mixed radix) per part, and the table gets no
        more rows (per tenant, when it has them per tenant) than the key with the fewest
        combinations allows."""
        keys: list[tuple[dict[str, int], bool]] = []
        for key in t.uniques:
            if key.partial or "" in key.columns:
                continue
            parts: dict[str, int] | None = {}
            shared = False  # a part whose values all tenants share
            for c in key.columns:
                col = t.column(c)
                fk = next((k for k in looked_up if c in k.columns), None) if c in plan.picked else None
                if (
                    parts is None
                    or (c == self.key and self.keyed(t.name))
                    or (t.name == self.registry and c == self.registry_id)
                ):
                    continue
                if fk is not None:
                    count, own = self.candidates(t.name, fk.ref_table)
                    parts[fk.name] = count
                    shared = shared or not own
                elif c in plan.values or col.automatic:
                    parts = None
                elif c in choices:
                    parts[c] = len(choices[c])
                elif col.category == "B":
                    parts[c] = 2
                else:
                    parts = None
            if parts:
                keys.append((parts, shared))
        digits: dict[str, sql.Composable] = {}
        divisor = 1
        for part, size in {p: max(n, 1) for key, _ in keys for p, n in key.items()}.items():
            digits[part] = sql.SQL("(((s.n - 1) / {}) % {})").format(sql.Literal(divisor), sql.Literal(size))
            divisor *= size
        per = self.tenants if self.scoped[t.name] else 1
        cap = min(
            (math.prod(key.values()) // (per if shared else 1) for key, shared in keys),
            default=self.rows * self.tenants,
        )
        return digits, cap

    def _lateral(
        self, name: str, fk: ForeignKey, alias: str, plan: _Plan, digit: sql.Composable | None
    ) -> sql.Composable:
        """LEFT JOIN LATERAL (one row of the parent) AS fk_<i>: of the same tenant, matching the
        columns given already, the row number's turn among the candidates."""
        parent = self.tables[fk.ref_table]
        count, own = self.candidates(name, fk.ref_table)
        conditions: list[sql.Composable] = []
        picks: list[sql.Composable] = []
        matched = False
        for c, ref in zip(fk.columns, fk.ref_columns, strict=True):
            if plan.picked.get(c) == alias:
                picks.append(sql.SQL("r.{} AS {}").format(sql.Identifier(ref), sql.Identifier(c)))
                conditions.append(sql.SQL("r.{} IS NOT NULL").format(sql.Identifier(ref)))
            else:
                conditions.append(sql.SQL("r.{} = {}").format(sql.Identifier(ref), plan.values[c]))
                matched = matched or c != self.key
        if own and self.key not in fk.columns:
            tenant_column = self.registry_id if fk.ref_table == self.registry else self.key
            conditions.append(
                sql.SQL("r.{} = CAST(s.tenant AS {})").format(
                    sql.Identifier(tenant_column), sql.SQL(parent.column(tenant_column).type)
                )
            )
        if digit is not None:
            offset: sql.Composable = digit
        elif matched or count == 0:
            offset = sql.Literal(0)
        else:
            offset = sql.SQL("((s.{} - 1) % {})").format(sql.SQL("g" if own else "n"), sql.Literal(count))
        return sql.SQL(
            " LEFT JOIN LATERAL (SELECT {} FROM {}.{} AS r WHERE {} ORDER BY {} OFFSET {} LIMIT 1) AS {} ON true"
        ).format(
            sql.SQL(", ").join(picks),
            sql.Identifier(self.schema),
            sql.Identifier(fk.ref_table),
            sql.SQL(" AND ").join(conditions),
            sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(ref)) for ref in fk.ref_columns),
            offset,
            sql.Identifier(alias),
        )

    def _value(
        self,
        col: Column,
        table: str,
        digit: sql.Composable | None,
        choices: tuple[str, ...] | None,
        row: sql.SQL,
    ) -> sql.Composable | None:
        """A value of the column's type for the row, or None for a type it does not know."""
        turn = digit if digit is not None else sql.SQL("({} - 1)").format(row)
        base = col.base_type
        value: sql.Composable
        if choices:
            value = sql.SQL("(ARRAY[{}])[1 + {} % {}]").format(
                sql.SQL(", ").join(sql.Literal(v) for v in choices), turn, sql.Literal(len(choices))
            )
        elif col.category == "B":
            value = sql.SQL("({} % 2 = 1)").format(turn)
        elif col.category == "S" and col.max_length is not None and col.max_length < 8:
            # A short code: the row number in hexadecimal, unique up to 16^length rows.
            value = sql.SQL("right(lpad(to_hex(s.n), {}, '0'), {})").format(
                sql.Literal(col.max_length), sql.Literal(col.max_length)
            )
        elif col.category == "S":
            # "<column>_<n>": unique, of the characters names and codes allow, the number
            # whole within the length limit.
            room = col.max_length - 8 if col.max_length else len(col.name)
            text = sql.SQL("({} || s.n)").format(sql.Literal(f"{col.name[:room].lower()}_"))
            value = sql.SQL("left({}, {})").format(text, sql.Literal(col.max_length)) if col.max_length else text
        elif col.category == "N" and base in _NUMBERS:
            digits = col.int_digits
            if digits is not None:
                value = sql.SQL("s.n % {}").format(sql.Literal(10**digits)) if digits > 0 else sql.SQL("0")
            else:
                value = _NUMBERS[base]
        elif base in _TIMES:
            value = _TIMES[base]
        elif col.category == "A":
            value = sql.SQL("'{}'")
        elif col.category == "R":
            value = sql.SQL("'empty'")
        elif base in ("inet", "cidr"):
            value = sql.SQL("('10.' || (s.n / 65536) % 256 || '.' || (s.n / 256) % 256 || '.' || s.n % 256)")
        elif base == "uuid":
            value = sql.SQL("md5({} || s.n)::uuid").format(sql.Literal(f"{self.seed}:{table}.{col.name}:"))
        elif base in ("json", "jsonb"):
            value = sql.SQL("json_build_object('n', s.n)")
        elif base == "bytea":
            value = sql.SQL("decode(md5(s.n::text), 'hex')")
        elif base == "tsvector":
            value = sql.SQL("to_tsvector('simple', {} || s.n)").format(sql.Literal(f"{col.name} "))
        else:
            return None
        return sql.SQL("CAST({} AS {})").format(value, sql.SQL(col.type))

    def statement(self, name: str, plan: _Plan) -> sql.Composed:
        if not plan.values:
            raise CorpusError(
                f"table {self.schema}.{name}: every column is generated by the table itself", hint=_SPEC_HINT
            )
        if self.scoped[name]:
            source = sql.SQL(
                "SELECT t.ord, t.tenant, g.g, (t.ord - 1) * {} + g.g AS n "
                "FROM pg_temp.corpus_tenants AS t CROSS JOIN generate_series(1, {}) AS g (g)"
            ).format(sql.Literal(plan.rows), sql.Literal(plan.rows))
        else:
            source = sql.SQL(
                "SELECT 0 AS ord, NULL AS tenant, g.g, g.g AS n FROM generate_series(1, {}) AS g (g)"
            ).format(sql.Literal(plan.rows))
        columns = list(plan.values)
        return sql.SQL("INSERT INTO {}.{} ({}){} SELECT {} FROM ({}) AS s{}").format(
            sql.Identifier(self.schema),
            sql.Identifier(name),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(" OVERRIDING SYSTEM VALUE" if name == self.registry else ""),
            sql.SQL(", ").join(plan.values[c] for c in columns),
            source,
            sql.SQL("").join(plan.laterals),
        )


def _choices(t: Table) -> dict[str, tuple[str, ...]]:
    """Column -> the values it takes in turn: those a one-column CHECK lists; for an enum,
    its labels but those a CHECK of several columns singles out (the rows stay ordinary,
    e.g. `(status = 'voided') = (voided_at IS NOT NULL)`), or the first of those when it
    names them all."""
    out = {c: values for c, values in t.checks_with_lists()}
    singled: dict[str, list[str]] = {}
    for chk in t.checks:
        for c, values in chk.compared().items():
            singled.setdefault(c, []).extend(values)
    for col in t.columns:
        if col.category == "E" and col.name not in out:
            plain = tuple(label for label in col.enum_labels if label not in singled.get(col.name, ()))
            out[col.name] = plain or tuple(singled[col.name][:1])
    return out


_SPEC_HINT = 'Give the column a value in the data spec ([columns] "table.column" = "SQL expression").'
_NUMBERS: dict[str, sql.Composable] = {
    "smallint": sql.SQL("s.n % 32000"),
    "integer": sql.SQL("s.n"),
    "bigint": sql.SQL("s.n"),
    "numeric": sql.SQL("s.n"),
    "money": sql.SQL("s.n"),
    "real": sql.SQL("s.n / 4.0"),
    "double precision": sql.SQL("s.n / 4.0"),
}
_TIMES: dict[str, sql.Composable] = {
    "timestamp with time zone": sql.SQL("timestamptz {} + s.n * interval '1 second'").format(sql.Literal(EPOCH)),
    "timestamp without time zone": sql.SQL("timestamp {} + s.n * interval '1 second'").format(sql.Literal(EPOCH[:19])),
    "date": sql.SQL("date {} + s.n % 365").format(sql.Literal(EPOCH[:10])),
    "time without time zone": sql.SQL("time '00:00' + (s.n % 86400) * interval '1 second'"),
    "time with time zone": sql.SQL("(time '00:00' + (s.n % 86400) * interval '1 second')::timetz"),
    "interval": sql.SQL("s.n * interval '1 second'"),
}
