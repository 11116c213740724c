"""tenancy init --from-database, as a user runs it on a real application's schema (the corpus):
the commented manifest written, the questions printed, one JSON object; never an overwrite,
and the discovery flags only with --from-database."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from runner.devtools.corpus import load_schema
from runner.engine.discover import propose_manifest
from runner.manifest import load_manifest
from tests.conftest import Database, Server
from tests.runner.cli.tenancy import refused, tenancy

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture
def kratos(pg_server: Server, make_template: Callable[..., str]) -> Iterator[Database]:
    """Ory Kratos's schema, as the application leaves it (no rows)."""

    def load(conn: psycopg.Connection) -> None:
        load_schema(conn, CORPUS / "kratos" / "schema.sql")

    name = f"init_kratos_{os.getpid()}"
    db = pg_server.create(name, make_template("init_kratos", load))
    try:
        yield db
    finally:
        pg_server.drop(name)


def test_a_manifest_proposed_from_the_database_with_its_questions(kratos: Database, tmp_path: Path) -> None:
    path = tmp_path / "kratos.toml"
    out = tenancy("init", "--from-database", str(path), dsn=kratos.dsn)
    assert out.returncode == 0, out.stderr
    text = path.read_text()
    assert text.startswith("# Proposed from the catalog of schema public (tenancy init --from-database).")
    assert '    "identities",  # has nid, references networks by it (question 1)' in text
    manifest = load_manifest(path)
    assert (manifest.tenant_key, manifest.registry.table, len(manifest.move)) == ("nid", "networks", 24)
    # What it says: the file, the counts, and each question with what the file proposes meanwhile.
    assert f"wrote {path}: proposed from schema public: tenant key nid, registry networks; 24 tables move" in out.stdout
    assert "1 question(s) the catalog cannot answer" in out.stdout
    assert "  1. nid may be NULL in " in out.stdout and "     proposed: move." in out.stdout
    # Written once: a second run refuses and leaves the file as it was.
    again = tenancy("init", "--from-database", str(path), dsn=kratos.dsn)
    assert refused(again) and "already exists; nothing was written" in again.stderr
    assert path.read_text() == text


def test_its_json_and_its_flags(kratos: Database, tmp_path: Path) -> None:
    path = tmp_path / "given.toml"
    out = tenancy(
        "init", "--from-database", "--tenant-key", "nid", "--registry", "networks", str(path), "--json", dsn=kratos.dsn
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    with psycopg.connect(kratos.dsn) as conn:
        proposal = propose_manifest(conn, tenant_key="nid", registry="networks")
    assert doc["command"] == "init" and doc["source"] == "database" and doc["path"] == str(path)
    assert (doc["tenant_key"], doc["registry"]) == ("nid", "networks")
    assert (doc["move"], doc["hybrid"], doc["central"]) == (
        proposal.tables("move"),
        proposal.tables("hybrid"),
        proposal.tables("central"),
    )
    assert [q["question"] for q in doc["undecided"]] == [d.question for d in proposal.undecided]
    assert path.read_text() == proposal.toml()
    # What discovery cannot use is bad input: exit 2, a hint, nothing written.
    missing = tmp_path / "missing.toml"
    out = tenancy("init", "--from-database", "--registry", "nope", str(missing), dsn=kratos.dsn)
    assert refused(out) and 'no table "public.nope" (--registry)' in out.stderr
    for flag in (["--tenant-key", "nid"], ["--registry", "networks"], ["--dsn", kratos.dsn]):
        out = tenancy("init", *flag, str(missing))
        assert refused(out) and f"{flag[0]} needs --from-database" in out.stderr, flag
    assert not missing.exists()
