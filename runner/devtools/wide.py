"""A wide synthetic schema: as many moved tables as a large SaaS product has.

Real schemas have a hundred tables or more with the tenant key; there the
per-table cost of a migration, not the rows, decides how long it takes. This
module writes such a schema (and its manifest) with the shapes those schemas
have, so that benchmarks and tests can build one of any width:

- tables in foreign-key chains of five (each references the one before it),
  the first of each chain referencing a central table;
- four kinds of primary key in turn: a bigint identity, ``(org_id, uuid)``,
  ``(org_id, bigserial)``, and a natural key ``(org_id, parent_id, position)``;
- an enum column and a CHECK in every table, a partial unique index in every
  third, a stored generated column in every seventh;
- one table partitioned by range of time (``events``), with a default partition.

The tenant key is ``org_id`` (uuid); the registry is ``orgs``; ``countries``
is a central table every chain starts from. Rows come from
:func:`runner.devtools.corpus.fill_tenants`.
"""

from __future__ import annotations

from typing import Any

import psycopg

from runner.devtools.corpus import FillSummary, fill_tenants
from runner.errors import TenancyError

CHAIN = 5
TENANT_KEY = "org_id"
REGISTRY = "orgs"
CENTRAL = ("orgs", "countries")
PARTITIONED = "events"

_HEAD = """\
CREATE TYPE wide_status AS ENUM ('new', 'active', 'paused', 'archived');
CREATE TABLE orgs (id uuid PRIMARY KEY, name text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
CREATE TABLE events (
    org_id uuid NOT NULL REFERENCES orgs,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL,
    kind wide_status NOT NULL,
    payload jsonb,
    PRIMARY KEY (org_id, id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_other PARTITION OF events DEFAULT;
CREATE INDEX events_org_kind ON events (org_id, kind);
"""


def table_names(tables: int) -> list[str]:
    """The chained tables, t001 … (``tables`` of them)."""
    return [f"t{i:03d}" for i in range(1, tables + 1)]


def _kind(i: int) -> int:
    """Which of the four primary keys table number i has (0: identity, 1: uuid, 2: bigserial, 3: natural)."""
    return i % 4


def _primary_key(i: int) -> tuple[str, tuple[str, ...]]:
    """(id column definition, primary key columns) of table number i."""
    return {
        0: ("id bigint GENERATED ALWAYS AS IDENTITY", ("id",)),
        1: ("id uuid NOT NULL DEFAULT gen_random_uuid()", ("org_id", "id")),
        2: ("id bigserial", ("org_id", "id")),
        3: ("id bigint NOT NULL", ("org_id", "parent_id", "position")),
    }[_kind(i)]


def _parent_type(i: int) -> str:
    """The type of parent_id of table number i: a country code at the head of a chain,
    else what it references in the table before it."""
    if i % CHAIN == 1:
        return "char(2)"
    parent = i - 1
    return {0: "bigint", 1: "uuid", 2: "bigint", 3: _parent_type(parent)}[_kind(parent)]


def _foreign_key(i: int) -> str:
    """The FOREIGN KEY clause of table number i: to countries at the head of a chain,
    else to the primary key of the table before it."""
    if i % CHAIN == 1:
        return "FOREIGN KEY (parent_id) REFERENCES countries (code)"
    parent = f"t{i - 1:03d}"
    ref = _primary_key(i - 1)[1]
    mine = ("org_id", "parent_id", "parent_position") if len(ref) == 3 else ("org_id", "parent_id")[-len(ref) :]
    cascade = " ON DELETE CASCADE" if len(ref) == 2 else ""
    return f"FOREIGN KEY ({', '.join(mine)}) REFERENCES {parent} ({', '.join(ref)}){cascade}"


def wide_schema(tables: int = 120) -> str:
    """The DDL of the wide schema with ``tables`` chained tables (plus events and the central tables)."""
    if tables < 1:
        raise TenancyError("the wide schema needs at least one chained table")
    parts = [_HEAD]
    for i in range(1, tables + 1):
        name = f"t{i:03d}"
        id_column, key = _primary_key(i)
        natural = _kind(i) == 3
        columns = [
            "org_id uuid NOT NULL REFERENCES orgs",
            id_column,
            f"parent_id {_parent_type(i)}{' NOT NULL' if natural else ''}",
        ]
        if i % CHAIN != 1 and _kind(i - 1) == 3:
            columns.append("parent_position int")
        if natural:
            columns.append("position int NOT NULL")
        columns += [
            "name text NOT NULL",
            "status wide_status NOT NULL DEFAULT 'new'",
            "amount numeric(12, 2) NOT NULL CHECK (amount >= 0)",
            "archived_at timestamptz",
            "created_at timestamptz NOT NULL DEFAULT now()",
        ]
        if i % 7 == 0:
            columns.append("name_lower text GENERATED ALWAYS AS (lower(name)) STORED")
        body = ",\n    ".join([*columns, f"PRIMARY KEY ({', '.join(key)})", _foreign_key(i)])
        parts.append(f"CREATE TABLE {name} (\n    {body}\n);\n")
        parts.append(f"CREATE INDEX {name}_org_created ON {name} (org_id, created_at);\n")
        if i % 3 == 0:
            parts.append(f"CREATE UNIQUE INDEX {name}_live_name ON {name} (org_id, name) WHERE archived_at IS NULL;\n")
    return "".join(parts)


def wide_manifest(tables: int = 120) -> str:
    """The manifest (TOML) of the wide schema: every table with org_id moves."""
    moved = ", ".join(f'"{t}"' for t in [*table_names(tables), PARTITIONED])
    central = ", ".join(f'"{t}"' for t in CENTRAL)
    return (
        "# The wide synthetic schema (runner/devtools/wide.py).\n"
        f'[tenancy]\ntenant_key = "{TENANT_KEY}"\n\n'
        f'[registry]\ntable = "{REGISTRY}"\nname_column = "name"\n\n'
        f"[move]\ntables = [{moved}]\n\n"
        f"[central]\ntables = [{central}]\n"
    )


def build_wide(
    conn: psycopg.Connection[Any], *, tables: int = 120, tenants: int = 30, rows: int = 3, seed: int = 42
) -> FillSummary:
    """Create the wide schema in the connected database's public schema and fill it."""
    conn.execute(wide_schema(tables).encode())
    return fill_tenants(conn, tenant_key=TENANT_KEY, registry=REGISTRY, tenants=tenants, rows=rows, seed=seed)
