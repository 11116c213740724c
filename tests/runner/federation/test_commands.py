"""`tenancy federation …`: the CLI over the federation functions, live.

Runs runner.cli.main in-process against a real database, connected as a login
role that is a member of tenancy_federation (and, for the denial, as a
tenant's app role).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from runner import cli
from runner.federation.commands import FederationDenied, search_graduates, to_table
from tests.conftest import allow_logins
from tests.sql.test_federation import load_federation_sample

_names = itertools.count()


@pytest.fixture
def fed(pg_server: Any, make_template: Callable[..., str]) -> Iterator[dict[str, str]]:
    """A fresh copy of the sample; DSNs for a federation member and for a tenant app role."""
    template = make_template("federation", load_federation_sample)
    name = f"fedcli{os.getpid()}_{next(_names)}"
    member = f"fed_cli_{os.getpid()}_{next(_names)}"
    pg_server.create(name, template)
    admin = pg_server.dsn(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_federation").format(sql.Identifier(member)))
        tenant = conn.execute("SELECT id FROM public.tenants ORDER BY created_at, id").fetchone()
        ids = [r[0] for r in conn.execute("SELECT id FROM public.tenants ORDER BY id")]
        assert tenant is not None
        allow_logins(conn, [tenant[0]])
    as_user = admin.replace(f"user={pg_server.user}", "user={}")
    try:
        yield {
            "admin": admin,
            "member": as_user.format(member),
            "tenant_role": as_user.format(f"tenant_{tenant[0]}_app"),
            "tenant": tenant[0],
            "ids": ",".join(ids),
        }
    finally:
        pg_server.drop(name)
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(member)))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_as_federation_member(fed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "federation", "search", "--dsn", fed["member"], "--year", "2023", "--limit", "500", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["command"] == "federation search" and doc["function"] == "search_graduates"
    rows = doc["rows"]
    assert rows and all(r["graduation_year"] == 2023 for r in rows)
    assert {r["tenant_id"] for r in rows} == set(fed["ids"].split(","))
    assert all(r["tenant_name"].startswith("University") for r in rows)


def test_search_table_with_hostile_name(fed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "federation", "search", "--dsn", fed["member"], "--name", "%'_[red]x[/red]")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["tenant_id", "tenant_name", "graduate_id"]
    assert out.strip().endswith("(0 rows)")


def test_every_verb_prints(fed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    dsn = ["--dsn", fed["member"]]
    code, out, _ = run(capsys, "federation", "analytics", *dsn, "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and rows[-1]["scope"] == "total" and len(rows) == 5
    assert rows[-1]["graduates"] == sum(r["graduates"] for r in rows[:-1]) > 0

    code, out, _ = run(capsys, "federation", "profile", *dsn, "--tenant", fed["tenant"], "--graduate", "1", "--json")
    [profile] = json.loads(out)["rows"]
    assert code == 0 and profile["tenant_id"] == fed["tenant"] and profile["graduate_id"] == 1

    code, out, _ = run(capsys, "federation", "user-tenants", *dsn, "--user", "1")
    assert code == 0 and "super-admin" in out and out.strip().endswith("(4 rows)")

    code, out, _ = run(capsys, "federation", "jobs", *dsn, "--type", "full-time", "--salary-min", "50000", "--json")
    jobs = json.loads(out)["rows"]
    assert code == 0 and jobs
    assert all(j["job_type"] == "full-time" and j["salary_max"] >= 50000 for j in jobs)


def test_unknown_tenant_fails_with_hint(fed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "federation", "profile", "--dsn", fed["member"], "--tenant", "nope", "--graduate", "1")
    assert code == 2
    assert "FAILED: unknown tenant(s) 'nope'" in err and "hint:" in err


def test_tenant_role_is_denied_by_cli(fed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "federation", "search", "--dsn", fed["tenant_role"], "--year", "2023")
    assert code == 2 and out == ""
    # Not a terminal: each message is one unwrapped line, angle brackets and all.
    assert err.startswith("FAILED: permission denied")
    assert "  hint: Connect as a member of role tenancy_federation (GRANT tenancy_federation TO <your role>).\n" in err
    with psycopg.connect(fed["tenant_role"]) as conn, pytest.raises(FederationDenied):
        search_graduates(conn, graduation_year=2023)


def test_to_table_aligns_and_counts(fed: dict[str, str]) -> None:
    with psycopg.connect(fed["member"]) as conn:
        result = search_graduates(conn, graduation_year=2023, limit=3)
    lines = to_table(result).splitlines()
    assert len(lines) == 2 + 3 + 1 and lines[-1] == "(3 rows)"
    assert lines[0].split() == result.columns
    assert set(lines[1]) == {"-", " "}
    # Columns are aligned: each value starts where its header starts.
    start = lines[0].index("tenant_name")
    assert all(line[start:].startswith(row["tenant_name"]) for line, row in zip(lines[2:5], result.rows, strict=True))
