"""Where each tenant stands: state, tables, rows, validation (tenancy.tenant_status).

Every tenant of the registry has a status, touched by tenancy or not; the
outcome of `tenancy validate` is recorded per tenant (tenancy.record_validation)
and counts until the tenant is migrated again or rolled back.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from runner.db import typed_errors
from runner.engine.executor import TenantResult, natural_key
from runner.engine.rows import StatusRow, fetch_all
from runner.resources import read_query
from runner.states import TenantOutcome, TenantState

# A registry tenant the ledger does not know yet (tenancy.tenant_status).
NEW = "new"
# States in which a tenant has no migrated tables to validate.
NOT_MIGRATED = frozenset({NEW, TenantState.PROVISIONED, TenantState.MIGRATING, TenantState.FAILED})


@dataclass(frozen=True)
class TenantStatus:
    tenant_id: str
    schema_name: str | None
    state: str
    tables: int
    tables_done: int
    rows_copied: int
    seconds: float | None
    validated: bool | None  # None: not validated since the tenant was migrated
    validated_at: dt.datetime | None
    failed_checks: int | None
    last_error: str | None

    @property
    def migrated(self) -> bool:
        return self.state not in NOT_MIGRATED


def tenant_status(conn: psycopg.Connection, tenant_ids: Sequence[str] | None = None) -> list[TenantStatus]:
    """The status of every registry tenant (or of those given), in natural id order."""
    with typed_errors():
        rows = fetch_all(
            conn,
            StatusRow,
            read_query("queries/status_tenants.sql"),
            {"tenants": list(tenant_ids) if tenant_ids is not None else None},
        )
    statuses = [
        TenantStatus(
            tenant_id=r.tenant_id,
            schema_name=r.schema_name,
            state=r.state,
            tables=int(r.tables),
            tables_done=int(r.tables_done),
            rows_copied=int(r.rows_copied),
            seconds=float(r.seconds) if isinstance(r.seconds, decimal.Decimal) else None,
            validated=r.validated,
            validated_at=r.validated_at,
            failed_checks=r.failed_checks,
            last_error=r.last_error,
        )
        for r in rows
    ]
    return sorted(statuses, key=lambda s: natural_key(s.tenant_id))


def record_validation(conn: psycopg.Connection, results: Sequence[TenantResult]) -> None:
    """Record each validated tenant's outcome (failed checks, 0 = validated) in the ledger."""
    checked = [r for r in results if r.state in (TenantOutcome.VALIDATED, TenantOutcome.INVALID)]
    if not checked:
        return
    failed = [sum(1 for c in r.checks if c.get("passed") is False) for r in checked]
    with typed_errors():
        conn.execute("SELECT tenancy.record_validation(%s, %s)", ([r.tenant_id for r in checked], failed))


def not_migrated_result(status: TenantStatus) -> TenantResult:
    """What validate reports for a tenant that has nothing migrated to check."""
    why = f"state {status.state}" + (f": {status.last_error}" if status.last_error else "")
    return TenantResult(
        status.tenant_id,
        TenantOutcome.NOT_MIGRATED,
        error=f"not migrated ({why})",
        hint="Run `tenancy migrate` for this tenant, then validate it.",
    )
