"""One rule names a tenant's schema and roles: runner.manifest.Manifest.schema_for
and runner.privileges.role_name. The SQL side (tenancy.tenant_schema, the
federation's tenant list, provisioning, the hybrid tables' row policies) is
rendered from the same Python rule, so both agree for any pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.install import install
from runner.manifest import Manifest, load_manifest
from runner.privileges import build_model
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[2]
IDS = ["ab-1", "x", "a-b-c", "q9_z"]


def _manifest(tmp_path: Path, pattern: str, roles: str) -> Manifest:
    text = (
        (REPO / "tenancy.toml").read_text().replace('schema_pattern = "tenant_{id}"', f'schema_pattern = "{pattern}"')
    )
    assert pattern in text
    path = tmp_path / "tenancy.toml"
    path.write_text(text + roles)
    return load_manifest(path)


@pytest.mark.parametrize(
    ("pattern", "roles"),
    [
        ("tenant_{id}", ""),
        ("{id}_data", '[roles]\nowner = "own_{schema}"\napp = "{schema}_rw"\nreadonly = "ro_{schema}_x"\n'),
        ("t_{id}_s", ""),
    ],
)
def test_sql_names_schemas_and_roles_as_python_does(
    sample_db: Database, tmp_path: Path, pattern: str, roles: str
) -> None:
    manifest = _manifest(tmp_path, pattern, roles)
    with sample_db.connect() as conn:
        conn.execute(
            "INSERT INTO public.tenants (id, name, created_at) SELECT i, 'n ' || i, now() FROM unnest(%s::text[]) AS i",
            (IDS,),
        )
        install(conn, manifest)
        for tenant_id in IDS:
            assert conn.execute("SELECT tenancy.tenant_schema(%s)", (tenant_id,)).fetchone() == (
                manifest.schema_for(tenant_id),
            )
        federated = dict(
            conn.execute("SELECT tenant_id, schema_name FROM tenancy_federation.tenants(%s)", (IDS,)).fetchall()
        )
        assert federated == {t: manifest.schema_for(t) for t in IDS}

        # Provisioning creates exactly the roles the model names.
        tenant_id = "ab-1"
        plan = build_model(manifest, [tenant_id]).tenant(tenant_id)
        try:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
            expected = sorted(r.name for r in plan.roles)
            created = sorted(
                r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY (%s)", (expected,))
            )
            assert created == expected
            # The hybrid tables' row policy finds the tenant from the app role's name.
            conn.execute(
                "INSERT INTO public.jobs (tenant_id, title, job_type, is_public, created_at) "
                "SELECT i, 'private', 'full-time', false, now() FROM unnest(%s::text[]) AS i",
                (IDS,),
            )
            with conn.transaction():
                conn.execute(f'SET LOCAL ROLE "{plan.app.name}"')
                own = conn.execute("SELECT DISTINCT tenant_id FROM public.jobs WHERE NOT is_public").fetchall()
            assert own == [(tenant_id,)]
        finally:
            conn.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", (tenant_id,)).fetchall()


def test_tenant_part_reads_the_rule_backwards(tmp_path: Path) -> None:
    m = _manifest(tmp_path, "t_{id}_s", "")
    assert m.tenant_part(m.schema_for("ab-1")) == "ab_1"
    assert [m.tenant_part(s) for s in ("t__s", "t_x", "x_s", "public", "t_A_s")] == [None] * 5
