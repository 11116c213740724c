"""verify-grants: nothing to report after a fresh provision; every added or revoked privilege is drift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runner.access.drift import ATTRIBUTE, POLICY, POLICY_CURRENT, RLS, Drift, verify
from runner.cli import main
from runner.engine.install import install
from runner.manifest import load_manifest
from runner.privileges import MEMBER, ROLE, Privilege, build_model

REPO = Path(__file__).resolve().parents[3]
MANIFEST = load_manifest(REPO / "tenancy.toml")


@pytest.fixture
def provisioned(sample_db: object) -> Iterator[tuple[object, list[str]]]:
    """Every sample tenant provisioned by `tenancy provision`; their roles dropped after."""
    with sample_db.connect() as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
    dsn = sample_db.dsn  # type: ignore[attr-defined]
    assert main(["provision", "--dsn", dsn, "--manifest", str(REPO / "tenancy.toml")]) == 0
    try:
        yield sample_db, tenants
    finally:
        with sample_db.connect() as admin:  # type: ignore[attr-defined]
            for t in tenants:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


def _verify(db: object, tenants: list[str], all_tenants: bool = True) -> list[Drift]:
    with db.connect() as conn:  # type: ignore[attr-defined]
        return verify(conn, build_model(MANIFEST, tenants), all_tenants=all_tenants)


def _cli(db: object, *extra: str) -> int:
    return main(["verify-grants", "--dsn", db.dsn, "--manifest", str(REPO / "tenancy.toml"), *extra])  # type: ignore[attr-defined]


def test_fresh_provision_has_no_drift(provisioned: tuple[object, list[str]]) -> None:
    db, tenants = provisioned
    assert len(tenants) >= 3
    assert _verify(db, tenants) == []
    assert _verify(db, tenants[:1], all_tenants=False) == []
    assert _cli(db) == 0
    assert _cli(db, "--tenant", tenants[1]) == 0


def test_a_grant_to_another_tenants_role_is_extra(provisioned: tuple[object, list[str]]) -> None:
    db, tenants = provisioned
    a, b = (build_model(MANIFEST, tenants).tenant(t) for t in tenants[:2])
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(f"GRANT SELECT ON {a.schema}.courses TO {b.app.name}")
    drift = _verify(db, tenants)
    assert drift == [Drift(a.tenant_id, "extra", Privilege(b.app.name, "table", a.schema, "courses", "SELECT"))]
    # Seen from either tenant alone too.
    assert len(_verify(db, [a.tenant_id], all_tenants=False)) == 1
    assert len(_verify(db, [b.tenant_id], all_tenants=False)) == 1
    assert _cli(db) == 1
    assert _cli(db, "--tenant", b.tenant_id) == 1
    assert _cli(db, "--tenant", tenants[2]) == 0


def test_a_revoked_privilege_is_missing(provisioned: tuple[object, list[str]]) -> None:
    db, tenants = provisioned
    a = build_model(MANIFEST, tenants).tenant(tenants[0])
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(f"REVOKE UPDATE ON {a.schema}.graduates FROM {a.app.name}")
        conn.execute(f"REVOKE USAGE ON SCHEMA {a.schema} FROM {a.readonly.name}")
    drift = _verify(db, tenants)
    assert drift == sorted(
        [
            Drift(
                a.tenant_id,
                "missing",
                Privilege(a.app.name, "table", a.schema, "graduates", "UPDATE"),
            ),
            Drift(
                a.tenant_id,
                "missing",
                Privilege(a.readonly.name, "schema", a.schema, a.schema, "USAGE"),
            ),
        ]
    )
    assert _cli(db, "--tenant", a.tenant_id) == 1
    # Provisioning again repairs it.
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", [a.tenant_id]).fetchall()
    assert _verify(db, tenants) == []


def test_role_flags_memberships_owners_defaults_and_rls_are_checked(
    provisioned: tuple[object, list[str]],
) -> None:
    db, tenants = provisioned
    a = build_model(MANIFEST, tenants).tenant(tenants[0])
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(f"ALTER ROLE {a.app.name} CREATEDB")
        conn.execute(f"REVOKE tenancy_readonly FROM {a.readonly.name}")
        conn.execute(f"ALTER TABLE {a.schema}.courses OWNER TO postgres")
        conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {a.owner.name} IN SCHEMA {a.schema}"
            f" REVOKE DELETE ON TABLES FROM {a.app.name}"
        )
        conn.execute("DROP POLICY tenancy_tenant_delete ON public.leads")
        conn.execute("ALTER TABLE public.employers DISABLE ROW LEVEL SECURITY")
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    facts = {(d.status, d.fact) for d in _verify(db, tenants)}
    assert ("extra", Privilege(a.app.name, ATTRIBUTE, "", a.app.name, "CREATEDB")) in facts
    assert ("missing", Privilege(a.app.name, ATTRIBUTE, "", a.app.name, "NOCREATEDB")) in facts
    assert ("missing", Privilege(a.readonly.name, ROLE, "", "tenancy_readonly", MEMBER)) in facts
    assert ("extra", Privilege("postgres", "owner", a.schema, "courses", "OWNER")) in facts
    assert ("missing", Privilege(a.owner.name, "owner", a.schema, "courses", "OWNER")) in facts
    assert (
        "missing",
        Privilege(a.app.name, "default table", a.schema, a.owner.name, "DELETE"),
    ) in facts
    assert (
        "missing",
        Privilege("tenancy_app", POLICY, "public", "leads.tenancy_tenant_delete", "DELETE"),
    ) in facts
    assert ("missing", Privilege("", RLS, "public", "employers", "ENABLED")) in facts
    assert ("extra", Privilege("PUBLIC", "schema", "public", "public", "CREATE")) in facts


def test_verify_grants_refuses_a_bad_tenant_id(provisioned: tuple[object, list[str]]) -> None:
    db, _ = provisioned
    assert _cli(db, "--tenant", "Robert'); DROP TABLE tenants;--") == 2
    with db.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute("SELECT to_regclass('public.tenants') IS NOT NULL").fetchone() == (True,)
    with db.connect() as conn:  # type: ignore[attr-defined]
        with pytest.raises(psycopg.Error) as err:
            conn.execute("SELECT * FROM tenancy.provision_tenant('x y')")
        assert err.value.sqlstate == "TY001"


def test_what_the_attack_suite_relies_on_is_drift_when_changed_by_hand(
    provisioned: tuple[object, list[str]],
) -> None:
    db, tenants = provisioned
    a = build_model(MANIFEST, tenants).tenant(tenants[0])
    fed_fn = "search_graduates(text,integer,text,text[],integer)"
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(f"ALTER ROLE {a.app.name} RESET statement_timeout")
        conn.execute(f"ALTER ROLE {a.readonly.name} SET lock_timeout = 0")
        conn.execute("GRANT EXECUTE ON FUNCTION tenancy.require_installed() TO PUBLIC")
        conn.execute(f"ALTER FUNCTION tenancy_federation.{fed_fn} OWNER TO postgres")
        conn.execute("GRANT TEMPORARY ON DATABASE " + conn.info.dbname + " TO PUBLIC")
        # The insert policy without its tenant-safe reference check on employer_id.
        conn.execute(
            "ALTER POLICY tenancy_tenant_insert ON public.jobs WITH CHECK (tenant_id = tenancy.current_tenant_id())"
        )
        conn.execute("DROP POLICY tenancy_tenant_select ON public.users")
        conn.execute("REVOKE EXECUTE ON FUNCTION tenancy.current_tenant_id() FROM tenancy_readonly")
        conn.execute("GRANT USAGE ON SCHEMA tenancy TO tenancy_app")
        conn.execute("GRANT SELECT ON public.permissions TO tenancy_app")
        conn.execute("REVOKE SELECT (name) ON public.companies FROM tenancy_readonly")
        conn.execute("GRANT SELECT (website) ON public.companies TO tenancy_readonly")
    facts = {(d.status, d.fact) for d in _verify(db, tenants)}
    attr = ATTRIBUTE
    assert ("missing", Privilege(a.app.name, attr, "", a.app.name, "statement_timeout=60000")) in facts
    assert ("missing", Privilege(a.readonly.name, attr, "", a.readonly.name, "lock_timeout=10000")) in facts
    assert ("extra", Privilege(a.readonly.name, attr, "", a.readonly.name, "lock_timeout=0")) in facts
    assert ("extra", Privilege("PUBLIC", "function", "tenancy", "require_installed()", "EXECUTE")) in facts
    assert ("extra", Privilege("postgres", "owner", "tenancy_federation", fed_fn, "OWNER")) in facts
    assert (
        "missing",
        Privilege("tenancy_federation_owner", "owner", "tenancy_federation", fed_fn, "OWNER"),
    ) in facts
    assert ("extra", Privilege("PUBLIC", "database", "", "", "TEMPORARY")) in facts
    assert ("missing", Privilege("", POLICY_CURRENT, "public", "jobs.tenancy_tenant_insert", "CURRENT")) in facts
    assert (
        "missing",
        Privilege("tenancy_readonly", POLICY, "public", "users.tenancy_tenant_select", "SELECT"),
    ) in facts
    assert ("missing", Privilege("tenancy_app", POLICY, "public", "users.tenancy_tenant_select", "SELECT")) in facts
    assert ("missing", Privilege("", POLICY_CURRENT, "public", "users.tenancy_tenant_select", "CURRENT")) in facts
    assert (
        "missing",
        Privilege("tenancy_readonly", "function", "tenancy", "current_tenant_id()", "EXECUTE"),
    ) in facts
    assert ("extra", Privilege("tenancy_app", "schema", "tenancy", "tenancy", "USAGE")) in facts
    assert ("extra", Privilege("tenancy_app", "table", "public", "permissions", "SELECT")) in facts
    assert ("missing", Privilege("tenancy_readonly", "column", "public", "companies.name", "SELECT")) in facts
    assert ("extra", Privilege("tenancy_readonly", "column", "public", "companies.website", "SELECT")) in facts
    assert len(facts) == 16, sorted(facts)
    # Provisioning and installing again repair all of it.
    with db.connect() as conn:  # type: ignore[attr-defined]
        install(conn, MANIFEST)  # same version: a no-op, so apply the hardening by hand
        conn.execute("REVOKE EXECUTE ON FUNCTION tenancy.require_installed() FROM PUBLIC")
        conn.execute(f"ALTER FUNCTION tenancy_federation.{fed_fn} OWNER TO tenancy_federation_owner")
        conn.execute("REVOKE SELECT ON public.permissions FROM tenancy_app")
        conn.execute("REVOKE SELECT (website) ON public.companies FROM tenancy_readonly")
        conn.execute("REVOKE USAGE ON SCHEMA tenancy FROM tenancy_app")
        for t in tenants:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", [t]).fetchall()
    assert _verify(db, tenants) == []
