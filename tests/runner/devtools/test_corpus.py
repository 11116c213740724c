"""runner.devtools.corpus: rows for N tenants generated from a schema's catalog, on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from runner.devtools.corpus import CorpusError, DataSpec, fill_tenants, load_data_spec, load_schema
from tests.conftest import Database

SCHEMA = """
CREATE TYPE state AS ENUM ('draft', 'open', 'closed');
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE plans (id serial PRIMARY KEY, code varchar(4) NOT NULL);
CREATE TABLE projects (
    account_id bigint NOT NULL REFERENCES accounts,
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id int NOT NULL REFERENCES plans,
    parent_id uuid REFERENCES projects,
    slug text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('internal', 'client')),
    budget numeric(6, 2) CHECK (budget >= 0),
    UNIQUE (account_id, slug),
    UNIQUE (account_id, id)
);
CREATE TABLE tasks (
    account_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id uuid NOT NULL,
    assignee_id uuid REFERENCES projects (id),
    reviewer_id uuid,
    title varchar(12) NOT NULL,
    state state NOT NULL DEFAULT 'draft',
    due date,
    done boolean NOT NULL,
    words tsvector GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED,
    FOREIGN KEY (account_id, project_id) REFERENCES projects (account_id, id),
    CHECK ((assignee_id IS NULL) <> (reviewer_id IS NULL)),
    CHECK ((state = 'closed') = (due IS NOT NULL))
);
-- One row per (account, state): three at most per tenant.
CREATE TABLE boards (account_id bigint NOT NULL REFERENCES accounts, state state NOT NULL, PRIMARY KEY (account_id, state));
-- A cycle: each side may be NULL on one of them.
CREATE TABLE owners (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, team_id int);
CREATE TABLE teams (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                    owner_id int NOT NULL REFERENCES owners);
ALTER TABLE owners ADD FOREIGN KEY (team_id) REFERENCES teams;
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'no'; END$$;
CREATE TRIGGER refuse_always BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse();
ALTER TABLE tasks ENABLE ALWAYS TRIGGER refuse_always;
CREATE TRIGGER refuse_off BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse();
ALTER TABLE tasks DISABLE TRIGGER refuse_off;
"""


def _fill(conn: psycopg.Connection, **kwargs: object) -> dict[str, int]:
    options: dict[str, object] = {"tenant_key": "account_id", "registry": "accounts", "tenants": 4, "rows": 5}
    options.update(kwargs)
    return fill_tenants(conn, **options).rows_by_table  # type: ignore[arg-type]


def test_rows_keep_every_constraint_and_stay_in_their_tenant(empty_db: psycopg.Connection) -> None:
    empty_db.execute(SCHEMA)
    counts = _fill(empty_db)
    assert counts["accounts"] == 4
    assert counts["projects"] == counts["tasks"] == 20
    # A table of no tenant gets rows x tenants in all.
    assert counts["plans"] == 20
    # A unique key of few values (the tenant, three states) caps the rows.
    assert counts["boards"] == 12 and empty_db.execute("SELECT count(DISTINCT state) FROM boards").fetchone() == (3,)
    # References stay inside the tenant, also those that do not carry the tenant key.
    assert empty_db.execute(
        "SELECT count(*) FROM tasks AS t JOIN projects AS p ON p.id = t.assignee_id WHERE p.account_id <> t.account_id"
    ).fetchone() == (0,)
    # A CHECK's list, and CHECKs of several columns kept by leaving one column NULL.
    assert {r[0] for r in empty_db.execute("SELECT kind FROM projects")} == {"internal", "client"}
    assert empty_db.execute("SELECT count(*) FROM tasks WHERE assignee_id IS NULL").fetchone() == (0,)
    assert empty_db.execute("SELECT count(*) FROM tasks WHERE state = 'closed'").fetchone() == (0,)
    # The cycle is broken at the nullable side; the self-reference is NULL.
    assert empty_db.execute("SELECT count(*) FROM owners WHERE team_id IS NULL").fetchone() == (20,)
    assert empty_db.execute("SELECT count(*) FROM projects WHERE parent_id IS NOT NULL").fetchone() == (0,)
    # Triggers were off while the rows were written, and are back as they were.
    modes = dict(
        empty_db.execute(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal"
        ).fetchall()
    )
    assert modes == {"refuse_always": "A", "refuse_off": "D"}


def test_same_seed_same_rows(empty_db: psycopg.Connection, blank_db: Database) -> None:
    sums = []
    with blank_db.connect() as other:
        for conn in (empty_db, other):
            conn.execute(SCHEMA)
            _fill(conn, seed=5)
            sums.append(
                conn.execute(
                    "SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY p::text)) FROM projects AS p), "
                    "(SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM tasks AS t)"
                ).fetchone()
            )
    assert sums[0] == sums[1] and sums[0] is not None and None not in sums[0]


def test_what_the_catalog_does_not_say_comes_from_the_spec(empty_db: psycopg.Connection, tmp_path: Path) -> None:
    empty_db.execute(
        "CREATE TABLE orgs (id uuid PRIMARY KEY);"
        "CREATE TABLE events (org_id uuid NOT NULL REFERENCES orgs, at timestamptz NOT NULL, "
        "code text NOT NULL CHECK (code ~ '^[A-Z]{3}$')) PARTITION BY RANGE (at)"
    )
    with pytest.raises(CorpusError, match="events") as e:
        fill_tenants(empty_db, tenant_key="org_id", registry="orgs")
    assert "partitions" in e.value.hint
    spec_file = tmp_path / "data.toml"
    spec_file.write_text(
        'setup = "CREATE TABLE events_all PARTITION OF events DEFAULT"\n'
        '[columns]\n"events.code" = "chr(65 + s.g % 26) || \'XY\'"\n[rows]\nevents = 5\n'
    )
    summary = fill_tenants(empty_db, tenant_key="org_id", registry="orgs", tenants=2, spec=load_data_spec(spec_file))
    assert summary.rows_by_table["events"] == 10
    assert len(summary.tenants) == 2 and all(len(t) == 36 for t in summary.tenants)
    assert empty_db.execute("SELECT count(*) FROM events WHERE code !~ 'XY$'").fetchone() == (0,)


def test_a_check_it_cannot_keep_names_the_table_and_the_fix(empty_db: psycopg.Connection) -> None:
    empty_db.execute(
        "CREATE TABLE orgs (id int PRIMARY KEY);"
        "CREATE TABLE hooks (org_id int NOT NULL REFERENCES orgs, url text NOT NULL CHECK (url LIKE 'https://%'))"
    )
    with pytest.raises(CorpusError, match=r'hooks: .*"hooks_url_check"') as e:
        fill_tenants(empty_db, tenant_key="org_id", registry="orgs")
    assert "[columns]" in e.value.hint
    # Nothing of the failed fill stays.
    assert empty_db.execute("SELECT count(*) FROM orgs").fetchone() == (0,)
    fill_tenants(
        empty_db,
        tenant_key="org_id",
        registry="orgs",
        spec=DataSpec(columns={("hooks", "url"): "'https://example.com/' || s.n"}),
    )
    assert empty_db.execute("SELECT count(*) FROM hooks").fetchone() == (90,)


def test_a_dump_loads_statement_by_statement(empty_db: psycopg.Connection, tmp_path: Path) -> None:
    dump = tmp_path / "schema.sql"
    dump.write_text(
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.t (id int PRIMARY KEY, body text);\n"
        "CREATE INDEX CONCURRENTLY t_body ON public.t (body);\n"
    )
    load_schema(empty_db, dump)
    assert empty_db.execute("SELECT to_regclass('public.t_body') IS NOT NULL").fetchone() == (True,)
    # The dump's settings do not outlive it.
    assert empty_db.execute("SELECT current_setting('search_path')").fetchone() == ('"$user", public',)
