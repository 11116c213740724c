"""--json on every verb prints one JSON object with a "command" key, whatever the outcome."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database, Server, registry_ids
from tests.runner.cli.tenancy import REPO, tenancy
from tests.runner.cli.test_options import verbs

MANIFEST = str(REPO / "tenancy.toml")


def test_every_verb_prints_one_json_object_with_its_command(
    db: Database, manifest: object, pg_server: Server, tmp_path: Path
) -> None:
    first, second = registry_ids(db, manifest)[:2]
    blank = pg_server.create(f"{db.name}_blank")
    blank_too = pg_server.create(f"{db.name}_blank2")
    m = ["--manifest", MANIFEST]
    runs: dict[str, tuple[list[str], str]] = {
        "init": (["init", str(tmp_path / "new.toml")], db.dsn),
        "plan": (["plan", *m], db.dsn),
        "render": (["render", *m], db.dsn),
        "install": (["install", *m], db.dsn),
        "provision": (["provision", *m, "--tenant", first, "--tenant", second], db.dsn),
        "migrate": (["migrate", *m, "--tenant", first], db.dsn),
        "validate": (["validate", *m], db.dsn),  # the tenants not migrated make it exit 1
        "cutover": (["cutover", *m, "--tenant", first], db.dsn),  # migrated offline: that tenant fails
        "contract": (["contract", "--dry-run"], db.dsn),  # refused: not every tenant is cut over
        "rollback": (["rollback", *m, "--tenant", second, "--dry-run"], db.dsn),
        "status": (["status", "--tenant", first], db.dsn),
        "history": (["history"], db.dsn),
        "verify-grants": (["verify-grants", *m, "--tenant", second], db.dsn),
        "uninstall": (["uninstall", *m, "--dry-run"], db.dsn),
        "federation search": (["federation", "search", "--year", "2023"], db.dsn),
        "federation analytics": (["federation", "analytics"], db.dsn),
        "federation profile": (["federation", "profile", "--tenant", first, "--graduate", "1"], db.dsn),
        "federation user-tenants": (["federation", "user-tenants", "--user", "1"], db.dsn),
        "federation jobs": (["federation", "jobs"], db.dsn),
        "distribute": (["distribute", *m], db.dsn),  # no Citus here: refused
        "placement": (["placement"], db.dsn),
        "move": (["move", *m, "--tenant", first, "--to", "localhost:5432"], db.dsn),
        "sample": (["sample", "--tenants", "2", "--rows", "200"], blank.dsn),
        "demo": (["demo", "--tenants", "2", "--rows", "200"], blank_too.dsn),
        "bench": (["bench", "--tenants", "2", "--rows", "200"], db.dsn),  # not empty: refused
        "bench-online": (["bench-online", "--tenants", "2", "--rows", "200"], db.dsn),
        "bench-queries": (["bench-queries", "--tenants", "2", "--rows", "200"], db.dsn),
        "completion": (["completion", "bash"], db.dsn),
    }
    assert set(runs) == set(verbs())
    codes = {}
    try:
        for verb, (argv, dsn) in runs.items():
            out = tenancy(*argv, "--json", dsn=dsn)
            doc = json.loads(out.stdout)  # the whole of stdout is one JSON document
            assert isinstance(doc, dict) and doc["command"].split()[: len(verb.split())] == verb.split(), (verb, doc)
            assert "Traceback" not in out.stderr, (verb, out.stderr)
            codes[verb] = out.returncode
    finally:
        pg_server.drop(blank.name)
        pg_server.drop(blank_too.name)
    # Successes, tenants that failed and refusals alike.
    assert codes["migrate"] == codes["status"] == codes["completion"] == codes["federation search"] == 0
    assert codes["plan"] == 0
    assert codes["validate"] == codes["cutover"] == 1
    assert codes["contract"] == codes["distribute"] == codes["bench"] == 2
