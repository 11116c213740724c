"""Install or upgrade schema ``tenancy``: ledger tables, static and rendered functions.

First the manifest is checked against the catalog (tables, registry columns,
tenant key), so a typo fails before anything changes. Then one transaction, so
a failed install leaves the previous one in place:

1. ``sql/install/drop_routines.sql`` drops the tool's routines that nothing
   else uses, so every function file can recreate its routine whatever its new
   signature or return type (``CREATE OR REPLACE`` alone cannot change those);
   routines a trigger, view or policy uses are kept and replaced in place.
   (``sql/install/routines.sql`` is the session-local helper that lists the
   routines for this step, step 4 and the summary of what changed.)
2. ``sql/ledger/*.sql`` by name: numbered, each idempotent, so applying them all
   again alters an older ledger in place and keeps its rows.
3. ``sql/functions/*.sql`` by name, on a Citus coordinator ``sql/citus/*.sql``,
   then the files rendered from the manifest.
4. ``sql/install/check_routines.sql`` refuses (TY020) when a kept routine is
   no longer defined by the new version; then ``tenancy.settings`` and
   ``tenancy.moved_tables`` are analyzed (too small for autovacuum to).
5. ``sql/install/hardening.sql``: no routine of the tool is executable by
   PUBLIC (each file grants EXECUTE to the roles that need it). After the
   check, since a REVOKE rewrites every routine's catalog row.
6. ``tenancy.refresh_hybrid_policies()``: where tenancy has put row-level
   security on the hybrid and row-filtered central tables already, the
   policies an older version made are replaced by this version's.
7. ``tenancy.grant_runner_privileges()`` gives the migrator role its rights
   (reading the ledger, the entry points), and ``tenancy.stamp_unstamped()``
   stamps the tenant tables an older version made, when nothing on them could
   run code (docs/security.md).

The tool's routines are therefore exactly what the files define, and their
grants are what the files grant. The installed row records the version, a
checksum of everything applied, and what changed; installing the same again
changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from runner import __version__
from runner.db import typed_errors
from runner.engine.catalog import manifest_problems
from runner.engine.render import Rendering, render_all
from runner.engine.rows import (
    InstalledVersion,
    PolicyChange,
    RoutineDigest,
    Stamp,
    fetch_all,
    fetch_one,
    fetch_value,
    fetch_values,
)
from runner.errors import ManifestError
from runner.manifest import Manifest
from runner.resources import CITUS_DIR, FUNCTIONS_DIR, LEDGER_DIR, SQL_DIR, read_query
from runner.sqlscript import run_script


@dataclass(frozen=True)
class RoutineChanges:
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True)
class InstallResult:
    version: str
    checksum: str
    changed: bool
    statements_files: int
    rendering: Rendering
    previous_version: str | None = None
    ledger_files: tuple[str, ...] = ()
    routines: RoutineChanges = field(default_factory=RoutineChanges)
    # Row-level security brought up to date: "schema.table policy: action".
    row_security: tuple[str, ...] = ()
    # Tenant tables an older version made, stamped now (or left unstamped): "tenant.table: action".
    stamps: tuple[str, ...] = ()


def static_sql() -> list[tuple[str, str]]:
    """(name, text) of the static SQL, in install order."""
    files = [*ledger_files(), *sorted(FUNCTIONS_DIR.glob("*.sql"))]
    return [(str(f.relative_to(SQL_DIR)), f.read_text(encoding="utf-8")) for f in files]


def citus_sql(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, text) of the Citus functions when this database has the citus extension, else none."""
    if fetch_value(conn, read_query("queries/install_has_citus.sql")) is None:
        return []
    return [(str(f.relative_to(SQL_DIR)), f.read_text(encoding="utf-8")) for f in sorted(CITUS_DIR.glob("*.sql"))]


def ledger_files() -> list[Path]:
    return sorted(LEDGER_DIR.glob("*.sql"))


def _routines(conn: psycopg.Connection) -> dict[str, str]:
    """identity -> digest of every routine of the tool now."""
    rows = fetch_all(conn, RoutineDigest, read_query("queries/install_routine_digests.sql"))
    return {r.identity: r.digest for r in rows}


def _compare(before: dict[str, str], after: dict[str, str]) -> RoutineChanges:
    return RoutineChanges(
        added=tuple(sorted(set(after) - set(before))),
        replaced=tuple(sorted(i for i in set(after) & set(before) if after[i] != before[i])),
        dropped=tuple(sorted(set(before) - set(after))),
        unchanged=sum(1 for i in set(after) & set(before) if after[i] == before[i]),
    )


def _in_place(conn: psycopg.Connection) -> InstalledVersion | None:
    """The version and checksum of the install in place, or None."""
    if fetch_value(conn, "SELECT to_regclass('tenancy.installed')") is None:
        return None
    return fetch_one(conn, InstalledVersion, read_query("queries/install_in_place.sql"))


def check_manifest(conn: psycopg.Connection, manifest: Manifest) -> None:
    """ManifestError, before anything is changed, when the manifest names tables or
    columns the database does not have."""
    problems = manifest_problems(conn, manifest)
    if problems:
        raise ManifestError(
            f"the manifest does not match the database: {problems[0]}"
            + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""),
            detail="\n".join(problems),
            hint="Correct the names in the manifest (or create what is missing), then run `tenancy install` again.",
        )


def checksum_of(parts: list[tuple[str, str]]) -> str:
    """The checksum an install records: of every file it applies, in order, and the hardening."""
    digest = hashlib.sha256()
    for name, text in [*parts, ("install/hardening.sql", read_query("install/hardening.sql"))]:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def install_parts(conn: psycopg.Connection, rendering: Rendering) -> list[tuple[str, str]]:
    """(name, text) of every file an install applies, in order."""
    return static_sql() + citus_sql(conn) + [(f"rendered/{f.name}", f.text) for f in rendering.files]


def installed_checksum(conn: psycopg.Connection) -> str | None:
    """The checksum of the install in place when it is this version's, else None."""
    in_place = _in_place(conn)
    return in_place.checksum if in_place and in_place.version == __version__ else None


def install(conn: psycopg.Connection, manifest: Manifest) -> InstallResult:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # The routine check compares catalog rows with this transaction's id.
        raise RuntimeError("install() needs a connection outside any transaction")
    check_manifest(conn, manifest)
    rendering = render_all(conn, manifest)
    with conn.transaction(), typed_errors():
        return apply_install(conn, rendering)


def _replace_routines(conn: psycopg.Connection, parts: list[tuple[str, str]]) -> RoutineChanges:
    """Drop the tool's routines, run every part, check them, and say what changed."""
    run_script(conn, read_query("install/routines.sql"))
    before = _routines(conn)
    run_script(conn, read_query("install/drop_routines.sql"))
    for _name, text in parts:
        run_script(conn, text)
    run_script(conn, read_query("install/check_routines.sql"))
    changes = _compare(before, _routines(conn))
    conn.execute("DROP FUNCTION pg_temp.tenancy_routines()")
    return changes


def _after_routines(conn: psycopg.Connection) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a real install does once the routines are in place: statistics, the hardening,
    the runner's grants, first stamps of older tenant tables, the row-level security of
    the hybrid tables. Returns (stamps, row-security changes), each as lines."""
    # Statistics for the two small tables only install writes: autovacuum never
    # analyzes a table of a few rows, and without statistics the planner takes
    # them for hundreds of rows and scans whole catalogs where an index would do.
    conn.execute("ANALYZE tenancy.settings, tenancy.moved_tables")
    run_script(conn, read_query("install/hardening.sql"))
    # After the hardening: the runner's role gets EXECUTE on every routine, and
    # its rights on tables an upgrade added.
    conn.execute("SELECT count(*) FROM tenancy.grant_runner_privileges()")
    # Tenant tables an older version made get their first stamp (as the installer).
    stamps = tuple(
        f"{s.tenant_id}.{s.table_name}: {s.action}"
        for s in fetch_all(conn, Stamp, read_query("queries/install_stamp_unstamped.sql"))
    )
    row_security = tuple(
        f"{c.object_name}: {c.action}"
        for c in fetch_all(conn, PolicyChange, read_query("queries/install_refresh_hybrid_policies.sql"))
    )
    return stamps, row_security


def _hold_off_autovacuum(conn: psycopg.Connection, rendering: Rendering) -> None:
    """SHARE UPDATE EXCLUSIVE on every shared moved table, before anything of them changes.

    Install grants on those tables (which writes their pg_class rows without locking
    them) and later creates their capture triggers. An autovacuum ANALYZE that starts
    in between holds its lock on the table and waits to write the same pg_class row,
    while install waits for its trigger's lock: a deadlock, which PostgreSQL ends by
    failing the install. Held first, this lock keeps autovacuum off the tables (one
    already running is cancelled when it is in the way), and leaves the application's
    reads and writes alone. Sorted, so two sessions take them in the same order."""
    tables = sorted({(t.schema, t.name) for t in rendering.tables})
    found = fetch_values(
        conn,
        "SELECT t.i FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t (s, n, i)"
        " WHERE to_regclass(format('%%I.%%I', t.s, t.n)) IS NOT NULL ORDER BY t.i",
        ([schema for schema, _ in tables], [name for _, name in tables]),
    )
    present = [tables[i - 1] for i in found]
    if present:
        conn.execute(
            sql.SQL("LOCK TABLE {} IN SHARE UPDATE EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(schema, name) for schema, name in present)
            )
        )


def apply_install(conn: psycopg.Connection, rendering: Rendering, *, plan_only: bool = False) -> InstallResult:
    """Install (or upgrade to) these files in the caller's transaction, which must be a
    transaction of its own, not a savepoint (the routine check compares catalog rows with
    its id). plan_only (`tenancy plan`, which rolls the transaction back): only what the
    preflight needs, nothing that locks the application's tables or advances a sequence:
    no row-level security refresh, no stamps, no record of the install; the rendering
    must leave out the capture triggers (render_all(capture_triggers=False)), and the
    check that an install keeps the capture of tenants in flight (TY059) is left to the
    plan, which knows the tables."""
    parts = install_parts(conn, rendering)
    checksum = checksum_of(parts)
    applied_ledger = tuple(name for name, _ in parts if name.startswith("ledger/"))
    # Two installs at once would interleave their DROP and CREATE.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('tenancy:install', 0))")
    in_place = _in_place(conn)
    if in_place == InstalledVersion(__version__, checksum):
        return InstallResult(__version__, checksum, False, len(parts), rendering, __version__)
    if plan_only:
        conn.execute("SET LOCAL tenancy.plan_only = on")
    else:
        _hold_off_autovacuum(conn, rendering)
    changes = _replace_routines(conn, parts)
    if plan_only:
        return InstallResult(
            __version__,
            checksum,
            True,
            len(parts),
            rendering,
            in_place.version if in_place else None,
            applied_ledger,
            changes,
        )
    stamps, row_security = _after_routines(conn)
    previous = in_place.version if in_place else None
    conn.execute(
        "SELECT tenancy.record_install(%s, %s, %s, %s, %s)",
        (
            __version__,
            checksum,
            previous,
            list(applied_ledger),
            Jsonb({"added": changes.added, "replaced": changes.replaced, "dropped": changes.dropped}),
        ),
    )
    return InstallResult(
        __version__, checksum, True, len(parts), rendering, previous, applied_ledger, changes, row_security, stamps
    )


def describe_install(result: InstallResult) -> list[str]:
    """What an install did, in a few lines: versions, ledger files, routines."""
    tables = f"{len(result.rendering.tables)} moved tables, checksum {result.checksum[:12]}"
    if not result.changed:
        return [f"tenancy {result.version} already installed (no change): {tables}"]
    if result.previous_version is None:
        head = f"tenancy {result.version} installed: {tables}"
    else:
        head = f"tenancy upgraded {result.previous_version} -> {result.version}: {tables}"
    r = result.routines
    lines = [
        head,
        # By name, not number: the numbers only order the files (some are unused).
        f"  ledger: {len(result.ledger_files)} files applied in order "
        f"({', '.join(Path(f).stem.split('_', 1)[-1] for f in result.ledger_files)})",
        f"  routines: {len(r.added)} added, {len(r.replaced)} replaced, {len(r.dropped)} dropped, "
        f"{r.unchanged} unchanged",
    ]
    if result.previous_version is not None:
        lines += [f"  {what} {name}" for what, names in (("added", r.added), ("dropped", r.dropped)) for name in names]
    lines += [f"  row-level security: {change}" for change in result.row_security]
    lines += [f"  tenant table {stamp}" for stamp in result.stamps]
    return lines
