"""Strict input against a real PostgreSQL: install verifies the manifest against the
catalog before changing anything, a table added to [move] later is moved for tenants
already migrated, and two tenant ids that map to one schema fail as a pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = (REPO / "tenancy.toml").read_text()


def _manifest(tmp_path: Path, text: str, name: str = "m.toml") -> Manifest:
    path = tmp_path / name
    path.write_text(text)
    return load_manifest(path)


def test_a_table_added_to_move_later_is_moved_for_migrated_tenants(sample_db: Database, tmp_path: Path) -> None:
    without = _manifest(tmp_path, EXAMPLE.replace('    "brand_fonts",\n', ""), "before.toml")
    full = _manifest(tmp_path, EXAMPLE, "after.toml")
    assert "brand_fonts" not in without.move and "brand_fonts" in full.move
    with sample_db.connect() as conn:
        install(conn, without)
        tenants = executor.registry_tenants(conn, full)
    first = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in first] == ["migrated"] * len(tenants)

    with sample_db.connect() as conn:
        install(conn, full)
    second = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in second] == ["migrated"] * len(tenants), [r.error for r in second]
    for r in second:
        assert [t.table_name for t in r.tables if t.table_name == "brand_fonts"] == ["brand_fonts"]
    validated = validate.validate_tenants(sample_db.dsn, tenants)
    assert [v.state for v in validated] == ["validated"] * len(tenants), [v.error for v in validated]
    with sample_db.connect() as conn:
        shared = conn.execute("SELECT count(*) FROM public.brand_fonts").fetchone()
        moved = sum(
            conn.execute(f"SELECT count(*) FROM tenant_{t}.brand_fonts").fetchone()[0]  # noqa: S608
            for t in tenants
        )
        assert shared == (moved,) and moved > 0
    # A third run has nothing left to do.
    third = migrate.migrate_tenants(sample_db.dsn, tenants)
    assert [r.state for r in third] == ["skipped"] * len(tenants)


def test_a_table_added_to_move_later_is_moved_by_the_batched_path(sample_db: Database, tmp_path: Path) -> None:
    without = _manifest(tmp_path, EXAMPLE.replace('    "brand_fonts",\n', ""), "before.toml")
    full = _manifest(tmp_path, EXAMPLE, "after.toml")
    with sample_db.connect() as conn:
        install(conn, without)
        tenants = executor.registry_tenants(conn, full)
    migrate.migrate_tenants(sample_db.dsn, tenants, batch_size=100)
    with sample_db.connect() as conn:
        install(conn, full)
    second = migrate.migrate_tenants(sample_db.dsn, tenants, batch_size=100)
    assert [r.state for r in second] == ["migrated"] * len(tenants)
    validated = validate.validate_tenants(sample_db.dsn, tenants)
    assert [v.state for v in validated] == ["validated"] * len(tenants), [v.error for v in validated]
