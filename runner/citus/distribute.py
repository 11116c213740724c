"""Distribute migrated tenant schemas over a Citus cluster (schema-based sharding).

Order: the cluster and every tenant are checked first (tenancy.citus_preflight)
and any error refuses the whole run with nothing changed; then the central
tables the user consented to (--make-reference, or [citus] reference_tables in
the manifest) become reference tables, once, and tenancy's row-level security
is brought up to date on the tables Citus took over with them (Citus re-creates
their policies); then each tenant is one call of
tenancy.citus_distribute_tenant(), a single transaction that distributes,
verifies the copy, truncates the local copy and records the placement, so a
killed run resumes by running again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from runner.db import connect, typed_errors
from runner.engine.executor import TenantResult, for_each_tenant, select_tenants
from runner.engine.rows import fetch_value
from runner.errors import CATALOGUE, CitusUnavailable, NotInstalled, TenancyError
from runner.manifest import Manifest
from runner.states import TenantOutcome


@dataclass(frozen=True)
class Problem:
    """One row of tenancy.citus_preflight(): an error refuses the run, a warning does not."""

    tenant_id: str | None
    object_name: str
    severity: str
    problem: str
    hint: str

    def describe(self) -> str:
        where = f"tenant {self.tenant_id}: " if self.tenant_id else ""
        return f"{where}{self.object_name}: {self.problem} (hint: {self.hint})"


class DistributeRefused(TenancyError):
    """Preflight found problems; nothing was changed."""

    def __init__(self, problems: list[Problem]):
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(
            f"distribute refused: {len(errors)} problem(s), nothing was changed",
            detail="\n".join(p.describe() for p in errors),
            hint=errors[0].hint,
        )
        self.problems = problems


@dataclass(frozen=True)
class DistributeRun:
    references: list[tuple[str, str]]
    warnings: list[Problem]
    results: list[TenantResult]
    # Row-level security brought up to date: "schema.table policy: action".
    row_security: list[str]


def require_citus(conn: psycopg.Connection) -> None:
    """CitusUnavailable (TY070) without the citus extension; NotInstalled when tenancy's Citus functions are missing."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is None:
        raise CitusUnavailable(f"database {conn.info.dbname} has no citus extension", hint=CATALOGUE["TY070"].hint)
    if conn.execute("SELECT to_regprocedure('tenancy.citus_require()')").fetchone() == (None,):
        raise NotInstalled(
            "tenancy's Citus functions are not installed in this database",
            hint="Run `tenancy install` again: on a database with the citus extension it adds them.",
        )
    with typed_errors():
        conn.execute("SELECT tenancy.citus_require()")


def preflight(conn: psycopg.Connection, tenants: Sequence[str], make_reference: Sequence[str]) -> list[Problem]:
    """Everything that would stop or qualify the distribution, read-only."""
    with typed_errors():
        rows = conn.execute(
            "SELECT tenant_id, object_name, severity, problem, hint FROM tenancy.citus_preflight(%s, %s)",
            (list(tenants), list(make_reference)),
        ).fetchall()
    return [Problem(*r) for r in rows]


def _distribute_one(conn: psycopg.Connection, tenant_id: str) -> TenantResult:
    started = time.monotonic()
    try:
        with typed_errors():
            row = conn.execute(
                "SELECT node, tables, rows_verified, action FROM tenancy.citus_distribute_tenant(%s)", (tenant_id,)
            ).fetchone()
            # After the commit above, so that the workers see the sequences.
            conn.execute("SELECT tenancy.citus_sync_sequence_grants(%s)", (tenant_id,))
    except (TenancyError, psycopg.Error) as e:
        # Citus's own refusals (SQLSTATEs outside class TY) are this tenant's result too.
        diag = e.diag if isinstance(e, psycopg.Error) else None
        return TenantResult(
            tenant_id,
            TenantOutcome.FAILED,
            seconds=time.monotonic() - started,
            error=str(e) if diag is None else diag.message_primary or str(e),
            hint=getattr(e, "hint", None) or (diag.message_hint if diag else None),
            detail=getattr(e, "detail", None) or (diag.message_detail if diag else None),
            sqlstate=getattr(e, "sqlstate", None),
        )
    assert row is not None
    node, tables, rows, action = row
    return TenantResult(
        tenant_id,
        TenantOutcome.DISTRIBUTED if action == "distributed" else TenantOutcome.SKIPPED,
        rows=int(rows),
        seconds=time.monotonic() - started,
        detail=f"{tables} tables on {node}",
    )


def distribute(
    dsn: str,
    manifest: Manifest,
    *,
    tenants: Sequence[str] | None,
    make_reference: Sequence[str],
    jobs: int = 1,
) -> DistributeRun:
    """Preflight, consented reference tables (``make_reference`` and the manifest's
    [citus] reference_tables), then each tenant; one failing tenant does not stop the others."""
    consented = list(dict.fromkeys([*manifest.reference_tables, *make_reference]))
    with connect(dsn) as conn:
        ids = select_tenants(conn, manifest, tenants)
        require_citus(conn)
        problems = preflight(conn, ids, consented)
        if any(p.severity == "error" for p in problems):
            raise DistributeRefused(problems)
        references = []
        with typed_errors():
            conn.execute("SELECT * FROM tenancy.citus_owner_logins()").fetchall()
            for table in consented:
                references.append((table, fetch_value(conn, "SELECT tenancy.citus_make_reference(%s)", (table,)) or ""))
            row_security = [
                f"{name}: {action}"
                for _, name, action in conn.execute("SELECT * FROM tenancy.refresh_hybrid_policies()").fetchall()
            ]
    results = for_each_tenant(dsn, ids, _distribute_one, jobs)
    return DistributeRun(references, [p for p in problems if p.severity != "error"], results, row_security)
