"""tenancy uninstall: shows what it removes, needs --yes (or yes on a terminal), --dry-run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database
from tests.runner.cli.tenancy import REPO, refused, tenancy
from tests.snapshots import snapshot

# Role names of its own: roles are cluster-wide and other tests share the cluster.
ROLES = """
[roles]
owner = "{schema}_co"
app = "{schema}_ca"
readonly = "{schema}_cr"
migrator = "cu_migrator"
app_group = "cu_app"
readonly_group = "cu_readonly"
"""


def test_uninstall_shows_what_it_removes_and_needs_yes(sample_db: Database, tmp_path: Path) -> None:
    manifest = tmp_path / "tenancy.toml"
    manifest.write_text((REPO / "tenancy.toml").read_text() + ROLES)
    m = ["--manifest", str(manifest)]
    assert tenancy("install", *m, dsn=sample_db.dsn).returncode == 0
    with sample_db.connect() as conn:
        conn.execute("CREATE FUNCTION tenancy.note() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'")
        conn.execute(
            "CREATE TRIGGER note AFTER INSERT ON public.brand_colors FOR EACH ROW EXECUTE FUNCTION tenancy.note()"
        )
        before = snapshot(conn)
    out = tenancy("uninstall", *m, "--dry-run", dsn=sample_db.dsn)
    assert out.returncode == 1 and "in the way: dependent: trigger note on table public.brand_colors" in out.stdout
    assert "uninstall would refuse: pass --force" in out.stdout
    out = tenancy("uninstall", *m, "--yes", dsn=sample_db.dsn)  # refused for real too, without a question
    assert refused(out) and "nothing was removed" in out.stderr
    out = tenancy("uninstall", *m, "--force", "--dry-run", "--json", dsn=sample_db.dsn)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["dry_run"] is True and doc["refused"] is False and doc["schemas"] == ["tenancy", "tenancy_federation"]
    out = tenancy("uninstall", *m, "--force", dsn=sample_db.dsn)
    assert refused(out) and "uninstall needs --yes" in out.stderr and "uninstall removes schemas tenancy" in out.stderr
    assert "dropped first (--force): dependent: trigger note" in out.stderr
    with sample_db.connect() as conn:
        assert snapshot(conn) == before
    out = tenancy("uninstall", *m, "--force", "--yes", dsn=sample_db.dsn)
    assert out.returncode == 0 and "uninstalled: schemas tenancy" in out.stdout, out.stderr
    with sample_db.connect() as conn:
        assert conn.execute("SELECT to_regnamespace('tenancy')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'cu\\_%'").fetchone() == (0,)
