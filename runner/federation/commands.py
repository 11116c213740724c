"""Federated reads: Python wrappers of the tenancy_federation SQL functions, and their CLI.

The reads themselves are SQL (sql/functions/federation_*.sql): each is one
query over the tenant schemas listed in the registry. Here each wrapper passes
its filters as bound parameters and returns a :class:`Rows`; ``tenancy
federation <verb>`` (runner/cli/federation.py) prints it as a table or JSON.

Only members of the role ``tenancy_federation`` may call the functions; a
permission error becomes :class:`FederationDenied` with the GRANT that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from runner.db import typed_errors
from runner.errors import TenancyError
from runner.names import FEDERATION_ROLE, FEDERATION_SCHEMA

SCHEMA = FEDERATION_SCHEMA
ROLE = FEDERATION_ROLE
MAX_LIMIT = 10_000


class FederationDenied(TenancyError):
    """The connected role may not call the federation functions."""


class FederationNotInstalled(TenancyError):
    """Schema tenancy_federation or one of its functions is missing."""


@dataclass(frozen=True)
class Rows:
    """A function's result: column names in order and one dict per row."""

    function: str
    columns: list[str]
    rows: list[dict[str, Any]]


@contextmanager
def _federation_errors() -> Iterator[None]:
    try:
        with typed_errors():
            yield
    except psycopg.errors.InsufficientPrivilege as e:
        raise FederationDenied(
            f"permission denied: {e.diag.message_primary or e}",
            hint=f"Connect as a member of role {ROLE} (GRANT {ROLE} TO <your role>).",
        ) from e
    except (psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedFunction) as e:
        raise FederationNotInstalled(
            f"federation functions are not installed: {e.diag.message_primary or e}",
            hint="Run `tenancy install` (it installs schema tenancy_federation).",
        ) from e


def call(conn: psycopg.Connection[Any], function: str, **params: Any) -> Rows:
    """SELECT * FROM tenancy_federation.<function>(p_<name> => $n, ...); None params are left out."""
    given = {k: v for k, v in params.items() if v is not None}
    args = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(f"p_{k}"), sql.Placeholder()) for k in given)
    query = sql.SQL("SELECT * FROM {}({})").format(sql.Identifier(SCHEMA, function), args)
    with _federation_errors(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, list(given.values()))
        columns = [d.name for d in cur.description or ()]
        return Rows(function, columns, cur.fetchall())


def search_graduates(
    conn: psycopg.Connection[Any],
    *,
    name: str | None = None,
    graduation_year: int | None = None,
    course: str | None = None,
    tenants: Sequence[str] | None = None,
    limit: int = 100,
) -> Rows:
    return call(
        conn,
        "search_graduates",
        name=name,
        graduation_year=graduation_year,
        course=course,
        tenant_ids=list(tenants) if tenants else None,
        limit=limit,
    )


def analytics_summary(conn: psycopg.Connection[Any], *, tenants: Sequence[str] | None = None) -> Rows:
    return call(conn, "analytics_summary", tenant_ids=list(tenants) if tenants else None)


def graduate_profile(conn: psycopg.Connection[Any], tenant: str, graduate_id: int) -> Rows:
    return call(conn, "graduate_profile", tenant_id=tenant, graduate_id=graduate_id)


def user_tenants(conn: psycopg.Connection[Any], user_id: int) -> Rows:
    return call(conn, "user_tenants", user_id=user_id)


def public_jobs(
    conn: psycopg.Connection[Any],
    *,
    location: str | None = None,
    job_type: str | None = None,
    salary_min: int | None = None,
    limit: int = 100,
) -> Rows:
    return call(conn, "public_jobs", location=location, job_type=job_type, salary_min=salary_min, limit=limit)


# -- Output -------------------------------------------------------------------


def to_table(result: Rows) -> str:
    """A plain aligned text table (no markup, so hostile values print as they are)."""
    cells = [[_cell(r[c]) for c in result.columns] for r in result.rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(result.columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).replace("\n", "\\n")
