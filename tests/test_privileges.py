"""The privilege model (pure Python): names, roles, the matrix, and the [roles] manifest section."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from runner.errors import ManifestError
from runner.manifest import load_manifest, parse_manifest
from runner.privileges import (
    ALL,
    MEMBER,
    ROLE,
    Ownership,
    Privilege,
    build_model,
    expand,
    max_tenant_id_bytes,
    sql_context,
)

REPO = Path(__file__).resolve().parents[1]
MANIFEST = load_manifest(REPO / "tenancy.toml")


def _doc() -> dict[str, object]:
    return tomllib.loads((REPO / "tenancy.toml").read_text())


def test_tenant_plan_names_schema_and_roles() -> None:
    plan = build_model(MANIFEST, ["abc-1"]).tenant("abc-1")
    assert plan.schema == "tenant_abc_1"
    assert (plan.owner.name, plan.app.name, plan.readonly.name) == (
        "tenant_abc_1_owner",
        "tenant_abc_1_app",
        "tenant_abc_1_ro",
    )
    assert (plan.owner.login, plan.app.login, plan.readonly.login) == (False, True, True)
    assert plan.app.search_path == ("tenant_abc_1", "public")
    assert plan.owner.search_path == ("tenant_abc_1", "public")
    assert plan.app.connection_limit == 20 and plan.readonly.connection_limit == 5
    assert plan.ownerships == (
        Ownership("schema", "tenant_abc_1", "tenant_abc_1", "tenant_abc_1_owner"),
        Ownership("table", "tenant_abc_1", ALL, "tenant_abc_1_owner"),
        Ownership("sequence", "tenant_abc_1", ALL, "tenant_abc_1_owner"),
    )


def test_tenant_privilege_matrix_is_exactly_this() -> None:
    s = "tenant_t1"
    plan = build_model(MANIFEST, ["t1"]).tenant("t1")
    app, ro, owner = f"{s}_app", f"{s}_ro", f"{s}_owner"
    expected = {
        Privilege(app, "schema", s, s, "USAGE"),
        Privilege(ro, "schema", s, s, "USAGE"),
        *(Privilege(app, "table", s, ALL, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")),
        Privilege(ro, "table", s, ALL, "SELECT"),
        *(Privilege(app, "sequence", s, ALL, p) for p in ("SELECT", "USAGE")),
        Privilege(ro, "sequence", s, ALL, "SELECT"),
        *(Privilege(app, "default table", s, owner, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")),
        Privilege(ro, "default table", s, owner, "SELECT"),
        *(Privilege(app, "default sequence", s, owner, p) for p in ("SELECT", "USAGE")),
        Privilege(ro, "default sequence", s, owner, "SELECT"),
        Privilege(app, ROLE, "", "tenancy_app", MEMBER),
        Privilege(ro, ROLE, "", "tenancy_readonly", MEMBER),
        Privilege("tenancy_engine", ROLE, "", owner, MEMBER),
        # The owner of the federated reads reads the tenant's tables, nothing more.
        Privilege("tenancy_federation_owner", "schema", s, s, "USAGE"),
        Privilege("tenancy_federation_owner", "table", s, ALL, "SELECT"),
        Privilege("tenancy_federation_owner", "default table", s, owner, "SELECT"),
    }
    assert set(plan.privileges) == expected
    assert len(plan.privileges) == len(expected)


def test_shared_plan_reads_reference_writes_hybrid_and_never_touches_moved_copies() -> None:
    shared = build_model(MANIFEST, []).shared
    by_role: dict[str, set[tuple[str, str, str]]] = {}
    for p in shared.privileges:
        by_role.setdefault(p.grantee, set()).add((p.object_type, p.name, p.privilege))
    app, ro = by_role["tenancy_app"], by_role["tenancy_readonly"]
    mig, eng = by_role["tenancy_migrator"], by_role["tenancy_engine"]
    # The migrator reads the registry (to list tenants), nothing else: the engine does the work.
    assert mig == {("schema", "public", "USAGE"), ("table", "tenants", "SELECT")}
    for t in MANIFEST.central:
        readable = MANIFEST.access(t).mode not in ("none", "columns")
        assert (("table", t, "SELECT") in app) is readable and (("table", t, "SELECT") in ro) is readable
        assert not {("table", t, w) for w in ("INSERT", "UPDATE", "DELETE")} & (app | ro)
    assert ("table", "permissions", "SELECT") not in app
    # companies: its id and name only, no website.
    assert {n for k, n, _ in app if k == "column"} == {"companies.id", "companies.name"}
    for t in MANIFEST.hybrid:
        assert {("table", t, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")} <= app
        assert ("table", t, "SELECT") in ro and ("table", t, "INSERT") not in ro
        assert ("sequence", f"{t}_id_seq", "USAGE") in app
    for t in MANIFEST.move:
        assert not any(name == t for _, name, _ in app | ro)
        # Read, delete and copy back on a rollback after cutover; never UPDATE or TRIGGER.
        assert {p for k, n, p in eng if (k, n) == ("table", t)} == {"DELETE", "INSERT", "SELECT"}
    # On the central tables that stay it only reads the registry and references.
    for t in {*MANIFEST.central, *MANIFEST.hybrid}:
        assert {p for k, n, p in eng if (k, n) == ("table", t)} <= {"SELECT", "REFERENCES"}
    # Tenant tables keep their foreign keys to the central tables.
    for t in {*MANIFEST.central, MANIFEST.registry.table}:
        assert ("table", t, "REFERENCES") in eng
    assert {p for _, _, p in eng} == {"SELECT", "USAGE", "REFERENCES", "INSERT", "DELETE"}
    assert not any(p.privilege == "CREATE" for p in shared.privileges)
    fed = by_role["tenancy_federation_owner"]
    assert fed == {("schema", "public", "USAGE")} | {
        ("table", t, "SELECT") for t in ("institutions", "jobs", "roles", "tenants", "users")
    }
    # RLS: reads see own + public rows, writes only the app group.
    policies = {(p.table, p.command): p for p in shared.row_policies if p.name.startswith("tenancy_tenant")}
    assert len([p for p in policies if p[0] in MANIFEST.hybrid]) == 4 * len(MANIFEST.hybrid)
    assert policies[("jobs", "SELECT")].public_column == "is_public"
    assert policies[("leads", "SELECT")].public_column is None
    assert policies[("jobs", "DELETE")].roles == ("tenancy_app",)
    assert policies[("jobs", "SELECT")].roles == ("tenancy_app", "tenancy_readonly")
    # Row-filtered central tables: read policies only, the mapping from the manifest.
    users = policies[("users", "SELECT")]
    assert users.access is not None and users.access.via_table == "institutions"
    assert not any(t == "users" and c != "SELECT" for t, c in policies)
    # The federation owner: public rows of the hybrid tables it reads, all rows of filtered ones.
    fed_policies = {p.table: p.scope for p in shared.row_policies if p.roles == ("tenancy_federation_owner",)}
    assert fed_policies == {"jobs": "public", "users": "all", "institutions": "all", "tenants": "all"}
    # The migrator and the engine check rows against the registry: they see all of it.
    for role in ("tenancy_migrator", "tenancy_engine"):
        assert [(p.table, p.scope) for p in shared.row_policies if p.roles == (role,)] == [("tenants", "all")]


def test_role_attributes_and_settings_live_in_the_model() -> None:
    plan = build_model(MANIFEST, ["t1"]).tenant("t1")
    # A login role is created NOLOGIN: it logs in once given a credential, which also decides its LOGIN.
    assert plan.app.login and plan.app.credential and plan.readonly.credential
    assert plan.app.attributes() == (
        "NOLOGIN",
        "NOSUPERUSER",
        "NOCREATEDB",
        "NOCREATEROLE",
        "NOREPLICATION",
        "NOBYPASSRLS",
        "INHERIT",
        "CONNECTION LIMIT 20",
    )
    assert plan.app.kept_attributes() == plan.app.attributes()[1:]
    assert not plan.owner.credential and plan.owner.kept_attributes() == plan.owner.attributes()
    assert plan.owner.attributes()[0] == "NOLOGIN" and plan.owner.settings == ()
    assert dict(plan.app.settings) == {
        "statement_timeout": "60000",
        "lock_timeout": "10000",
        "idle_in_transaction_session_timeout": "60000",
    }
    doc = _doc()
    doc["roles"] = {"statement_timeout": 0, "lock_timeout": 2500}
    ro = build_model(parse_manifest(doc), ["t1"]).tenant("t1").readonly
    assert dict(ro.settings) == {"lock_timeout": "2500", "idle_in_transaction_session_timeout": "60000"}


def test_no_tenant_role_has_privileges_on_another_tenants_schema() -> None:
    model = build_model(MANIFEST, ["a", "b", "c"])
    for t in model.tenants:
        own = {r.name for r in t.roles}
        for p in model.privileges:
            if p.grantee in own and p.schema:
                assert p.schema == t.schema, p


@pytest.mark.parametrize("bad", ["", "A", "a b", "../x", "a;drop", "-x", "é"])
def test_bad_tenant_ids_are_refused(bad: str) -> None:
    with pytest.raises(ManifestError):
        build_model(MANIFEST, [bad])


def test_ids_too_long_for_role_names_are_refused() -> None:
    longest = max_tenant_id_bytes(MANIFEST)
    assert longest == 63 - len("tenant_") - len("_owner")
    build_model(MANIFEST, ["a" * longest])
    with pytest.raises(ManifestError, match="role names"):
        build_model(MANIFEST, ["a" * (longest + 1)])


def test_ids_sharing_a_schema_are_refused() -> None:
    with pytest.raises(ManifestError, match="both map to schema"):
        build_model(MANIFEST, ["a-b", "a_b"])


def test_expand_spells_out_every_object_and_keeps_named_rows() -> None:
    rows = [
        Privilege("r", "table", "s", ALL, "SELECT"),
        Privilege("r", "sequence", "s", ALL, "USAGE"),
        Privilege("r", "table", "p", "t", "SELECT"),
    ]
    objects = {("table", "s"): ("x", "y"), ("sequence", "s"): ("x_id_seq",)}
    assert expand(rows, objects) == {
        Privilege("r", "table", "s", "x", "SELECT"),
        Privilege("r", "table", "s", "y", "SELECT"),
        Privilege("r", "sequence", "s", "x_id_seq", "USAGE"),
        Privilege("r", "table", "p", "t", "SELECT"),
    }
    assert expand(rows[:1], {}) == set()


def test_roles_section_defaults_when_absent_and_can_be_set() -> None:
    assert "roles" not in _doc()
    assert MANIFEST.roles.app == "{schema}_app"
    doc = _doc()
    doc["roles"] = {
        "owner": "own_{schema}",
        "app": "{schema}_rw",
        "readonly": "{schema}_r",
        "app_connection_limit": 50,
        "readonly_connection_limit": -1,
        "migrator": "mover",
    }
    m = parse_manifest(doc)
    plan = build_model(m, ["x"]).tenant("x")
    assert (plan.owner.name, plan.app.name, plan.readonly.name) == (
        "own_tenant_x",
        "tenant_x_rw",
        "tenant_x_r",
    )
    assert plan.app.connection_limit == 50 and plan.readonly.connection_limit == -1
    # The migrator holds no tenant owner role, whatever its name; the engine holds them.
    assert not [p for p in plan.privileges if p.grantee == "mover"]
    assert Privilege("tenancy_engine", ROLE, "", "own_tenant_x", MEMBER) in plan.privileges
    ctx = sql_context(m)
    role_sql = ctx["role_sql"]
    assert callable(role_sql)
    assert role_sql("owner", "v_schema") == "'own_' || v_schema"
    assert role_sql("app", "v_schema") == "v_schema || '_rw'"


@pytest.mark.parametrize(
    "roles",
    [
        {"app": "app"},
        {"app": "{schema}"},
        {"app": "{schema}_{schema}"},
        {"app": "{schema}-app"},
        {"app": "{schema}_x", "readonly": "{schema}_x"},
        {"app_connection_limit": -2},
        {"app_connection_limit": True},
        {"migrator": "Bad Name"},
        {"migrator": "tenancy_app"},
        {"unknown": 1},
        {"statement_timeout": "60s"},
        {"lock_timeout": -1},
        {"idle_in_transaction_session_timeout": True},
        {"revoke_public_temp": "yes"},
    ],
)
def test_bad_roles_sections_are_refused(roles: dict[str, object]) -> None:
    doc = _doc()
    doc["roles"] = roles
    with pytest.raises(ManifestError, match=r"\[roles\]"):
        parse_manifest(doc)
