"""Where the database is: --dsn, else DATABASE_URL, else libpq's own environment (runner/db.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Database, Server
from tests.runner.cli.tenancy import refused, tenancy


def test_libpq_environment_alone_names_the_database(db: Database, pg_server: Server) -> None:
    env = {"PGHOST": pg_server.host, "PGPORT": str(pg_server.port), "PGUSER": pg_server.user, "PGDATABASE": db.name}
    out = tenancy("status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["tenants"]) == 4


def test_a_service_file_names_the_database(db: Database, pg_server: Server, tmp_path: Path) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[tenancy_test]\nhost={pg_server.host}\nport={pg_server.port}\nuser={pg_server.user}\ndbname={db.name}\n"
    )
    out = tenancy("status", "--json", env={"PGSERVICEFILE": str(services), "PGSERVICE": "tenancy_test"})
    assert out.returncode == 0, out.stderr
    # --dsn still comes first.
    out = tenancy("status", "--dsn", "service=tenancy_test", env={"PGSERVICEFILE": str(services)})
    assert out.returncode == 0, out.stderr


def test_a_failed_connection_says_what_was_tried() -> None:
    out = tenancy("status", env={"PGHOST": "/nonexistent-socket-dir", "PGDATABASE": "nowhere"})
    assert refused(out) and "cannot connect to the database" in out.stderr
    assert "tried: libpq's environment: PGHOST=/nonexistent-socket-dir, PGDATABASE=nowhere" in out.stderr
    out = tenancy("status", "--dsn", "host=/nonexistent-socket-dir dbname=nowhere password=secret")
    assert refused(out) and "tried: --dsn (host=/nonexistent-socket-dir, dbname=nowhere;" in out.stderr
    assert "secret" not in out.stderr
    out = tenancy("status", dsn="host=/nonexistent-socket-dir dbname=elsewhere")
    assert refused(out) and "tried: DATABASE_URL (host=/nonexistent-socket-dir, dbname=elsewhere;" in out.stderr


@pytest.mark.parametrize(
    ("dsn", "says"),
    [
        ("not a url", "--dsn is not a PostgreSQL connection string"),
        ("mysql://user@host/db", "--dsn is a mysql:// URL, not a PostgreSQL one"),
    ],
)
def test_a_dsn_that_is_not_postgresql_is_refused_with_a_hint(dsn: str, says: str) -> None:
    for verb in ("status", "migrate", "install"):
        out = tenancy(verb, "--dsn", dsn)
        assert refused(out) and says in out.stderr and "postgresql://" in out.stderr, (verb, out.stderr)
