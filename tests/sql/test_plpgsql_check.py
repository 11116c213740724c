"""plpgsql_check over every installed PL/pgSQL function of schema tenancy.

Needs the plpgsql_check extension, which Debian ships for PostgreSQL 15
(postgresql-15-plpgsql-check) but not for the embedded PostgreSQL 18: .ci/run
runs this test in its PostgreSQL 15 pass and deselects it (-m "not
plpgsql_check") in the embedded pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.plpgsql_check
def test_installed_functions_pass_plpgsql_check(sample_db: Database) -> None:
    with sample_db.connect() as conn:
        install(conn, load_manifest(REPO / "tenancy.toml"))
        conn.execute("CREATE EXTENSION plpgsql_check")
        functions = conn.execute(
            "SELECT p.oid, p.oid::regprocedure::text FROM pg_proc AS p "
            "JOIN pg_namespace AS n ON n.oid = p.pronamespace JOIN pg_language AS l ON l.oid = p.prolang "
            "WHERE n.nspname LIKE 'tenancy%%' AND l.lanname = 'plpgsql' AND p.prorettype <> 'trigger'::regtype "
            "ORDER BY 2"
        ).fetchall()
        assert len(functions) > 20
        problems = []
        for oid, name in functions:
            for row in conn.execute(
                "SELECT level, message, lineno FROM plpgsql_check_function_tb(%s, fatal_errors => false) "
                "WHERE level IN ('error', 'warning')",
                (oid,),
            ):
                problems.append(f"{name}: line {row[2]}: {row[0]}: {row[1]}")
    assert problems == []
