"""tenancy history: what ran, when, as which login, the outcome; from tenancy.history."""

from __future__ import annotations

import json

from psycopg import sql

from tests.conftest import Database, Server, registry_ids
from tests.runner.cli.tenancy import REPO, refused, tenancy


def _events(dsn: str, *argv: str) -> list[dict[str, object]]:
    out = tenancy("history", "--json", *argv, dsn=dsn)
    assert out.returncode == 0, out.stderr
    events: list[dict[str, object]] = json.loads(out.stdout)["events"]
    return events


def test_history_records_what_ran_as_whom_and_the_outcome(db: Database, manifest: object, pg_server: Server) -> None:
    first, second = registry_ids(db, manifest)[:2]
    assert tenancy("migrate", "--tenant", first, "--dsn", f"{db.dsn} password=not-recorded").returncode == 0
    # Dry runs and refusals change nothing: no row.
    assert tenancy("migrate", "--dry-run", dsn=db.dsn).returncode == 0
    assert refused(tenancy("migrate", "--tenant", "nobody", dsn=db.dsn))
    with db.connect() as conn:  # a failure of one tenant: a row of its own
        conn.execute(f'CREATE TABLE "tenant_{second}".brand_fonts (x int)')
    assert tenancy("migrate", "--tenant", second, "--jobs", "2", dsn=db.dsn).returncode == 1
    events = _events(db.dsn)
    # The fixture installed through the engine, not the command: these three rows only.
    assert [(e["command"], e["tenant_id"], e["outcome"]) for e in events] == [
        ("migrate", None, "ok"),
        ("migrate", None, "failed"),
        ("migrate", second, "failed"),
    ]
    run, failed_run, failure = events[-3:]
    assert run["session_user"] == failed_run["session_user"] == pg_server.user
    assert run["detail"]["options"] == {"--tenant": [first]}  # type: ignore[index]
    assert "not-recorded" not in json.dumps(events)
    assert failed_run["detail"]["options"] == {"--tenant": [second], "--jobs": 2}  # type: ignore[index]
    assert failed_run["detail"]["exit_code"] == 1 and failed_run["detail"]["failed"] == 1  # type: ignore[index]
    assert failure["detail"]["sqlstate"] == "TY007"  # type: ignore[index]
    # --tenant: that tenant's rows and the runs that named it; --command: one verb.
    assert [e["id"] for e in _events(db.dsn, "--tenant", second)] == [failed_run["id"], failure["id"]]
    assert {e["command"] for e in _events(db.dsn, "--command", "migrate")} == {"migrate"}
    assert len(_events(db.dsn, "--limit", "1")) == 1
    text = tenancy("history", dsn=db.dsn).stdout
    assert "TY007" in text and f"--tenant {first}" in text


def test_history_names_the_login_that_ran_it(db: Database, manifest: object, pg_server: Server) -> None:
    """As a runner login (member of tenancy_migrator only), the row names that login, not a role it acted as."""
    first = registry_ids(db, manifest)[0]
    manifest_flag = ["--manifest", str(REPO / "tenancy.toml")]
    assert tenancy("provision", *manifest_flag, "--tenant", first, dsn=db.dsn).returncode == 0
    login = f"hist_runner_{db.name}"
    with db.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_migrator").format(sql.Identifier(login)))
    try:
        runner = f"host={pg_server.host} port={pg_server.port} user={login} dbname={db.name}"
        out = tenancy("migrate", *manifest_flag, "--tenant", first, dsn=runner)
        assert out.returncode == 0, out.stderr
        last = _events(runner)[-1]
        assert (last["command"], last["session_user"], last["outcome"]) == ("migrate", login, "ok")
    finally:
        with db.connect() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
