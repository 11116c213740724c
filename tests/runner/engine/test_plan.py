"""tenancy plan against a real PostgreSQL: a schema with a problem of every kind planted
gets every one reported in one run, each once with the tenants it affects, and the
database is left exactly as it was (catalog, rows, roles); on an installed database the
plan runs on what is installed; the command's text, JSON and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner.engine.install import install
from runner.engine.plan import INSTALL, ONLINE, PREFLIGHT, RENDER, Plan, plan_database
from runner.engine.plan import MANIFEST as MANIFEST_STAGE
from runner.manifest import Manifest, load_manifest
from tests.conftest import Database
from tests.runner.cli.tenancy import refused, tenancy
from tests.snapshots import snapshot

PLANTED = """
CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO orgs VALUES (1, 'one'), (2, 'two'), (3, 'three');
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;

-- 1. A CHECK that mixes the tenant key with another column.
CREATE TABLE quotas (org_id integer NOT NULL REFERENCES orgs, id integer NOT NULL, lim integer NOT NULL,
                     PRIMARY KEY (org_id, id), CONSTRAINT quotas_above_org CHECK (lim > org_id));
-- 2. An index on an expression of the tenant key.
CREATE TABLE tags (org_id integer NOT NULL REFERENCES orgs, id integer NOT NULL, name text,
                   PRIMARY KEY (org_id, id));
CREATE INDEX tags_by_org ON tags ((org_id + 0));
-- 3. A trigger whose WHEN uses the tenant key.
CREATE TABLE notes (org_id integer NOT NULL REFERENCES orgs, id integer NOT NULL, body text,
                    PRIMARY KEY (org_id, id));
CREATE TRIGGER notes_of_org AFTER INSERT ON notes FOR EACH ROW WHEN (NEW.org_id > 1) EXECUTE FUNCTION noop();
-- 4. A table that stays central with a foreign key into a moved table.
CREATE TABLE projects (org_id integer NOT NULL REFERENCES orgs, id integer NOT NULL, PRIMARY KEY (org_id, id));
CREATE TABLE reports (id integer PRIMARY KEY, org_id integer, project_id integer,
                      CONSTRAINT reports_project FOREIGN KEY (org_id, project_id) REFERENCES projects);
-- 5. Rows whose tenant is not in the registry.
CREATE TABLE files (org_id integer NOT NULL, id integer NOT NULL, PRIMARY KEY (org_id, id));
-- 6. Duplicates, within two tenants, of a key the tenant tables get ([move.unique]).
CREATE TABLE members (org_id integer NOT NULL REFERENCES orgs, id integer NOT NULL, email text NOT NULL,
                      PRIMARY KEY (org_id, id));
-- 7. A partitioned table without a primary key (online mode needs one).
CREATE TABLE visits (org_id integer NOT NULL REFERENCES orgs, at date NOT NULL, page text)
    PARTITION BY RANGE (at);
CREATE TABLE visits_all PARTITION OF visits DEFAULT;

INSERT INTO quotas SELECT 1 + n % 3, n, 10 FROM generate_series(1, 9) AS n;
INSERT INTO tags SELECT 1 + n % 3, n, 't' || n FROM generate_series(1, 9) AS n;
INSERT INTO notes SELECT 1 + n % 3, n, 'n' || n FROM generate_series(1, 9) AS n;
INSERT INTO projects SELECT 1 + n % 3, n FROM generate_series(1, 9) AS n;
INSERT INTO reports VALUES (1, 1, 3);
INSERT INTO files SELECT 1 + n % 3, n FROM generate_series(1, 9) AS n;
INSERT INTO files VALUES (99, 1), (99, 2);
INSERT INTO members SELECT 1 + n % 3, n, 'm' || n || '@x' FROM generate_series(1, 9) AS n;
INSERT INTO members VALUES (1, 100, 'm3@x'), (1, 101, 'm3@x'), (2, 100, 'm1@x');
INSERT INTO visits SELECT 1 + n % 3, date '2024-01-01' + n, 'p' || n FROM generate_series(1, 9) AS n;
"""

MANIFEST = """
[tenancy]
tenant_key = "org_id"
schema_pattern = "org_{id}"
[registry]
table = "orgs"
[move]
tables = ["quotas", "tags", "notes", "projects", "files", "members", "visits"]
[move.unique]
members = [["email"]]
[central]
tables = ["orgs", "reports"]
"""

# (stage, table, check) of each planted problem.
PLANTED_PROBLEMS = [
    (RENDER, "quotas", "check constraint quotas_above_org"),
    (RENDER, "tags", "index tags_by_org"),
    (RENDER, "notes", "trigger notes_of_org"),
    (ONLINE, "visits", "online mode"),
    (PREFLIGHT, "files", "tenant not in registry"),
    (PREFLIGHT, "projects", "central foreign key reports_project"),
    (PREFLIGHT, "members", "unique members_tenant_unique_1"),
]


@pytest.fixture
def planted(blank_db: Database, tmp_path: Path) -> Iterator[tuple[Database, Manifest]]:
    with blank_db.connect() as conn:
        conn.execute(PLANTED)
    path = tmp_path / "planted.toml"
    path.write_text(MANIFEST)
    yield blank_db, load_manifest(path)


def _roles(conn: psycopg.Connection) -> list[tuple[str, ...]]:
    return conn.execute("SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1").fetchall()


def _problems(plan: Plan) -> list[tuple[str, str | None, str]]:
    return sorted((p.stage, p.table, p.check) for p in plan.problems)


def test_every_planted_problem_in_one_run_and_nothing_changed(planted: tuple[Database, Manifest]) -> None:
    db, manifest = planted
    with db.connect() as conn:
        before, roles = snapshot(conn), _roles(conn)
    plan = plan_database(db.dsn, manifest)
    with db.connect() as conn:
        assert snapshot(conn) == before
        assert _roles(conn) == roles
        assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)
    assert _problems(plan) == sorted(PLANTED_PROBLEMS), plan.problems
    by_check = {p.check: p for p in plan.problems}
    # One line per problem, with the tenants it affects.
    duplicates = by_check["unique members_tenant_unique_1"]
    assert (duplicates.tenants, duplicates.rows) == (["1", "2"], 5)
    assert duplicates.line.startswith(
        "members: unique members_tenant_unique_1: 2 tenants (1, 2), 5 rows: e.g. tenant 1:"
    )
    assert by_check["tenant not in registry"].every_tenant and by_check["tenant not in registry"].rows == 2
    assert by_check["central foreign key reports_project"].line.startswith(
        "projects: central foreign key reports_project: every tenant:"
    )
    assert "RANGE (at)" in by_check["online mode"].detail
    assert all(p.hint for p in plan.problems)
    # The refused tables were left shared for the preflight, which covered the others.
    assert plan.left_shared == ("quotas", "tags", "notes")
    assert plan.tenants == ["1", "2", "3"]
    assert plan.preflight.startswith("on schema tenancy installed in a transaction that was rolled back")
    # The fate of every object: what is refused, with why and a hint; what is kept and rewritten.
    fates = {(f.table, f.name): f for t in plan.tables for f in t.fates}
    assert fates[("quotas", "quotas_above_org")].fate == "refused"
    assert fates[("quotas", "quotas_pkey")].how == "(org_id, id) → (id)"
    assert fates[("members", "members_tenant_unique_1")].fate == "added"
    assert fates[("notes", "org_id")].fate == "dropped"


def test_a_plan_on_an_installed_database_uses_what_is_installed(planted: tuple[Database, Manifest]) -> None:
    db, manifest = planted
    with db.connect() as conn:
        conn.execute("ALTER TABLE quotas DROP CONSTRAINT quotas_above_org")
        conn.execute("DROP INDEX tags_by_org")
        conn.execute("DROP TRIGGER notes_of_org ON notes")
        conn.execute("DELETE FROM files WHERE org_id = 99")
        install(conn, manifest)
        before = snapshot(conn)
    plan = plan_database(db.dsn, manifest, ["2", "3"])
    with db.connect() as conn:
        assert snapshot(conn) == before
    assert _problems(plan) == [
        (ONLINE, "visits", "online mode"),
        (PREFLIGHT, "members", "unique members_tenant_unique_1"),
        (PREFLIGHT, "projects", "central foreign key reports_project"),
    ]
    duplicates = next(p for p in plan.problems if p.table == "members")
    assert plan.tenants == ["2", "3"] and (duplicates.tenants, duplicates.rows) == (["2"], 2)
    assert plan.preflight == "on the installed schema tenancy, in a transaction that was rolled back"


def test_the_command_text_json_and_exit_codes(planted: tuple[Database, Manifest]) -> None:
    db, manifest = planted
    path = str(manifest.path)
    out = tenancy("plan", "--manifest", path, dsn=db.dsn)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    problems = [line for line in lines if line.startswith("  problem: ")]
    assert len(problems) == len(PLANTED_PROBLEMS)
    assert "  problem: tags: index tags_by_org: uses org_id in an expression or predicate" in lines
    hint = lines[lines.index("  problem: tags: index tags_by_org: uses org_id in an expression or predicate") + 1]
    assert hint.startswith("    hint: Drop or rewrite that index")
    assert (
        "    refused: trigger notes_of_org: has a WHEN clause that uses org_id, a column the tenant table has not"
        in lines
    )
    doc = json.loads(tenancy("plan", "--manifest", path, "--json", dsn=db.dsn).stdout)
    assert doc["command"] == "plan" and doc["ok"] is False and doc["changed"] is False
    assert sorted((p["stage"], p["table"], p["check"]) for p in doc["problems"]) == sorted(PLANTED_PROBLEMS)
    members = next(t for t in doc["tables"] if t["table"] == "members")
    assert {"kind": "unique constraint", "name": "members_tenant_unique_1", "fate": "added"}.items() <= next(
        f for f in members["fates"] if f["name"] == "members_tenant_unique_1"
    ).items()
    # Bad input: exit 2, nothing done.
    assert refused(tenancy("plan", "--manifest", path, "--tenant", "7", dsn=db.dsn))
    assert refused(tenancy("plan", "--manifest", path, "--tenant", "Not An Id", dsn=db.dsn))
    assert refused(tenancy("plan", "--manifest", str(Path(path).with_name("missing.toml")), dsn=db.dsn))
    # No problem: exit 0.
    with db.connect() as conn:
        for ddl in (
            "ALTER TABLE quotas DROP CONSTRAINT quotas_above_org",
            "DROP INDEX tags_by_org",
            "DROP TRIGGER notes_of_org ON notes",
            "DELETE FROM files WHERE org_id = 99",
            "DROP TABLE reports",
            "DELETE FROM members WHERE id >= 100",
            "ALTER TABLE visits ADD PRIMARY KEY (org_id, at)",
        ):
            conn.execute(ddl)
    Path(path).write_text(MANIFEST.replace('"orgs", "reports"', '"orgs"'))
    out = tenancy("plan", "--manifest", path, dsn=db.dsn)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no problem: `tenancy install`, then migrate" in out.stdout


def test_what_the_plan_cannot_install_is_a_problem_not_a_crash(planted: tuple[Database, Manifest]) -> None:
    db, manifest = planted
    with db.connect() as conn:
        conn.execute("ALTER TABLE orgs RENAME TO tenants_gone")
        before = snapshot(conn)
    plan = plan_database(db.dsn, manifest)
    with db.connect() as conn:
        assert snapshot(conn) == before
    assert (MANIFEST_STAGE, None, "manifest") in _problems(plan)
    assert plan.preflight == "not run: the registry table public.orgs does not exist"
    assert INSTALL not in {p.stage for p in plan.problems}
