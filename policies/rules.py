"""CrossGuard rules for tenancy stacks: one ResourceValidationPolicy per rule, one stack policy.

Every rule reads the same manifest and privilege model (runner/privileges.py)
as the program, so "a tenant's schema", "a tenant role" and "the complete set"
mean the same thing here, in infra/ and in the SQL path. Each message says
how to fix the resource. Tests call each policy's ``validate`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
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
    ROLE_SETTINGS,
    ROLE_TYPE,
    SCHEMA_TYPE,
    is_secret,
    plain,
    resource_facts,
    secures_hybrid_tables,
)
from runner.access.drift import OWNER, describe
from runner.errors import ManifestError
from runner.manifest import Manifest, load_manifest
from runner.privileges import FORBIDDEN_ATTRIBUTES, Privilege, shared_plan, tenant_plan

REPO = Path(__file__).resolve().parent.parent
ReportViolation = Callable[[str, str | None], None]

# Role input of pulumi-postgresql -> attribute the model forbids (FORBIDDEN_ATTRIBUTES).
_ROLE_INPUTS = {
    "superuser": "superuser",
    "createrole": "createRole",
    "createdb": "createDatabase",
    "replication": "replication",
    "bypassrls": "bypassRowLevelSecurity",
}
POWERS = {_ROLE_INPUTS[a]: a.upper() for a in FORBIDDEN_ATTRIBUTES}


def manifest() -> Manifest:
    """The manifest the stack was built from: $TENANCY_MANIFEST, else tenancy.toml at the root."""
    return load_manifest(os.environ.get("TENANCY_MANIFEST") or REPO / "tenancy.toml")


def tenant_schema_of_role(m: Manifest, role: str) -> str | None:
    """The tenant schema a tenant role belongs to, or None for any other role."""
    for pattern in (m.roles.owner, m.roles.app, m.roles.readonly):
        before, after = pattern.split("{schema}")
        if role.startswith(before) and role.endswith(after) and len(role) > len(before + after):
            schema = role[len(before) : len(role) - len(after)]
            if is_tenant_schema(m, schema):
                return schema
    return None


def is_tenant_schema(m: Manifest, schema: str) -> bool:
    return m.tenant_part(schema) is not None


def _props(args: ResourceValidationArgs) -> dict[str, Any]:
    return {k: plain(v) for k, v in args.props.items()}


# -- one rule each ---------------------------------------------------------


def no_public_grants(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (GRANT_TYPE, DEFAULTS_TYPE):
        return
    p = _props(args)
    if str(p.get("role", "")).lower() == "public" and p.get("privileges"):
        report_violation(
            f"{args.name}: grants {', '.join(p['privileges'])} to PUBLIC, i.e. to every role "
            "of the cluster, tenants included. Fix: grant to a tenant role or group role "
            "(tenancy_app / tenancy_readonly) instead.",
            None,
        )


def no_elevated_role_attributes(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != ROLE_TYPE:
        return
    p = _props(args)
    powers = [flag for key, flag in POWERS.items() if p.get(key)]
    if powers:
        report_violation(
            f"role {p.get('name')}: has {', '.join(powers)}; tenancy roles never do. "
            f"Fix: set {', '.join(k + '=False' for k, _ in POWERS.items() if p.get(k))}.",
            None,
        )


def _number_or_flag(value: Any) -> int | bool | None:
    """An input as the model states it (the engine passes numbers as floats)."""
    if value is None or isinstance(value, bool):
        return value
    return int(value)


def tenant_role_limits(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A tenant role's login, connection limit and timeouts are the model's."""
    if args.resource_type != ROLE_TYPE:
        return
    m = manifest()
    p = _props(args)
    name = str(p.get("name", ""))
    schema = tenant_schema_of_role(m, name)
    if schema is None:
        return
    core = schema[len(m.schema_prefix) : len(schema) - len(m.schema_suffix)]
    try:
        spec = next(r for r in tenant_plan(m, core).roles if r.name == name)
    except (ManifestError, StopIteration):
        return  # tenant-schema-names and tenant-complete-set report these
    settings = dict(spec.settings)
    expected = {
        "login": spec.login,
        "connectionLimit": spec.connection_limit,
        **{prop: int(settings[s]) if s in settings else None for prop, s in ROLE_SETTINGS},
    }
    wrong = {k: v for k, v in expected.items() if _number_or_flag(p.get(k)) != v}
    if wrong:
        report_violation(
            f"role {name}: {', '.join(f'{k}={p.get(k)!r}' for k in sorted(wrong))}; the manifest's "
            f"[roles] say {', '.join(f'{k}={v!r}' for k, v in sorted(wrong.items()))}. "
            "Fix: declare tenant roles with infra.program.build.",
            None,
        )


def tenant_schema_names(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SCHEMA_TYPE:
        return
    m = manifest()
    name = str(_props(args).get("name", ""))
    if not is_tenant_schema(m, name) or len(name.encode()) > 63:
        report_violation(
            f"schema {name!r} does not match the tenant schema pattern {m.schema_pattern!r} "
            "(lowercase letters, digits and '_', at most 63 bytes). "
            "Fix: name it with runner.manifest.Manifest.schema_for(tenant_id).",
            None,
        )


def no_cross_tenant_privileges(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    m = manifest()
    p = _props(args)
    if args.resource_type in (GRANT_TYPE, DEFAULTS_TYPE):
        role, target = str(p.get("role", "")), str(p.get("schema", ""))
        owner = str(p.get("owner", "")) if args.resource_type == DEFAULTS_TYPE else ""
        pairs = [(role, target)] + ([(owner, target)] if owner else [])
    elif args.resource_type == GRANT_ROLE_TYPE:
        member, granted = str(p.get("role", "")), str(p.get("grantRole", ""))
        granted_schema = tenant_schema_of_role(m, granted)
        pairs = [(member, granted_schema)] if granted_schema else []
    elif args.resource_type == SCHEMA_TYPE:
        pairs = [(str(p.get("owner", "")), str(p.get("name", "")))]
    else:
        return
    for role, schema in pairs:
        own = tenant_schema_of_role(m, role)
        if own and is_tenant_schema(m, schema) and own != schema:
            report_violation(
                f"{args.name}: tenant role {role} (schema {own}) would get privileges on "
                f"tenant schema {schema}. Fix: grant only to {schema}'s own roles; tenants "
                "share data only through the central tables.",
                None,
            )


def login_password_from_secret(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != ROLE_TYPE or not plain(args.props.get("login")):
        return
    raw = args.props.get("password")
    name = plain(args.props.get("name"))
    secret_outputs = list(getattr(args.opts, "additional_secret_outputs", None) or [])
    if not plain(raw):
        report_violation(
            f"login role {name} has no password. Fix: pulumi config set --secret --path "
            "'tenancy:passwords.<tenant>.app' <password> (or .readonly).",
            None,
        )
    elif not (is_secret(raw) or "password" in secret_outputs):
        report_violation(
            f"login role {name} takes its password from plain config. Fix: set it with "
            "`pulumi config set --secret` and read it as a secret (pulumi.Output.secret).",
            None,
        )


# -- the stack policy ----------------------------------------------------------


def expected_tenant_facts(m: Manifest, schema: str) -> set[Privilege]:
    """What a tenant with this schema must have: roles, schema, grants, defaults, memberships."""
    core = m.tenant_part(schema) or ""
    plan = tenant_plan(m, core)  # an id with '_' maps to the same schema and roles
    facts = set(plan.privileges)
    facts.add(Privilege(plan.owner.name, OWNER, plan.schema, "", "OWNER"))
    facts |= {Privilege(r.name, "role", "", r.name, "EXISTS") for r in plan.roles}
    return facts


def tenant_complete_set(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    m = manifest()
    declared: set[Privilege] = set()
    schemas: set[str] = set()
    rls_commands: list[str] = []
    tenancy_resources = 0
    for r in args.resources:
        props: Mapping[str, Any] = r.props
        if secures_hybrid_tables(r.resource_type, props):
            rls_commands.append(r.name)
        tenancy_resources += r.resource_type in (ROLE_TYPE, SCHEMA_TYPE, GRANT_TYPE)
        declared |= resource_facts(r.resource_type, props)
        if r.resource_type == ROLE_TYPE:
            name = str(plain(props.get("name", "")))
            declared.add(Privilege(name, "role", "", name, "EXISTS"))
            schema = tenant_schema_of_role(m, name)
            if schema:
                schemas.add(schema)
        elif r.resource_type == SCHEMA_TYPE:
            name = str(plain(props.get("name", "")))
            if is_tenant_schema(m, name):
                schemas.add(name)
    for schema in sorted(schemas):
        try:
            expected = expected_tenant_facts(m, schema)
        except ManifestError as e:
            report_violation(f"tenant schema {schema}: {e}", None)
            continue
        missing = sorted(expected - declared)
        if missing:
            listed = "; ".join(describe(p) for p in missing[:10])
            more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
            report_violation(
                f"tenant schema {schema} is incomplete, missing {len(missing)}: {listed}{more}. "
                "Fix: declare tenants with infra.program.build, which creates the complete set "
                "(schema, owner/app/read-only roles, grants, default privileges, memberships).",
                None,
            )
    # Row-level security on the hybrid tables: once per stack (pulumi-postgresql
    # has no policy resource; the program runs tenancy.secure_hybrid_tables()).
    secured = shared_plan(m).secured_tables
    if secured and tenancy_resources and len(rls_commands) != 1:
        tables = ", ".join(f"{m.central_schema}.{t}" for t in secured)
        if not rls_commands:
            report_violation(
                f"the stack grants on the hybrid and row-filtered tables ({tables}) but never secures them: no "
                f"{COMMAND_TYPE} whose create calls tenancy.secure_hybrid_tables(), so tenant "
                "roles could read every tenant's rows. Fix: build the stack with "
                "infra.program.build, which declares 'hybrid-row-level-security'.",
                None,
            )
        else:
            report_violation(
                f"{len(rls_commands)} commands secure the hybrid tables "
                f"({', '.join(sorted(rls_commands))}); one per stack is enough, the others "
                "run the same script again. Fix: keep only 'hybrid-row-level-security' from "
                "infra.program.build.",
                None,
            )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        "no-public-grants",
        "No grant or default privilege to PUBLIC.",
        no_public_grants,
        EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        "no-elevated-role-attributes",
        "Tenancy roles are never SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS.",
        no_elevated_role_attributes,
        EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        "tenant-role-limits",
        "Tenant roles have the login, connection limit and timeouts of the manifest's [roles].",
        tenant_role_limits,
        EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        "tenant-schema-names",
        "Schema names follow the manifest's tenant schema pattern.",
        tenant_schema_names,
        EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        "no-cross-tenant-privileges",
        "No tenant role holds privileges on another tenant's schema.",
        no_cross_tenant_privileges,
        EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        "login-password-from-secret",
        "Login roles take their password from secret config.",
        login_password_from_secret,
        EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        "tenant-complete-set",
        "Every tenant has its schema, roles, grants, default privileges and memberships; "
        "the stack secures the hybrid tables (row-level security) exactly once.",
        tenant_complete_set,
        EnforcementLevel.MANDATORY,
    ),
]
