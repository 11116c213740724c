"""tenancy migrate: a dry run never writes, one bad registry id is one tenant's failure,
--exclude, and rows moved counts what this run moved."""

from __future__ import annotations

import json

from tests.conftest import Database, registry_ids
from tests.runner.cli.tenancy import refused, tenancy
from tests.snapshots import snapshot


def test_online_dry_run_is_refused_and_changes_nothing(db: Database) -> None:
    with db.connect() as conn:
        before = snapshot(conn)
    out = tenancy("migrate", "--online", "--dry-run", dsn=db.dsn)
    assert refused(out) and "--dry-run: not allowed with argument --online" in out.stderr, out.stderr
    out = tenancy("migrate", "--dry-run", "--online", "--json", dsn=db.dsn)
    assert refused(out)
    with db.connect() as conn:
        assert snapshot(conn) == before
        assert conn.execute("SELECT count(*) FROM tenancy.tenants").fetchone() == (0,)


def test_a_registry_id_the_tool_refuses_is_that_tenants_failure(db: Database, manifest: object) -> None:
    ids = registry_ids(db, manifest)
    with db.connect() as conn:
        conn.execute("INSERT INTO public.tenants (id, name, created_at) VALUES ('Initech', 'Initech', now())")
    out = tenancy("migrate", "--json", dsn=db.dsn)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    doc = json.loads(out.stdout)
    states = {t["tenant_id"]: t["state"] for t in doc["tenants"]}
    assert states == {"Initech": "failed", **dict.fromkeys(ids, "migrated")}
    assert "FAILED: tenant Initech: invalid tenant id 'Initech'" in out.stderr
    assert "hint: Change this id in the registry table (public.tenants)" in out.stderr
    assert "--exclude Initech" in out.stderr
    # validate and provision say the same; its hint no longer leads back into a crash.
    for verb in ("validate", "provision"):
        out = tenancy(verb, dsn=db.dsn)
        assert out.returncode == 1 and "Traceback" not in out.stderr, (verb, out.stderr)
        assert "FAILED: tenant Initech: invalid tenant id" in out.stderr and "--exclude Initech" in out.stderr
    # Left out, the others are a success.
    for verb in ("migrate", "validate", "provision", "status", "verify-grants"):
        out = tenancy(verb, "--exclude", "Initech", dsn=db.dsn)
        assert out.returncode == 0 and "Initech" not in out.stdout + out.stderr, (verb, out.stdout, out.stderr)


def test_exclude_leaves_tenants_out(db: Database, manifest: object) -> None:
    first, *others = registry_ids(db, manifest)
    out = tenancy("migrate", "--exclude", first, "--exclude", "nobody", "--json", dsn=db.dsn)
    assert out.returncode == 0, out.stderr
    assert [t["tenant_id"] for t in json.loads(out.stdout)["tenants"]] == others
    assert "warning: --exclude nobody: not among the tenants of this run" in out.stderr
    states = {t["tenant_id"]: t["state"] for t in json.loads(tenancy("status", "--json", dsn=db.dsn).stdout)["tenants"]}
    assert states[first] == "new" and {states[t] for t in others} == {"migrated"}
    out = tenancy("validate", "--tenant", first, "--exclude", first, dsn=db.dsn)
    assert refused(out) and "no tenant to work on: every tenant was excluded" in out.stderr


def test_a_re_run_over_syncing_tenants_moves_no_rows_again(db: Database) -> None:
    first = tenancy("migrate", "--online", "--json", dsn=db.dsn)
    assert first.returncode == 0, first.stderr
    moved = sum(t["rows"] for t in json.loads(first.stdout)["tenants"])
    assert moved > 0
    again = tenancy("migrate", "--online", "--json", dsn=db.dsn)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert {t["state"] for t in doc["tenants"]} == {"syncing"}
    assert [t["rows"] for t in doc["tenants"]] == [0] * len(doc["tenants"])
    assert tenancy("migrate", "--online", dsn=db.dsn).stdout.endswith("; 0 rows moved\n")
