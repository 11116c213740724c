"""tenancy federation <verb>: cross-tenant reads (runner/federation/commands.py wraps the SQL)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import psycopg

from runner.cli import options
from runner.cli.common import Outcome, database
from runner.db import connect
from runner.errors import TenancyError
from runner.federation import commands as federation
from runner.federation.commands import MAX_LIMIT, Rows

Query = Callable[[psycopg.Connection, argparse.Namespace], Rows]

DESCRIPTION = (
    "Cross-tenant reads: one query over every tenant schema of the registry.\n"
    "The connected role must be a member of tenancy_federation. They change nothing."
)


def _limit(value: str) -> int:
    return options.whole_number(value, 1, MAX_LIMIT, "rows")


def add_parser(subparsers: Any) -> None:
    """`tenancy federation` and its verbs, one query each."""
    fed = subparsers.add_parser(
        "federation",
        help="Cross-tenant reads (schema tenancy_federation; needs role tenancy_federation).",
        description=DESCRIPTION,
        epilog=options.EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = fed.add_subparsers(dest="federation_command", required=True, metavar="VERB")
    for add_verb in (_add_search, _add_analytics, _add_profile, _add_user_tenants, _add_jobs):
        add_verb(verbs)


def _verb(verbs: Any, name: str, summary: str, query: Query) -> argparse.ArgumentParser:
    """One verb of `tenancy federation`: run `query`, with the database options."""
    p = options.add_verb(verbs, name, summary, run)
    p.set_defaults(verb=f"federation {name}", query=query)
    options.add_database(p)
    return p


def _add_search(verbs: Any) -> None:
    """`federation search`: graduates across tenants."""
    s = _verb(
        verbs,
        "search",
        "Search graduates across tenants (name substring, year, course).",
        lambda conn, args: federation.search_graduates(
            conn,
            name=args.name,
            graduation_year=args.year,
            course=args.course,
            tenants=args.tenants,
            limit=args.limit,
        ),
    )
    s.add_argument("--name", help="case-insensitive substring of the name (%% and _ match literally)")
    s.add_argument("--year", type=int, metavar="YEAR", help="graduation year")
    s.add_argument("--course", help="course code (exact) or substring of the course name")
    options.TENANT.add(s)
    s.add_argument(
        "--limit", type=_limit, default=100, metavar="N", help=f"at most N rows, 1..{MAX_LIMIT} (default 100)"
    )


def _add_analytics(verbs: Any) -> None:
    """`federation analytics`: counts per tenant and in total."""
    a = _verb(
        verbs,
        "analytics",
        "Graduates, events and page views per tenant and in total.",
        lambda conn, args: federation.analytics_summary(conn, tenants=args.tenants),
    )
    options.TENANT.add(a)


def _add_profile(verbs: Any) -> None:
    """`federation profile`: one graduate of one tenant."""
    p = _verb(
        verbs,
        "profile",
        "One graduate of one tenant, with its course.",
        lambda conn, args: federation.graduate_profile(conn, _one_tenant(args), args.graduate),
    )
    options.TENANT.add(p.add_mutually_exclusive_group(required=True))
    p.add_argument("--graduate", required=True, type=int, metavar="N", help="graduate id in that tenant")


def _add_user_tenants(verbs: Any) -> None:
    """`federation user-tenants`: the tenants a central user reaches."""
    u = _verb(
        verbs,
        "user-tenants",
        "The tenants a central user can reach, and why.",
        lambda conn, args: federation.user_tenants(conn, args.user),
    )
    u.add_argument("--user", required=True, type=int, metavar="N", help="users.id")


def _add_jobs(verbs: Any) -> None:
    """`federation jobs`: public active jobs of the hybrid jobs table."""
    j = _verb(
        verbs,
        "jobs",
        "Public active jobs of the hybrid jobs table.",
        lambda conn, args: federation.public_jobs(
            conn, location=args.location, job_type=args.job_type, salary_min=args.salary_min, limit=args.limit
        ),
    )
    j.add_argument("--location", help="case-insensitive substring of the location")
    j.add_argument("--type", dest="job_type", help="job type, e.g. full-time")
    j.add_argument("--salary-min", type=int, metavar="N", help="jobs whose salary_max is at least this")
    j.add_argument(
        "--limit", type=_limit, default=100, metavar="N", help=f"at most N rows, 1..{MAX_LIMIT} (default 100)"
    )


def run(args: argparse.Namespace) -> Outcome:
    """Query, then print a plain table (values as they are, never markup) or the JSON document."""
    with connect(database(args)) as conn:
        result: Rows = args.query(conn, args)
    if not args.json:
        print(federation.to_table(result))
    return Outcome({"function": result.function, "columns": result.columns, "rows": result.rows})


def _one_tenant(args: argparse.Namespace) -> str:
    if len(args.tenants) != 1:
        raise TenancyError(f"{args.verb} takes one --tenant, not {len(args.tenants)}", hint="Give one --tenant ID.")
    tenant: str = args.tenants[0]
    return tenant
