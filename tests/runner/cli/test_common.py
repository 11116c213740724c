"""What every verb checks before any work: a read-only database, a registry table that is gone."""

from __future__ import annotations

import pytest
from psycopg import sql

from tests.conftest import Database
from tests.runner.cli.tenancy import refused, tenancy
from tests.snapshots import snapshot


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate"],
        ["provision"],
        ["validate"],
        ["cutover", "--all"],
        ["install"],
        ["rollback", "--tenant", "x1"],
        ["contract", "--yes"],
        ["sample", "--replace"],
    ],
)
def test_a_read_only_database_is_refused_before_any_work(db: Database, argv: list[str]) -> None:
    with db.connect() as conn:
        before = snapshot(conn)
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(sql.Identifier(db.name))
        )
    out = tenancy(*argv, dsn=db.dsn)
    assert refused(out) and "is read-only" in out.stderr and "default_transaction_read_only" in out.stderr, out.stderr
    with db.connect() as conn:
        conn.execute("SET default_transaction_read_only = off")
        conn.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(sql.Identifier(db.name)))
        assert snapshot(conn) == before
    # Reading still works there.
    with db.connect() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(sql.Identifier(db.name))
        )
    assert tenancy("status", dsn=db.dsn).returncode == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate"],
        ["migrate", "--dry-run"],
        ["status"],
        ["validate"],
        ["provision"],
        ["verify-grants"],
        ["cutover", "--all"],
    ],
)
def test_a_missing_registry_table_is_told_with_a_hint(db: Database, argv: list[str]) -> None:
    with db.connect() as conn:
        conn.execute("ALTER TABLE public.tenants RENAME TO tenants_gone")
        before = snapshot(conn)
    out = tenancy(*argv, dsn=db.dsn)
    assert refused(out) and "public.tenants" in out.stderr, out.stderr
    assert "does not exist" in out.stderr or "is not there" in out.stderr, out.stderr
    with db.connect() as conn:
        assert snapshot(conn) == before
