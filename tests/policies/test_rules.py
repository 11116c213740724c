"""The CrossGuard pack: every policy with passing and failing resources (validate called directly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.facts import (
    COMMAND_TYPE,
    DEFAULTS_TYPE,
    GRANT_ROLE_TYPE,
    GRANT_TYPE,
    ROLE_TYPE,
    SCHEMA_TYPE,
)
from infra.mocks import Declared, run_program
from infra.program import SECRET_OUTPUTS, Settings
from policies.rules import POLICIES
from runner.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")
TENANTS = ("abc123", "def-456", "ghi789")
BY_NAME = {p.name: p for p in POLICIES}
RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICY = BY_NAME["tenant-complete-set"]


def _opts(secret_outputs: list[str] | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), secret_outputs or [])


def _args(rtype: str, props: dict[str, Any], secret_outputs: list[str] | None = None) -> ResourceValidationArgs:
    name = str(props.get("name", "res"))
    return ResourceValidationArgs(
        rtype,
        props,
        f"urn:pulumi:test::tenancy::{rtype}::{name}",
        name,
        _opts(secret_outputs),
        None,
    )


def _violations(policy_name: str, args: ResourceValidationArgs) -> list[str]:
    found: list[str] = []
    policy = BY_NAME[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def _stack_violations(resources: list[Declared]) -> list[str]:
    found: list[str] = []
    assert isinstance(STACK_POLICY, StackValidationPolicy)
    prs = [PolicyResource(r.type, r.inputs, f"urn:{r.name}", r.name, _opts(), None, None, [], {}) for r in resources]
    STACK_POLICY.validate(StackValidationArgs(prs), lambda message, urn=None: found.append(message))
    return found


def _role(name: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": name,
        "login": False,
        "superuser": False,
        "createRole": False,
        "createDatabase": False,
        "replication": False,
        "bypassRowLevelSecurity": False,
    }
    props.update(extra)
    return props


def test_the_pack_has_one_policy_per_rule_plus_the_stack_policy() -> None:
    assert sorted(BY_NAME) == [
        "login-password-from-secret",
        "no-cross-tenant-privileges",
        "no-elevated-role-attributes",
        "no-public-grants",
        "tenant-complete-set",
        "tenant-role-limits",
        "tenant-schema-names",
    ]
    assert len(RESOURCE_POLICIES) == 6


@pytest.mark.parametrize("rtype", [GRANT_TYPE, DEFAULTS_TYPE])
def test_no_public_grants(rtype: str) -> None:
    bad = {"role": "public", "schema": "public", "objectType": "table", "privileges": ["SELECT"]}
    good = {**bad, "role": "tenancy_readonly"}
    msgs = _violations("no-public-grants", _args(rtype, bad))
    assert len(msgs) == 1 and "PUBLIC" in msgs[0] and "Fix:" in msgs[0]
    assert _violations("no-public-grants", _args(rtype, good)) == []
    # A Grant with no privileges revokes; that is allowed.
    assert _violations("no-public-grants", _args(rtype, {**bad, "privileges": []})) == []


@pytest.mark.parametrize("flag", ["superuser", "createRole", "createDatabase", "replication", "bypassRowLevelSecurity"])
def test_no_elevated_role_attributes(flag: str) -> None:
    msgs = _violations("no-elevated-role-attributes", _args(ROLE_TYPE, _role("tenant_abc_app", **{flag: True})))
    assert len(msgs) == 1 and f"{flag}=False" in msgs[0]
    assert _violations("no-elevated-role-attributes", _args(ROLE_TYPE, _role("tenant_abc_app"))) == []


def test_tenant_role_limits_follow_the_manifest() -> None:
    r = MANIFEST.roles
    good = _role(
        "tenant_abc_app",
        login=True,
        connectionLimit=float(r.app_connection_limit),
        statementTimeout=float(r.statement_timeout),
        idleInTransactionSessionTimeout=float(r.idle_in_transaction_session_timeout),
    )
    assert _violations("tenant-role-limits", _args(ROLE_TYPE, good)) == []
    for change in (
        {"statementTimeout": None},
        {"idleInTransactionSessionTimeout": 0.0},
        {"connectionLimit": -1.0},
    ):
        msgs = _violations("tenant-role-limits", _args(ROLE_TYPE, {**good, **change}))
        assert len(msgs) == 1 and next(iter(change)) in msgs[0] and "Fix:" in msgs[0], change
    # Roles that are not a tenant's are not this rule's business.
    assert _violations("tenant-role-limits", _args(ROLE_TYPE, _role("tenancy_app"))) == []


@pytest.mark.parametrize("bad", ["Tenant_ABC", "abc", "tenant_", "tenant_a-b", "tenant_" + "x" * 60])
def test_tenant_schema_names_refuses_bad_names(bad: str) -> None:
    msgs = _violations("tenant-schema-names", _args(SCHEMA_TYPE, {"name": bad, "owner": "x"}))
    assert len(msgs) == 1 and "tenant_{id}" in msgs[0] and "Fix:" in msgs[0]


def test_tenant_schema_names_accepts_model_names() -> None:
    for t in TENANTS:
        schema = MANIFEST.schema_for(t)
        assert _violations("tenant-schema-names", _args(SCHEMA_TYPE, {"name": schema})) == []


@pytest.mark.parametrize(
    ("rtype", "props"),
    [
        (
            GRANT_TYPE,
            {
                "role": "tenant_abc_app",
                "schema": "tenant_def",
                "objectType": "table",
                "privileges": ["SELECT"],
            },
        ),
        (
            GRANT_TYPE,
            {
                "role": "tenant_abc_ro",
                "schema": "tenant_def",
                "objectType": "schema",
                "privileges": ["USAGE"],
            },
        ),
        (
            DEFAULTS_TYPE,
            {
                "role": "tenant_abc_app",
                "owner": "tenant_def_owner",
                "schema": "tenant_def",
                "objectType": "table",
                "privileges": ["SELECT"],
            },
        ),
        (GRANT_ROLE_TYPE, {"role": "tenant_abc_app", "grantRole": "tenant_def_owner"}),
        (SCHEMA_TYPE, {"name": "tenant_def", "owner": "tenant_abc_owner"}),
    ],
)
def test_no_cross_tenant_privileges_refuses(rtype: str, props: dict[str, Any]) -> None:
    msgs = _violations("no-cross-tenant-privileges", _args(rtype, props))
    assert len(msgs) == 1 and "tenant_def" in msgs[0] and "Fix:" in msgs[0]


@pytest.mark.parametrize(
    ("rtype", "props"),
    [
        (
            GRANT_TYPE,
            {
                "role": "tenant_abc_app",
                "schema": "tenant_abc",
                "objectType": "table",
                "privileges": ["SELECT"],
            },
        ),
        (
            GRANT_TYPE,
            {
                "role": "tenancy_app",
                "schema": "public",
                "objectType": "table",
                "privileges": ["SELECT"],
            },
        ),
        (GRANT_ROLE_TYPE, {"role": "tenancy_engine", "grantRole": "tenant_def_owner"}),
        (GRANT_ROLE_TYPE, {"role": "tenant_abc_app", "grantRole": "tenancy_app"}),
        (SCHEMA_TYPE, {"name": "tenant_def", "owner": "tenant_def_owner"}),
    ],
)
def test_no_cross_tenant_privileges_allows_own_and_shared(rtype: str, props: dict[str, Any]) -> None:
    assert _violations("no-cross-tenant-privileges", _args(rtype, props)) == []


def test_login_password_from_secret() -> None:
    policy = "login-password-from-secret"
    missing = _violations(policy, _args(ROLE_TYPE, _role("tenant_abc_app", login=True)))
    assert len(missing) == 1 and "--secret" in missing[0]
    plain_text = _violations(policy, _args(ROLE_TYPE, _role("tenant_abc_app", login=True, password="pw")))
    assert len(plain_text) == 1 and "plain config" in plain_text[0]
    as_secret = _args(ROLE_TYPE, _role("tenant_abc_app", login=True, password="pw"), SECRET_OUTPUTS)
    assert _violations(policy, as_secret) == []
    # NOLOGIN roles need no password.
    assert _violations(policy, _args(ROLE_TYPE, _role("tenant_abc_owner"))) == []


def _program() -> list[Declared]:
    passwords = {t: {"app": "a", "readonly": "r"} for t in TENANTS}
    resources, _ = run_program(Settings(MANIFEST, "alumate", TENANTS, passwords))
    assert len(resources) == 21 + 20 * len(TENANTS)
    return resources


def test_the_programs_resources_pass_every_policy() -> None:
    resources = _program()
    checked = 0
    for r in resources:
        outputs = SECRET_OUTPUTS if r.type == ROLE_TYPE and r.inputs.get("login") else []
        for policy in RESOURCE_POLICIES:
            assert _violations(policy.name, _args(r.type, r.inputs, outputs)) == [], (
                policy.name,
                r.name,
            )
            checked += 1
    assert checked == len(resources) * 6
    assert _stack_violations(resources) == []


@pytest.mark.parametrize(
    ("dropped", "schema"),
    [
        ("default-tables-tenant_def_456-tenant_def_456_ro", "tenant_def_456"),
        ("member-tenancy_engine-in-tenant_abc123_owner", "tenant_abc123"),
        ("grant-tenant_ghi789_app-schema-tenant_ghi789-usage", "tenant_ghi789"),
        ("schema-tenant_abc123", "tenant_abc123"),
        ("role-tenant_def_456_ro", "tenant_def_456"),
    ],
)
def test_stack_policy_reports_a_tenant_missing_part_of_its_set(dropped: str, schema: str) -> None:
    resources = [r for r in _program() if r.name != dropped]
    msgs = _stack_violations(resources)
    assert len(msgs) == 1, msgs
    assert f"tenant schema {schema} is incomplete, missing" in msgs[0]
    assert "Fix:" in msgs[0]


RLS = "hybrid-row-level-security"


def test_stack_policy_requires_the_rls_command() -> None:
    resources = [r for r in _program() if r.name != RLS]
    msgs = _stack_violations(resources)
    assert len(msgs) == 1, msgs
    assert "never secures them" in msgs[0] and "public.jobs" in msgs[0]
    assert "tenancy.secure_hybrid_tables()" in msgs[0] and "Fix:" in msgs[0]


def test_stack_policy_does_not_count_a_command_that_runs_something_else() -> None:
    resources = _program()
    rls = next(r for r in resources if r.name == RLS)
    other = Declared(COMMAND_TYPE, RLS, {**rls.inputs, "create": "psql -c 'SELECT 1'"})
    msgs = _stack_violations([r for r in resources if r.name != RLS] + [other])
    assert len(msgs) == 1 and "never secures them" in msgs[0]


def test_stack_policy_refuses_a_second_rls_command() -> None:
    resources = _program()
    rls = next(r for r in resources if r.name == RLS)
    msgs = _stack_violations([*resources, Declared(rls.type, "more-rls", rls.inputs)])
    assert len(msgs) == 1, msgs
    assert f"2 commands secure the hybrid tables ({RLS}, more-rls)" in msgs[0]
    assert "Fix:" in msgs[0]


def test_stack_policy_needs_no_rls_command_in_an_empty_stack() -> None:
    assert _stack_violations([]) == []
