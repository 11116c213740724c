"""The Pulumi program under pulumi.runtime.set_mocks (preview=False): exactly what it declares."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pulumi
import pytest

from infra.mocks import Declared, is_secret, plain, run_program
from infra.program import Settings, settings_from_config
from runner.errors import ManifestError
from runner.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")
TENANTS = ("abc123", "def-456", "ghi789")
PASSWORDS = {t: {"app": f"app-{t}", "readonly": f"ro-{t}"} for t in TENANTS}

ROLE = "postgresql:index/role:Role"
SCHEMA = "postgresql:index/schema:Schema"
GRANT = "postgresql:index/grant:Grant"
DEFAULTS = "postgresql:index/defaultPrivileges:DefaultPrivileges"
MEMBER = "postgresql:index/grantRole:GrantRole"
COMMAND = "command:local:Command"

DML = ["DELETE", "INSERT", "SELECT", "UPDATE"]


def _declared() -> list[Declared]:
    resources, _ = run_program(Settings(MANIFEST, "alumate", TENANTS, PASSWORDS))
    return resources


def _by_name(resources: list[Declared]) -> dict[str, Declared]:
    out = {r.name: r for r in resources}
    assert len(out) == len(resources), "logical names must be unique"
    return out


def _inputs(r: Declared) -> dict[str, object]:
    return {k: plain(v) for k, v in r.inputs.items() if k != "password"}


def test_exact_resource_set_for_three_tenants() -> None:
    got = {(r.type, r.name) for r in _declared()}
    expected: set[tuple[str, str]] = set()
    for role in ("tenancy_migrator", "tenancy_app", "tenancy_readonly"):
        expected.add((ROLE, f"role-{role}"))
        expected.add((GRANT, f"grant-{role}-schema-public-usage"))
    expected |= {
        # The migrator reads the registry; the engine (made by `tenancy install`) does the work.
        (GRANT, "grant-tenancy_migrator-table-public-select"),
        (GRANT, "grant-tenancy_engine-schema-public-usage"),
        (GRANT, "grant-tenancy_engine-table-public-delete-insert-select"),
        (GRANT, "grant-tenancy_engine-table-public-references"),
        (GRANT, "grant-tenancy_engine-table-public-references-select"),
        (GRANT, "grant-tenancy_app-table-public-select"),
        (GRANT, "grant-tenancy_app-table-public-delete-insert-select-update"),
        (GRANT, "grant-tenancy_app-sequence-public-usage"),
        (GRANT, "grant-tenancy_readonly-table-public-select"),
        # companies is opened by column only.
        (GRANT, "grant-tenancy_app-column-public-companies"),
        (GRANT, "grant-tenancy_readonly-column-public-companies"),
        # The owner of the federated reads: made by `tenancy install`, granted here.
        (GRANT, "grant-tenancy_federation_owner-schema-public-usage"),
        (GRANT, "grant-tenancy_federation_owner-table-public-select"),
        # Row-level security on the hybrid tables, once per stack (test_rls_command.py).
        (COMMAND, "hybrid-row-level-security"),
        # lock_timeout of the tenant login roles (the provider has no argument for it).
        (COMMAND, "tenant-role-settings"),
    }
    for s in ("tenant_abc123", "tenant_def_456", "tenant_ghi789"):
        expected.add((SCHEMA, f"schema-{s}"))
        for kind in ("owner", "app", "ro"):
            expected.add((ROLE, f"role-{s}_{kind}"))
        for kind in ("app", "ro"):
            expected.add((GRANT, f"grant-{s}_{kind}-schema-{s}-usage"))
            expected.add((GRANT, f"grant-{s}_{kind}-table-{s}-all"))
            expected.add((GRANT, f"grant-{s}_{kind}-sequence-{s}-all"))
            expected.add((DEFAULTS, f"default-tables-{s}-{s}_{kind}"))
            expected.add((DEFAULTS, f"default-sequences-{s}-{s}_{kind}"))
        expected.add((MEMBER, f"member-{s}_app-in-tenancy_app"))
        expected.add((MEMBER, f"member-{s}_ro-in-tenancy_readonly"))
        expected.add((MEMBER, f"member-tenancy_engine-in-{s}_owner"))
        expected.add((GRANT, f"grant-tenancy_federation_owner-schema-{s}-usage"))
        expected.add((GRANT, f"grant-tenancy_federation_owner-table-{s}-all"))
        expected.add((DEFAULTS, f"default-tables-{s}-tenancy_federation_owner"))
    assert len(expected) == 21 + 3 * 20
    assert got == expected


def test_schemas_are_owned_by_the_tenant_owner_role() -> None:
    r = _by_name(_declared())
    assert _inputs(r["schema-tenant_def_456"]) == {
        "name": "tenant_def_456",
        "database": "alumate",
        "owner": "tenant_def_456_owner",
        "ifNotExists": True,
    }


def test_roles_have_login_limits_search_path_and_no_powers() -> None:
    r = _by_name(_declared())
    owner = _inputs(r["role-tenant_abc123_owner"])
    app = _inputs(r["role-tenant_abc123_app"])
    ro = _inputs(r["role-tenant_abc123_ro"])
    assert owner["login"] is False and "password" not in r["role-tenant_abc123_owner"].inputs
    assert app["login"] is True and ro["login"] is True
    assert app["connectionLimit"] == MANIFEST.roles.app_connection_limit
    assert ro["connectionLimit"] == MANIFEST.roles.readonly_connection_limit
    for spec in (app, ro):
        assert spec["statementTimeout"] == MANIFEST.roles.statement_timeout
        assert spec["idleInTransactionSessionTimeout"] == (MANIFEST.roles.idle_in_transaction_session_timeout)
    assert "statementTimeout" not in owner
    script = plain(r["tenant-role-settings"].inputs["create"])
    assert f'ALTER ROLE "tenant_abc123_app" SET lock_timeout = {MANIFEST.roles.lock_timeout};' in script
    assert "tenant_abc123_owner" not in script
    for spec in (owner, app, ro):
        assert spec["searchPaths"] == ["tenant_abc123", "public"]
        for power in ("superuser", "createDatabase", "createRole", "replication"):
            assert spec[power] is False
        assert spec["bypassRowLevelSecurity"] is False
    # Passwords come from config and stay secret in state.
    assert is_secret(r["role-tenant_abc123_app"].inputs["password"])
    assert plain(r["role-tenant_abc123_app"].inputs["password"]) == "app-abc123"
    assert plain(r["role-tenant_abc123_ro"].inputs["password"]) == "ro-abc123"


def test_tenant_grants_and_default_privileges() -> None:
    r = _by_name(_declared())
    s = "tenant_ghi789"
    assert _inputs(r[f"grant-{s}_app-table-{s}-all"]) == {
        "database": "alumate",
        "role": f"{s}_app",
        "schema": s,
        "objectType": "table",
        "privileges": DML,
    }
    assert _inputs(r[f"grant-{s}_ro-table-{s}-all"])["privileges"] == ["SELECT"]
    assert _inputs(r[f"grant-{s}_app-sequence-{s}-all"])["privileges"] == ["SELECT", "USAGE"]
    assert _inputs(r[f"grant-{s}_ro-schema-{s}-usage"])["privileges"] == ["USAGE"]
    assert _inputs(r[f"default-tables-{s}-{s}_app"]) == {
        "database": "alumate",
        "schema": s,
        "owner": f"{s}_owner",
        "role": f"{s}_app",
        "objectType": "table",
        "privileges": DML,
    }
    assert _inputs(r[f"default-sequences-{s}-{s}_ro"])["privileges"] == ["SELECT"]
    assert _inputs(r[f"member-tenancy_engine-in-{s}_owner"]) == {
        "role": "tenancy_engine",
        "grantRole": f"{s}_owner",
    }
    assert f"member-tenancy_migrator-in-{s}_owner" not in r


def test_shared_grants_cover_reference_and_hybrid_tables_only() -> None:
    r = _by_name(_declared())
    app_ref = _inputs(r["grant-tenancy_app-table-public-select"])
    visible = sorted(t for t in MANIFEST.central if MANIFEST.access(t).mode not in ("none", "columns"))
    assert app_ref["objects"] == visible and "permissions" not in visible
    assert _inputs(r["grant-tenancy_app-column-public-companies"]) == {
        "database": "alumate",
        "role": "tenancy_app",
        "schema": "public",
        "objectType": "column",
        "objects": ["companies"],
        "columns": ["id", "name"],
        "privileges": ["SELECT"],
    }
    hybrid = _inputs(r["grant-tenancy_app-table-public-delete-insert-select-update"])
    assert hybrid["objects"] == sorted(MANIFEST.hybrid)
    ro = _inputs(r["grant-tenancy_readonly-table-public-select"])
    assert ro["objects"] == sorted(set(visible) | set(MANIFEST.hybrid))
    engine = _inputs(r["grant-tenancy_engine-table-public-delete-insert-select"])
    assert engine["objects"] == sorted(MANIFEST.move)
    # The registry is read and referenced; the other central tables referenced.
    registry = _inputs(r["grant-tenancy_engine-table-public-references-select"])
    assert registry["objects"] == [MANIFEST.registry.table]
    assert _inputs(r["grant-tenancy_migrator-table-public-select"])["objects"] == [MANIFEST.registry.table]
    referenced = _inputs(r["grant-tenancy_engine-table-public-references"])
    assert referenced["objects"] == sorted((set(MANIFEST.central) | set(MANIFEST.hybrid)) - {MANIFEST.registry.table})
    # No tenant role is granted anything on a moved table's central copy.
    for res in r.values():
        if res.type == GRANT and res.inputs.get("schema") == "public":
            assert not str(res.inputs["role"]).startswith("tenant_")


def test_no_tenant_role_is_granted_on_another_tenants_schema() -> None:
    for res in _declared():
        if res.type in (GRANT, DEFAULTS) and str(res.inputs["schema"]).startswith("tenant_"):
            role = str(res.inputs["role"])
            # The federated reads' owner reads every tenant; it is no tenant's role.
            assert role.startswith(str(res.inputs["schema"]) + "_") or role == "tenancy_federation_owner"


@pytest.mark.parametrize("bad", ["Bad", "../x", "a b", "", "x" * 60, "-lead"])
def test_bad_tenant_name_is_refused(bad: str) -> None:
    with pytest.raises(ManifestError):
        run_program(Settings(MANIFEST, "alumate", (bad,), {bad: {"app": "p", "readonly": "p"}}))


def test_a_login_role_without_a_configured_password_is_refused() -> None:
    with pytest.raises(ManifestError, match="tenant_abc123_ro") as err:
        run_program(Settings(MANIFEST, "alumate", ("abc123",), {"abc123": {"app": "p"}}))
    assert "--secret --path 'tenancy:passwords.abc123.readonly'" in err.value.hint


def test_exports_name_schema_and_roles_per_tenant() -> None:
    _, built = run_program(Settings(MANIFEST, "alumate", TENANTS, PASSWORDS))
    exports = built.exports()
    assert sorted(exports) == sorted(TENANTS)
    assert exports["def-456"] == {
        "schema": "tenant_def_456",
        "owner_role": "tenant_def_456_owner",
        "app_role": "tenant_def_456_app",
        "readonly_role": "tenant_def_456_ro",
    }


def _set_config(values: dict[str, object], secrets: list[str]) -> None:
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, secrets)


def test_tenants_come_from_stack_config() -> None:
    try:
        _set_config(
            {
                "tenancy:database": "alumate",
                "tenancy:tenants": ["abc123", "def-456"],
                "tenancy:passwords": PASSWORDS,
            },
            ["tenancy:passwords"],
        )
        settings = settings_from_config()
    finally:
        pulumi.runtime.set_all_config({})
    assert settings.tenants == ("abc123", "def-456")
    assert settings.database == "alumate"
    assert settings.manifest.registry.table == "tenants"


def test_without_tenants_in_config_the_registry_is_read(blank_db: object) -> None:
    db = blank_db
    with db.connect() as conn:  # type: ignore[attr-defined]
        conn.execute("CREATE TABLE public.tenants (id text PRIMARY KEY, name text)")
        conn.execute("INSERT INTO public.tenants VALUES ('zz9', 'Z'), ('aa1', 'A')")
        host, port, user = conn.info.host, conn.info.port, conn.info.user
    try:
        _set_config(
            {
                "tenancy:database": db.name,  # type: ignore[attr-defined]
                "postgresql:host": host,
                "postgresql:port": str(port),
                "postgresql:username": user,
            },
            [],
        )
        settings = settings_from_config()
    finally:
        pulumi.runtime.set_all_config({})
    assert settings.tenants == ("aa1", "zz9")
    # A stack whose database cannot be reached fails loudly instead of declaring nothing.
    with pytest.raises(psycopg.OperationalError):
        try:
            _set_config(
                {
                    "tenancy:database": "no_such_db",
                    "postgresql:host": host,
                    "postgresql:port": str(port),
                    "postgresql:username": user,
                },
                [],
            )
            settings_from_config()
        finally:
            pulumi.runtime.set_all_config({})
