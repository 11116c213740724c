"""Parity: what the Pulumi program declares equals what the SQL path leaves in a live database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.mocks import declared_facts, run_program
from infra.program import Settings
from runner.access.drift import (
    ATTRIBUTE,
    FUNCTION,
    OWNER,
    POLICY,
    POLICY_CURRENT,
    PUBLIC,
    RLS,
    TOOL_SCHEMAS,
    read_catalog,
)
from runner.engine.install import install
from runner.manifest import load_manifest
from runner.privileges import INSTALL_ROLES, SCHEMA, Privilege, build_model, expand

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")


@pytest.fixture
def provisioned(sample_db: object) -> Iterator[tuple[object, list[str]]]:
    """Three sample tenants provisioned and migrated by the SQL path (roles dropped after)."""
    with sample_db.connect() as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")][:3]
        for t in tenants:
            admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", [t]).fetchall()
            admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", [t]).fetchall()
    try:
        yield sample_db, tenants
    finally:
        with sample_db.connect() as admin:  # type: ignore[attr-defined]
            for t in tenants:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


def _pulumi_can_declare(p: Privilege) -> bool:
    # Table owners are not declared (tables are created later, by migrate). RLS
    # policies come from the program's pulumi-command resource, which mocks do
    # not run; test_rls_command.py runs it and compares with the SQL path.
    if p.object_type in (POLICY, POLICY_CURRENT, RLS):
        return False
    # `tenancy install` makes the federated reads' owner, grants it what schema
    # tenancy holds and owns the functions.
    if p.grantee in INSTALL_ROLES and (p.object_type == ATTRIBUTE or p.schema in TOOL_SCHEMAS):
        return False
    if p.object_type == FUNCTION:
        return False
    return not (p.object_type == OWNER and p.name)


def test_pulumi_matrix_equals_the_live_matrix_after_the_sql_path(
    provisioned: tuple[object, list[str]],
) -> None:
    db, tenants = provisioned
    model = build_model(MANIFEST, tenants)
    with db.connect() as conn:  # type: ignore[attr-defined]
        live = read_catalog(conn, model, all_tenants=False)
    resources, _ = run_program(
        Settings(MANIFEST, db.name, tuple(tenants), {t: {"app": "a", "readonly": "r"} for t in tenants})  # type: ignore[attr-defined]
    )
    declared = expand(declared_facts(resources), live.objects)
    found = {p for p in live.privileges if _pulumi_can_declare(p)}
    central = MANIFEST.central_schema
    found.discard(Privilege(PUBLIC, SCHEMA, central, central, "USAGE"))  # PostgreSQL's default

    assert len(declared) > 500, "the program must declare the full matrix"
    assert sorted(declared - found) == []
    assert sorted(found - declared) == []
    # Spot checks that the comparison covers every kind of fact.
    s = model.tenants[0].schema
    assert Privilege(f"{s}_app", "table", s, "component_themes", "INSERT") in found
    assert Privilege(f"{s}_ro", "default table", s, f"{s}_owner", "SELECT") in found
    assert Privilege("tenancy_engine", "role", "", f"{s}_owner", "MEMBER") in found
    assert Privilege("tenancy_migrator", "role", "", f"{s}_owner", "MEMBER") not in found
    assert Privilege(f"{s}_owner", OWNER, s, "", "OWNER") in found
    assert Privilege(f"{s}_app", "role attribute", "", f"{s}_app", f"search_path={s}, public") in found
