"""Install schema ``tenancy``: ledger tables, static functions, rendered functions.

Install order: sql/ledger/*.sql by name (numbered, each idempotent, so applying
them all again upgrades an older ledger in place), every sql/functions/*.sql by name, then the
rendered files. All of it runs in one transaction, so a failed install leaves
the previous one in place. The installed row records the version and a
checksum of everything applied; installing the same again changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import psycopg

from runner import __version__
from runner.engine.render import Rendering, render_all
from runner.manifest import Manifest
from runner.resources import FUNCTIONS_DIR, LEDGER_DIR, SQL_DIR


@dataclass(frozen=True)
class InstallResult:
    version: str
    checksum: str
    changed: bool
    statements_files: int
    rendering: Rendering


def static_sql() -> list[tuple[str, str]]:
    """(name, text) of the static SQL, in install order."""
    files = [*sorted(LEDGER_DIR.glob("*.sql")), *sorted(FUNCTIONS_DIR.glob("*.sql"))]
    return [(str(f.relative_to(SQL_DIR)), f.read_text(encoding="utf-8")) for f in files]


def install(conn: psycopg.Connection, manifest: Manifest) -> InstallResult:
    rendering = render_all(conn, manifest)
    parts = static_sql() + [(f"rendered/{f.name}", f.text) for f in rendering.files]
    digest = hashlib.sha256()
    for name, text in parts:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    checksum = digest.hexdigest()
    with conn.transaction():
        # Two installs at once would interleave their CREATE OR REPLACE.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('tenancy:install', 0))")
        if conn.execute("SELECT to_regclass('tenancy.installed')").fetchone() != (None,):
            done = conn.execute(
                "SELECT 1 FROM tenancy.installed WHERE version = %s AND checksum = %s",
                (__version__, checksum),
            ).fetchone()
            if done:
                return InstallResult(__version__, checksum, False, len(parts), rendering)
        for _name, text in parts:
            conn.execute(text.encode())
        conn.execute(
            "INSERT INTO tenancy.installed (version, checksum) VALUES (%s, %s)", (__version__, checksum)
        )
    return InstallResult(__version__, checksum, True, len(parts), rendering)
