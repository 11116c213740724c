"""tenancy status: every registry tenant, or those of --tenant, less --exclude."""

from __future__ import annotations

import json

from tests.conftest import Database, registry_ids
from tests.runner.cli.tenancy import refused, tenancy


def test_status_takes_tenant_and_exclude(db: Database, manifest: object) -> None:
    first, second, *rest = registry_ids(db, manifest)
    out = tenancy("status", "--tenant", second, "--tenant", first, "--json", dsn=db.dsn)
    assert out.returncode == 0, out.stderr
    assert [t["tenant_id"] for t in json.loads(out.stdout)["tenants"]] == [first, second]
    out = tenancy("status", "--exclude", first, "--json", dsn=db.dsn)
    assert [t["tenant_id"] for t in json.loads(out.stdout)["tenants"]] == [second, *rest]
    out = tenancy("status", "--tenant", "nobody", dsn=db.dsn)
    assert refused(out) and "nobody" in out.stderr
