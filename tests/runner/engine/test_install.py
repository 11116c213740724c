"""Install and provision hold autovacuum off the shared tables before they change anything of them."""

from __future__ import annotations

from pathlib import Path

import psycopg

from runner.engine.install import apply_install, check_manifest, install
from runner.engine.render import render_all
from runner.manifest import load_manifest
from runner.privileges import build_model
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[3]


def _share_update_exclusive_held(conn: psycopg.Connection) -> set[str]:
    """The tables of schema public this session holds SHARE UPDATE EXCLUSIVE on."""
    return {
        name
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation"
            " WHERE l.pid = pg_backend_pid() AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted"
            " AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
    }


def test_install_takes_share_update_exclusive_on_every_moved_table_first(sample_db: Database) -> None:
    # Install grants on the shared tables, then creates their capture triggers; an autovacuum
    # ANALYZE starting in between would deadlock with it, unless install holds this lock.
    manifest = load_manifest(REPO / "tenancy.toml")
    with sample_db.connect() as conn:
        check_manifest(conn, manifest)
        rendering = render_all(conn, manifest)
        with conn.transaction(force_rollback=True):
            apply_install(conn, rendering)
            held = _share_update_exclusive_held(conn)
    assert held >= set(manifest.move), sorted(set(manifest.move) - held)


def test_provision_locks_each_table_it_grants_on_before_the_grant(sample_db: Database) -> None:
    # Provision grants on the tables under row-level security (hybrid, row-filtered central),
    # then alters them: an autovacuum ANALYZE starting in between deadlocks with it (40P01)
    # unless it holds SHARE UPDATE EXCLUSIVE from the grant on.
    manifest = load_manifest(REPO / "tenancy.toml")
    with sample_db.connect() as conn:
        install(conn, manifest)
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT count(*) FROM tenancy.provision_shared_privileges()")
            held = _share_update_exclusive_held(conn)
    secured = set(build_model(manifest, []).shared.secured_tables)
    assert {"users", *manifest.hybrid} <= secured <= held, sorted(secured - held)
