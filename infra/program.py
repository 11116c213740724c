"""Pulumi resources for every tenant's schema, roles and grants, from the privilege model.

``build(settings)`` declares them; ``__main__.py`` only reads the stack config
and exports. Tests call ``pulumi.runtime.set_mocks`` first, then ``build``.

Every grant comes from :mod:`runner.privileges`, the model that the SQL path
(``tenancy.provision_tenant``) is rendered from, so both paths give the same
catalog. What Pulumi cannot declare with pulumi-postgresql: the row-level
security policies on the hybrid tables (the provider has no policy resource).
They are tenant-independent; ``tenancy install`` + ``SELECT
tenancy.provision_shared_privileges()`` creates them once per database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pulumi
import pulumi_postgresql as postgresql
from psycopg import sql

from runner.errors import ManifestError
from runner.manifest import Manifest, load_manifest
from runner.privileges import (
    ALL,
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    ROLE,
    SCHEMA,
    PrivilegeModel,
    RoleSpec,
    build_model,
)

REPO = Path(__file__).resolve().parent.parent

# pulumi-postgresql spells object types in lower case, singular.
_OBJECT_TYPES = {"table": "table", "sequence": "sequence", SCHEMA: "schema"}
_DEFAULT_TYPES = {DEFAULT_TABLE: "table", DEFAULT_SEQUENCE: "sequence"}
SECRET_OUTPUTS = ["password"]


@dataclass(frozen=True)
class Settings:
    """What the program needs, read from stack config by :func:`settings_from_config`."""

    manifest: Manifest
    database: str
    tenants: tuple[str, ...]
    # tenant id -> {"app": password, "readonly": password}; kept secret in state.
    passwords: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Built:
    """The declared resources, by role/tenant, for exports and tests."""

    model: PrivilegeModel
    roles: dict[str, postgresql.Role] = field(default_factory=dict)
    schemas: dict[str, postgresql.Schema] = field(default_factory=dict)
    grants: list[postgresql.Grant] = field(default_factory=list)
    default_privileges: list[postgresql.DefaultPrivileges] = field(default_factory=list)
    memberships: list[postgresql.GrantRole] = field(default_factory=list)

    def resources(self) -> list[pulumi.CustomResource]:
        return [
            *self.roles.values(),
            *self.schemas.values(),
            *self.grants,
            *self.default_privileges,
            *self.memberships,
        ]

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
    return postgresql.Role(
        f"role-{spec.name}",
        name=spec.name,
        login=spec.login,
        password=password,
        connection_limit=spec.connection_limit,
        search_paths=list(spec.search_path) or None,
        superuser=False,
        create_database=False,
        create_role=False,
        replication=False,
        bypass_row_level_security=False,
        inherit=True,
        # Keep the password encrypted in state; the policy pack checks this.
        opts=pulumi.ResourceOptions(
            additional_secret_outputs=SECRET_OUTPUTS if spec.login else None
        ),
    )


def build(settings: Settings) -> Built:
    """Declare every resource of the model for ``settings.tenants``."""
    model = build_model(settings.manifest, settings.tenants)
    built = Built(model)
    db = settings.database

    for spec in model.shared.roles:
        built.roles[spec.name] = _role(spec, None)
    for t in model.tenants:
        built.roles[t.owner.name] = _role(t.owner, None)
        built.roles[t.app.name] = _role(
            t.app, _password_for(settings, t.tenant_id, "app", t.app.name)
        )
        built.roles[t.readonly.name] = _role(
            t.readonly, _password_for(settings, t.tenant_id, "readonly", t.readonly.name)
        )
        built.schemas[t.schema] = postgresql.Schema(
            f"schema-{t.schema}",
            name=t.schema,
            database=db,
            owner=built.roles[t.owner.name].name,
            if_not_exists=True,
        )

    def role_ref(name: str) -> pulumi.Input[str]:
        return built.roles[name].name if name in built.roles else name

    def schema_ref(name: str) -> pulumi.Input[str]:
        return built.schemas[name].name if name in built.schemas else name

    # Group the model's rows into as few resources as pulumi-postgresql allows:
    # one Grant per (role, object type, schema, privilege set), objects listed
    # unless the row means every object in the schema.
    grants: dict[tuple[str, str, str, frozenset[str]], list[str]] = defaultdict(list)
    privs_of: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for p in model.privileges:
        privs_of[(p.grantee, p.object_type, p.schema, p.name)].add(p.privilege)
    for (grantee, object_type, schema, name), privs in sorted(privs_of.items()):
        if object_type == ROLE:
            built.memberships.append(
                postgresql.GrantRole(
                    f"member-{grantee}-in-{name}",
                    role=role_ref(grantee),
                    grant_role=role_ref(name),
                )
            )
        elif object_type in _DEFAULT_TYPES:
            kind = _DEFAULT_TYPES[object_type]
            built.default_privileges.append(
                postgresql.DefaultPrivileges(
                    f"default-{kind}s-{schema}-{grantee}",
                    database=db,
                    schema=schema_ref(schema),
                    owner=role_ref(name),
                    role=role_ref(grantee),
                    object_type=kind,
                    privileges=sorted(privs),
                )
            )
        else:
            grants[(grantee, object_type, schema, frozenset(privs))].append(name)
    for (grantee, object_type, schema, privs), names in sorted(
        grants.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], sorted(kv[0][3]))
    ):
        objects = [] if object_type == SCHEMA or names == [ALL] else sorted(names)
        suffix = "all" if names == [ALL] else "-".join(sorted(x.lower() for x in privs))
        built.grants.append(
            postgresql.Grant(
                f"grant-{grantee}-{object_type}-{schema}-{suffix}",
                database=db,
                role=role_ref(grantee),
                schema=schema_ref(schema),
                object_type=_OBJECT_TYPES[object_type],
                objects=objects or None,
                privileges=sorted(privs),
            )
        )
    return built


def tenants_from_registry(
    conninfo: dict[str, Any], database: str, manifest: Manifest
) -> tuple[str, ...]:
    """Every tenant id in the registry table of the target database, sorted."""
    query = sql.SQL("SELECT {id}::text FROM {schema}.{table} ORDER BY 1").format(
        id=sql.Identifier(manifest.registry.id_column),
        schema=sql.Identifier(manifest.central_schema),
        table=sql.Identifier(manifest.registry.table),
    )
    with psycopg.connect(dbname=database, **conninfo) as conn:
        return tuple(row[0] for row in conn.execute(query))


def settings_from_config() -> Settings:
    """Read the stack config (see Pulumi.dev.yaml for every key)."""
    cfg = pulumi.Config("tenancy")
    manifest_path = Path(cfg.get("manifest") or "tenancy.toml")
    if not manifest_path.is_absolute():
        manifest_path = REPO / manifest_path
    manifest = load_manifest(manifest_path)
    database = cfg.require("database")
    tenants = cfg.get_object("tenants")
    if tenants is None:
        pg = pulumi.Config("postgresql")
        conninfo = {
            key: value
            for key, value in {
                "host": pg.get("host"),
                "port": pg.get_int("port"),
                "user": pg.get("username"),
                "password": pg.get("password"),
                "sslmode": pg.get("sslmode"),
            }.items()
            if value is not None
        }
        tenants = tenants_from_registry(conninfo, database, manifest)
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
    return Settings(manifest, database, tuple(tenants), passwords)
