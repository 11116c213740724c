"""Remove what `tenancy install` and provisioning created that all tenants share.

Removed: schemas ``tenancy`` (ledger, settings, functions) and
``tenancy_federation``, and the shared roles (the migrator, the app and
read-only group roles of ``[roles]``, ``tenancy_federation``, and
``tenancy_capture``, which owns the change-capture trigger functions).
Never removed: tenant schemas and their tables, tenant roles, the shared
tables and their rows.

Without ``force`` it refuses while anything depends on them (the ledger's
tenant schemas, objects that use the tool's functions, roles that are
members of a shared role) and lists them. With ``force`` those dependents go
too: objects outside the tool's schemas that use its functions (e.g. triggers
on shared tables) are dropped with the schemas; the shared roles' privileges
in this database and their row-level security policies are dropped with
them, and their members lose what they granted. Objects *owned* by a shared
role outside the tool's schemas always stop it (they may hold data).
A shared role that still holds privileges in another database of the cluster
is kept and reported (uninstall there too).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from runner.errors import UninstallRefused
from runner.manifest import Manifest
from runner.names import CAPTURE_ROLE, FEDERATION_ROLE, TOOL_SCHEMAS
from runner.privileges import build_model

_SHOWN = 30


@dataclass(frozen=True)
class Blocker:
    kind: str  # tenant schema | dependent | member | owned
    object_name: str
    reason: str

    def describe(self) -> str:
        return f"{self.kind}: {self.object_name} ({self.reason})"


@dataclass(frozen=True)
class UninstallResult:
    schemas: tuple[str, ...]
    roles: tuple[str, ...]
    kept_roles: tuple[str, ...]
    forced: tuple[Blocker, ...]


def shared_roles(manifest: Manifest) -> tuple[str, ...]:
    return (*(r.name for r in build_model(manifest, ()).shared.roles), FEDERATION_ROLE, CAPTURE_ROLE)


def blockers(conn: psycopg.Connection, roles: tuple[str, ...]) -> list[Blocker]:
    if conn.execute("SELECT to_regprocedure('tenancy.uninstall_blockers(text[])')").fetchone() == (None,):
        return []
    rows = conn.execute("SELECT * FROM tenancy.uninstall_blockers(%s)", (list(roles),)).fetchall()
    return [Blocker(*r) for r in rows]


def _listing(found: list[Blocker]) -> str:
    lines = [b.describe() for b in found[:_SHOWN]]
    if len(found) > _SHOWN:
        lines.append(f"... and {len(found) - _SHOWN} more")
    return "\n".join(lines)


def uninstall(conn: psycopg.Connection, manifest: Manifest, *, force: bool) -> UninstallResult:
    roles = shared_roles(manifest)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('tenancy:install', 0))")
        found = blockers(conn, roles)
        owned = [b for b in found if b.kind == "owned"]
        if owned:
            raise UninstallRefused(
                f"{len(owned)} object(s) outside schema tenancy are owned by a shared role; nothing was removed",
                detail=_listing(owned),
                hint="Give them another owner (ALTER ... OWNER TO), then uninstall again; --force never drops them.",
            )
        if found and not force:
            kinds = sorted({b.kind for b in found})
            raise UninstallRefused(
                f"{len(found)} object(s) depend on tenancy ({', '.join(kinds)}); nothing was removed",
                detail=_listing(found),
                hint="Roll back or finish those tenants first, or pass --force: it drops the dependents listed "
                "as 'dependent', and members lose what the shared roles granted; tenant schemas, tenant "
                "roles and data stay.",
            )
        schemas = tuple(
            s for s in TOOL_SCHEMAS if conn.execute("SELECT to_regnamespace(%s)", (s,)).fetchone() != (None,)
        )
        for s in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(s)))
        dropped: list[str] = []
        kept: list[str] = []
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                continue
            try:
                with conn.transaction():
                    # Owns nothing here (checked above): this only revokes its privileges and policies.
                    conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
                dropped.append(role)
            except psycopg.errors.DependentObjectsStillExist:
                kept.append(role)
    return UninstallResult(schemas, tuple(dropped), tuple(kept), tuple(found))
