"""Read privileges from the live catalog and compare them with the privilege model.

``tenancy verify-grants`` lists every missing or extra privilege as a row,
whoever created the objects (Pulumi or ``tenancy.provision_tenant``). Facts
compared: schema and table owners, ACLs of schemas, tables and sequences,
default ACLs, role memberships, role flags and per-role settings
(search_path, timeouts), row-level security on the hybrid and row-filtered
central tables and whether each policy is current (made by
``tenancy.secure_hybrid_tables()`` from this manifest and unchanged since, as
``tenancy.hybrid_policies()`` tells: its USING and WITH CHECK, the tenant-safe
reference checks included), what `tenancy install` grants the federation
owner, the owner of the federated functions, EXECUTE on functions of schemas
tenancy and tenancy_federation held by PUBLIC or by a tenant group or role
(the groups hold it on the lookups the policies call, and nothing else), what
those hold on the two schemas (nothing), and PUBLIC's TEMPORARY on the
database when the manifest revokes it. Only catalog rows are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from runner.engine.rows import fetch_values
from runner.names import ENGINE_ROLE, FEDERATION_OWNER, TOOL_SCHEMA, TOOL_SCHEMAS
from runner.privileges import (
    COLUMN,
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    FIXED_ATTRIBUTES,
    GUARD_FUNCTION,
    INSTALL_PRIVILEGES,
    LOGIN_WITH_CREDENTIAL,
    LOGIN_WITHOUT_PASSWORD,
    MEMBER,
    RLS_FUNCTIONS,
    ROLE,
    SCHEMA,
    Privilege,
    PrivilegeModel,
    RoleSpec,
    expand,
)
from runner.resources import read_query

PUBLIC = "PUBLIC"
OWNER = "owner"
ATTRIBUTE = "role attribute"
POLICY = "policy"
RLS = "row level security"
POLICY_CURRENT = "policy definition"
FUNCTION = "function"
DATABASE = "database"


@dataclass(frozen=True)
class LiveCatalog:
    """What the catalog says, for the schemas and roles of a model."""

    privileges: frozenset[Privilege]
    objects: dict[tuple[str, str], tuple[str, ...]]
    schema_exists: frozenset[str]


@dataclass(frozen=True, order=True)
class Drift:
    """One missing or extra fact."""

    tenant: str  # "" for what tenants share
    status: str  # missing | extra
    fact: Privilege

    def describe(self) -> str:
        return describe(self.fact)


def describe(p: Privilege) -> str:
    if p.object_type == OWNER:
        return f"{p.schema}.{p.name} owned by {p.grantee}" if p.name else f"schema {p.schema} owned by {p.grantee}"
    if p.object_type == ATTRIBUTE:
        return f"role {p.grantee}: {p.privilege}"
    if p.object_type == POLICY:
        return f"policy {p.name} on {p.schema} for {p.privilege} applies to {p.grantee}"
    if p.object_type == RLS:
        return f"row level security enabled on {p.schema}.{p.name}"
    if p.object_type == POLICY_CURRENT:
        table, policy = p.name.split(".", 1)
        return (
            f"policy {policy} on {p.schema}.{table} as tenancy.secure_hybrid_tables() makes it from this"
            " manifest (USING and WITH CHECK unchanged since)"
        )
    if p.object_type == FUNCTION:
        return f"{p.privilege} on function {p.schema}.{p.name} to {p.grantee}"
    if p.object_type == DATABASE:
        return f"{p.privilege} on this database to {p.grantee}"
    return p.describe()


def role_attributes(spec: RoleSpec) -> set[Privilege]:
    attrs = [spec.login_fact(), *FIXED_ATTRIBUTES, f"CONNECTION LIMIT {spec.connection_limit}"]
    if spec.search_path:
        attrs.append("search_path=" + ", ".join(spec.search_path))
    attrs += [f"{k}={v}" for k, v in spec.settings]
    return {Privilege(spec.name, ATTRIBUTE, "", spec.name, a) for a in attrs}


def expected_facts(model: PrivilegeModel, objects: dict[tuple[str, str], tuple[str, ...]]) -> set[Privilege]:
    """The model's facts, with "every table of the schema" spelled out for ``objects``."""
    facts = expand(model.privileges, objects)
    for spec in model.roles:
        facts |= role_attributes(spec)
    for o in model.ownerships:
        if o.object_type == SCHEMA:
            facts.add(Privilege(o.owner, OWNER, o.schema, "", "OWNER"))
        else:
            for name in objects.get((o.object_type, o.schema), ()):
                facts.add(Privilege(o.owner, OWNER, o.schema, name, "OWNER"))
    for rp in model.shared.row_policies:
        facts.add(Privilege("", RLS, rp.schema, rp.table, "ENABLED"))
        facts.add(Privilege("", POLICY_CURRENT, rp.schema, f"{rp.table}.{rp.name}", "CURRENT"))
        for role in rp.roles:
            facts.add(Privilege(role, POLICY, rp.schema, f"{rp.table}.{rp.name}", rp.command))
    if model.shared.row_policies:
        # The policies run as the querying role: the groups run the lookups they call.
        for group in (model.shared.app_group, model.shared.readonly_group):
            facts |= {Privilege(group.name, FUNCTION, TOOL_SCHEMA, f, "EXECUTE") for f in RLS_FUNCTIONS}
    facts |= set(INSTALL_PRIVILEGES)
    facts.add(Privilege(PUBLIC, FUNCTION, TOOL_SCHEMA, GUARD_FUNCTION, "EXECUTE"))
    for name in objects.get((FUNCTION, "tenancy_federation"), ()):
        facts.add(Privilege(FEDERATION_OWNER, OWNER, "tenancy_federation", name, "OWNER"))
    return facts


def read_catalog(conn: psycopg.Connection, model: PrivilegeModel, all_tenants: bool) -> LiveCatalog:
    """Read the facts that concern ``model``'s tenants from the live catalog.

    In scope: everything granted on the tenants' schemas and what is in them
    (to any role, PUBLIC included), everything granted to a role of the model
    anywhere in this database, the central schema's CREATE privilege, role
    flags, memberships that involve the selected tenants' roles and the hybrid
    tables' row-level security. With ``all_tenants`` also the shared roles'
    own memberships (in each other, or in a predefined pg_* role).
    """
    reader = _Reader(conn, model)
    objects: dict[tuple[str, str], list[str]] = defaultdict(list)
    facts = _relation_owners(reader, objects)
    schema_owners, existing = _schema_owners(reader)
    facts |= schema_owners
    facts |= _acls(reader)
    facts |= _memberships(reader, all_tenants)
    facts |= _role_attributes(reader)
    facts |= _installed_routines(reader, objects)
    facts |= _row_security(reader)
    # The migrator's and the engine's rights in schema tenancy, the tool's own, are
    # set by install (tenancy.grant_runner_privileges, sql/ledger/0010_engine.sql),
    # not by the privilege model.
    installs = {model.shared.migrator.name, model.shared.engine.name}
    return LiveCatalog(
        frozenset(f for f in facts if not (f.schema == TOOL_SCHEMA and f.grantee in installs)),
        {k: tuple(v) for k, v in objects.items()},
        frozenset(existing),
    )


class _Reader:
    """The catalog queries of one read_catalog, run with the schemas and roles of its model."""

    def __init__(self, conn: psycopg.Connection, model: PrivilegeModel) -> None:
        self.conn = conn
        self.model = model
        self.central = model.manifest.central_schema
        self.tenant_schemas = [t.schema for t in model.tenants]
        self.tenant_roles = [r.name for t in model.tenants for r in t.roles]
        self.shared_roles = [r.name for r in model.shared.roles]
        tenant_facing = [model.shared.app_group.name, model.shared.readonly_group.name, *self.tenant_roles]
        self.params: dict[str, object] = {
            "schemas": self.tenant_schemas,
            "roles": self.tenant_roles + self.shared_roles,
            "central": self.central,
            "tenant_facing": tenant_facing,
        }

    def rows(self, name: str, extra: Mapping[str, object] | None = None) -> list[tuple[Any, ...]]:
        """The rows of query sql/queries/<name>.sql."""
        return self.conn.execute(read_query(f"queries/{name}.sql"), {**self.params, **(extra or {})}).fetchall()

    def other_tenants(self, grantee: str, schema: str) -> bool:
        """A grant of the federation owner on a tenant schema this run does not verify."""
        # The federation owner reads every tenant: its grants on tenants that are
        # not being verified are theirs, not this run's.
        m = self.model.manifest
        return (
            grantee == FEDERATION_OWNER
            and schema not in self.tenant_schemas
            and schema.startswith(m.schema_prefix)
            and schema.endswith(m.schema_suffix)
            and schema not in (self.central, *TOOL_SCHEMAS)
        )


def _relation_owners(reader: _Reader, objects: dict[tuple[str, str], list[str]]) -> set[Privilege]:
    """The owners of the tables and sequences of the tenant schemas; each relation of those
    and of the central schema is listed in ``objects``."""
    facts: set[Privilege] = set()
    for schema, name, kind, owner in reader.rows("grants_relations"):
        objects[(kind, schema)].append(name)
        if schema != reader.central:
            facts.add(Privilege(owner, OWNER, schema, name, "OWNER"))
    return facts


def _schema_owners(reader: _Reader) -> tuple[set[Privilege], set[str]]:
    """The owners of the schemas in scope, and which of them exist."""
    facts: set[Privilege] = set()
    existing = set()
    for schema, owner in reader.rows("grants_schema_owners"):
        existing.add(schema)
        facts.add(Privilege(owner, OWNER, schema, "", "OWNER"))
    return facts, existing


def _acls(reader: _Reader) -> set[Privilege]:
    """What the ACLs of schemas, tables and sequences, central columns and default
    privileges grant."""
    facts: set[Privilege] = set()
    for schema, privilege, grantee in reader.rows("grants_schema_acl"):
        if not reader.other_tenants(grantee, schema):
            facts.add(Privilege(grantee, SCHEMA, schema, schema, privilege))
    for schema, name, privilege, grantee, kind in reader.rows("grants_relation_acl"):
        if not reader.other_tenants(grantee, schema):
            facts.add(Privilege(grantee, kind, schema, name, privilege))
    for name, privilege, grantee in reader.rows("grants_column_acl"):
        facts.add(Privilege(grantee, COLUMN, reader.central, name, privilege))
    kinds = {"r": DEFAULT_TABLE, "S": DEFAULT_SEQUENCE}
    for objtype, privilege, grantee, schema, owner in reader.rows("grants_default_acl"):
        kind = kinds.get(objtype, f"default {objtype}")
        if not reader.other_tenants(grantee, schema):
            facts.add(Privilege(grantee, kind, schema, owner, privilege))
    return facts


def _memberships(reader: _Reader, all_tenants: bool) -> set[Privilege]:
    """The role memberships that involve a selected tenant's role; with ``all_tenants``
    also the shared roles' own."""
    facts: set[Privilege] = set()
    for member, role in reader.rows("grants_memberships"):
        # Roles are cluster-wide: the groups also hold tenants of other
        # databases, and people are made members of the migrator. Those
        # are not this database's drift; a shared role's own memberships
        # (in another shared role or a pg_* role) are.
        involved = member in reader.tenant_roles or role in reader.tenant_roles
        shared_own = member in reader.shared_roles and (role in reader.shared_roles or role.startswith("pg_"))
        if involved or (all_tenants and shared_own):
            facts.add(Privilege(member, ROLE, "", role, MEMBER))
    return facts


def _role_attributes(reader: _Reader) -> set[Privilege]:
    """The flags, connection limits and per-role settings of the model's roles, LOGIN
    read as the model states it (with a credential, or expected NOLOGIN on Citus)."""
    conn = reader.conn
    # On Citus the owner of the federated reads must log in to the workers
    # as the engine and the owner of the federated reads (tenancy.citus_owner_logins,
    # run by `tenancy distribute`): expected there.
    citus = conn.execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'").fetchone() is not None
    credential_roles = {r.name for r in reader.model.roles if r.credential}
    # Whether a role has a password shows only to a superuser (pg_authid).
    passwords: dict[str, bool] = {}
    if conn.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user").fetchone() == (True,):
        passwords = dict(reader.rows("grants_role_passwords"))
    facts: set[Privilege] = set()
    for name, login, limit, superuser, createdb, createrole, repl, bypass, inherit, settings in reader.rows(
        "grants_role_attributes"
    ):
        if name in credential_roles:
            login_fact = LOGIN_WITHOUT_PASSWORD if login and passwords.get(name) is False else LOGIN_WITH_CREDENTIAL
        else:
            login_fact = "LOGIN" if login and not (citus and name in (FEDERATION_OWNER, ENGINE_ROLE)) else "NOLOGIN"
        attrs = [
            login_fact,
            f"CONNECTION LIMIT {limit}",
            "SUPERUSER" if superuser else "NOSUPERUSER",
            "CREATEDB" if createdb else "NOCREATEDB",
            "CREATEROLE" if createrole else "NOCREATEROLE",
            "REPLICATION" if repl else "NOREPLICATION",
            "BYPASSRLS" if bypass else "NOBYPASSRLS",
            "INHERIT" if inherit else "NOINHERIT",
            *settings,
        ]
        facts |= {Privilege(name, ATTRIBUTE, "", name, a) for a in attrs}
    return facts


def _installed_routines(reader: _Reader, objects: dict[tuple[str, str], list[str]]) -> set[Privilege]:
    """What install owns: the owners of the federated functions, EXECUTE on the installed
    schemas' functions (PUBLIC's and the tenant roles'), the tenant roles' rights on those
    schemas, and PUBLIC's TEMPORARY when the manifest revokes it. Each installed function
    is listed in ``objects``."""
    facts: set[Privilege] = set()
    installed = {"installed": list(TOOL_SCHEMAS)}
    for schema, signature, owner, public_execute in reader.rows("grants_installed_routines", installed):
        name = signature.removeprefix(schema + ".")
        objects[(FUNCTION, schema)].append(name)
        if schema == "tenancy_federation":
            facts.add(Privilege(owner, OWNER, schema, name, "OWNER"))
        if public_execute:
            facts.add(Privilege(PUBLIC, FUNCTION, schema, name, "EXECUTE"))
    for schema, signature, grantee in reader.rows("grants_tenant_routines", installed):
        facts.add(Privilege(grantee, FUNCTION, schema, signature.removeprefix(schema + "."), "EXECUTE"))
    for grantee, schema, privilege in reader.rows("grants_installed_schema_acl", installed):
        facts.add(Privilege(grantee, SCHEMA, schema, schema, privilege))
    if reader.model.manifest.roles.revoke_public_temp and reader.rows("grants_public_temp"):
        facts.add(Privilege(PUBLIC, DATABASE, "", "", "TEMPORARY"))
    return facts


def _row_security(reader: _Reader) -> set[Privilege]:
    """Row-level security of the secured central tables: enabled or not, each policy's
    roles and command, and which policies are current."""
    facts: set[Privilege] = set()
    central = reader.central
    secured = {"secured": list(reader.model.shared.secured_tables)}
    for table, enabled, policy, command, roles in reader.rows("grants_row_security", secured):
        if enabled:
            facts.add(Privilege("", RLS, central, table, "ENABLED"))
        if policy is not None:
            for role in roles:
                facts.add(Privilege(role, POLICY, central, f"{table}.{policy}", command))
    # Each policy tenancy.secure_hybrid_tables() made from this manifest, unchanged since.
    if reader.conn.execute("SELECT to_regprocedure('tenancy.hybrid_policies()')").fetchone() != (None,):
        for table, policy in reader.rows("grants_policy_definitions"):
            facts.add(Privilege("", POLICY_CURRENT, central, f"{table}.{policy}", "CURRENT"))
    return facts


def _tenant_of(model: PrivilegeModel, fact: Privilege) -> str:
    for t in model.tenants:
        if fact.schema == t.schema or fact.grantee in {r.name for r in t.roles}:
            return t.tenant_id
        if fact.object_type == ROLE and fact.name in {r.name for r in t.roles}:
            return t.tenant_id
    return ""


def compare(model: PrivilegeModel, live: LiveCatalog) -> list[Drift]:
    """Every fact the model expects and the catalog lacks (missing), and the reverse (extra)."""
    expected = expected_facts(model, live.objects)
    found = set(live.privileges)
    # PostgreSQL's own default: PUBLIC may look up names in the central schema.
    found.discard(Privilege(PUBLIC, SCHEMA, model.manifest.central_schema, model.manifest.central_schema, "USAGE"))
    drift = [Drift(_tenant_of(model, f), "missing", f) for f in expected - found]
    drift += [Drift(_tenant_of(model, f), "extra", f) for f in found - expected]
    return sorted(drift)


def verify(conn: psycopg.Connection, model: PrivilegeModel, all_tenants: bool) -> list[Drift]:
    """Drift between the live catalog and ``model``; empty when they agree."""
    return compare(model, read_catalog(conn, model, all_tenants))


def provisioned_tenants(conn: psycopg.Connection, candidates: Iterable[str], schema_of: dict[str, str]) -> list[str]:
    """Those of ``candidates`` whose schema exists."""
    schemas = {schema_of[t] for t in candidates}
    present = set(fetch_values(conn, read_query("queries/existing_schemas.sql"), {"schemas": sorted(schemas)}))
    return [t for t in candidates if schema_of[t] in present]
