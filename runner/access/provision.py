"""Provision tenants (tenancy.provision_tenant): schema, roles and grants from the privilege model."""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from runner.db import typed_errors
from runner.engine.executor import (
    TableResult,
    TenantResult,
    failed_result,
    for_each_tenant,
    not_run,
)
from runner.errors import TenancyError


def provision_tenants(dsn: str, tenants: Sequence[str]) -> list[TenantResult]:
    """tenancy.provision_tenant() for each tenant, in order; any error is that tenant's
    result. Each change comes back as a TableResult (object, what was done)."""

    def one(conn: psycopg.Connection, tenant_id: str) -> TenantResult:
        started = time.monotonic()
        try:
            with typed_errors():
                rows = conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
        except (TenancyError, psycopg.Error) as e:
            return failed_result(tenant_id, e, started)
        return TenantResult(
            tenant_id,
            "provisioned",
            seconds=time.monotonic() - started,
            tables=[TableResult(f"{kind} {name}", action, 0, None) for kind, name, action in rows],
        )

    return for_each_tenant(dsn, tenants, one, not_run=not_run)
