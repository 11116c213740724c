"""The manifest (TOML): where the tenants are, and each shared table's fate.

Everything the tool does is driven by it; nothing is specific to one
application. See ``tenancy.toml`` at the repository root for the reference
example and README "Manifest reference" for every key.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ManifestError

# One rule for tenant ids, used by Python (CLI, Pulumi) and rendered into the
# SQL settings so tenancy.tenant_schema() applies the very same rule.
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
MAX_IDENTIFIER_BYTES = 63
_SCHEMA_PART = re.compile(r"^[a-z_][a-z0-9_]*$|^$")
_IDENT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")

DEFAULT_MANIFEST = "tenancy.toml"
# Where the manifest is when --manifest is not given (before ./tenancy.toml).
MANIFEST_ENV = "TENANCY_MANIFEST"
# A tenant id's '-' is written '_' in its schema name (and so in its role names).
_ID_TO_SCHEMA = ("-", "_")


def sql_literal(value: object) -> str:
    """A SQL string literal of str(value), as quote_literal() writes it."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Registry:
    table: str
    id_column: str
    name_column: str | None


@dataclass(frozen=True)
class RoleNames:
    """[roles]: tenant role name patterns and the shared roles (README, "For platform engineers")."""

    owner: str = "{schema}_owner"
    app: str = "{schema}_app"
    readonly: str = "{schema}_ro"
    app_connection_limit: int = 20
    readonly_connection_limit: int = 5
    # Per-role defaults of the tenant login roles, in milliseconds (0 = none):
    # a tenant cannot hold locks or a transaction open for long by default.
    statement_timeout: int = 60_000
    lock_timeout: int = 10_000
    idle_in_transaction_session_timeout: int = 60_000
    # REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC at provisioning.
    revoke_public_temp: bool = True
    migrator: str = "tenancy_migrator"
    app_group: str = "tenancy_app"
    readonly_group: str = "tenancy_readonly"


# What tenant roles get of a central table ([central.access]).
ACCESS_ALL = "all"
ACCESS_NONE = "none"
ACCESS_ROWS = "rows"
ACCESS_COLUMNS = "columns"


@dataclass(frozen=True)
class CentralAccess:
    """What tenant roles may read of one central table.

    ``all``: every row; ``none``: nothing; ``columns``: every row, only
    these ``columns``; ``rows``: the rows whose ``column`` is the tenant's
    id, or (with ``via_table``) whose ``column`` equals ``via_key`` of a row
    of central table ``via_table`` whose tenant key is the tenant's id.
    Filtered by row-level security.
    """

    mode: str = ACCESS_ALL
    column: str | None = None
    via_table: str | None = None
    via_key: str = "id"
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. Table names are bare names in ``central_schema``."""

    tenant_key: str
    central_schema: str
    schema_pattern: str
    registry: Registry
    move: tuple[str, ...]
    central: tuple[str, ...]
    hybrid: tuple[str, ...]
    extra_unique: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    public_column: dict[str, str] = field(default_factory=dict)
    central_access: dict[str, CentralAccess] = field(default_factory=dict)
    roles: RoleNames = field(default_factory=RoleNames)
    # [citus] reference_tables: consent, kept with the manifest, to make these central
    # tables Citus reference tables (`tenancy distribute`, as --make-reference does).
    reference_tables: tuple[str, ...] = ()
    path: Path | None = None

    def access(self, table: str) -> CentralAccess:
        """What tenant roles get of central table ``table`` (every row unless [central.access] says)."""
        return self.central_access.get(table, CentralAccess())

    @property
    def schema_prefix(self) -> str:
        return self.schema_pattern.split("{id}")[0]

    @property
    def schema_suffix(self) -> str:
        return self.schema_pattern.split("{id}")[1]

    @property
    def max_tenant_id_bytes(self) -> int:
        return MAX_IDENTIFIER_BYTES - len(self.schema_prefix) - len(self.schema_suffix)

    # The one rule for a tenant's schema name: the pattern's prefix and suffix
    # around the id, with '-' written as '_'. schema_for() applies it here;
    # schema_sql() writes the same rule as SQL for the templates (rendered into
    # tenancy.schema_name(), which every SQL function calls); tenant_part()
    # reads it backwards.

    def schema_for(self, tenant_id: str) -> str:
        """The tenant's schema name; raises ManifestError for an id that is not allowed."""
        check_tenant_id(tenant_id, self.max_tenant_id_bytes)
        return self.schema_prefix + tenant_id.replace(*_ID_TO_SCHEMA) + self.schema_suffix

    def schema_sql(self, id_expr: str) -> str:
        """schema_for() as a SQL expression over id_expr (a text expression; not validated)."""
        parts = [f"replace({id_expr}, {sql_literal(_ID_TO_SCHEMA[0])}, {sql_literal(_ID_TO_SCHEMA[1])})"]
        if self.schema_prefix:
            parts.insert(0, sql_literal(self.schema_prefix))
        if self.schema_suffix:
            parts.append(sql_literal(self.schema_suffix))
        return " || ".join(parts)

    def tenant_part(self, schema: str) -> str | None:
        """The part of a schema name that schema_for() made from a tenant id, or None when
        the name is not a tenant schema's. ('-' and '_' both read back as '_'.)"""
        core = schema.removeprefix(self.schema_prefix)
        if self.schema_suffix:
            core = core.removesuffix(self.schema_suffix) if core.endswith(self.schema_suffix) else ""
        if not schema.startswith(self.schema_prefix) or not re.fullmatch(r"[a-z0-9_]+", core):
            return None
        return core


def check_tenant_id(tenant_id: str, max_bytes: int) -> None:
    if not isinstance(tenant_id, str) or not re.match(TENANT_ID_PATTERN, tenant_id):
        raise ManifestError(
            f"invalid tenant id {tenant_id!r}",
            hint="Tenant ids are lowercase letters, digits, '_' and '-', starting with a letter or digit.",
        )
    if len(tenant_id.encode()) > max_bytes:
        raise ManifestError(
            f"tenant id {tenant_id!r} is longer than {max_bytes} bytes",
            hint="The schema name must fit PostgreSQL's 63-byte identifier limit.",
        )


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{where} must be a non-empty string", hint="See README, Manifest reference.")
    if len(value.encode()) > MAX_IDENTIFIER_BYTES or _IDENT_FORBIDDEN.search(value):
        raise ManifestError(
            f"{where} = {value!r} is not a usable PostgreSQL identifier",
            hint="Identifiers are at most 63 bytes and contain no control characters.",
        )
    return value


# Every key each section accepts; anything else is a typo or a misplaced key.
SECTION_KEYS: dict[str, frozenset[str]] = {
    "tenancy": frozenset({"tenant_key", "central_schema", "schema_pattern"}),
    "registry": frozenset({"table", "id_column", "name_column"}),
    "move": frozenset({"tables", "unique"}),
    "central": frozenset({"tables", "access"}),
    "hybrid": frozenset({"tables", "public_column"}),
    "roles": frozenset(RoleNames.__dataclass_fields__),
    "citus": frozenset({"reference_tables"}),
}


def _reject_unknown(names: Any, known: frozenset[str], where: str) -> None:
    """ManifestError for an unknown name, naming the nearest valid one."""
    for name in sorted(set(names) - known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        guess = f": did you mean `{close[0]}`?" if close else ""
        raise ManifestError(
            f"unknown {where} `{name}`{guess}",
            hint=f"Valid names: {', '.join(sorted(known))} (README, Manifest reference).",
        )


def _table_list(section: dict[str, Any], name: str, required: bool) -> tuple[str, ...]:
    raw = section.get("tables")
    if raw is None:
        if required:
            raise ManifestError(f"[{name}] tables is missing", hint=f"Add `[{name}]` with `tables = [...]`.")
        return ()
    if not isinstance(raw, list):
        raise ManifestError(f"[{name}] tables must be a list of table names")
    names = tuple(_identifier(t, f"[{name}] tables entry") for t in raw)
    dupes = sorted({t for t in names if names.count(t) > 1})
    if dupes:
        raise ManifestError(f"[{name}] lists {', '.join(dupes)} more than once")
    return names


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ManifestError(f"[{name}] must be a table (section)")
    return value


def _role_names(section: dict[str, Any]) -> RoleNames:
    defaults = RoleNames()
    values: dict[str, Any] = {}
    for key in ("owner", "app", "readonly"):
        pattern = section.get(key, getattr(defaults, key))
        if not (
            isinstance(pattern, str)
            and pattern.count("{schema}") == 1
            and re.match(r"^[a-z0-9_]*$", pattern.replace("{schema}", ""))
            and pattern != "{schema}"
        ):
            raise ManifestError(
                f"[roles] {key} = {pattern!r} must contain {{schema}} once plus a fixed part",
                hint='Use lowercase letters, digits and "_", for example "{schema}_app".',
            )
        values[key] = pattern
    if len({values["owner"], values["app"], values["readonly"]}) != 3:
        raise ManifestError("[roles] owner, app and readonly patterns must differ")
    for key in ("app_connection_limit", "readonly_connection_limit"):
        limit = section.get(key, getattr(defaults, key))
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < -1:
            raise ManifestError(f"[roles] {key} must be an integer >= -1 (-1 means no limit)")
        values[key] = limit
    for key in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
        ms = section.get(key, getattr(defaults, key))
        if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 2_147_483_647:
            raise ManifestError(
                f"[roles] {key} must be a number of milliseconds >= 0 (0 means none)",
                hint=f"For example {key} = {getattr(defaults, key)}.",
            )
        values[key] = ms
    temp = section.get("revoke_public_temp", defaults.revoke_public_temp)
    if not isinstance(temp, bool):
        raise ManifestError("[roles] revoke_public_temp must be true or false")
    values["revoke_public_temp"] = temp
    for key in ("migrator", "app_group", "readonly_group"):
        name = section.get(key, getattr(defaults, key))
        if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_]{0,62}$", name):
            raise ManifestError(f"[roles] {key} = {name!r} must be a lowercase role name")
        values[key] = name
    if len({values["migrator"], values["app_group"], values["readonly_group"]}) != 3:
        raise ManifestError("[roles] migrator, app_group and readonly_group must differ")
    return RoleNames(**values)


def _reference_tables(section: dict[str, Any], stay: set[str]) -> tuple[str, ...]:
    """[citus] reference_tables: tables that stay shared (``stay``) the user consents to make
    Citus reference tables."""
    raw = section.get("reference_tables", [])
    if not isinstance(raw, list):
        raise ManifestError(
            "[citus] reference_tables must be a list of table names", hint='For example reference_tables = ["users"].'
        )
    names = tuple(_identifier(t, "[citus] reference_tables entry") for t in raw)
    dupes = sorted({t for t in names if names.count(t) > 1})
    if dupes:
        raise ManifestError(f"[citus] reference_tables lists {', '.join(dupes)} more than once")
    for t in names:
        if t not in stay:
            raise ManifestError(
                f"[citus] reference_tables: {t!r} is not a table of [central] or [hybrid]",
                hint="A reference table is a table that stays shared, copied to every Citus node; "
                "tables of [move] go to the tenants.",
            )
    return names


def _central_access(
    section: dict[str, Any], central: tuple[str, ...], registry: Registry, tenant_key: str
) -> dict[str, CentralAccess]:
    """[central.access]: per central table, ``"all"``, ``"none"`` or ``{ rows = ... }``."""
    out: dict[str, CentralAccess] = {}
    for table, spec in section.items():
        where = f"[central.access] {table}"
        if table not in central:
            raise ManifestError(f"{where}: {table!r} is not listed in [central] tables")
        if spec in (ACCESS_ALL, ACCESS_NONE):
            if spec == ACCESS_NONE and table == registry.table:
                raise ManifestError(
                    f"{where}: the tenant registry must stay readable",
                    hint="Row-level security finds a tenant role's tenant through it; use rows instead.",
                )
            out[table] = CentralAccess(spec)
            continue
        if isinstance(spec, dict) and set(spec) == {"columns"}:
            cols = spec["columns"]
            if table == registry.table or not isinstance(cols, list) or not cols:
                raise ManifestError(
                    f"{where} columns must be a non-empty list of column names (not for the registry)",
                    hint='For example companies = { columns = ["id", "name"] }.',
                )
            names = tuple(_identifier(c, f"{where} columns entry") for c in cols)
            if len(set(names)) != len(names):
                raise ManifestError(f"{where} columns lists a column more than once")
            out[table] = CentralAccess(ACCESS_COLUMNS, columns=names)
            continue
        if not isinstance(spec, dict) or set(spec) != {"rows"} or not isinstance(spec["rows"], dict):
            raise ManifestError(
                f'{where} must be "all", "none", {{ columns = [...] }} or {{ rows = {{ ... }} }}',
                hint='For example users = { rows = { column = "institution_id", via_table = "institutions" } }.',
            )
        rows = spec["rows"]
        bad = sorted(set(rows) - {"column", "via_table", "via_key"})
        if bad:
            raise ManifestError(f"unknown key(s) in {where} rows: {', '.join(bad)}")
        column = _identifier(rows.get("column"), f"{where} rows.column")
        via_table = rows.get("via_table")
        if via_table is not None:
            via_table = _identifier(via_table, f"{where} rows.via_table")
            if via_table not in central or via_table == table:
                raise ManifestError(
                    f"{where}: rows.via_table {via_table!r} must be another central table",
                    hint=f"It is the table whose {tenant_key} column names the tenant.",
                )
        via_key = _identifier(rows.get("via_key", "id"), f"{where} rows.via_key")
        out[table] = CentralAccess(ACCESS_ROWS, column, via_table, via_key)
    for table, access in out.items():
        via = out.get(access.via_table or "")
        if via is not None and (via.mode in (ACCESS_NONE, ACCESS_COLUMNS) or via.via_table is not None):
            raise ManifestError(
                f"[central.access] {table}: rows.via_table {access.via_table!r} must be readable"
                " and filtered by its own tenant column, if at all",
                hint="A row filter reads its via_table as the tenant role, one level deep.",
            )
    return out


def _schema_pattern(top: dict[str, Any]) -> str:
    """[tenancy] schema_pattern: lowercase text around exactly one {id}."""
    pattern = top.get("schema_pattern", "tenant_{id}")
    if not isinstance(pattern, str) or pattern.count("{id}") != 1:
        raise ManifestError(
            "[tenancy] schema_pattern must contain {id} exactly once",
            hint='For example schema_pattern = "tenant_{id}".',
        )
    before, after = pattern.split("{id}")
    if not (_SCHEMA_PART.match(before) and re.match(r"^[a-z0-9_]*$", after)) or not (before or after):
        raise ManifestError(
            f"[tenancy] schema_pattern {pattern!r} must be lowercase letters, digits and '_' around {{id}}",
            hint='Use a fixed prefix such as "tenant_{id}", so tenant schemas never clash with others.',
        )
    return pattern


def _registry(section: dict[str, Any]) -> Registry:
    """[registry]: the table listing the tenants, its id column and its optional name column."""
    return Registry(
        table=_identifier(section.get("table"), "[registry] table"),
        id_column=_identifier(section.get("id_column", "id"), "[registry] id_column"),
        name_column=(
            _identifier(section["name_column"], "[registry] name_column") if "name_column" in section else None
        ),
    )


def _table_fates(
    move_s: dict[str, Any], central_s: dict[str, Any], hybrid_s: dict[str, Any], registry: Registry
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The tables of [move], [central] and [hybrid]: at least one moved, each table with
    exactly one fate, the registry never moved."""
    move = _table_list(move_s, "move", required=True)
    if not move:
        raise ManifestError("[move] tables is empty", hint="List at least one shared table to move.")
    central = _table_list(central_s, "central", required=False)
    hybrid = _table_list(hybrid_s, "hybrid", required=False)
    seen: dict[str, str] = {}
    for fate, names in (("move", move), ("central", central), ("hybrid", hybrid)):
        for t in names:
            if t in seen:
                raise ManifestError(
                    f"table {t!r} is listed in both [{seen[t]}] and [{fate}]",
                    hint="Each table has exactly one fate.",
                )
            seen[t] = fate
    if registry.table in move:
        raise ManifestError(
            f"the tenant registry {registry.table!r} cannot be moved",
            hint="List it under [central].",
        )
    return move, central, hybrid


def _extra_unique(section: dict[str, Any], move: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """[move.unique]: per moved table, the column lists that must stay unique in each tenant."""
    extra_unique: dict[str, tuple[tuple[str, ...], ...]] = {}
    for table, keys in section.items():
        if table not in move:
            raise ManifestError(f"[move.unique] names {table!r}, which is not a moved table")
        if not isinstance(keys, list) or not all(isinstance(k, list) and k for k in keys):
            raise ManifestError(
                f"[move.unique] {table} must be a list of column lists",
                hint='For example component_themes = [["slug"]].',
            )
        extra_unique[table] = tuple(tuple(_identifier(c, f"[move.unique] {table} column") for c in k) for k in keys)
    return extra_unique


def _public_column(section: dict[str, Any], hybrid: tuple[str, ...]) -> dict[str, str]:
    """[hybrid.public_column]: per hybrid table, the column that marks a row public."""
    public_column: dict[str, str] = {}
    for table, col in section.items():
        if table not in hybrid:
            raise ManifestError(f"[hybrid.public_column] names {table!r}, which is not a hybrid table")
        public_column[table] = _identifier(col, f"[hybrid.public_column] {table}")
    return public_column


def parse_manifest(doc: dict[str, Any], path: Path | None = None) -> Manifest:
    """Validate a parsed TOML document, section by section, into a Manifest;
    raises ManifestError at the first problem, naming the key."""
    _reject_unknown(doc, frozenset(SECTION_KEYS), "manifest section")
    for name in SECTION_KEYS:
        _reject_unknown(_section(doc, name), SECTION_KEYS[name], f"key in [{name}]")
    top = _section(doc, "tenancy")
    tenant_key = _identifier(top.get("tenant_key"), "[tenancy] tenant_key")
    central_schema = _identifier(top.get("central_schema", "public"), "[tenancy] central_schema")
    pattern = _schema_pattern(top)
    registry = _registry(_section(doc, "registry"))
    move_s, central_s, hybrid_s = _section(doc, "move"), _section(doc, "central"), _section(doc, "hybrid")
    move, central, hybrid = _table_fates(move_s, central_s, hybrid_s, registry)
    extra_unique = _extra_unique(_section(move_s, "unique"), move)
    central_access = _central_access(_section(central_s, "access"), central, registry, tenant_key)
    public_column = _public_column(_section(hybrid_s, "public_column"), hybrid)
    return Manifest(
        tenant_key=tenant_key,
        central_schema=central_schema,
        schema_pattern=pattern,
        registry=registry,
        move=move,
        central=central,
        hybrid=hybrid,
        extra_unique=extra_unique,
        public_column=public_column,
        central_access=central_access,
        roles=_role_names(_section(doc, "roles")),
        reference_tables=_reference_tables(_section(doc, "citus"), {*central, *hybrid, registry.table}),
        path=path,
    )


def locate_manifest(given: str | Path | None) -> Path:
    """Where the manifest is: the path given (--manifest), else $TENANCY_MANIFEST, else
    ./tenancy.toml; the first that is set is used. When that file is missing, the
    ManifestError lists every place looked at."""
    looked = []
    for source, value in (
        ("--manifest", given),
        (f"${MANIFEST_ENV}", os.environ.get(MANIFEST_ENV)),
        ("the current directory", DEFAULT_MANIFEST),
    ):
        if not value:
            looked.append(f"{source} (not set)")
            continue
        path = Path(value)
        if path.exists():
            return path
        looked.append(f"{source}: {path.resolve()} (not found)")
        break
    raise ManifestError(
        f"manifest not found: {looked[-1]}",
        detail="looked at: " + "; ".join(looked),
        hint=f"Pass --manifest FILE, set {MANIFEST_ENV}, or write one with `tenancy init` and edit it.",
    )


def load_manifest(path: str | Path = DEFAULT_MANIFEST) -> Manifest:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"manifest {str(p)!r} not found",
            hint="Pass --manifest FILE, or write the example with `tenancy init` and edit it.",
        ) from None
    except IsADirectoryError:
        raise ManifestError(
            f"manifest {str(p)!r} is a directory, not a file",
            hint=f"Pass --manifest the TOML file itself, e.g. {str(p / DEFAULT_MANIFEST)!r}.",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise ManifestError(
            f"cannot read manifest {str(p)!r}: {reason}", hint="Pass --manifest a readable TOML file."
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"manifest {str(p)!r} is not valid TOML: {e}") from None
    return parse_manifest(doc, p)
