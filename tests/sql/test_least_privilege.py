"""The whole flow after install runs as a login whose only right is membership in
tenancy_migrator: migrate, validate, status, rollback (and their refusals)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.cli import main
from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database, Server

REPO = Path(__file__).resolve().parents[2]
_logins = itertools.count()


@pytest.fixture
def manifest() -> Manifest:
    return load_manifest(REPO / "tenancy.toml")


@pytest.fixture
def runner_login(pg_server: Server, sample_db: Database, manifest: Manifest) -> Iterator[str]:
    """Installed and provisioned by the administrator; returns the DSN of a fresh
    LOGIN role that is NOSUPERUSER, NOCREATEROLE, NOCREATEDB and only a member of
    tenancy_migrator."""
    with sample_db.connect() as conn:
        install(conn, manifest)
        for t in executor.registry_tenants(conn, manifest):
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    name = f"runner_{os.getpid()}_{next(_logins)}"
    with pg_server.admin() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE tenancy_migrator")
            .format(sql.Identifier(name))
        )
    try:
        yield f"host={pg_server.host} port={pg_server.port} user={name} dbname={sample_db.name}"
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name))) if False else None
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_migrate_validate_rollback_as_a_migrator_login(runner_login: str, sample_db: Database, manifest: Manifest) -> None:
    with psycopg.connect(runner_login, autocommit=True) as conn:
        assert conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        tenants = executor.registry_tenants(conn, manifest)
    results = migrate.migrate_tenants(runner_login, tenants, jobs=2)
    assert [r.state for r in results] == ["migrated"] * len(tenants), [(r.error, r.hint) for r in results]
    validated = validate.validate_tenants(runner_login, tenants)
    assert all(v.state == "validated" for v in validated), [v.error for v in validated]
    assert main(["status", "--dsn", runner_login]) == 0
    r = migrate.rollback_tenants(runner_login, tenants[:1])[0]
    assert r.state == "rolled back"
