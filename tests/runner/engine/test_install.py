"""Install holds autovacuum off the shared moved tables before it changes anything of them."""

from __future__ import annotations

from pathlib import Path

from runner.engine.install import apply_install, check_manifest
from runner.engine.render import render_all
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[3]


def test_install_takes_share_update_exclusive_on_every_moved_table_first(sample_db: Database) -> None:
    # Install grants on the shared tables, then creates their capture triggers; an autovacuum
    # ANALYZE starting in between would deadlock with it, unless install holds this lock.
    manifest = load_manifest(REPO / "tenancy.toml")
    with sample_db.connect() as conn:
        check_manifest(conn, manifest)
        rendering = render_all(conn, manifest)
        with conn.transaction(force_rollback=True):
            apply_install(conn, rendering)
            held = {
                name
                for (name,) in conn.execute(
                    "SELECT c.relname FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation"
                    " WHERE l.pid = pg_backend_pid() AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted"
                    " AND c.relnamespace = 'public'::regnamespace"
                ).fetchall()
            }
    assert held >= set(manifest.move), sorted(set(manifest.move) - held)
