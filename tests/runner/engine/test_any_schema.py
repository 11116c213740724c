"""A database that is not Alumate migrates by writing only a manifest: bigint tenant key,
composite primary keys, unique keys and foreign keys that include the tenant key,
identity columns, expression indexes, json columns, a table without a primary key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.engine import executor, migrate, validate
from runner.engine.install import install
from runner.errors import ManifestError, PreflightFailed, RenderError
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[3]

SCHEMA = """
CREATE TABLE accounts (account_no bigint PRIMARY KEY, label text NOT NULL);
CREATE TABLE projects (
    org bigint NOT NULL REFERENCES accounts,
    id bigint NOT NULL,
    name text NOT NULL,
    code text NOT NULL,
    PRIMARY KEY (org, id),
    UNIQUE (org, code)
);
CREATE TABLE tasks (
    org bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    project_id bigint NOT NULL,
    title text NOT NULL,
    estimate numeric CHECK (estimate >= 0),
    payload json,
    PRIMARY KEY (org, id),
    FOREIGN KEY (org, project_id) REFERENCES projects (org, id) ON DELETE CASCADE
);
CREATE INDEX tasks_org_lower_title ON tasks (org, lower(title));
CREATE TABLE task_tags (
    org bigint NOT NULL,
    task_id bigint NOT NULL,
    tag text NOT NULL,
    PRIMARY KEY (org, task_id, tag),
    FOREIGN KEY (org, task_id) REFERENCES tasks (org, id)
);
CREATE TABLE audit_log (org bigint NOT NULL, at timestamptz NOT NULL, what text);
INSERT INTO accounts SELECT n, 'account ' || n FROM generate_series(1001, 1003) AS n;
INSERT INTO projects SELECT a, p, 'project ' || p, 'code-' || p
FROM generate_series(1001, 1003) AS a, generate_series(1, 5) AS p;
INSERT INTO tasks (org, project_id, title, estimate, payload)
SELECT a, 1 + t % 5, 'Task ' || t, t % 7, json_build_object('n', t)
FROM generate_series(1001, 1003) AS a, generate_series(1, 40) AS t;
INSERT INTO task_tags SELECT org, id, tag FROM tasks, unnest(ARRAY['a', 'b b', 'c''c']) AS tag;
INSERT INTO audit_log SELECT a, '2024-01-01'::timestamptz + n * interval '1 hour', 'did ' || n
FROM generate_series(1001, 1003) AS a, generate_series(1, 9) AS n;
"""

MANIFEST = """
[tenancy]
tenant_key = "org"
schema_pattern = "org_{id}"

[registry]
table = "accounts"
id_column = "account_no"

[move]
tables = ["task_tags", "audit_log", "tasks", "projects"]

[central]
tables = ["accounts"]
"""


@pytest.fixture
def other_db(blank_db: Database, tmp_path: Path) -> tuple[Database, Path]:
    with blank_db.connect() as conn:
        conn.execute(SCHEMA)
    path = tmp_path / "other.toml"
    path.write_text(MANIFEST)
    return blank_db, path


def test_composite_keys_and_bigint_tenant_key_migrate_and_validate(other_db: tuple[Database, Path]) -> None:
    db, manifest_path = other_db
    run = [sys.executable, "-m", "runner.cli"]
    common = ["--dsn", db.dsn, "--manifest", str(manifest_path)]
    for args in (["install"], ["migrate", "--batch-size", "7"], ["validate"]):
        out = subprocess.run([*run, *args, *common], capture_output=True, text=True, cwd=REPO, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
    with db.connect() as conn:
        # Parents are copied before children, whatever the manifest order.
        order = conn.execute("SELECT table_name FROM tenancy.moved_tables ORDER BY position").fetchall()
        assert order.index(("projects",)) < order.index(("tasks",)) < order.index(("task_tags",))
        pk = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'org_1002.task_tags'::regclass "
            "AND contype = 'p'"
        ).fetchone()
        assert pk == ("PRIMARY KEY (task_id, tag)",)
        fk = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'org_1002.tasks'::regclass "
            "AND contype = 'f'"
        ).fetchone()
        assert fk == ("FOREIGN KEY (project_id) REFERENCES org_1002.projects(id) ON DELETE CASCADE",)
        idx = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'tasks_org_lower_title' AND schemaname = 'org_1002'"
        ).fetchone()
        assert idx is not None and "(lower(title))" in idx[0]
        # Identity ALWAYS keeps working, past the copied ids.
        new_id = conn.execute(
            "INSERT INTO org_1002.tasks (project_id, title) VALUES (1, 'new') RETURNING id"
        ).fetchone()
        top = conn.execute("SELECT max(id) FROM tasks WHERE org = 1002").fetchone()
        assert new_id is not None and top is not None and new_id[0] > top[0]
        assert conn.execute("SELECT count(*) FROM org_1003.task_tags").fetchone() == (120,)
        assert conn.execute("SELECT count(*) FROM org_1001.audit_log").fetchone() == (9,)
        batches = conn.execute(
            "SELECT batches FROM tenancy.ledger WHERE tenant_id = '1001' AND table_name = 'task_tags'"
        ).fetchone()
        assert batches is not None and batches[0] > 1


def test_rendered_sql_for_another_schema_is_deterministic(other_db: tuple[Database, Path], tmp_path: Path) -> None:
    db, manifest_path = other_db
    outs = []
    for n in (1, 2):
        out_dir = tmp_path / f"r{n}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "runner.cli",
                "render",
                "--out",
                str(out_dir),
                "--dsn",
                db.dsn,
                "--manifest",
                str(manifest_path),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outs.append({p.name: p.read_text() for p in sorted(out_dir.iterdir())})
    assert outs[0] == outs[1]
    assert len([n for n in outs[0] if not n.startswith("00_")]) == 4  # one file per moved table
    first = next(t for n, t in outs[0].items() if n.endswith("task_tags.sql"))
    assert first.startswith("-- Rendered from sql/templates/moved_table.sql.j2 for public.task_tags")


def test_central_fk_into_a_moved_table_blocks_every_tenant(other_db: tuple[Database, Path]) -> None:
    db, manifest_path = other_db
    manifest = load_manifest(manifest_path)
    with db.connect() as conn:
        conn.execute(
            "CREATE TABLE invoices (id int PRIMARY KEY, org bigint, project_id bigint, "
            "FOREIGN KEY (org, project_id) REFERENCES projects (org, id))"
        )
        install(conn, manifest)
    with pytest.raises(PreflightFailed) as e:
        migrate.migrate_tenants(db.dsn, ["1001"])
    assert "central foreign key invoices_org_project_id_fkey" in (getattr(e.value, "detail", "") or "")
    with db.connect() as conn:
        assert conn.execute("SELECT to_regnamespace('org_1001')").fetchone() == (None,)


def test_index_using_the_tenant_key_in_an_expression_is_a_render_error(other_db: tuple[Database, Path]) -> None:
    db, manifest_path = other_db
    with db.connect() as conn:
        conn.execute("CREATE INDEX bad ON audit_log ((org + 1))")
        with pytest.raises(RenderError, match='index "bad"') as e:
            install(conn, load_manifest(manifest_path))
        assert e.value.hint
        assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)


def test_manifest_naming_a_missing_table_is_refused(other_db: tuple[Database, Path], tmp_path: Path) -> None:
    db, _ = other_db
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.replace('"projects"]', '"projects", "nope"]'))
    with db.connect() as conn, pytest.raises(ManifestError, match=r'\[move\] table "public\.nope" does not exist'):
        install(conn, load_manifest(path))
    with db.connect() as conn:
        assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)


UUID_SCHEMA = """
CREATE TABLE orgs (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE notes (
    org_id uuid NOT NULL REFERENCES orgs,
    id bigserial,
    body text NOT NULL,
    PRIMARY KEY (org_id, id)
);
INSERT INTO orgs VALUES ('0b9e7c52-1f7a-4d7e-9d5a-2c1e8f0a9b01', 'one'), ('5d2f1a8e-3c4b-4a6d-8e9f-0a1b2c3d4e5f', 'two');
INSERT INTO notes (org_id, body) SELECT o.id, 'note ' || n FROM orgs AS o, generate_series(1, 25) AS n;
"""


def test_uuid_tenant_key(blank_db: Database, tmp_path: Path) -> None:
    with blank_db.connect() as conn:
        conn.execute(UUID_SCHEMA)
    path = tmp_path / "uuid.toml"
    path.write_text(
        '[tenancy]\ntenant_key = "org_id"\nschema_pattern = "org_{id}"\n'
        '[registry]\ntable = "orgs"\n[move]\ntables = ["notes"]\n[central]\ntables = ["orgs"]\n'
    )
    manifest = load_manifest(path)
    with blank_db.connect() as conn:
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
    results = migrate.migrate_tenants(blank_db.dsn, tenants, batch_size=10)
    assert [r.state for r in results] == ["migrated", "migrated"]
    assert all(v.ok for v in validate.validate_tenants(blank_db.dsn, tenants))
    with blank_db.connect() as conn:
        # '-' in a uuid becomes '_' in the schema name.
        n = conn.execute("SELECT count(*) FROM org_0b9e7c52_1f7a_4d7e_9d5a_2c1e8f0a9b01.notes").fetchone()
        assert n == (25,)
