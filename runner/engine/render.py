"""Render sql/templates/*.sql.j2 into concrete SQL from the manifest and the live catalog.

Output is deterministic: the same manifest and catalog give byte-identical
files, which is what the installed checksum is computed from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import psycopg

from runner.engine import catalog
from runner.engine.target import TargetTable, derive, fk_order, refusal
from runner.errors import CATALOGUE, RenderError
from runner.manifest import TENANT_ID_PATTERN, Manifest
from runner.manifest import sql_literal as quote_literal
from runner.privileges import rls_typed_columns, sql_context
from runner.resources import TEMPLATES_DIR

_PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


@dataclass(frozen=True)
class RenderedFile:
    name: str  # file name under `render --out`
    template: str  # template it came from
    text: str


@dataclass(frozen=True)
class Rendering:
    tables: tuple[TargetTable, ...]
    files: tuple[RenderedFile, ...]
    warnings: tuple[str, ...]


def quote_ident_with(reserved: frozenset[str]) -> Callable[[str], str]:
    """PostgreSQL's quote_ident(): quote only when needed, so output stays readable."""

    def quote(name: str) -> str:
        if _PLAIN_IDENT.match(name) and name not in reserved:
            return name
        return '"' + name.replace('"', '""') + '"'

    return quote


def _environment(reserved: frozenset[str]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # SQL, not HTML: values go through the qi/ql/fmt filters
    )
    env.filters["qi"] = quote_ident_with(reserved)
    env.filters["ql"] = quote_literal
    # Text placed inside a format() string: a literal % must be doubled.
    env.filters["fmt"] = lambda s: str(s).replace("%", "%%")
    # Text placed inside a '...' literal.
    env.filters["qs"] = lambda s: str(s).replace("'", "''")
    return env


def derive_all(
    conn: psycopg.Connection, manifest: Manifest, tables: list[str] | None = None
) -> tuple[TargetTable, ...]:
    """Read every moved table (or those of `tables`) and derive its tenant table, in FK order,
    the fate of each object with it: refused ones too (see derive_tables)."""
    names = list(manifest.move) if tables is None else tables
    with conn.transaction():
        conn.execute("SET LOCAL search_path = pg_catalog")
        shapes = {t: catalog.read_table(conn, manifest.central_schema, t) for t in names}
        hashable = catalog.hashable_types(conn, {c.type for s in shapes.values() for c in s.columns})
    moved = set(manifest.move)
    refs = {
        name: {
            fk.ref_table
            for fk in shape.foreign_keys
            if fk.ref_schema == manifest.central_schema and fk.ref_table in moved
        }
        for name, shape in shapes.items()
    }
    order = fk_order(names, refs)
    return tuple(derive(shapes[n], manifest, i + 1, hashable) for i, n in enumerate(order))


def derive_tables(conn: psycopg.Connection, manifest: Manifest) -> tuple[TargetTable, ...]:
    """Every moved table's tenant table, in FK order; RenderError naming every refused object
    of every table when there is any."""
    tables = derive_all(conn, manifest)
    refused = [t for t in tables if t.refused]
    if len(refused) == 1:
        raise refusal(refused[0])
    if refused:
        fates = [f for t in refused for f in t.refused]
        first = fates[0]
        raise RenderError(
            f'{first.kind} "{first.name}" of "{first.table}" {first.how} (and {len(fates) - 1} more refused '
            f"object(s), {len(refused)} tables in all)",
            hint=first.hint,
            detail="\n".join(f"{f.table}: {f.kind} {f.name} {f.how}. {f.hint or ''}".rstrip() for f in fates),
        )
    return tables


# Templates rendered once per install from the manifest (not per table), in
# install order. Other parts of the tool add theirs here.
GLOBAL_TEMPLATES: list[str] = ["settings.sql.j2", "schema_name.sql.j2"]
# Privileges and provisioning, from runner/privileges.py (the privilege model).
GLOBAL_TEMPLATES += [
    "grant_privileges.sql.j2",
    "rls_hybrid_tables.sql.j2",
    "runner_privileges.sql.j2",
    "provision_shared_privileges.sql.j2",
    "provision_tenant.sql.j2",
    "deprovision_tenant.sql.j2",
    "federation_grants.sql.j2",
    "engine_grants.sql.j2",
]
# Online mode: the one routine of contract that runs as the owner of the shared tables.
GLOBAL_TEMPLATES += ["contract_shared_tables.sql.j2"]
# The SQLSTATEs of the tool and their hints, from runner/errors.py.
GLOBAL_TEMPLATES += ["error_catalogue.sql.j2"]


def render_all(conn: psycopg.Connection, manifest: Manifest, *, capture_triggers: bool = True) -> Rendering:
    """Every file install applies. capture_triggers=False leaves out the CREATE TRIGGER
    statements of the capture (what `tenancy plan` installs in a transaction it rolls back:
    they would hold off writes to the shared tables until then)."""
    tables = derive_tables(conn, manifest)
    env = _environment(catalog.reserved_words(conn))
    context = {
        "m": manifest,
        "manifest_path": manifest.path.name if manifest.path else "",
        "tenant_id_pattern": TENANT_ID_PATTERN,
        "tables": [t.name for t in tables],
        "model": sql_context(manifest),
        "shared_owner": catalog.shared_tables_owner(conn, manifest),
        "errors": CATALOGUE,
        # "table.column" -> type, for the row-level security lookups (rls_hybrid_tables.sql.j2).
        "types": {
            f"{t}.{c}": type_name
            for (t, c), type_name in catalog.column_types(
                conn, manifest.central_schema, rls_typed_columns(manifest)
            ).items()
        },
    }
    files = [
        RenderedFile(f"00_{Path(name).stem.removesuffix('.sql')}.sql", name, env.get_template(name).render(context))
        for name in GLOBAL_TEMPLATES
    ]
    table_tpl = env.get_template("moved_table.sql.j2")
    for t in tables:
        files.append(
            RenderedFile(
                f"{t.position:02d}_{t.fn_prefix}.sql",
                "moved_table.sql.j2",
                table_tpl.render(t=t, capture_triggers=capture_triggers),
            )
        )
    warnings = tuple(
        f"table {manifest.central_schema}.{name} has a {manifest.tenant_key} column but is not in the manifest"
        for name in catalog.unlisted_tenant_tables(conn, manifest)
    )
    return Rendering(tables, tuple(files), warnings)


def write_rendering(rendering: Rendering, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in rendering.files:
        path = out / f.name
        path.write_text(f.text, encoding="utf-8")
        written.append(path)
    return written
