"""Typed rows: the shape of each result the engine reads, and how rows are fetched.

Every query's rows come back as a frozen dataclass (psycopg's class_row, which
fills the fields by column name, so a row type names exactly the columns of its
query) or, for a query of one column, as its values (scalar_row). No engine code
reads a row by position or by key. The rows of the catalog queries are in
runner/engine/catalog_rows.py.
"""

from __future__ import annotations

from typing import Any, TypeVar

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
