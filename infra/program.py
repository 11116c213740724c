"""Pulumi resources for every tenant's schema, roles and grants, from the privilege model.

``build(settings)`` declares them; ``__main__.py`` only reads the stack config
and exports. Tests call ``pulumi.runtime.set_mocks`` first, then ``build``.

Every grant comes from :mod:`runner.privileges`, the model that the SQL path
(``tenancy.provision_tenant``) is rendered from, so both paths give the same
catalog. pulumi-postgresql has no resource for row-level security policies, so
the program declares one ``pulumi_command.local.Command`` that runs ``psql``
against the stack's database to call ``tenancy.secure_hybrid_tables()``, the
function the SQL path calls (via ``provision_shared_privileges``): both paths
create the same policies. It needs ``tenancy install`` to have run on that
database, and ``psql`` on the PATH of the machine running ``pulumi up``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pulumi
import pulumi_postgresql as postgresql
from pulumi_command import local

from infra.facts import ROLE_SETTINGS
from runner.engine.executor import registry_tenants
from runner.errors import ManifestError
from runner.manifest import Manifest, load_manifest, sql_literal
from runner.privileges import (
    ALL,
    COLUMN,
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    INSTALL_ROLES,
    ROLE,
    SCHEMA,
    TABLE,
    PrivilegeModel,
    RoleSpec,
    RowPolicy,
    TenantPlan,
    build_model,
)
from runner.resources import read_query

REPO = Path(__file__).resolve().parent.parent

# pulumi-postgresql spells object types in lower case, singular.
_OBJECT_TYPES = {"table": "table", "sequence": "sequence", SCHEMA: "schema"}
_DEFAULT_TYPES = {DEFAULT_TABLE: "table", DEFAULT_SEQUENCE: "sequence"}
SECRET_OUTPUTS = ["password"]


# The shell that runs the RLS command (pulumi-command's Linux/macOS default,
# spelled out so the here-document below never meets cmd.exe).
RLS_INTERPRETER = ["/bin/sh", "-c"]


@dataclass(frozen=True)
class Connection:
    """Where the postgresql provider connects (``postgresql:*`` config); None = not configured.

    The RLS command gets the same values as PG* environment variables; a key
    left out falls back to libpq's own environment and defaults.
    """

    host: str | None = None
    port: int | None = None
    username: str | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None
    password: str | None = field(default=None, repr=False)

    def conninfo(self) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect (configured keys only)."""
        values = {
            "host": self.host,
            "port": self.port,
            "user": self.username,
            "password": self.password,
            "sslmode": self.sslmode,
            "sslrootcert": self.sslrootcert,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Settings:
    """What the program needs, read from stack config by :func:`settings_from_config`."""

    manifest: Manifest
    database: str
    tenants: tuple[str, ...]
    # tenant id -> {"app": password, "readonly": password}; kept secret in state.
    passwords: dict[str, dict[str, str]] = field(default_factory=dict)
    # The admin connection (as the postgresql provider's), used by the RLS command.
    connection: Connection = field(default_factory=Connection)


@dataclass
class Built:
    """The declared resources, by role/tenant, for exports and tests."""

    model: PrivilegeModel
    roles: dict[str, postgresql.Role] = field(default_factory=dict)
    schemas: dict[str, postgresql.Schema] = field(default_factory=dict)
    grants: list[postgresql.Grant] = field(default_factory=list)
    default_privileges: list[postgresql.DefaultPrivileges] = field(default_factory=list)
    memberships: list[postgresql.GrantRole] = field(default_factory=list)
    # Row-level security on the hybrid tables; None when the manifest has none.
    row_level_security: local.Command | None = None
    # Per-role settings the provider cannot set (lock_timeout); None when there are none.
    role_settings: local.Command | None = None

    def resources(self) -> list[pulumi.CustomResource]:
        return [
            *self.roles.values(),
            *self.schemas.values(),
            *self.grants,
            *self.default_privileges,
            *self.memberships,
            *([self.row_level_security] if self.row_level_security else []),
            *([self.role_settings] if self.role_settings else []),
        ]

    def role_ref(self, name: str) -> pulumi.Input[str]:
        """The declared role's name (so a resource depends on it), else the name as it is
        (a role that `tenancy install` makes)."""
        return self.roles[name].name if name in self.roles else name

    def schema_ref(self, name: str) -> pulumi.Input[str]:
        """The declared schema's name (so a resource depends on it), else the name as it is."""
        return self.schemas[name].name if name in self.schemas else name

    def exports(self) -> dict[str, dict[str, str]]:
        return {
            t.tenant_id: {
                "schema": t.schema,
                "owner_role": t.owner.name,
                "app_role": t.app.name,
                "readonly_role": t.readonly.name,
            }
            for t in self.model.tenants
        }


def _password_for(settings: Settings, tenant_id: str, kind: str, role: str) -> pulumi.Output[str]:
    value = settings.passwords.get(tenant_id, {}).get(kind)
    if not value:
        raise ManifestError(
            f"no password configured for role {role} (tenant {tenant_id!r})",
            hint=f"pulumi config set --secret --path 'tenancy:passwords.{tenant_id}.{kind}' <password>",
        )
    return pulumi.Output.secret(value)


def _role(spec: RoleSpec, password: pulumi.Output[str] | None) -> postgresql.Role:
    # The provider sets these two per-role settings; the others (lock_timeout)
    # are set by the role-settings command.
    settings = dict(spec.settings)
    return postgresql.Role(
        f"role-{spec.name}",
        name=spec.name,
        login=spec.login,
        password=password,
        connection_limit=spec.connection_limit,
        search_paths=list(spec.search_path) or None,
        statement_timeout=_int_setting(settings, "statement_timeout"),
        idle_in_transaction_session_timeout=_int_setting(settings, "idle_in_transaction_session_timeout"),
        superuser=False,
        create_database=False,
        create_role=False,
        replication=False,
        bypass_row_level_security=False,
        inherit=True,
        # Keep the password encrypted in state; the policy pack checks this.
        opts=pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS if spec.login else None),
    )


def _int_setting(settings: dict[str, str], name: str) -> int | None:
    value = settings.get(name)
    return None if value is None else int(value)


def rls_fingerprint(policies: tuple[RowPolicy, ...]) -> str:
    """A hash of the row policies the model declares (hybrid tables, public columns, groups).

    The RLS command's trigger: it runs again when this changes, never because
    a tenant was added (the policies are tenant-independent).
    """
    rows = [[p.schema, p.table, p.name, p.command, list(p.roles), p.public_column] for p in policies]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def rls_script(policies: tuple[RowPolicy, ...]) -> str:
    """The SQL the RLS command feeds to psql: the policies the model expects, then
    sql/queries/secure_hybrid_tables.sql (check, lock, secure, verify, in one transaction)."""
    expected = {
        "tables": sorted([s, t] for s, t in {(p.schema, p.table) for p in policies}),
        "policies": [[p.schema, p.table, p.name, p.command, list(p.roles)] for p in policies],
    }
    return f"SET tenancy.expected_rls = {sql_literal(json.dumps(expected, sort_keys=True))};\n" + read_query(
        "queries/secure_hybrid_tables.sql"
    )


def rls_command(policies: tuple[RowPolicy, ...]) -> str:
    """The shell command (for RLS_INTERPRETER) that secures the hybrid tables."""
    return psql_command(rls_script(policies))


def psql_command(script: str) -> str:
    """A shell command (for RLS_INTERPRETER) that feeds ``script`` to psql.

    psql reads the connection from PG* environment variables (the password
    included), never from its arguments, and stops at the first error.
    """
    return "psql --no-psqlrc --no-password --quiet --set ON_ERROR_STOP=1 <<'TENANCY_SQL'\n" + script + "TENANCY_SQL\n"


def quoted_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_settings_script(roles: list[RoleSpec]) -> str:
    """ALTER ROLE ... SET for the per-role settings the provider has no argument for."""
    lines = [
        f"ALTER ROLE {quoted_ident(r.name)} SET {name} = {int(value)};"
        for r in roles
        for name, value in r.settings
        if name not in {setting for _, setting in ROLE_SETTINGS}
    ]
    return "BEGIN;\n" + "".join(line + "\n" for line in lines) + "COMMIT;\n" if lines else ""


def rls_environment(settings: Settings) -> dict[str, pulumi.Input[str]]:
    """PG* variables for psql, from the same config as the postgresql provider."""
    c = settings.connection
    env: dict[str, pulumi.Input[str]] = {
        "PGDATABASE": settings.database,
        "PGAPPNAME": "tenancy-pulumi-rls",
    }
    for key, value in (
        ("PGHOST", c.host),
        ("PGPORT", None if c.port is None else str(c.port)),
        ("PGUSER", c.username),
        ("PGSSLMODE", c.sslmode),
        ("PGSSLROOTCERT", c.sslrootcert),
    ):
        if value is not None:
            env[key] = value
    if c.password is not None:
        env["PGPASSWORD"] = pulumi.Output.secret(c.password)
    return env


def _row_level_security(settings: Settings, model: PrivilegeModel, named: list[postgresql.Role]) -> local.Command:
    command = rls_command(model.shared.row_policies)
    return local.Command(
        "hybrid-row-level-security",
        create=command,
        # The function is idempotent: an update (new trigger, other database)
        # runs the same script again.
        update=command,
        # No delete command, on purpose: destroying the stack leaves row-level
        # security and the policies on the shared tables. Dropping RLS on a
        # table every tenant reads is a deliberate act, done by hand.
        interpreter=RLS_INTERPRETER,
        environment=rls_environment(settings),
        triggers=[rls_fingerprint(model.shared.row_policies)],
        opts=pulumi.ResourceOptions(
            # CREATE POLICY ... TO needs every role a policy names (those install
            # makes exist before `pulumi up`).
            depends_on=list(named),
            additional_secret_outputs=["environment"],
        ),
    )


def _role_settings(
    settings: Settings, model: PrivilegeModel, roles: dict[str, postgresql.Role]
) -> local.Command | None:
    specs = [r for t in model.tenants for r in t.roles]
    script = role_settings_script(specs)
    if not script:
        return None
    command = psql_command(script)
    return local.Command(
        "tenant-role-settings",
        create=command,
        update=command,
        interpreter=RLS_INTERPRETER,
        environment=rls_environment(settings),
        triggers=[hashlib.sha256(script.encode()).hexdigest()],
        opts=pulumi.ResourceOptions(
            depends_on=[roles[r.name] for r in specs if r.name in roles],
            additional_secret_outputs=["environment"],
        ),
    )


# The model's privilege rows grouped by object: (grantee, object type, schema, name) -> privileges.
PrivilegesByObject = dict[tuple[str, str, str, str], set[str]]


def build(settings: Settings) -> Built:
    """Declare every resource of the model for ``settings.tenants``."""
    model = build_model(settings.manifest, settings.tenants)
    built = Built(model)
    db = settings.database
    for spec in model.shared.roles:
        # The federated reads' owner is made by `tenancy install`, which needs it first.
        if spec.name not in INSTALL_ROLES:
            built.roles[spec.name] = _role(spec, None)
    named = sorted({role for p in model.shared.row_policies for role in p.roles} & set(built.roles))
    if model.shared.row_policies:
        built.row_level_security = _row_level_security(settings, model, [built.roles[r] for r in named])
    for t in model.tenants:
        built.roles.update(_tenant_roles(settings, t))
        built.schemas[t.schema] = _schema(db, t.schema, built.roles[t.owner.name])
    built.role_settings = _role_settings(settings, model, built.roles)
    privs_of: PrivilegesByObject = defaultdict(set)
    for p in model.privileges:
        privs_of[(p.grantee, p.object_type, p.schema, p.name)].add(p.privilege)
    built.memberships = _memberships(built, privs_of)
    built.default_privileges = _default_privileges(db, built, privs_of)
    built.grants = _object_grants(db, built, privs_of) + _column_grants(db, built, privs_of)
    return built


def _tenant_roles(settings: Settings, t: TenantPlan) -> dict[str, postgresql.Role]:
    """The tenant's owner, application and read-only roles, by name (the login roles with
    their configured passwords)."""
    return {
        t.owner.name: _role(t.owner, None),
        t.app.name: _role(t.app, _password_for(settings, t.tenant_id, "app", t.app.name)),
        t.readonly.name: _role(t.readonly, _password_for(settings, t.tenant_id, "readonly", t.readonly.name)),
    }


def _schema(db: str, schema: str, owner: postgresql.Role) -> postgresql.Schema:
    """A tenant's schema, owned by its owner role."""
    return postgresql.Schema(
        f"schema-{schema}",
        name=schema,
        database=db,
        owner=owner.name,
        if_not_exists=True,
    )


def _memberships(built: Built, privs_of: PrivilegesByObject) -> list[postgresql.GrantRole]:
    """One GrantRole per role membership of the model."""
    return [
        postgresql.GrantRole(
            f"member-{grantee}-in-{name}",
            role=built.role_ref(grantee),
            grant_role=built.role_ref(name),
        )
        for grantee, object_type, _schema, name in sorted(privs_of)
        if object_type == ROLE
    ]


def _default_privileges(db: str, built: Built, privs_of: PrivilegesByObject) -> list[postgresql.DefaultPrivileges]:
    """One DefaultPrivileges per (schema, owner, grantee, table or sequence) of the model."""
    out: list[postgresql.DefaultPrivileges] = []
    for (grantee, object_type, schema, name), privs in sorted(privs_of.items()):
        if object_type not in _DEFAULT_TYPES:
            continue
        kind = _DEFAULT_TYPES[object_type]
        out.append(
            postgresql.DefaultPrivileges(
                f"default-{kind}s-{schema}-{grantee}",
                database=db,
                schema=built.schema_ref(schema),
                owner=built.role_ref(name),
                role=built.role_ref(grantee),
                object_type=kind,
                privileges=sorted(privs),
            )
        )
    return out


def _object_grants(db: str, built: Built, privs_of: PrivilegesByObject) -> list[postgresql.Grant]:
    """Grants on schemas, tables and sequences, grouped into as few resources as
    pulumi-postgresql allows: one per (role, object type, schema, privilege set), objects
    listed unless the row means every object in the schema."""
    grants: dict[tuple[str, str, str, frozenset[str]], list[str]] = defaultdict(list)
    for (grantee, object_type, schema, name), privs in sorted(privs_of.items()):
        if object_type not in (ROLE, COLUMN, *_DEFAULT_TYPES):
            grants[(grantee, object_type, schema, frozenset(privs))].append(name)
    secured = set(built.model.shared.secured_tables)
    out: list[postgresql.Grant] = []
    for (grantee, object_type, schema, granted), names in sorted(
        grants.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], sorted(kv[0][3]))
    ):
        objects = [] if object_type == SCHEMA or names == [ALL] else sorted(names)
        suffix = "all" if names == [ALL] else "-".join(sorted(x.lower() for x in granted))
        # A group's grant on a hybrid table waits for row-level security, so
        # no tenant ever holds it on a table that is not yet limited to its rows.
        on_hybrid = object_type == TABLE and schema == built.model.shared.central_schema and secured & set(names)
        after_rls = built.row_level_security if on_hybrid else None
        out.append(
            postgresql.Grant(
                f"grant-{grantee}-{object_type}-{schema}-{suffix}",
                database=db,
                role=built.role_ref(grantee),
                schema=built.schema_ref(schema),
                object_type=_OBJECT_TYPES[object_type],
                objects=objects or None,
                privileges=sorted(granted),
                opts=pulumi.ResourceOptions(depends_on=[after_rls] if after_rls else None),
            )
        )
    return out


def _column_grants(db: str, built: Built, privs_of: PrivilegesByObject) -> list[postgresql.Grant]:
    """One Grant per central table opened by column only (SELECT is the only column
    privilege granted), listing its columns."""
    columns_of: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for grantee, object_type, schema, name in sorted(privs_of):
        if object_type == COLUMN:
            table, column = name.split(".", 1)
            columns_of[(grantee, schema, table)].append(column)
    return [
        postgresql.Grant(
            f"grant-{grantee}-column-{schema}-{table}",
            database=db,
            role=built.role_ref(grantee),
            schema=built.schema_ref(schema),
            object_type="column",
            objects=[table],
            columns=sorted(columns),
            privileges=["SELECT"],
        )
        for (grantee, schema, table), columns in sorted(columns_of.items())
    ]


def tenants_from_registry(conninfo: dict[str, Any], database: str, manifest: Manifest) -> tuple[str, ...]:
    """Every tenant id in the registry table of the target database, sorted."""
    with psycopg.connect(dbname=database, **conninfo) as conn:
        return tuple(registry_tenants(conn, manifest))


def settings_from_config() -> Settings:
    """Read the stack config (see Pulumi.dev.yaml for every key)."""
    cfg = pulumi.Config("tenancy")
    manifest_path = Path(cfg.get("manifest") or "tenancy.toml")
    if not manifest_path.is_absolute():
        manifest_path = REPO / manifest_path
    manifest = load_manifest(manifest_path)
    database = cfg.require("database")
    pg = pulumi.Config("postgresql")
    connection = Connection(
        host=pg.get("host"),
        port=pg.get_int("port"),
        username=pg.get("username"),
        sslmode=pg.get("sslmode"),
        sslrootcert=pg.get("sslrootcert"),
        password=pg.get("password"),
    )
    tenants = cfg.get_object("tenants")
    if tenants is None:
        tenants = tenants_from_registry(connection.conninfo(), database, manifest)
    if not isinstance(tenants, list | tuple) or not all(isinstance(t, str) for t in tenants):
        raise ManifestError(
            "tenancy:tenants must be a list of tenant ids",
            hint="""pulumi config set --path 'tenancy:tenants[0]' abc123""",
        )
    passwords = cfg.get_object("passwords") or {}
    if not isinstance(passwords, dict):
        raise ManifestError(
            "tenancy:passwords must be an object {tenant: {app: ..., readonly: ...}}",
            hint=json.dumps({"abc123": {"app": "...", "readonly": "..."}}),
        )
    return Settings(manifest, database, tuple(tenants), passwords, connection)
