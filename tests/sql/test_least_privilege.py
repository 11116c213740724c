"""After install (an administrator, once) and provisioning (an administrator or
Pulumi), the runner works as a LOGIN role whose only right is membership in
tenancy_migrator: migrate, validate, status, rollback, re-provision checks; what
needs more is refused with a hint, never a traceback."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.cli import main
from runner.engine import executor
from runner.engine.install import install
from runner.manifest import Manifest
from tests.conftest import Database, Server

REPO = Path(__file__).resolve().parents[2]
MANIFEST = str(REPO / "tenancy.toml")
_logins = itertools.count()


@pytest.fixture
def admin_installed(sample_db: Database, manifest: Manifest) -> list[str]:
    """The administrator's part: install, and provision every tenant but the last."""
    with sample_db.connect() as conn:
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
        for t in tenants[:-1]:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    return tenants


@pytest.fixture
def runner_dsn(pg_server: Server, sample_db: Database, admin_installed: list[str]) -> Iterator[str]:
    """DSN of a fresh LOGIN role: NOSUPERUSER, NOCREATEROLE, NOCREATEDB, NOBYPASSRLS,
    and nothing but membership in tenancy_migrator."""
    name = f"runner_{os.getpid()}_{next(_logins)}"
    with pg_server.admin() as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION IN ROLE {}"
            ).format(sql.Identifier(name), sql.Identifier("tenancy_migrator"))
        )
    try:
        yield f"host={pg_server.host} port={pg_server.port} user={name} dbname={sample_db.name}"
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _cli(capsys: pytest.CaptureFixture[str], *args: str, manifest: bool = True) -> tuple[int, str, str]:
    code = main([*args, "--manifest", MANIFEST] if manifest else list(args))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())


def test_the_flow_after_install_runs_as_a_migrator_login(
    runner_dsn: str, admin_installed: list[str], sample_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    provisioned = admin_installed[:-1]
    with psycopg.connect(runner_dsn) as conn:
        assert conn.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
    dsn = ["--dsn", runner_dsn]
    # Re-checking provisioned tenants needs no more than the migrator has.
    code, out, err = _cli(capsys, "provision", *dsn, *[a for t in provisioned for a in ("--tenant", t)])
    assert code == 0, err
    tenant_args = [a for t in provisioned for a in ("--tenant", t)]
    code, out, err = _cli(capsys, "migrate", *dsn, "--jobs", "2", *tenant_args)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "migrate", *dsn, "--batch-size", "100", *tenant_args)  # a no-op re-run
    assert code == 0, out + err
    code, out, err = _cli(capsys, "validate", *dsn, *tenant_args)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "status", *dsn, "--json", manifest=False)
    assert code == 0 and '"migrated"' in out
    code, out, err = _cli(capsys, "rollback", *dsn, "--tenant", provisioned[0])
    assert code == 0, out + err
    with sample_db.connect() as conn:
        states = dict(conn.execute("SELECT tenant_id, state FROM tenancy.tenants").fetchall())
    assert states[provisioned[0]] == "provisioned"
    assert all(states[t] == "migrated" for t in provisioned[1:])
    assert "Traceback" not in out + err


def test_what_needs_an_administrator_is_refused_with_a_hint(
    runner_dsn: str,
    admin_installed: list[str],
    sample_db: Database,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    new = admin_installed[-1]
    dsn = ["--dsn", runner_dsn]
    # A tenant nobody provisioned: its roles cannot be created by the migrator.
    code, out, err = _cli(capsys, "migrate", *dsn, "--tenant", new)
    assert code == 1
    assert f"FAILED: tenant {new}: tenant '{new}' is not provisioned" in err
    assert f"tenancy provision --tenant {new}" in err
    code, out, err = _cli(capsys, "provision", *dsn, "--tenant", new)
    assert code == 1 and "TY060" not in out and "as one" in err
    # Install is the administrator's: a permission error, told as FAILED with a hint.
    # (Another manifest file name changes what install would apply.)
    other = tmp_path / "other.toml"
    other.write_text((REPO / "tenancy.toml").read_text())
    code = main(["install", *dsn, "--manifest", str(other)])
    out, err = (" ".join(s.split()) for s in capsys.readouterr())
    assert code == 2 and "FAILED: 42501" in err and "hint:" in err and "Traceback" not in err
    with sample_db.connect() as conn:
        # Its schema (the sample's) was left to its owner: nothing was provisioned.
        owner = conn.execute(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (f"tenant_{new}",)
        ).fetchone()
        assert owner is not None and owner[0] != f"tenant_{new}_owner"
        assert conn.execute("SELECT count(*) FROM tenancy.ledger").fetchone() == (0,)
