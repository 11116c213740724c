"""runner.devtools.wide: the wide synthetic schema migrates and validates as its manifest says."""

from __future__ import annotations

import tomllib

from runner.devtools.wide import PARTITIONED, build_wide, table_names, wide_manifest
from runner.engine import migrate, validate
from runner.engine.executor import registry_tenants
from runner.engine.install import install
from runner.manifest import parse_manifest
from tests.conftest import Database

TABLES = 100


def test_a_hundred_chained_tables_move_and_validate(blank_db: Database) -> None:
    manifest = parse_manifest(tomllib.loads(wide_manifest(TABLES)))
    assert len(manifest.move) == TABLES + 1
    with blank_db.connect() as conn:
        summary = build_wide(conn, tables=TABLES, tenants=3, rows=2, seed=3)
        assert all(summary.rows_by_table[t] == 6 for t in [*table_names(TABLES), PARTITIONED])
        result = install(conn, manifest)
        tenants = registry_tenants(conn, manifest)
    assert len(result.rendering.tables) == TABLES + 1
    migrated = migrate.migrate_tenants(blank_db.dsn, tenants)
    assert [r.state for r in migrated] == ["migrated"] * 3, next(r for r in migrated if not r.ok)
    assert all(r.rows == 2 * (TABLES + 1) for r in migrated)
    checked = validate.validate_tenants(blank_db.dsn, tenants)
    assert [r.state for r in checked] == ["validated"] * 3, next(r for r in checked if not r.ok)
    schema = manifest.schema_for(tenants[0])
    with blank_db.connect() as conn:
        shapes = conn.execute(
            "SELECT count(*) FILTER (WHERE c.relkind = 'p'), "
            "count(*) FILTER (WHERE c.relispartition AND c.relkind = 'r'), "
            "(SELECT count(*) FROM pg_attribute AS a JOIN pg_class AS r ON r.oid = a.attrelid "
            " WHERE r.relnamespace = %s::regnamespace AND a.attgenerated = 's'), "
            "(SELECT count(*) FROM pg_indexes AS i WHERE i.schemaname = %s AND i.indexdef LIKE '%%UNIQUE%%WHERE%%'), "
            "(SELECT count(*) FROM pg_constraint AS k JOIN pg_class AS r ON r.oid = k.confrelid "
            " WHERE k.connamespace = %s::regnamespace AND k.contype = 'f' AND r.relnamespace = k.connamespace), "
            "(SELECT count(*) FROM pg_constraint AS k WHERE k.connamespace = %s::regnamespace "
            " AND k.confrelid = 'public.countries'::regclass) "
            "FROM pg_class AS c WHERE c.relnamespace = %s::regnamespace",
            (schema, schema, schema, schema, schema),
        ).fetchone()
    # The partitioned table with its three partitions, 14 generated columns, 33 partial
    # unique indexes; every chain link a foreign key inside the tenant (80), every chain
    # head one to the central countries (20).
    assert shapes == (1, 3, TABLES // 7, TABLES // 3, TABLES - TABLES // 5, TABLES // 5)
