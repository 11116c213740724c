"""Fidelity of the tenant tables against a real PostgreSQL: partitioned tables keep
their partitioning and bounds, NOT VALID constraints stay NOT VALID (legacy rows copy),
storage parameters are kept, and --batch-size on a table without a key says so; uniqueness
that narrows to the tenant is named, exclusion constraints and collations are kept, what a
tenant table does not get is named, a table of one row per tenant migrates online, and a
partitioned table without a key is refused online with the ways out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.access import drift as grants
from runner.access.provision import provision_tenants
from runner.engine import executor, migrate, online, validate
from runner.engine.install import install
from runner.engine.render import render_all
from runner.errors import RenderError
from runner.manifest import Manifest, load_manifest
from runner.privileges import build_model
from tests.conftest import Database, install_schema

REPO = Path(__file__).resolve().parents[3]

SCHEMA = """
CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO orgs VALUES (1, 'one'), (2, 'two');

-- Partitioned by a column other than the tenant key, with a default partition.
CREATE TABLE events (
    org_id integer NOT NULL REFERENCES orgs,
    id bigserial,
    happened date NOT NULL,
    amount integer NOT NULL,
    PRIMARY KEY (org_id, id, happened)
) PARTITION BY RANGE (happened);
CREATE TABLE events_2024 PARTITION OF events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') WITH (fillfactor = 80);
CREATE TABLE events_other PARTITION OF events DEFAULT;
CREATE INDEX events_amount ON events (org_id, amount);
INSERT INTO events (org_id, happened, amount)
SELECT 1 + n % 2, date '2024-06-01' + (n % 400), n FROM generate_series(1, 300) AS n;

-- Partitioned by the tenant key: each tenant table is a plain table.
CREATE TABLE logs (org_id integer NOT NULL, id bigint NOT NULL, msg text, PRIMARY KEY (org_id, id))
    PARTITION BY LIST (org_id);
CREATE TABLE logs_1 PARTITION OF logs FOR VALUES IN (1);
CREATE TABLE logs_2 PARTITION OF logs FOR VALUES IN (2);
INSERT INTO logs SELECT 1 + n % 2, n, 'm' || n FROM generate_series(1, 50) AS n;

-- Storage parameters, and constraints added NOT VALID over legacy rows.
CREATE TABLE items (
    org_id integer NOT NULL REFERENCES orgs,
    id integer NOT NULL,
    parent_id integer,
    price integer,
    PRIMARY KEY (org_id, id) WITH (fillfactor = 90)
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05);

CREATE INDEX items_price ON items (price) WITH (fillfactor = 60);
INSERT INTO items SELECT 1 + n % 2, n, NULL, n FROM generate_series(1, 40) AS n;
INSERT INTO items VALUES (1, 1001, NULL, -5), (2, 1002, 999999, 7);
ALTER TABLE items ADD CONSTRAINT items_price_positive CHECK (price > 0) NOT VALID;
ALTER TABLE items ADD CONSTRAINT items_parent FOREIGN KEY (org_id, parent_id) REFERENCES items (org_id, id) NOT VALID;

-- No primary key: --batch-size cannot apply.
CREATE TABLE notes (org_id integer NOT NULL REFERENCES orgs, body text);
INSERT INTO notes SELECT 1 + n % 2, 'n' || n FROM generate_series(1, 30) AS n;
-- Parameters of its TOAST table (text columns give it one).
ALTER TABLE notes SET (toast.autovacuum_enabled = false);
"""

MANIFEST = """
[tenancy]
tenant_key = "org_id"
schema_pattern = "org_{id}"
[registry]
table = "orgs"
[move]
tables = ["events", "logs", "items", "notes"]
[central]
tables = ["orgs"]
"""


@pytest.fixture
def fidelity_db(blank_db: Database, tmp_path: Path) -> Iterator[tuple[Database, Manifest]]:
    yield blank_db, install_schema(blank_db, SCHEMA, MANIFEST, tmp_path / "fidelity.toml")


def _migrate_and_validate(db: Database, manifest: Manifest, batch_size: int | None = None, tenants: int = 2) -> None:
    with db.connect() as conn:
        ids = executor.registry_tenants(conn, manifest)
    results = migrate.migrate_tenants(db.dsn, ids, batch_size=batch_size)
    assert [r.state for r in results] == ["migrated"] * tenants, [r.error for r in results]
    validated = validate.validate_tenants(db.dsn, ids)
    assert [v.state for v in validated] == ["validated"] * tenants, [v.error for v in validated]


def _bounds(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits AS i "
        "JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY 1",
        (table,),
    ).fetchall()


def _options(conn: psycopg.Connection, relation: str) -> list[str]:
    row = conn.execute("SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = %s::regclass", (relation,))
    return sorted(row.fetchone()[0])  # type: ignore[index]


def test_a_partitioned_table_stays_partitioned_with_the_same_bounds(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, manifest = fidelity_db
    _migrate_and_validate(db, manifest)
    with db.connect() as conn:
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'org_1.events'::regclass").fetchone()
        assert kind == ("p",)
        key = conn.execute("SELECT pg_get_partkeydef('org_1.events'::regclass)").fetchone()
        assert key == ("RANGE (happened)",)
        assert _bounds(conn, "org_1.events") == [(name, bound) for name, bound in _bounds(conn, "public.events")]
        assert [b[0] for b in _bounds(conn, "org_1.events")] == ["events_2024", "events_other"]
        assert _options(conn, "org_1.events_2024") == ["fillfactor=80"]
        # Rows landed in the partition their date says.
        per_part = conn.execute(
            "SELECT tableoid::regclass::text, count(*) FROM org_2.events GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [p[0] for p in per_part] == ["org_2.events_2024", "org_2.events_other"]
        assert (
            sum(p[1] for p in per_part)
            == conn.execute("SELECT count(*) FROM public.events WHERE org_id = 2").fetchone()[0]
        )  # type: ignore[index]


def test_a_table_partitioned_by_the_tenant_key_becomes_a_plain_table(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, manifest = fidelity_db
    _migrate_and_validate(db, manifest)
    with db.connect() as conn:
        assert conn.execute("SELECT relkind FROM pg_class WHERE oid = 'org_1.logs'::regclass").fetchone() == ("r",)
        assert conn.execute("SELECT count(*) FROM org_1.logs").fetchone() == (25,)
        notes = conn.execute("SELECT notes FROM tenancy.moved_tables WHERE table_name = 'logs'").fetchone()
        assert notes and any("plain table" in n for n in notes[0])


def test_partitions_raise_no_unlisted_table_warning(fidelity_db: tuple[Database, Manifest]) -> None:
    db, manifest = fidelity_db
    with db.connect() as conn:
        rendering = render_all(conn, manifest)
    assert rendering.warnings == ()


def test_not_valid_constraints_stay_not_valid_and_legacy_rows_copy(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, manifest = fidelity_db
    _migrate_and_validate(db, manifest)
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT conname, contype, convalidated FROM pg_constraint "
            "WHERE conrelid = 'org_1.items'::regclass AND contype IN ('c', 'f') ORDER BY 1"
        ).fetchall()
        assert rows == [("items_parent", "f", False), ("items_price_positive", "c", False)]
        assert conn.execute("SELECT price FROM org_1.items WHERE id = 1001").fetchone() == (-5,)
        assert conn.execute("SELECT parent_id FROM org_2.items WHERE id = 1002").fetchone() == (999999,)
        # Still enforced for new rows.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO org_1.items (id, price) VALUES (5000, -1)")


def test_storage_parameters_are_kept(fidelity_db: tuple[Database, Manifest]) -> None:
    db, manifest = fidelity_db
    _migrate_and_validate(db, manifest)
    with db.connect() as conn:
        assert _options(conn, "org_2.items") == ["autovacuum_vacuum_scale_factor=0.05", "fillfactor=70"]
        assert _options(conn, "org_2.items_price") == ["fillfactor=60"]
        assert _options(conn, "org_2.items_pkey") == ["fillfactor=90"]
        toast = conn.execute(
            "SELECT t.reloptions FROM pg_class AS c JOIN pg_class AS t ON t.oid = c.reltoastrelid "
            "WHERE c.oid = 'org_2.notes'::regclass"
        ).fetchone()
        assert toast == (["autovacuum_enabled=false"],)


def test_batch_size_on_a_table_without_a_primary_key_says_so_once(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, manifest = fidelity_db
    assert migrate.unbatched_tables(db.dsn) == ["notes"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "migrate",
            "--dsn",
            db.dsn,
            "--manifest",
            str(manifest.path),
            "--batch-size",
            "7",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = " ".join((run.stdout + run.stderr).split())
    assert out.count("--batch-size does not apply to notes") == 1
    assert "no primary key" in out
    validated = validate.validate_tenants(db.dsn, ["1", "2"])
    assert [v.state for v in validated] == ["validated", "validated"]


def test_the_batched_procedure_warns_a_dba_about_a_table_without_a_key(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, _ = fidelity_db
    warnings: list[str] = []
    with db.connect() as conn:
        conn.execute("SELECT count(*) FROM tenancy.provision_tenant('1')")
        conn.add_notice_handler(lambda d: warnings.append(f"{d.severity_nonlocalized}: {d.message_primary}"))
        conn.execute("CALL tenancy.migrate_tenant_batched('1', 7)")
    assert [w for w in warnings if "no primary key" in w] == [
        "WARNING: table notes has no primary key: its rows are copied in one statement, not in batches of 7"
    ]


def test_partitioned_tenant_tables_have_their_grants_and_roll_back(fidelity_db: tuple[Database, Manifest]) -> None:
    db, manifest = fidelity_db
    _migrate_and_validate(db, manifest)
    with db.connect() as conn:
        assert grants.verify(conn, build_model(manifest, ["1", "2"]), all_tenants=True) == []
    result = migrate.rollback_tenants(db.dsn, ["1"])[0]
    assert "events" in [t.table_name for t in result.tables]
    with db.connect() as conn:
        left = conn.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'org_1' AND c.relkind IN ('r', 'p') ORDER BY 1"
        ).fetchall()
        assert left == []


# -- Keys, uniqueness, exclusion constraints, collations, what is not recreated ---------------

OBJECTS = """
CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO orgs VALUES (1, 'one'), (2, 'two'), (3, 'three');

-- One row per tenant: the primary key is the tenant key alone.
CREATE TABLE settings (org_id integer PRIMARY KEY REFERENCES orgs, theme text NOT NULL, seats integer NOT NULL);
INSERT INTO settings VALUES (1, 'dark', 5), (2, 'light', 3);

-- Uniqueness across all tenants that becomes uniqueness per tenant.
CREATE TABLE providers (
    org_id integer NOT NULL REFERENCES orgs,
    id integer NOT NULL,
    provider text NOT NULL,
    email text NOT NULL,
    code text COLLATE "C" NOT NULL,
    during int4range NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (provider),
    UNIQUE (org_id, code),
    EXCLUDE USING btree (org_id WITH =, code WITH =),
    EXCLUDE USING gist (during WITH &&) WHERE (id < 1000)
);
CREATE UNIQUE INDEX providers_email ON providers (lower(email));
INSERT INTO providers
SELECT 1 + n % 3, n, 'p' || n, 'e' || n || '@x', 'c' || n, int4range(n * 10, n * 10 + 5) FROM generate_series(1, 30) AS n;

-- What a tenant table does not get: a policy (row-level security off), a rule, extended
-- statistics, and an index of one partition.
CREATE POLICY providers_own ON providers USING (org_id = current_setting('app.org', true)::integer);
CREATE RULE providers_no_delete AS ON DELETE TO providers WHERE old.id < 0 DO INSTEAD NOTHING;
CREATE STATISTICS providers_stats ON provider, email FROM providers;
CREATE TABLE readings (org_id integer NOT NULL REFERENCES orgs, at date NOT NULL, value integer,
                       PRIMARY KEY (org_id, at)) PARTITION BY RANGE (at);
CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX readings_2024_value ON readings_2024 (value);
INSERT INTO readings SELECT 1 + n % 3, date '2024-01-01' + n, n FROM generate_series(1, 30) AS n;
"""

OBJECTS_MANIFEST = """
[tenancy]
tenant_key = "org_id"
schema_pattern = "org_{id}"
[registry]
table = "orgs"
[move]
tables = ["settings", "providers", "readings"]
[central]
tables = ["orgs"]
"""


@pytest.fixture
def objects_db(blank_db: Database, tmp_path: Path) -> Iterator[tuple[Database, Manifest]]:
    yield blank_db, install_schema(blank_db, OBJECTS, OBJECTS_MANIFEST, tmp_path / "objects.toml")


def _header(rendering_text: str) -> list[str]:
    return [line.removeprefix("-- Note: ") for line in rendering_text.splitlines() if line.startswith("-- Note: ")]


def test_uniqueness_that_narrows_to_the_tenant_is_named_in_the_rendered_sql(
    objects_db: tuple[Database, Manifest],
) -> None:
    db, manifest = objects_db
    with db.connect() as conn:
        rendering = render_all(conn, manifest)
    moved = {f.name.split("_", 1)[1]: f.text for f in rendering.files if f.template == "moved_table.sql.j2"}
    text = moved["providers.sql"]
    notes = _header(text)
    assert (
        "unique constraint providers_provider_key: unique (provider) across all tenants is now unique per tenant."
        in notes
    )
    assert "unique index providers_email: unique (lower(email)) across all tenants is now unique per tenant." in notes
    # A key that had the tenant key was per tenant already: rewritten, not narrowed.
    assert "unique constraint providers_org_id_code_key: (org_id, code) → (code)." in notes
    assert _header(moved["settings.sql"])[0] == (
        "primary key settings_pkey: (org_id) → at most one row per tenant: UNIQUE INDEX ((true)); "
        "the tenant table has no primary key."
    )
    with db.connect() as conn:
        stored = conn.execute("SELECT notes FROM tenancy.moved_tables WHERE table_name = 'providers'").fetchone()
    assert stored is not None and any("providers_provider_key" in n for n in stored[0])


def test_exclusion_constraints_and_collations_are_kept_and_enforced(objects_db: tuple[Database, Manifest]) -> None:
    db, manifest = objects_db
    _migrate_and_validate(db, manifest, tenants=3)
    with db.connect() as conn:
        exclusions = dict(
            conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'org_1.providers'::regclass AND contype = 'x'"
            ).fetchall()
        )
        assert exclusions == {
            "providers_org_id_code_excl": "EXCLUDE USING btree (code WITH =)",
            "providers_during_excl": "EXCLUDE USING gist (during WITH &&) WHERE ((id < 1000))",
        }
        with pytest.raises(psycopg.errors.ExclusionViolation):
            conn.execute("INSERT INTO org_1.providers VALUES (900, 'p900', 'e900', 'c900', int4range(30, 32))")
        collation = conn.execute(
            "SELECT c.collname FROM pg_attribute AS a JOIN pg_collation AS c ON c.oid = a.attcollation "
            "WHERE a.attrelid = 'org_2.providers'::regclass AND a.attname = 'code'"
        ).fetchone()
        assert collation == ("C",)


def test_what_a_tenant_table_does_not_get_is_named(objects_db: tuple[Database, Manifest]) -> None:
    db, manifest = objects_db
    with db.connect() as conn:
        notes = dict(conn.execute("SELECT table_name, notes FROM tenancy.moved_tables").fetchall())
    assert (
        "policy providers_own: row-level security policy: not recreated (the tenant schema separates tenants)"
        in notes["providers"]
    )
    assert "rule providers_no_delete: not recreated: a tenant table gets no rules" in notes["providers"]
    assert any(
        n.startswith("statistics providers_stats: extended statistics: not recreated") for n in notes["providers"]
    )
    assert (
        "index readings_2024_value: on partition readings_2024 only: define it on the partitioned table to keep it"
        in notes["readings"]
    )
    # With row-level security on, its policy would filter what the tool reads: refused, not copied short.
    with db.connect() as conn:
        conn.execute("ALTER TABLE providers ENABLE ROW LEVEL SECURITY")
        with pytest.raises(RenderError, match='table "providers" of "providers" has row-level security on') as e:
            install(conn, manifest)
        assert e.value.hint and "DISABLE ROW LEVEL SECURITY" in e.value.hint


def test_a_table_of_one_row_per_tenant_migrates_online(objects_db: tuple[Database, Manifest]) -> None:
    db, manifest = objects_db
    with db.connect() as conn:
        tenants = executor.registry_tenants(conn, manifest)
    provision_tenants(db.dsn, tenants)
    # Not refused for want of a primary key (TY051): the table is captured by the empty key.
    synced = online.migrate_online(db.dsn, tenants)
    assert [r.state for r in synced] == ["syncing"] * 3, [r.error for r in synced]
    with db.connect() as conn:
        assert conn.execute("SELECT captured FROM tenancy.moved_tables WHERE table_name = 'settings'").fetchone() == (
            True,
        )
        conn.execute("UPDATE public.settings SET theme = 'blue' WHERE org_id = 1")
        conn.execute("DELETE FROM public.settings WHERE org_id = 2")
        conn.execute("INSERT INTO public.settings VALUES (3, 'new', 1)")
        # Logged by the empty key: the tenant's one row.
        logged = conn.execute(
            "SELECT tenant_id, row_key FROM tenancy.change_log WHERE table_name = 'settings' ORDER BY id"
        ).fetchall()
        assert logged == [("1", []), ("2", []), ("3", [])]
    assert [v.state for v in validate.validate_tenants(db.dsn, tenants)] == ["validated"] * 3
    cut = online.cutover_tenants(db.dsn, tenants)
    assert [r.state for r in cut] == ["cut_over"] * 3, [r.error for r in cut]
    with db.connect() as conn:
        for schema, rows in (("org_1", [("blue", 5)]), ("org_2", []), ("org_3", [("new", 1)])):
            query = sql.SQL("SELECT theme, seats FROM {}.settings").format(sql.Identifier(schema))
            assert conn.execute(query).fetchall() == rows
        index = conn.execute("SELECT pg_get_indexdef('org_1.settings_pkey'::regclass)").fetchone()
        assert index == ("CREATE UNIQUE INDEX settings_pkey ON org_1.settings USING btree ((true))",)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO org_1.settings VALUES ('again', 1)")
    assert [v.state for v in validate.validate_tenants(db.dsn, tenants)] == ["validated"] * 3


def test_online_mode_refuses_a_partitioned_table_without_a_key_naming_the_ways_out(
    fidelity_db: tuple[Database, Manifest],
) -> None:
    db, manifest = fidelity_db
    with db.connect() as conn:
        conn.execute(
            "CREATE TABLE visits (org_id integer NOT NULL REFERENCES orgs, at date NOT NULL, page text) "
            "PARTITION BY RANGE (at)"
        )
        conn.execute("CREATE TABLE visits_all PARTITION OF visits DEFAULT")
    path = Path(str(manifest.path))
    path.write_text(MANIFEST.replace('"notes"]', '"notes", "visits"]'))
    with db.connect() as conn:
        install(conn, load_manifest(path))
    provision_tenants(db.dsn, ["1"])
    (result,) = online.migrate_online(db.dsn, ["1"])
    assert (result.state, result.sqlstate) == ("failed", "TY051")
    assert "these moved tables have none: notes, visits" in (result.error or "")
    assert result.detail is not None and result.detail.splitlines() == [
        "notes: no primary key",
        "visits: no primary key; partitioned by RANGE (at), so one must include those columns",
    ]
    assert result.hint is not None
    for way in (
        "add a primary key",
        "include the partition key",
        "keep the table shared ([hybrid])",
        "migrate without --online while writes are stopped",
    ):
        assert way in result.hint, way
