"""runner.engine.discover: a manifest proposed from the catalog, on the corpus of real
schemas (it installs as it is; its open questions are exactly these) and on small
schemas, one per rule."""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from runner.devtools.corpus import load_data_spec, load_schema
from runner.engine.discover import CENTRAL, HYBRID, MOVE, DiscoveryError, Proposal, propose_manifest
from runner.engine.install import install
from runner.manifest import load_manifest
from runner.sqlscript import run_script
from tests.conftest import Database, Server

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_databases = itertools.count()


@pytest.fixture
def corpus_schema(
    request: pytest.FixtureRequest, pg_server: Server, make_template: Callable[..., str]
) -> Iterator[Database]:
    """A fresh database with one corpus schema as the application leaves it (no rows)."""
    app = request.param

    def load(conn: psycopg.Connection) -> None:
        load_schema(conn, CORPUS / app / "schema.sql")
        spec = CORPUS / app / "data.toml"
        if spec.exists():
            run_script(conn, load_data_spec(spec).setup)

    template = make_template(f"discover_{app}", load)
    name = f"discover_{os.getpid()}_{next(_databases)}"
    db = pg_server.create(name, template)
    try:
        yield db
    finally:
        pg_server.drop(name)


def _questions(p: Proposal) -> list[tuple[str, tuple[str, ...]]]:
    return [(d.topic, d.tables) for d in p.undecided]


def _installs(db: Database, p: Proposal, tmp_path: Path) -> None:
    """The proposal, written as a file and loaded as the CLI loads a manifest, installs unedited."""
    path = tmp_path / "tenancy.toml"
    path.write_text(p.toml())
    manifest = load_manifest(path)
    assert (list(manifest.move), list(manifest.hybrid), list(manifest.central)) == (
        p.tables(MOVE),
        p.tables(HYBRID),
        p.tables(CENTRAL),
    )
    with db.connect() as conn:
        result = install(conn, manifest)
    assert len(result.rendering.tables) == len(p.tables(MOVE)) and not result.rendering.warnings


@pytest.mark.parametrize("corpus_schema", ["lago"], indirect=True)
def test_lago_every_table_with_its_fate_and_three_questions(corpus_schema: Database, tmp_path: Path) -> None:
    with corpus_schema.connect() as conn:
        p = propose_manifest(conn)
    assert (p.tenant_key, p.registry, p.registry_id, p.registry_name) == (
        "organization_id",
        "organizations",
        "id",
        "name",
    )
    assert not [d for d in p.undecided if d.topic != "tables"]
    assert _questions(p) == [
        ("tables", ("roles",)),  # a CHECK reads organization_id with other columns
        ("tables", ("idempotency_records",)),  # organization_id may be NULL
        # organization_id without a foreign key to organizations
        (
            "tables",
            ("cached_aggregations", "coupons", "enriched_events", "events", "membership_roles", "payment_intents"),
        ),
    ]
    # Referenced by tables without organization_id (applied_add_ons, groups, group_properties)
    # or by those, in turn: they stay, with roles.
    assert p.tables(HYBRID) == [
        "add_ons",
        "billable_metrics",
        "billing_entities",
        "charges",
        "customers",
        "dunning_campaigns",
        "plans",
        "roles",
    ]
    assert "applied_add_ons (fk_rails_9c8e276cc0), which stays central" in p.fate("add_ons").reason
    assert "customers (fk_rails_bff25bb1bb), which stays shared" in p.fate("billing_entities").reason
    assert "no primary key" in p.fate("enriched_events").reason
    assert (len(p.tables(MOVE)), len(p.tables(CENTRAL))) == (116, 13)
    assert p.fate("organizations").reason == "the tenant registry"
    _installs(corpus_schema, p, tmp_path)


@pytest.mark.parametrize("corpus_schema", ["kratos"], indirect=True)
def test_kratos_moves_every_table_with_nid(corpus_schema: Database, tmp_path: Path) -> None:
    with corpus_schema.connect() as conn:
        p = propose_manifest(conn)
    assert (p.tenant_key, p.registry, p.registry_name) == ("nid", "networks", None)
    assert (len(p.tables(MOVE)), p.tables(HYBRID), p.tables(CENTRAL)) == (
        24,
        [],
        ["identity_credential_types", "networks"],
    )
    # nid was never declared NOT NULL in 16 tables: one question naming them.
    ((topic, tables),) = _questions(p)
    assert topic == "tables" and len(tables) == 16 and "identities" in tables
    _installs(corpus_schema, p, tmp_path)


@pytest.mark.parametrize("corpus_schema", ["hatchet"], indirect=True)
def test_hatchet_two_spellings_of_the_tenant_key(corpus_schema: Database, tmp_path: Path) -> None:
    with corpus_schema.connect() as conn:
        guessed = propose_manifest(conn)
        given = propose_manifest(conn, tenant_key="tenant_id")
    # Guessed: "tenantId", the column with foreign keys to "Tenant"; tenant_id is the question.
    assert (guessed.tenant_key, guessed.registry) == ("tenantId", "Tenant")
    (alike, loose) = guessed.undecided
    assert alike.topic == "tenant key" and len(alike.tables) == 50 and "--tenant-key tenant_id" in alike.proposed
    assert loose.topic == "tables" and len(loose.tables) == 18
    # Given tenant_id (no foreign key anywhere): the registry is named like it, and asked.
    assert (given.tenant_key, given.registry, given.registry_id) == ("tenant_id", "Tenant", "id")
    assert set(alike.tables) == set(given.tables(MOVE))
    with_camel_key = sorted([*guessed.tables(MOVE), *guessed.tables(HYBRID)])
    assert _questions(given) == [("tenant key", tuple(with_camel_key)), ("registry", ("Tenant",))]
    assert (len(given.tables(MOVE)), given.tables(HYBRID), len(given.tables(CENTRAL))) == (50, [], 82)
    _installs(corpus_schema, given, tmp_path)


def _propose(conn: psycopg.Connection, ddl: str, **kwargs: str) -> Proposal:
    conn.execute(ddl)
    p = propose_manifest(conn, **kwargs)
    tomllib.loads(p.toml())
    p.manifest()  # the proposal always parses as a manifest
    return p


BASE = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE countries (code text PRIMARY KEY);
CREATE TABLE customers (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                        country text REFERENCES countries);
CREATE TABLE invoices (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                       customer_id bigint NOT NULL REFERENCES customers);
CREATE TABLE lines (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                    invoice_id bigint NOT NULL REFERENCES invoices, customer_id bigint REFERENCES customers);
CREATE TABLE audit (at timestamptz NOT NULL);
"""


def test_the_key_most_tables_carry_that_names_one_table(empty_db: psycopg.Connection) -> None:
    p = _propose(empty_db, BASE)
    # customer_id also references one table from two, but customers has account_id: inside a tenant.
    assert (p.tenant_key, p.registry, p.registry_id, p.registry_name) == ("account_id", "accounts", "id", "name")
    assert "carried by 3 tables" in p.key_reason
    assert p.tables(MOVE) == ["customers", "invoices", "lines"]
    assert p.tables(CENTRAL) == ["accounts", "audit", "countries"]
    assert p.fate("countries").reason == "no account_id; referenced by moved tables: customers"
    assert p.fate("lines").reason == "has account_id, references accounts by it"
    assert p.fate("audit").reason == "no account_id"
    assert p.undecided == ()


def test_a_table_a_central_table_references_stays_and_so_does_what_it_references(
    empty_db: psycopg.Connection,
) -> None:
    p = _propose(empty_db, BASE + "CREATE TABLE reports (id int PRIMARY KEY, invoice_id bigint REFERENCES invoices);")
    assert p.tables(HYBRID) == ["customers", "invoices"]
    assert p.fate("invoices").reason.startswith("referenced by reports (reports_invoice_id_fkey), which stays central")
    assert p.fate("customers").reason.startswith(
        "referenced by invoices (invoices_customer_id_fkey), which stays shared"
    )
    assert p.tables(MOVE) == ["lines"]


def test_a_key_that_may_be_null_or_has_no_foreign_key_is_a_question(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        BASE + "CREATE TABLE notes (id int PRIMARY KEY, account_id bigint);"
        "CREATE TABLE tags (id int PRIMARY KEY, account_id bigint NOT NULL);",
    )
    assert _questions(p) == [("tables", ("notes",)), ("tables", ("notes", "tags"))]
    assert "may be NULL" in p.undecided[0].question and p.undecided[0].proposed == "move."
    assert "without a foreign key to accounts" in p.undecided[1].question
    assert {"notes", "tags"} <= set(p.tables(MOVE))
    assert '"notes",  # has account_id (question 1, 2)' in p.toml()


def test_a_table_the_tool_cannot_rewrite_stays_with_what_it_references(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        BASE + "ALTER TABLE lines ADD CONSTRAINT mixed CHECK (account_id > 0 OR invoice_id > 0);"
        "CREATE TABLE notes (id int PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts);",
    )
    # lines stays; a table that stays may not reference a moved one: invoices, customers stay too.
    assert p.tables(HYBRID) == ["customers", "invoices", "lines"] and p.tables(MOVE) == ["notes"]
    empty_db.execute("DROP TABLE notes")
    with pytest.raises(DiscoveryError, match="nothing would move") as e:
        propose_manifest(empty_db, tenant_key="account_id")
    assert "lines: cannot move as it is" in (e.value.detail or "")


def test_the_question_of_a_table_that_cannot_move_names_the_error(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        BASE + "CREATE TABLE rules (id int PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, "
        "weight int, CHECK (account_id <> weight));",
    )
    assert _questions(p) == [("tables", ("rules",))]
    assert 'check constraint "rules_check" of "rules" uses account_id with other columns' in p.undecided[0].question
    assert p.fate("rules").section == HYBRID and p.tables(MOVE) == ["customers", "invoices", "lines"]


def test_two_close_candidates_and_a_look_alike_are_questions(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        BASE + "CREATE TABLE workspaces (id int PRIMARY KEY);"
        "CREATE TABLE boards (id int PRIMARY KEY, workspace_id int REFERENCES workspaces);"
        "CREATE TABLE cards (id int PRIMARY KEY, workspace_id int REFERENCES workspaces);"
        'CREATE TABLE legacy_a (id int PRIMARY KEY, "accountId" bigint); CREATE TABLE legacy_b ("accountId" bigint);',
    )
    assert p.tenant_key == "account_id"
    assert _questions(p) == [("tenant key", ()), ("tenant key", ("legacy_a", "legacy_b"))]
    assert "account_id (3 tables, references accounts) or workspace_id (2 tables, references workspaces)" in (
        p.undecided[0].question
    )
    other = propose_manifest(empty_db, tenant_key="workspace_id")
    assert (other.registry, other.tables(MOVE)) == ("workspaces", ["boards", "cards"])


def test_without_a_foreign_key_the_registry_is_named_like_the_key(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        'CREATE TABLE "Tenant" (id uuid PRIMARY KEY, slug text); '
        "CREATE TABLE jobs (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id));",
        tenant_key="tenant_id",
    )
    assert (p.registry, p.registry_id, p.registry_name) == ("Tenant", "id", "slug")
    assert _questions(p) == [("registry", ("Tenant",))]
    empty_db.execute('ALTER TABLE "Tenant" RENAME TO orgs')
    with pytest.raises(DiscoveryError, match="no table is named like it") as e:
        propose_manifest(empty_db, tenant_key="tenant_id")
    assert "--registry" in e.value.hint
    assert propose_manifest(empty_db, tenant_key="tenant_id", registry="orgs").registry == "orgs"


def test_what_is_not_a_table_of_the_schema_is_not_read(empty_db: psycopg.Connection) -> None:
    empty_db.execute(BASE)
    empty_db.execute("CREATE VIEW open_invoices AS SELECT * FROM invoices")
    p = _propose(
        empty_db,
        "CREATE TABLE events (account_id bigint NOT NULL REFERENCES accounts, at date NOT NULL) "
        "PARTITION BY RANGE (at);"
        "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
        "CREATE SCHEMA tenant_1; CREATE TABLE tenant_1.invoices (id bigint PRIMARY KEY);",
    )
    names = {f.table for f in p.fates}
    assert "events" in names and not {"open_invoices", "events_2024"} & names
    assert len(names) == 7
    assert "no primary key" in p.fate("events").reason
    with pytest.raises(DiscoveryError, match="tool's own"):
        propose_manifest(empty_db, schema="tenancy")


def test_what_it_cannot_guess_is_refused_with_the_flag_to_pass(empty_db: psycopg.Connection) -> None:
    with pytest.raises(DiscoveryError, match="has no tables"):
        propose_manifest(empty_db)
    empty_db.execute("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (a_id int REFERENCES a);")
    with pytest.raises(DiscoveryError, match="no tenant key can be guessed") as e:
        propose_manifest(empty_db)
    assert "--tenant-key" in e.value.hint
    with pytest.raises(DiscoveryError, match="no table of schema public has a column org"):
        propose_manifest(empty_db, tenant_key="org")
    with pytest.raises(DiscoveryError, match="--registry"):
        propose_manifest(empty_db, tenant_key="a_id", registry="nope")


def test_names_that_need_quoting_survive_the_toml(empty_db: psycopg.Connection) -> None:
    p = _propose(
        empty_db,
        'CREATE TABLE "Org ""One""" (id int PRIMARY KEY);'
        'CREATE TABLE "Ünïcode \\ table" (org int NOT NULL REFERENCES "Org ""One""", x int);'
        'CREATE TABLE "two" (org int NOT NULL REFERENCES "Org ""One""");',
        tenant_key="org",
    )
    m = p.manifest()
    assert m.registry.table == 'Org "One"' and list(m.move) == ["two", "Ünïcode \\ table"]


def test_discovery_changes_nothing(empty_db: psycopg.Connection) -> None:
    empty_db.execute(BASE)
    state = "SELECT count(*), sum(hashtext(c.relname::text || c.relkind::text)) FROM pg_class AS c"
    before = empty_db.execute(state).fetchone()
    propose_manifest(empty_db)
    assert empty_db.execute(state).fetchone() == before
    assert empty_db.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)
