"""Read privileges from the live catalog and compare them with the privilege model.

``tenancy verify-grants`` lists every missing or extra privilege as a row,
whoever created the objects (Pulumi or ``tenancy.provision_tenant``). Facts
compared: schema and table owners, ACLs of schemas, tables and sequences,
default ACLs, role memberships, role flags and search_path, and row-level
security on the hybrid tables. Only catalog rows are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from runner.access.model import (
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    MEMBER,
    ROLE,
    SCHEMA,
    Privilege,
    PrivilegeModel,
    RoleSpec,
    expand,
)

PUBLIC = "PUBLIC"
OWNER = "owner"
ATTRIBUTE = "role attribute"
POLICY = "policy"
RLS = "row level security"


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
        return (
            f"{p.schema}.{p.name} owned by {p.grantee}"
            if p.name
            else f"schema {p.schema} owned by {p.grantee}"
        )
    if p.object_type == ATTRIBUTE:
        return f"role {p.grantee}: {p.privilege}"
    if p.object_type == POLICY:
        return f"policy {p.name} on {p.schema} for {p.privilege} applies to {p.grantee}"
    if p.object_type == RLS:
        return f"row level security enabled on {p.schema}.{p.name}"
    return p.describe()


def role_attributes(spec: RoleSpec) -> set[Privilege]:
    attrs = [
        "LOGIN" if spec.login else "NOLOGIN",
        f"CONNECTION LIMIT {spec.connection_limit}",
        "NOSUPERUSER",
        "NOCREATEDB",
        "NOCREATEROLE",
        "NOREPLICATION",
        "NOBYPASSRLS",
        "INHERIT",
    ]
    if spec.search_path:
        attrs.append("search_path=" + ", ".join(spec.search_path))
    return {Privilege(spec.name, ATTRIBUTE, "", spec.name, a) for a in attrs}


def expected_facts(
    model: PrivilegeModel, objects: dict[tuple[str, str], tuple[str, ...]]
) -> set[Privilege]:
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
        for role in rp.roles:
            facts.add(Privilege(role, POLICY, rp.schema, f"{rp.table}.{rp.name}", rp.command))
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
    central = model.manifest.central_schema
    tenant_schemas = [t.schema for t in model.tenants]
    tenant_roles = [r.name for t in model.tenants for r in t.roles]
    shared_roles = [r.name for r in model.shared.roles]
    model_roles = tenant_roles + shared_roles
    params = {"schemas": tenant_schemas, "roles": model_roles, "central": central}
    facts: set[Privilege] = set()
    objects: dict[tuple[str, str], list[str]] = defaultdict(list)

    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, c.relname,
                   pg_get_userbyid(c.relowner)
            FROM pg_catalog.pg_class AS c
            JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                AND (n.nspname = ANY (%(schemas)s) OR n.nspname = %(central)s)
            ORDER BY 1, 2, 3
            """,
            params,
        )
        for kind, schema, name, owner in cur.fetchall():
            objects[(kind, schema)].append(name)
            if schema != central:
                facts.add(Privilege(owner, OWNER, schema, name, "OWNER"))

        cur.execute(
            """
            SELECT n.nspname, pg_get_userbyid(n.nspowner)
            FROM pg_catalog.pg_namespace AS n WHERE n.nspname = ANY (%(schemas)s)
            """,
            params,
        )
        existing = set()
        for schema, owner in cur.fetchall():
            existing.add(schema)
            facts.add(Privilege(owner, OWNER, schema, "", "OWNER"))

        # Schema ACLs: tenant schemas whole; elsewhere grants to model roles;
        # CREATE on the central schema for anyone but its owner.
        cur.execute(
            """
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                   n.nspname, a.privilege_type
            FROM pg_catalog.pg_namespace AS n, aclexplode(n.nspacl) AS a
            WHERE a.grantee <> n.nspowner
                AND (n.nspname = ANY (%(schemas)s)
                     OR pg_get_userbyid(a.grantee) = ANY (%(roles)s)
                     OR (n.nspname = %(central)s AND a.privilege_type = 'CREATE'))
            """,
            params,
        )
        for grantee, schema, privilege in cur.fetchall():
            facts.add(Privilege(grantee, SCHEMA, schema, schema, privilege))

        cur.execute(
            """
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                   CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END,
                   n.nspname, c.relname, a.privilege_type
            FROM pg_catalog.pg_class AS c
            JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace,
                 aclexplode(c.relacl) AS a
            WHERE a.grantee <> c.relowner
                AND (n.nspname = ANY (%(schemas)s)
                     OR pg_get_userbyid(a.grantee) = ANY (%(roles)s)
                     OR (n.nspname = %(central)s AND a.grantee = 0))
            """,
            params,
        )
        for grantee, kind, schema, name, privilege in cur.fetchall():
            facts.add(Privilege(grantee, kind, schema, name, privilege))

        cur.execute(
            """
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                   d.defaclobjtype::text, coalesce(n.nspname, ''), pg_get_userbyid(d.defaclrole),
                   a.privilege_type
            FROM pg_catalog.pg_default_acl AS d
            LEFT JOIN pg_catalog.pg_namespace AS n ON n.oid = d.defaclnamespace,
                 aclexplode(d.defaclacl) AS a
            WHERE n.nspname = ANY (%(schemas)s)
                OR pg_get_userbyid(a.grantee) = ANY (%(roles)s)
                OR pg_get_userbyid(d.defaclrole) = ANY (%(roles)s)
            """,
            params,
        )
        kinds = {"r": DEFAULT_TABLE, "S": DEFAULT_SEQUENCE}
        for grantee, objtype, schema, owner, privilege in cur.fetchall():
            kind = kinds.get(objtype, f"default {objtype}")
            facts.add(Privilege(grantee, kind, schema, owner, privilege))

        cur.execute(
            """
            SELECT pg_get_userbyid(m.member), pg_get_userbyid(m.roleid)
            FROM pg_catalog.pg_auth_members AS m
            WHERE pg_get_userbyid(m.member) = ANY (%(roles)s)
                OR pg_get_userbyid(m.roleid) = ANY (%(roles)s)
            """,
            params,
        )
        for member, role in cur.fetchall():
            # Roles are cluster-wide: the groups also hold tenants of other
            # databases, and people are made members of the migrator. Those
            # are not this database's drift; a shared role's own memberships
            # (in another shared role or a pg_* role) are.
            involved = member in tenant_roles or role in tenant_roles
            shared_own = member in shared_roles and (role in shared_roles or role.startswith("pg_"))
            if involved or (all_tenants and shared_own):
                facts.add(Privilege(member, ROLE, "", role, MEMBER))

        cur.execute(
            """
            SELECT r.rolname, r.rolcanlogin, r.rolconnlimit, r.rolsuper, r.rolcreatedb,
                   r.rolcreaterole, r.rolreplication, r.rolbypassrls, r.rolinherit,
                   (SELECT substr(c, length('search_path=') + 1)
                    FROM pg_catalog.pg_db_role_setting AS s, unnest(s.setconfig) AS c
                    WHERE s.setrole = r.oid AND s.setdatabase = 0 AND c LIKE 'search_path=%%')
            FROM pg_catalog.pg_roles AS r WHERE r.rolname = ANY (%(roles)s)
            """,
            params,
        )
        for name, login, limit, superuser, createdb, createrole, repl, bypass, inherit, path in cur:
            attrs = [
                "LOGIN" if login else "NOLOGIN",
                f"CONNECTION LIMIT {limit}",
                "SUPERUSER" if superuser else "NOSUPERUSER",
                "CREATEDB" if createdb else "NOCREATEDB",
                "CREATEROLE" if createrole else "NOCREATEROLE",
                "REPLICATION" if repl else "NOREPLICATION",
                "BYPASSRLS" if bypass else "NOBYPASSRLS",
                "INHERIT" if inherit else "NOINHERIT",
            ]
            if path is not None:
                attrs.append("search_path=" + path)
            facts |= {Privilege(name, ATTRIBUTE, "", name, a) for a in attrs}

        cur.execute(
            """
            SELECT c.relname, c.relrowsecurity, p.polname,
                   CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                 WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                   ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END
                         FROM unnest(p.polroles) AS r)
            FROM pg_catalog.pg_class AS c
            JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
            LEFT JOIN pg_catalog.pg_policy AS p ON p.polrelid = c.oid
            WHERE n.nspname = %(central)s AND c.relname = ANY (%(hybrid)s)
            """,
            {**params, "hybrid": list(model.manifest.hybrid)},
        )
        for table, enabled, policy, command, roles in cur.fetchall():
            if enabled:
                facts.add(Privilege("", RLS, central, table, "ENABLED"))
            if policy is not None:
                for role in roles:
                    facts.add(Privilege(role, POLICY, central, f"{table}.{policy}", command))

    return LiveCatalog(
        frozenset(facts),
        {k: tuple(v) for k, v in objects.items()},
        frozenset(existing),
    )


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
    found.discard(
        Privilege(
            PUBLIC, SCHEMA, model.manifest.central_schema, model.manifest.central_schema, "USAGE"
        )
    )
    drift = [Drift(_tenant_of(model, f), "missing", f) for f in expected - found]
    drift += [Drift(_tenant_of(model, f), "extra", f) for f in found - expected]
    return sorted(drift)


def verify(conn: psycopg.Connection, model: PrivilegeModel, all_tenants: bool) -> list[Drift]:
    """Drift between the live catalog and ``model``; empty when they agree."""
    return compare(model, read_catalog(conn, model, all_tenants))


def provisioned_tenants(
    conn: psycopg.Connection, candidates: Iterable[str], schema_of: dict[str, str]
) -> list[str]:
    """Those of ``candidates`` whose schema exists."""
    schemas = {schema_of[t] for t in candidates}
    rows = conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY (%s)", [sorted(schemas)]
    ).fetchall()
    present = {r[0] for r in rows}
    return [t for t in candidates if schema_of[t] in present]
