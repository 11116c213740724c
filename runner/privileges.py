"""The privilege model: who may do what, derived from the manifest and the tenant list.

Pure Python, no database. Both provisioning paths read it: the Pulumi program
(infra/) turns it into resources, and the SQL functions rendered from
sql/templates/ (provision_tenant and friends) are rendered from its context.
``tenancy verify-grants`` (runner/access/drift.py) compares the live catalog with it.

Per tenant: a schema owned by an owner role (NOLOGIN) that also owns every table
and sequence in it; an application login role with DML on those tables; a
read-only login role with SELECT. Both login roles are members of a shared
group role (``app_group`` / ``readonly_group``) that carries what every tenant
shares: SELECT on the central reference tables, DML on the hybrid tables under
row-level security. Putting the shared grants on two group roles keeps the ACL
of a central table at two entries instead of two per tenant.

The engine role (``tenancy_engine``, NOLOGIN, made by install) owns the tool's
entry points, the SECURITY DEFINER functions everyone calls. It alone is a
member of every tenant owner role, so the tool's functions can create, own,
fill and drop tenant tables; it may read the central copies of the moved tables
and the registry, and reference the central tables (tenant tables keep their
foreign keys to them). On the moved tables' central copies it may also delete
and insert (the copy back of a rollback after cutover); never UPDATE, TRIGGER
or TRUNCATE, and nothing on the central tables that stay.

The shared migrator role (NOLOGIN) is what a runner login is a member of. It
holds no tenant owner role and no right on a tenant table: it may read the
registry (to list tenants) and, in schema tenancy (the tool's own, outside this
model), read the ledger and execute the entry points, which install grants it.

The federated reads (schema tenancy_federation) are SECURITY DEFINER functions
owned by ``tenancy_federation_owner`` (NOLOGIN), never by the installer: it
gets SELECT on every tenant's tables (here, per tenant), on the registry and on
the central tables the functions read, and row-level security limits it to the
public rows of the hybrid tables.

Every role attribute (LOGIN, connection limit, per-role settings such as
statement_timeout) is decided here, in :class:`RoleSpec`; the SQL templates,
the Pulumi program, the policy pack and verify-grants read it.

Rows of the privilege matrix are :class:`Privilege`. ``name == ALL`` means
"every object of that type in the schema", as ``GRANT ... ON ALL TABLES IN
SCHEMA`` and a Pulumi ``Grant`` without ``objects`` mean; :func:`expand`
turns such rows into one row per live object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from runner.errors import ManifestError
from runner.manifest import (
    ACCESS_COLUMNS,
    ACCESS_NONE,
    ACCESS_ROWS,
    MAX_IDENTIFIER_BYTES,
    CentralAccess,
    Manifest,
    RoleNames,
    sql_literal,
)
from runner.names import ENGINE_ROLE, FEDERATION_OWNER

ALL = "*"

TABLE_DML = ("DELETE", "INSERT", "SELECT", "UPDATE")
TABLE_READ = ("SELECT",)
# The engine on a moved table's central copy: read it (copy, validate), delete a
# cut-over tenant's rows and insert them back (rollback after cutover). No
# TRIGGER: the capture triggers are made by install, and a role that could add a
# trigger there would get its code run by every writer of the shared table.
MOVED_TABLE_ENGINE = ("DELETE", "INSERT", "SELECT")
SEQUENCE_APP = ("SELECT", "USAGE")
SEQUENCE_READ = ("SELECT",)

# Object types of Privilege rows.
SCHEMA = "schema"
TABLE = "table"
SEQUENCE = "sequence"
COLUMN = "column"  # name = "table.column"
DEFAULT_TABLE = "default table"  # name = the role whose future tables get it
DEFAULT_SEQUENCE = "default sequence"
ROLE = "role"  # membership: grantee is a member of role `name`; privilege MEMBER
MEMBER = "MEMBER"

# verify-grants' LOGIN fact of a credential role, and of one that logs in without a password.
LOGIN_WITH_CREDENTIAL = "LOGIN only with a credential"
LOGIN_WITHOUT_PASSWORD = "LOGIN without a password"

# Attributes no role of the model ever has.
FORBIDDEN_ATTRIBUTES = ("superuser", "createdb", "createrole", "replication", "bypassrls")
# ... spelled as CREATE/ALTER ROLE clauses; every role is also INHERIT.
FIXED_ATTRIBUTES = ("NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE", "NOREPLICATION", "NOBYPASSRLS", "INHERIT")

# The federated reads (sql/functions/federation_*.sql, fixed names): members of
# FEDERATION_ROLE may call them; FEDERATION_OWNER owns them and holds what they read.
FEDERATION_CENTRAL_READS = ("institutions", "jobs", "roles", "users")

# The tool's functions the row-level security policies call
# (sql/templates/rls_hybrid_tables.sql.j2; sql/functions/row_visible.sql and
# tenant_row_keys.sql), as regprocedure prints them in schema tenancy. A policy
# runs as the querying role, so the tenant groups hold EXECUTE on these and on
# nothing else of the tool; without USAGE on schema tenancy they cannot call
# them by name. All SECURITY INVOKER: they read with the caller's rights.
RLS_FUNCTIONS = ("current_tenant_id()", "row_visible(text,text[],text[])", "tenant_row_keys(text,text,text,anyelement)")
# The one function of the tool PUBLIC may execute: the guard policy of the shared
# tables calls it as the application's role, and it only raises TY050
# (sql/functions/refuse_cut_over_row.sql).
GUARD_FUNCTION = "refuse_cut_over_row(text,text)"

# Row policy scopes (RowPolicy.scope): which rows a policy lets through.
OWN_ROWS = "own"  # the tenant's rows (plus public ones for SELECT when a public column exists)
PUBLIC_ROWS = "public"  # only rows flagged in the public column
ALL_ROWS = "all"


@dataclass(frozen=True, order=True)
class Privilege:
    """``grantee`` holds ``privilege`` on the ``object_type`` ``schema.name``."""

    grantee: str
    object_type: str
    schema: str
    name: str
    privilege: str

    def describe(self) -> str:
        if self.object_type == ROLE:
            return f"{self.grantee} is a member of {self.name}"
        if self.object_type in (DEFAULT_TABLE, DEFAULT_SEQUENCE):
            kind = self.object_type.split()[1]
            return f"{self.privilege} on future {kind}s of {self.name} in schema {self.schema} to {self.grantee}"
        where = self.schema if self.object_type == SCHEMA else f"{self.schema}.{self.name}"
        if self.object_type == COLUMN:
            return f"{self.privilege} on column {where} to {self.grantee}"
        return f"{self.privilege} on {self.object_type} {where} to {self.grantee}"


# What `tenancy install` itself grants the federation owner (sql/ledger/0004_security.sql,
# 0010_engine.sql, sql/functions/federation__setup.sql); the role is made by install, not by
# provisioning.
INSTALL_PRIVILEGES = (
    Privilege(FEDERATION_OWNER, SCHEMA, "tenancy", "tenancy", "USAGE"),
    Privilege(FEDERATION_OWNER, SCHEMA, "tenancy_federation", "tenancy_federation", "USAGE"),
    # It compares a tenant table with its stamp before reading it (tenancy.readable_tables).
    Privilege(FEDERATION_OWNER, TABLE, "tenancy", "ledger", "SELECT"),
    Privilege(FEDERATION_OWNER, TABLE, "tenancy", "moved_tables", "SELECT"),
    Privilege(FEDERATION_OWNER, TABLE, "tenancy", "settings", "SELECT"),
)
INSTALL_ROLES = (FEDERATION_OWNER, ENGINE_ROLE)


@dataclass(frozen=True)
class RoleSpec:
    """A role of the model: every attribute and per-role setting it must have."""

    name: str
    kind: str  # owner | app | readonly | migrator | engine | app_group | readonly_group | federation_owner
    login: bool
    connection_limit: int
    search_path: tuple[str, ...]
    # Per-role settings other than search_path (ALTER ROLE ... SET), e.g.
    # ("statement_timeout", "60000"); values as pg_db_role_setting shows them.
    settings: tuple[tuple[str, str], ...] = ()
    # A login role that may log in only once it has a credential: created
    # NOLOGIN, made LOGIN together with its password (tenancy.set_tenant_credential,
    # or Pulumi with a secret), never made LOGIN without one.
    credential: bool = False

    def attributes(self) -> tuple[str, ...]:
        """The clauses of CREATE ROLE that give this role its attributes."""
        return (
            "LOGIN" if self.login and not self.credential else "NOLOGIN",
            *FIXED_ATTRIBUTES,
            f"CONNECTION LIMIT {self.connection_limit}",
        )

    def kept_attributes(self) -> tuple[str, ...]:
        """The clauses of ALTER ROLE that reset drifted attributes: all of them but
        LOGIN/NOLOGIN of a credential role, which its credential decides."""
        login = () if self.credential else ("LOGIN" if self.login else "NOLOGIN",)
        return (*login, *FIXED_ATTRIBUTES, f"CONNECTION LIMIT {self.connection_limit}")

    def login_fact(self) -> str:
        """How verify-grants states this role's LOGIN attribute."""
        if self.credential:
            return LOGIN_WITH_CREDENTIAL
        return "LOGIN" if self.login else "NOLOGIN"


@dataclass(frozen=True, order=True)
class Ownership:
    """``owner`` owns ``schema`` (object_type schema) or every table/sequence in it (name ALL)."""

    object_type: str
    schema: str
    name: str
    owner: str


@dataclass(frozen=True)
class RowPolicy:
    """A row-level security policy on a hybrid or filtered central table (SQL in the template)."""

    schema: str
    table: str
    name: str
    command: str  # SELECT | INSERT | UPDATE | DELETE
    roles: tuple[str, ...]
    public_column: str | None  # rows flagged here are readable by every tenant
    scope: str = OWN_ROWS  # OWN_ROWS | PUBLIC_ROWS | ALL_ROWS
    # For a central table filtered by [central.access]: how a row maps to a tenant.
    access: CentralAccess | None = None


@dataclass(frozen=True)
class TenantPlan:
    tenant_id: str
    schema: str
    owner: RoleSpec
    app: RoleSpec
    readonly: RoleSpec
    privileges: tuple[Privilege, ...]
    ownerships: tuple[Ownership, ...]

    @property
    def roles(self) -> tuple[RoleSpec, ...]:
        return (self.owner, self.app, self.readonly)


@dataclass(frozen=True)
class SharedPlan:
    """What all tenants share: the group roles, the migrator, the engine, central grants, RLS."""

    central_schema: str
    migrator: RoleSpec
    engine: RoleSpec
    app_group: RoleSpec
    readonly_group: RoleSpec
    federation_owner: RoleSpec
    privileges: tuple[Privilege, ...]
    row_policies: tuple[RowPolicy, ...]

    @property
    def roles(self) -> tuple[RoleSpec, ...]:
        return (self.migrator, self.engine, self.app_group, self.readonly_group, self.federation_owner)

    @property
    def secured_tables(self) -> tuple[str, ...]:
        """Central tables with row-level security enabled (hybrid and row-filtered central)."""
        return tuple(dict.fromkeys(p.table for p in self.row_policies))


@dataclass(frozen=True)
class PrivilegeModel:
    manifest: Manifest
    shared: SharedPlan
    tenants: tuple[TenantPlan, ...]

    def tenant(self, tenant_id: str) -> TenantPlan:
        for plan in self.tenants:
            if plan.tenant_id == tenant_id:
                return plan
        raise KeyError(tenant_id)

    @property
    def roles(self) -> tuple[RoleSpec, ...]:
        return self.shared.roles + tuple(r for t in self.tenants for r in t.roles)

    @property
    def privileges(self) -> tuple[Privilege, ...]:
        return self.shared.privileges + tuple(p for t in self.tenants for p in t.privileges)

    @property
    def ownerships(self) -> tuple[Ownership, ...]:
        return tuple(o for t in self.tenants for o in t.ownerships)


def role_name(pattern: str, schema: str) -> str:
    """A tenant role's name: its [roles] pattern around the tenant's schema name."""
    return pattern.replace("{schema}", schema)


def role_name_sql(pattern: str, schema_expr: str) -> str:
    """role_name() as a SQL expression over schema_expr (a text expression), for the templates."""
    before, after = split_pattern(pattern)
    return " || ".join(
        [*([sql_literal(before)] if before else []), schema_expr, *([sql_literal(after)] if after else [])]
    )


def tenant_part_sql(pattern: str, manifest: Manifest, role_expr: str) -> str:
    """SQL over role_expr (a name): the part of it a tenant id became when it is a
    role name of this pattern around a tenant schema name, else NULL. The reverse
    of role_name_sql() over Manifest.schema_sql(), '-' reading back as '_'."""
    before, after = split_pattern(pattern)
    left, right = before + manifest.schema_prefix, manifest.schema_suffix + after
    fixed = len(left) + len(right)
    return (
        f"CASE WHEN char_length({role_expr}) > {fixed}"
        f" AND left({role_expr}, {len(left)}) = {sql_literal(left)}"
        f" AND right({role_expr}, {len(right)}) = {sql_literal(right)}"
        f" THEN substr({role_expr}, {len(left) + 1}, char_length({role_expr}) - {fixed}) END"
    )


def split_pattern(pattern: str) -> tuple[str, str]:
    """``"{schema}_app"`` -> ``("", "_app")``; used to render the SQL side."""
    before, after = pattern.split("{schema}")
    return before, after


def hybrid_sequence(table: str) -> str:
    """The id sequence of a hybrid table, as serial/bigserial/identity name it."""
    return f"{table}_id_seq"


def max_tenant_id_bytes(manifest: Manifest) -> int:
    """Longest tenant id whose schema name and role names all fit in 63 bytes."""
    r = manifest.roles
    longest = max(len(p.replace("{schema}", "").encode()) for p in (r.owner, r.app, r.readonly))
    return manifest.max_tenant_id_bytes - longest


def tenant_plan(manifest: Manifest, tenant_id: str) -> TenantPlan:
    """Everything tenant ``tenant_id`` gets; raises ManifestError for an id that is not allowed."""
    schema = manifest.schema_for(tenant_id)
    names: RoleNames = manifest.roles
    longest = max_tenant_id_bytes(manifest)
    if len(tenant_id.encode()) > longest:
        raise ManifestError(
            f"tenant id {tenant_id!r} is too long: its role names would exceed {MAX_IDENTIFIER_BYTES} bytes",
            hint=f"With these [roles] patterns tenant ids are at most {longest} bytes.",
        )
    search_path = (schema, manifest.central_schema)
    owner = RoleSpec(role_name(names.owner, schema), "owner", False, -1, search_path)
    app = RoleSpec(
        role_name(names.app, schema),
        "app",
        True,
        names.app_connection_limit,
        search_path,
        login_settings(names),
        credential=True,
    )
    ro = RoleSpec(
        role_name(names.readonly, schema),
        "readonly",
        True,
        names.readonly_connection_limit,
        search_path,
        login_settings(names),
        credential=True,
    )
    p: list[Privilege] = []
    for role in (app, ro):
        p.append(Privilege(role.name, SCHEMA, schema, schema, "USAGE"))
    for role, table_privs, seq_privs in (
        (app, TABLE_DML, SEQUENCE_APP),
        (ro, TABLE_READ, SEQUENCE_READ),
    ):
        p += [Privilege(role.name, TABLE, schema, ALL, x) for x in table_privs]
        p += [Privilege(role.name, SEQUENCE, schema, ALL, x) for x in seq_privs]
        p += [Privilege(role.name, DEFAULT_TABLE, schema, owner.name, x) for x in table_privs]
        p += [Privilege(role.name, DEFAULT_SEQUENCE, schema, owner.name, x) for x in seq_privs]
    p.append(Privilege(app.name, ROLE, "", names.app_group, MEMBER))
    p.append(Privilege(ro.name, ROLE, "", names.readonly_group, MEMBER))
    p.append(Privilege(ENGINE_ROLE, ROLE, "", owner.name, MEMBER))
    # The federated reads' owner reads every table of the tenant (now and later).
    p.append(Privilege(FEDERATION_OWNER, SCHEMA, schema, schema, "USAGE"))
    p.append(Privilege(FEDERATION_OWNER, TABLE, schema, ALL, "SELECT"))
    p.append(Privilege(FEDERATION_OWNER, DEFAULT_TABLE, schema, owner.name, "SELECT"))
    ownerships = (
        Ownership(SCHEMA, schema, schema, owner.name),
        Ownership(TABLE, schema, ALL, owner.name),
        Ownership(SEQUENCE, schema, ALL, owner.name),
    )
    return TenantPlan(tenant_id, schema, owner, app, ro, tuple(sorted(p)), ownerships)


def login_settings(names: RoleNames) -> tuple[tuple[str, str], ...]:
    """Per-role settings of the tenant login roles (0 = not set: the server default applies)."""
    values = (
        ("idle_in_transaction_session_timeout", names.idle_in_transaction_session_timeout),
        ("lock_timeout", names.lock_timeout),
        ("statement_timeout", names.statement_timeout),
    )
    return tuple((k, str(v)) for k, v in values if v)


def shared_plan(manifest: Manifest) -> SharedPlan:
    """What all tenants share: the shared roles, their privileges in the central schema,
    and the row policies of the row-filtered central tables and of the hybrid tables."""
    names = manifest.roles
    migrator = RoleSpec(names.migrator, "migrator", False, -1, ())
    engine = RoleSpec(ENGINE_ROLE, "engine", False, -1, ())
    app_group = RoleSpec(names.app_group, "app_group", False, -1, ())
    ro_group = RoleSpec(names.readonly_group, "readonly_group", False, -1, ())
    fed = RoleSpec(FEDERATION_OWNER, "federation_owner", False, -1, ())
    p = _shared_privileges(manifest, migrator, engine, app_group, ro_group, fed)
    both = (app_group.name, ro_group.name)
    policies = _central_row_policies(manifest, p, (migrator, engine, fed), both)
    policies += _hybrid_row_policies(manifest, app_group, fed, both)
    return SharedPlan(
        manifest.central_schema, migrator, engine, app_group, ro_group, fed, tuple(sorted(set(p))), tuple(policies)
    )


def _federation_reads(manifest: Manifest) -> list[str]:
    """The shared tables the federated reads' owner reads: those of FEDERATION_CENTRAL_READS
    the manifest lists, and the registry."""
    listed = set(manifest.central) | set(manifest.hybrid) | {manifest.registry.table}
    return sorted(set(FEDERATION_CENTRAL_READS) & listed | {manifest.registry.table})


def _shared_privileges(
    manifest: Manifest, migrator: RoleSpec, engine: RoleSpec, app_group: RoleSpec, ro_group: RoleSpec, fed: RoleSpec
) -> list[Privilege]:
    """The shared roles' privileges in the central schema (unsorted, may repeat)."""
    central = manifest.central_schema
    readable = sorted(
        t
        for t in set(manifest.central) | {manifest.registry.table}
        if manifest.access(t).mode not in (ACCESS_NONE, ACCESS_COLUMNS)
    )
    column_reads = [(t, c) for t in sorted(manifest.central) for c in manifest.access(t).columns]
    p: list[Privilege] = []
    for role in (migrator, engine, app_group, ro_group, fed):
        p.append(Privilege(role.name, SCHEMA, central, central, "USAGE"))
    for group in (app_group, ro_group):
        p += [Privilege(group.name, TABLE, central, t, "SELECT") for t in readable]
        p += [Privilege(group.name, COLUMN, central, f"{t}.{c}", "SELECT") for t, c in column_reads]
    for table in manifest.hybrid:
        p += [Privilege(app_group.name, TABLE, central, table, x) for x in TABLE_DML]
        p.append(Privilege(ro_group.name, TABLE, central, table, "SELECT"))
        # Inserting a row draws its id from the serial's sequence.
        p.append(Privilege(app_group.name, SEQUENCE, central, hybrid_sequence(table), "USAGE"))
    # The engine reads the rows it copies, deletes and copies them back on a
    # rollback after cutover; it and the migrator read the registry (tenant ids).
    for table in manifest.move:
        p += [Privilege(engine.name, TABLE, central, table, x) for x in MOVED_TABLE_ENGINE]
    for role in (migrator, engine):
        p.append(Privilege(role.name, TABLE, central, manifest.registry.table, "SELECT"))
    # Tenant tables keep their foreign keys to the central tables: adding one
    # needs REFERENCES on its target, whatever tenant roles may see of it.
    referenced = sorted(set(manifest.central) | set(manifest.hybrid) | {manifest.registry.table})
    p += [Privilege(engine.name, TABLE, central, t, "REFERENCES") for t in referenced]
    p += [Privilege(fed.name, TABLE, central, t, "SELECT") for t in _federation_reads(manifest)]
    return p


def _central_row_policies(
    manifest: Manifest,
    privileges: list[Privilege],
    readers: tuple[RoleSpec, RoleSpec, RoleSpec],
    both: tuple[str, str],
) -> list[RowPolicy]:
    """The row policies of the central tables filtered by rows: the tenant roles (``both``)
    see their own rows; each of ``readers`` (migrator, engine, federation owner) that may
    read the table sees every row."""
    central = manifest.central_schema
    migrator, engine, fed = readers
    policies: list[RowPolicy] = []
    for table in sorted(manifest.central_access):
        access = manifest.access(table)
        if access.mode != ACCESS_ROWS:
            continue
        policies.append(RowPolicy(central, table, "tenancy_tenant_select", "SELECT", both, None, OWN_ROWS, access))
        # The shared roles that read it (the migrator and the engine read the registry) see every row.
        for role, name in (
            (migrator, "tenancy_migrator_select"),
            (engine, "tenancy_engine_select"),
            (fed, "tenancy_federation_select"),
        ):
            if Privilege(role.name, TABLE, central, table, "SELECT") in privileges:
                policies.append(RowPolicy(central, table, name, "SELECT", (role.name,), None, ALL_ROWS))
    return policies


def _hybrid_row_policies(
    manifest: Manifest, app_group: RoleSpec, fed: RoleSpec, both: tuple[str, str]
) -> list[RowPolicy]:
    """The row policies of the hybrid tables: the tenant roles (``both``) read their own and
    the public rows, the application group writes its own, the federated reads see the
    public rows."""
    central = manifest.central_schema
    fed_reads = _federation_reads(manifest)
    policies: list[RowPolicy] = []
    for table in manifest.hybrid:
        public = manifest.public_column.get(table)
        policies.append(RowPolicy(central, table, "tenancy_tenant_select", "SELECT", both, public))
        if table in fed_reads:
            # Federated reads see what every tenant may see: the public rows.
            policies.append(
                RowPolicy(central, table, "tenancy_federation_select", "SELECT", (fed.name,), public, PUBLIC_ROWS)
            )
        for command in ("INSERT", "UPDATE", "DELETE"):
            policies.append(
                RowPolicy(
                    central,
                    table,
                    f"tenancy_tenant_{command.lower()}",
                    command,
                    (app_group.name,),
                    None,
                )
            )
    return policies


def build_model(manifest: Manifest, tenant_ids: Iterable[str]) -> PrivilegeModel:
    """The model for these tenants; raises ManifestError on a bad or duplicate tenant id."""
    plans: list[TenantPlan] = []
    seen: dict[str, str] = {}
    for tenant_id in tenant_ids:
        plan = tenant_plan(manifest, tenant_id)
        if plan.schema in seen:
            raise ManifestError(
                f"tenants {seen[plan.schema]!r} and {tenant_id!r} both map to schema {plan.schema!r}",
                hint="Tenant ids that differ only in '-' versus '_' cannot both exist.",
            )
        seen[plan.schema] = tenant_id
        plans.append(plan)
    return PrivilegeModel(manifest, shared_plan(manifest), tuple(plans))


def expand(privileges: Iterable[Privilege], objects: Mapping[tuple[str, str], Sequence[str]]) -> set[Privilege]:
    """Replace each ``name == ALL`` row by one row per object.

    ``objects[(object_type, schema)]`` lists the live tables or sequences of a
    schema. A table row names a table that may not exist: it stays as it is.
    """
    out: set[Privilege] = set()
    for p in privileges:
        if p.name == ALL and p.object_type in (TABLE, SEQUENCE):
            for name in objects.get((p.object_type, p.schema), ()):
                out.add(Privilege(p.grantee, p.object_type, p.schema, name, p.privilege))
        else:
            out.add(p)
    return out


def rls_typed_columns(manifest: Manifest) -> list[tuple[str, str]]:
    """(table, column) whose types the policies' lookups need: the registry id (what
    tenancy.current_tenant_id() returns) and each column filtered through another
    table (its policy casts the keys it is compared with to the column's type)."""
    via = [
        (t, a.column)
        for t in sorted(manifest.central_access)
        if (a := manifest.access(t)).mode == ACCESS_ROWS and a.via_table and a.column
    ]
    return [(manifest.registry.table, manifest.registry.id_column), *via]


def sql_context(manifest: Manifest) -> dict[str, object]:
    """What the SQL templates need to render the model's rules (tenant-independent)."""
    model = build_model(manifest, ())
    shared = model.shared
    names = manifest.roles
    grants: dict[tuple[str, str], list[str]] = {}
    for p in shared.privileges:
        if p.object_type == TABLE:
            grants.setdefault((p.name, p.grantee), []).append(p.privilege)
    return {
        "central_schema": manifest.central_schema,
        "registry": manifest.registry,
        "tenant_key": manifest.tenant_key,
        # role_sql('owner' | 'app' | 'readonly', schema expression): the role name in SQL.
        "role_sql": lambda kind, schema_expr: role_name_sql(getattr(names, kind), schema_expr),
        # tenant_part_sql('app' | 'readonly', role expression): the tenant id part of a role name, in SQL.
        "tenant_part_sql": lambda kind, role_expr: tenant_part_sql(getattr(names, kind), manifest, role_expr),
        "max_tenant_id_bytes": max_tenant_id_bytes(manifest),
        # Attributes and settings of each kind of tenant role (same for every tenant).
        "tenant_roles": {r.kind: r for r in tenant_plan(manifest, "x").roles},
        "migrator": shared.migrator,
        "engine": shared.engine,
        "app_group": shared.app_group,
        "readonly_group": shared.readonly_group,
        "federation_owner": shared.federation_owner,
        "shared_roles": shared.roles,
        # The NOLOGIN owners of the tool's SECURITY DEFINER functions that read tenant tables.
        "definer_owners": (ENGINE_ROLE, FEDERATION_OWNER),
        "revoke_public_temp": names.revoke_public_temp,
        "federation_central_grants": [p for p in shared.privileges if p.grantee == shared.federation_owner.name],
        "engine_central_grants": [p for p in shared.privileges if p.grantee == shared.engine.name],
        "table_dml": TABLE_DML,
        "table_read": TABLE_READ,
        "sequence_app": SEQUENCE_APP,
        "sequence_read": SEQUENCE_READ,
        "table_grants": [(t, g, privs) for (t, g), privs in sorted(grants.items())],
        "column_grants": [
            (p.name.split(".", 1)[0], p.name.split(".", 1)[1], p.grantee)
            for p in shared.privileges
            if p.object_type == COLUMN
        ],
        "hybrid_tables": manifest.hybrid,
        "hybrid_sequences": [hybrid_sequence(t) for t in manifest.hybrid],
        "move_tables": list(manifest.move),
        "central_tables": list(manifest.central),
        "row_policies": shared.row_policies,
        "secured_tables": shared.secured_tables,
        "rls_functions": RLS_FUNCTIONS,
    }
