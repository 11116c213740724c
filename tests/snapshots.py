"""Snapshots of a whole database, to prove that a command changed nothing."""

from __future__ import annotations

import psycopg
from psycopg import sql

_OBJECTS = """
SELECT n.nspname, c.relname, c.relkind
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
ORDER BY 1, 2
"""


# The log of runs (`tenancy history`): a run whose tenants all failed, and so changed
# nothing else, still appends its row there.
_LOGS = ("tenancy.history",)


def snapshot(conn: psycopg.Connection) -> dict[str, object]:
    """Every relation, schema and function, and a checksum of every table's rows but the log of runs."""
    objects = conn.execute(_OBJECTS).fetchall()
    schemas = conn.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()
    functions = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    ).fetchall()
    rows = {}
    for schema, name, kind in objects:
        if kind in ("r", "p") and f"{schema}.{name}" not in _LOGS:
            q = sql.SQL("SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            rows[f"{schema}.{name}"] = conn.execute(q).fetchone()
    return {"objects": objects, "schemas": schemas, "functions": functions, "rows": rows}
