"""tenancy rollback: --dry-run changes nothing; --force shows the rows it drops and needs --yes."""

from __future__ import annotations

import json

from psycopg import sql

from tests.conftest import Database, registry_ids
from tests.runner.cli.tenancy import refused, tenancy
from tests.snapshots import snapshot


def test_rollback_dry_run_and_force(db: Database, manifest: object) -> None:
    first, second = registry_ids(db, manifest)[:2]
    assert tenancy("migrate", dsn=db.dsn).returncode == 0
    with db.connect() as conn:
        # A row written in the tenant schema only: rollback would lose it.
        conn.execute(
            sql.SQL("INSERT INTO {t} (id, family) SELECT max(id) + 1000, 'only here' FROM {t}").format(
                t=sql.Identifier(f"tenant_{first}", "brand_fonts")
            )
        )
        before = snapshot(conn)
    out = tenancy("rollback", "--tenant", first, "--tenant", second, "--dry-run", "--json", dsn=db.dsn)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert [(t["tenant_id"], t["state"], t["sqlstate"]) for t in doc["tenants"]] == [
        (first, "failed", "TY053"),
        (second, "planned", None),
    ]
    assert len(doc["tenants"][1]["tables"]) == 12
    out = tenancy("rollback", "--tenant", first, "--force", "--dry-run", dsn=db.dsn)
    assert out.returncode == 0, out.stderr
    assert (
        f"tenant {first}: --force drops its tenant tables and the rows only they hold (brand_fonts: 1 rows)"
        in out.stdout
    )
    out = tenancy("rollback", "--tenant", first, "--force", dsn=db.dsn)
    assert refused(out) and "rollback --force needs --yes" in out.stderr and "brand_fonts: 1 rows" in out.stderr
    with db.connect() as conn:
        assert snapshot(conn) == before
    out = tenancy("rollback", "--tenant", first, "--force", "--yes", dsn=db.dsn)
    assert out.returncode == 0, out.stderr
    assert f"tenant {first}: dropped 12 tenant tables" in out.stdout
