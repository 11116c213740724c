"""The harness itself: the cluster starts as an unprivileged user and databases are isolated."""

from __future__ import annotations

import psycopg


def test_fresh_database_is_empty_and_writable(empty_db: psycopg.Connection) -> None:
    empty_db.execute("CREATE TABLE t (x int)")
    empty_db.execute("INSERT INTO t VALUES (1)")
    assert empty_db.execute("SELECT count(*) FROM t").fetchone() == (1,)
    user = empty_db.execute("SELECT current_user").fetchone()
    assert user == ("postgres",)


def test_each_test_gets_its_own_database(empty_db: psycopg.Connection) -> None:
    # The table made by the previous test must not be here.
    assert empty_db.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
