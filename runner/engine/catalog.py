"""Read the shape of the shared tables from the live catalog.

Only catalog rows are read here, never table data. Names come back exactly as
PostgreSQL stores them; types, defaults and expressions are read with
``search_path = pg_catalog`` so that they come back schema-qualified and stay
valid when executed from any schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from runner.errors import RenderError
from runner.manifest import Manifest


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

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

_COLUMNS = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid AS type_oid,
       a.attnotnull, a.attidentity, a.attgenerated,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname) AS owned_seq
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_CONSTRAINTS = """
SELECT con.conname, con.contype, con.condeferrable, con.condeferred, con.convalidated,
       pg_get_constraintdef(con.oid) AS definition,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       fn.nspname AS ref_schema, fc.relname AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns,
       con.confupdtype, con.confdeltype, con.confmatchtype,
       con.conindid,
       ARRAY(SELECT a.attname FROM pg_index AS i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indexrelid = con.conindid AND k.ord > i.indnkeyatts
             ORDER BY k.ord) AS include,
       coalesce((SELECT i.indnullsnotdistinct FROM pg_index AS i WHERE i.indexrelid = con.conindid),
                false) AS nulls_not_distinct
FROM pg_constraint AS con
LEFT JOIN pg_class AS fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace AS fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = %s AND con.contype IN ('p', 'u', 'f', 'c', 'x')
ORDER BY con.conname
"""

_INDEXES = """
SELECT ic.relname AS name, i.indisunique, am.amname, i.indnkeyatts, i.indnatts,
       i.indnullsnotdistinct,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnatts) AS k ORDER BY k) AS exprs,
       ARRAY(SELECT coalesce(a.attname, '') FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       ARRAY(SELECT o FROM unnest(i.indoption) WITH ORDINALITY AS k(o, ord) ORDER BY ord) AS options,
       ARRAY(SELECT CASE WHEN oc.opcdefault THEN '' ELSE format('%%I.%%I', ocn.nspname, oc.opcname) END
             FROM unnest(i.indclass) WITH ORDINALITY AS k(opc, ord)
             JOIN pg_opclass AS oc ON oc.oid = k.opc
             JOIN pg_namespace AS ocn ON ocn.oid = oc.opcnamespace
             ORDER BY k.ord) AS opclasses,
       ARRAY(SELECT DISTINCT a.attname FROM pg_depend AS d
             JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
               AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid
               AND d.refobjsubid > 0) AS referenced
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_am AS am ON am.oid = ic.relam
WHERE i.indrelid = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS con WHERE con.conindid = i.indexrelid
                  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY ic.relname
"""


def table_oid(conn: psycopg.Connection, schema: str, table: str) -> int | None:
    row = conn.execute(
        "SELECT c.oid FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    ).fetchone()
    return int(row[0]) if row else None


def read_table(conn: psycopg.Connection, schema: str, table: str) -> TableShape:
    """Read one table's shape; raises RenderError if it does not exist."""
    oid = table_oid(conn, schema, table)
    if oid is None:
        raise RenderError(
            f'table "{schema}.{table}" does not exist',
            hint="Check the [move] list of the manifest against the database.",
        )
    with conn.cursor(row_factory=dict_row) as cur:
        columns = []
        for r in cur.execute(_COLUMNS, (oid,)):
            default = r["default_expr"]
            serial = bool(
                r["owned_seq"]
                and not r["attidentity"]
                and default is not None
                and default.startswith("nextval(")
            )
            columns.append(
                Column(
                    name=r["attname"],
                    type=r["type"],
                    not_null=r["attnotnull"],
                    default=None if (serial or r["attgenerated"]) else default,
                    identity=r["attidentity"],
                    generated=default if r["attgenerated"] == "s" else None,
                    serial=serial,
                    type_oid=r["type_oid"],
                )
            )
        pk: KeyConstraint | None = None
        uniques: list[KeyConstraint] = []
        checks: list[Check] = []
        fks: list[ForeignKey] = []
        for r in cur.execute(_CONSTRAINTS, (oid,)):
            kind = r["contype"]
            if kind in ("p", "u"):
                key = KeyConstraint(
                    name=r["conname"],
                    primary=kind == "p",
                    columns=tuple(r["columns"]),
                    include=tuple(r["include"]),
                    nulls_not_distinct=r["nulls_not_distinct"],
                    deferrable=r["condeferrable"],
                    deferred=r["condeferred"],
                )
                if kind == "p":
                    pk = key
                else:
                    uniques.append(key)
            elif kind == "c":
                checks.append(
                    Check(r["conname"], tuple(r["columns"]), r["definition"], r["convalidated"])
                )
            elif kind == "f":
                fks.append(
                    ForeignKey(
                        name=r["conname"],
                        columns=tuple(r["columns"]),
                        ref_schema=r["ref_schema"],
                        ref_table=r["ref_table"],
                        ref_columns=tuple(r["ref_columns"]),
                        on_update=_FK_ACTIONS[r["confupdtype"]],
                        on_delete=_FK_ACTIONS[r["confdeltype"]],
                        match_full=r["confmatchtype"] == "f",
                        deferrable=r["condeferrable"],
                        deferred=r["condeferred"],
                        validated=r["convalidated"],
                    )
                )
            else:
                raise RenderError(
                    f'table "{schema}.{table}": exclusion constraint {r["conname"]} is not supported',
                    hint="Drop it before the migration and re-create it in each tenant schema afterwards.",
                )
        indexes = []
        for r in cur.execute(_INDEXES, (oid,)):
            nkey = r["indnkeyatts"]
            keys = tuple(
                IndexKey(
                    expression=r["exprs"][k],
                    column=r["columns"][k] or None,
                    descending=bool(r["options"][k] & 1),
                    nulls_first=bool(r["options"][k] & 2),
                    opclass=r["opclasses"][k] or None,
                )
                for k in range(nkey)
            )
            indexes.append(
                Index(
                    name=r["name"],
                    unique=r["indisunique"],
                    method=r["amname"],
                    keys=keys,
                    include=tuple(r["columns"][nkey : r["indnatts"]]),
                    predicate=r["predicate"],
                    nulls_not_distinct=r["indnullsnotdistinct"],
                    referenced_columns=frozenset(r["referenced"]),
                )
            )
    return TableShape(
        schema=schema,
        name=table,
        oid=oid,
        columns=tuple(columns),
        primary_key=pk,
        uniques=tuple(uniques),
        checks=tuple(checks),
        foreign_keys=tuple(fks),
        indexes=tuple(indexes),
    )


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


def reserved_words(conn: psycopg.Connection) -> frozenset[str]:
    """Keywords that must be quoted as identifiers on this server."""
    rows = conn.execute("SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'").fetchall()
    return frozenset(r[0] for r in rows)


def unlisted_tenant_tables(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """Tables of the central schema with the tenant key column that the manifest does not list."""
    listed = set(manifest.move) | set(manifest.central) | set(manifest.hybrid)
    rows = conn.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        (manifest.tenant_key, manifest.central_schema),
    ).fetchall()
    return [r[0] for r in rows if r[0] not in listed]
