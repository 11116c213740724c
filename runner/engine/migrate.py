"""Migrate tenants: preflight, then calls of the SQL engine.

No row passes through Python. A whole run migrates tenants in batches, one
call of tenancy.migrate_tenants() per batch (one pass per shared table for the
batch, the split copy); named tenants (`--tenant`) and `--batch-size` runs
take the per-tenant path: tenancy.migrate_tenant() (or CALL
tenancy.migrate_tenant_batched()) per tenant. What comes back is the ledger's
rows and the functions' progress NOTICEs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg

from runner.db import connect, progress_notices, typed_errors
from runner.engine.executor import (
    Progress,
    TableResult,
    TenantResult,
    failed_result,
    for_each_tenant,
    in_batches,
    not_run,
    record_failure,
    table_result,
    table_results,
    tenant_failed,
)
from runner.engine.rows import (
    BatchRow,
    IncompleteTenant,
    MigratedTable,
    PreflightProblem,
    SchemaCollision,
    TableAction,
    TableRow,
    fetch_all,
    fetch_value,
    fetch_values,
)
from runner.errors import CATALOGUE, PreflightFailed, SchemaNameShared, TenancyError, hint_for
from runner.resources import read_query
from runner.signals import received
from runner.states import TenantOutcome


def global_preflight(conn: psycopg.Connection) -> None:
    """Problems that concern every tenant stop the whole run before any write."""
    with typed_errors():
        problems = fetch_all(conn, PreflightProblem, read_query("queries/migrate_preflight.sql"))
    if problems:
        lines = [
            f"{p.table_name}: {p.check_name}"
            + (f", {p.problem_rows} rows" if p.problem_rows is not None else "")
            + f" ({p.detail})"
            for p in problems
        ]
        raise PreflightFailed(
            f"preflight failed for every tenant: {len(problems)} problem(s), nothing was changed",
            detail="\n".join(lines),
            hint=problems[0].hint,
        )


def unbatched_tables(dsn: str) -> list[str]:
    """What --batch-size cannot apply to: moved tables without a primary key (keyset
    batches need one), each copied in one statement instead. Not a table of at most one
    row per tenant (captured by the empty key): it has no batches to speak of."""
    with connect(dsn) as conn, typed_errors():
        return fetch_values(conn, read_query("queries/migrate_unbatched_tables.sql"))


def incomplete_tenants(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Migrated tenants that miss tables added to [move] later: {tenant: [tables]}."""
    with typed_errors():
        rows = fetch_all(conn, IncompleteTenant, read_query("queries/migrate_incomplete_tenants.sql"))
    return {r.tenant_id: list(r.missing_tables) for r in rows}


def schema_collisions(conn: psycopg.Connection) -> dict[str, SchemaNameShared]:
    """Registry tenants whose ids map to one schema name, each with the error that names its group."""
    with typed_errors():
        rows = fetch_all(conn, SchemaCollision, read_query("queries/migrate_schema_collisions.sql"))
    return {
        r.tenant_id: SchemaNameShared(
            f"tenant ids {', '.join(repr(i) for i in r.tenant_ids)} all map to schema {r.schema_name}; "
            "none of them is migrated",
            hint=CATALOGUE["TY030"].hint,
        )
        for r in rows
    }


def provision_first(conn: psycopg.Connection, tenants: list[str]) -> None:
    """Provision the tenants, set-based and in a short transaction of their own, as the
    caller: an administrator's run creates their roles and schemas (the engine, which
    migrates them, may not). Granting their roles the group memberships locks each group
    role until commit, which inside a migration would make parallel batches wait for each
    other. When this fails (e.g. TY060, a login that may not create roles), the migration
    refuses each tenant that is not provisioned and reports it as that tenant's result."""
    try:
        with typed_errors():
            conn.execute("SELECT count(*) FROM tenancy.provision_tenants(%s, false)", (tenants,))
    except (TenancyError, psycopg.Error):
        pass


def _migrate_one(
    conn: psycopg.Connection,
    tenant_id: str,
    batch_size: int | None,
    progress: Progress | None,
) -> TenantResult:
    """One tenant, validated against its shared rows as they are after the copy.

    Any error is this tenant's result: its transaction rolled back (migrate_tenant)
    or its committed batches stay for a re-run to resume (batched), its lock is
    released, and the failure is recorded unless another session owns the tenant.
    """
    started = time.monotonic()
    with progress_notices(conn, progress.advance if progress else None):
        try:
            with typed_errors():
                if progress:
                    progress.start(tenant_id)
                provision_first(conn, [tenant_id])
                if batch_size:
                    conn.execute("CALL tenancy.migrate_tenant_batched(%s, %s)", (tenant_id, batch_size))
                    query = read_query("queries/migrate_batched_tables.sql")
                else:
                    query = read_query("queries/migrate_tenant.sql")
                rows = fetch_all(conn, TableRow, query, {"tenant": tenant_id})
        except (TenancyError, psycopg.Error) as e:
            return tenant_failed(conn, tenant_id, e, started, remains=_what_remains(batch_size), progress=progress)
    tables = table_results(rows)
    state = TenantOutcome.SKIPPED if rows and all(r.action == "skipped" for r in rows) else TenantOutcome.MIGRATED
    result = TenantResult(
        tenant_id,
        state,
        rows=sum(t.rows for t in tables),
        seconds=time.monotonic() - started,
        tables=tables,
    )
    if progress:
        progress.finish(result)
    return result


def _migrate_batch(conn: psycopg.Connection, batch: list[str], progress: Progress | None) -> list[TenantResult]:
    """One batch in one transaction (tenancy.migrate_tenants), validated against the shared
    rows as they are after the copy. When the batch as a whole fails (a statement shared by
    its tenants), each tenant is migrated on its own, so the error lands on the tenant that
    caused it and the others still move."""
    started = time.monotonic()
    if progress:
        for t in batch:
            progress.start(t)
    # Progress NOTICEs only when something shows them.
    conn.execute("SELECT set_config('client_min_messages', %s, false)", ("notice" if progress else "warning",))
    provision_first(conn, batch)
    try:
        with progress_notices(conn, progress.advance if progress else None), typed_errors():
            rows = fetch_all(conn, BatchRow, read_query("queries/migrate_tenants.sql"), {"tenants": batch})
    except (TenancyError, psycopg.Error) as e:
        if conn.broken or received() is not None:
            # The session is gone, or a stop signal cancelled the batch: no retry.
            return [tenant_failed(conn, t, e, started, remains=_what_remains(None), progress=progress) for t in batch]
        conn.rollback()
        return [_migrate_one(conn, t, None, progress) for t in batch]
    share = (time.monotonic() - started) / len(batch)
    results = []
    for t in batch:
        mine = [r for r in rows if r.tenant_id == t]
        failure = next((r for r in mine if r.action == "failed"), None)
        if failure:
            result = TenantResult(
                t,
                TenantOutcome.FAILED,
                seconds=share,
                error=failure.error,
                hint=failure.error_hint or hint_for(failure.error_code),
                detail=failure.error_detail,
                sqlstate=failure.error_code,
            )
            record_failure(conn, t, result)
        else:
            tables = table_results(mine)
            skipped = bool(mine) and all(r.action == "skipped" for r in mine)
            result = TenantResult(
                t,
                TenantOutcome.SKIPPED if skipped else TenantOutcome.MIGRATED,
                rows=sum(x.rows for x in tables),
                seconds=share,
                tables=tables,
            )
        if progress:
            progress.finish(result)
        results.append(result)
    return results


def _what_remains(batch_size: int | None) -> str:
    if batch_size:
        return "Batches committed before the error stay in the tenant schema; a re-run resumes from the ledger."
    return "Nothing of this tenant was committed (one transaction); a re-run starts it again."


def _already_migrated(
    conn: psycopg.Connection, tenants: Sequence[str], progress: Progress | None
) -> dict[str, TenantResult]:
    """The tenants migrated already, each skipped with its tables: a re-run skips them
    with one read of the ledger."""
    with typed_errors():
        done = fetch_all(
            conn, MigratedTable, read_query("queries/migrate_migrated_tables.sql"), {"tenants": list(tenants)}
        )
    skipped: dict[str, list[TableResult]] = {}
    for d in done:
        skipped.setdefault(d.tenant_id, []).append(table_result(d))
    results = {
        t: TenantResult(t, TenantOutcome.SKIPPED, rows=sum(x.rows for x in ts), tables=ts) for t, ts in skipped.items()
    }
    if progress:
        for skip in results.values():
            progress.start(skip.tenant_id)
            progress.finish(skip)
    return results


def migrate_tenants(
    dsn: str,
    tenants: Sequence[str],
    *,
    batch_size: int | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    split: bool = True,
) -> list[TenantResult]:
    """Migrate each tenant on `jobs` connections; one failing tenant is reported and the others go on.

    With split (and no batch_size), tenants go in batches of tenancy.tenant_batch_size(jobs),
    each shared table read once per batch; otherwise one tenant at a time."""
    with connect(dsn) as conn:
        results = _already_migrated(conn, tenants, progress)
        pending = [t for t in tenants if t not in results]
        if not pending:
            return [results[t] for t in tenants]
        global_preflight(conn)
        with typed_errors():
            # Refuses settings too low for even one tenant, before any work.
            size = fetch_value(conn, "SELECT tenancy.tenant_batch_size(%s)", (jobs,))
            # What all tenants share, once per run and in its own short transaction,
            # so tenants migrated in parallel never wait on its lock.
            conn.execute("SELECT * FROM tenancy.provision_shared_privileges_unless_busy()").fetchall()
        collisions = schema_collisions(conn)
        failed = [
            tenant_failed(conn, t, collisions[t], time.monotonic(), remains=_what_remains(None), progress=progress)
            for t in pending
            if t in collisions
        ]
    pending = [t for t in pending if t not in collisions]
    if split and not batch_size:
        batches = in_batches(pending, int(size) if size is not None else 1, jobs)
        # Each batch in a session of its own. A session keeps the plan of every
        # statement its functions ran (on a wide schema thousands: the rendered
        # functions of every moved table) and one per foreign key to a central
        # table the engine checked row by row, and every catalog change of a
        # migration (each index, key, table made) walks that whole list of plans.
        # A new session holds one batch's plans; reused, it held every batch's.
        parts = for_each_tenant(
            dsn,
            batches,
            lambda conn, b: _migrate_batch(conn, b, progress),
            jobs,
            not_run=lambda b, why: [not_run(t, why) for t in b],
            fresh_sessions=True,
        )
        moved = [r for part in parts for r in part]
    else:
        moved = for_each_tenant(
            dsn,
            pending,
            lambda conn, t: _migrate_one(conn, t, batch_size, progress),
            jobs,
            not_run=not_run,
        )
    results.update((r.tenant_id, r) for r in failed + moved)
    return [results[t] for t in tenants]


def rollback_tenants(dsn: str, tenants: Sequence[str], *, force: bool = False) -> list[TenantResult]:
    """tenancy.rollback_tenant() for each tenant; any error is that tenant's result.

    force: drop tenant tables even when they hold rows the shared tables do not.
    """

    def one(conn: psycopg.Connection, tenant_id: str) -> TenantResult:
        started = time.monotonic()
        try:
            with typed_errors():
                rows = fetch_all(
                    conn,
                    TableAction,
                    read_query("queries/migrate_rollback_tenant.sql"),
                    {"tenant": tenant_id, "force": force},
                )
        except (TenancyError, psycopg.Error) as e:
            return failed_result(tenant_id, e, started)
        return TenantResult(
            tenant_id,
            TenantOutcome.ROLLED_BACK,
            seconds=time.monotonic() - started,
            tables=[TableResult(r.table_name, r.action, 0, None) for r in rows],
        )

    return for_each_tenant(dsn, tenants, one, not_run=not_run)
