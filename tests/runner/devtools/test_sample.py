"""runner.devtools.sample: the generated Alumate-like database, on a real PostgreSQL."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

from runner.devtools.sample import (
    CENTRAL_TABLES,
    HYBRID_TABLES,
    MOVED_MIX,
    MOVED_TABLES,
    ROWS_PER_TENANT_MIN,
    TENANT_SCHEMAS_PER_TRANSACTION,
    SampleSummary,
    build_sample,
    plan_rows,
)
from runner.errors import TenancyError

ALL_TABLES = (*CENTRAL_TABLES, *MOVED_TABLES, *HYBRID_TABLES)
# Ten tenants: enough for the 20% skew, small enough to build in well under a second.
TENANTS = 10
ROWS = 20_000


def checksums(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """(row count, sum of row-text hashes) for every table of the sample."""
    tables = [("public", t) for t in ALL_TABLES]
    tables += conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE starts_with(table_schema, 'tenant_') ORDER BY 1, 2"
    ).fetchall()
    result = {}
    for schema, table in tables:
        row = conn.execute(
            sql.SQL("SELECT count(*), coalesce(sum(hashtext(t::text)), 0) FROM {} AS t").format(
                sql.Identifier(schema, table)
            )
        ).fetchone()
        assert row is not None
        result[f"{schema}.{table}"] = (row[0], int(row[1]))
    return result


def scalar(conn: psycopg.Connection, query: sql.Composable | str) -> object:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


# --- the plan (no database) -------------------------------------------------


@pytest.mark.parametrize(
    ("tenants", "rows"),
    [
        (2, 40),
        (3, 61),
        (4, 4000),
        (7, 1000),
        (20, 400),
        (20, 200_000),
        (100, 2000),
        (300, 1_000_000),
    ],
)
def test_plan_adds_up_to_rows_and_gives_every_tenant_rows_everywhere(tenants: int, rows: int) -> None:
    plan = plan_rows(tenants, rows)
    assert sum(sum(plan[t]) for t in MOVED_TABLES) == rows
    for table, (_, floor) in MOVED_MIX.items():
        assert len(plan[table]) == tenants
        assert min(plan[table]) >= floor >= 1, table
    per_tenant = [sum(plan[t][i] for t in MOVED_TABLES) for i in range(tenants)]
    assert per_tenant[0] == max(per_tenant)
    assert all(5 <= n <= 15 for n in plan["courses"])
    assert all(20 <= n <= 300 for n in plan["graduates"])


def test_plan_skews_tenants_around_a_twenty_percent_first_tenant() -> None:
    plan = plan_rows(20, 200_000)
    per_tenant = [sum(plan[t][i] for t in MOVED_TABLES) for i in range(20)]
    assert per_tenant == sorted(per_tenant, reverse=True)
    assert 0.19 <= per_tenant[0] / 200_000 <= 0.21
    assert 0.68 <= sum(plan["analytics_events"]) / 200_000 <= 0.72


# --- the built database -----------------------------------------------------


def test_same_seed_gives_identical_data_and_another_seed_does_not(
    empty_db: psycopg.Connection,
) -> None:
    first = build_sample(empty_db, seed=11, tenants=TENANTS, rows=ROWS)
    before = checksums(empty_db)

    again = build_sample(empty_db, seed=11, replace=True, tenants=TENANTS, rows=ROWS)
    assert checksums(empty_db) == before
    assert again == first

    other = build_sample(empty_db, seed=12, replace=True, tenants=TENANTS, rows=ROWS)
    after = checksums(empty_db)
    assert other.tenants != first.tenants
    for table in MOVED_TABLES:
        assert after[f"public.{table}"] != before[f"public.{table}"], table


def test_rows_are_spread_unevenly_over_tenants(empty_db: psycopg.Connection) -> None:
    summary = build_sample(empty_db, tenants=20, rows=40_000, seed=5)

    assert len(summary.tenants) == 20 == len(set(summary.tenants))
    assert all(re.fullmatch(r"[a-z]{3}[0-9]{3}", t) for t in summary.tenants)
    assert abs(summary.moved_rows - 40_000) <= 800
    assert set(summary.rows_by_table) == set(MOVED_TABLES)
    assert sum(summary.rows_by_tenant.values()) == summary.moved_rows

    shares = [summary.rows_by_tenant[t] / summary.moved_rows for t in summary.tenants]
    assert 0.15 <= max(shares) <= 0.25
    assert shares[0] == max(shares)
    assert min(shares) < max(shares) / 4
    assert 0.65 <= summary.rows_by_table["analytics_events"] / summary.moved_rows <= 0.75

    # The summary says what is in the database.
    for table in MOVED_TABLES:
        count = scalar(empty_db, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        assert count == summary.rows_by_table[table]
        # Even the smallest tenant has rows in every moved table.
        tenants_with_rows = scalar(
            empty_db,
            sql.SQL("SELECT count(DISTINCT tenant_id) FROM {}").format(sql.Identifier(table)),
        )
        assert tenants_with_rows == 20, table
    registry = [r[0] for r in empty_db.execute("SELECT id FROM tenants ORDER BY created_at")]
    assert registry == summary.tenants


def test_every_tenant_id_is_registered(empty_db: psycopg.Connection) -> None:
    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    for table in (*MOVED_TABLES, *HYBRID_TABLES, "domains", "institutions"):
        orphans = scalar(
            empty_db,
            sql.SQL(
                "SELECT count(*) FROM {} AS t WHERE NOT EXISTS (SELECT FROM tenants WHERE tenants.id = t.tenant_id)"
            ).format(sql.Identifier(table)),
        )
        assert orphans == 0, table


def test_moved_table_parents_belong_to_the_same_tenant(empty_db: psycopg.Connection) -> None:
    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    fks = empty_db.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
        FROM pg_constraint AS c
        JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f'
          AND c.conrelid::regclass::text = ANY(%(moved)s)
          AND c.confrelid::regclass::text = ANY(%(moved)s)
        ORDER BY 1, 2
        """,
        {"moved": list(MOVED_TABLES)},
    ).fetchall()
    assert fks == [
        ("landing_pages", "template_id", "templates"),
        ("sequence_emails", "sequence_id", "email_sequences"),
        ("sequence_enrollments", "sequence_id", "email_sequences"),
        ("template_performance_dashboards", "template_id", "templates"),
        ("template_variants", "template_id", "templates"),
    ]
    # analytics_events.page_id has no FK but must point the same way.
    fks.append(("analytics_events", "page_id", "landing_pages"))
    for child, column, parent in fks:
        q = sql.SQL(
            "SELECT count(*) FILTER (WHERE p.tenant_id IS DISTINCT FROM c.tenant_id),"
            " count(c.{col}) FROM {child} AS c LEFT JOIN {parent} AS p ON p.id = c.{col}"
            " WHERE c.{col} IS NOT NULL"
        ).format(child=sql.Identifier(child), parent=sql.Identifier(parent), col=sql.Identifier(column))
        row = empty_db.execute(q).fetchone()
        assert row is not None
        wrong, linked = row
        assert wrong == 0, f"{child}.{column}"
        assert linked > 0, f"{child}.{column}"


def test_moved_tables_have_a_tenant_key_and_an_index_leading_with_it(
    empty_db: psycopg.Connection,
) -> None:
    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    for table in MOVED_TABLES:
        not_null = scalar(
            empty_db,
            sql.SQL(
                "SELECT attnotnull FROM pg_attribute WHERE attrelid = {}::regclass AND attname = 'tenant_id'"
            ).format(sql.Literal(table)),
        )
        assert not_null is True, table
        leading = scalar(
            empty_db,
            sql.SQL(
                "SELECT count(*) FROM pg_index AS i JOIN pg_attribute AS a"
                " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                " WHERE i.indrelid = {}::regclass AND a.attname = 'tenant_id'"
            ).format(sql.Literal(table)),
        )
        assert leading >= 1, table  # type: ignore[operator]
    kinds: dict[str, str] = dict(
        empty_db.execute(
            "SELECT attrelid::regclass::text || '.' || attname, format_type(atttypid, atttypmod)"
            " FROM pg_attribute WHERE attrelid IN"
            " ('template_performance_dashboards'::regclass, 'brand_fonts'::regclass)"
            " AND attnum > 0"
        ).fetchall()
    )
    assert kinds["template_performance_dashboards.metrics"] == "json"
    identity = scalar(
        empty_db,
        "SELECT attidentity FROM pg_attribute WHERE attrelid = 'brand_fonts'::regclass AND attname = 'id'",
    )
    assert identity == "d"


def test_sequences_are_past_the_written_ids(empty_db: psycopg.Connection) -> None:
    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    for table in ALL_TABLES:
        if table == "tenants":
            continue
        next_id, max_id = empty_db.execute(
            sql.SQL("SELECT nextval(pg_get_serial_sequence({}, 'id')), max(id) FROM {}").format(
                sql.Literal(table), sql.Identifier(table)
            )
        ).fetchone() or (None, None)
        assert max_id is not None and next_id > max_id, table


def test_tenant_schemas_hold_courses_and_graduates(empty_db: psycopg.Connection) -> None:
    summary = build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    schemas = [
        r[0]
        for r in empty_db.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'tenant_') ORDER BY 1")
    ]
    assert schemas == sorted(f"tenant_{t}" for t in summary.tenants)
    reached: dict[int, set[str]] = {}
    for schema in schemas:
        courses = scalar(empty_db, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "courses")))
        assert 5 <= courses <= 15  # type: ignore[operator]
        graduates = empty_db.execute(
            sql.SQL("SELECT name, graduation_year, course_id, user_id FROM {}").format(
                sql.Identifier(schema, "graduates")
            )
        ).fetchall()
        assert 20 <= len(graduates) <= 300
        years = {year for _, year, _, _ in graduates}
        assert 2023 in years
        assert years <= set(range(2015, 2025))
        assert all(re.fullmatch(r"\S+ \S+( \S+)?", name) for name, _, _, _ in graduates)
        assert all(course_id is not None for _, _, course_id, _ in graduates)
        for _, _, _, user_id in graduates:
            if user_id is not None:
                reached.setdefault(user_id, set()).add(schema)
    # Alumni who graduated at several institutions: central users with role alumni.
    multi = [u for u, where in reached.items() if len(where) >= 2]
    assert len(multi) >= 5
    roles = {
        r[0]
        for r in empty_db.execute(
            "SELECT DISTINCT r.name FROM users AS u JOIN roles AS r ON r.id = u.role_id WHERE u.id = ANY(%s)",
            (list(reached),),
        )
    }
    assert roles == {"alumni"}


def test_central_and_hybrid_tables_look_like_the_app(empty_db: psycopg.Connection) -> None:
    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    roles = [r[0] for r in empty_db.execute("SELECT name FROM roles ORDER BY id")]
    assert roles == ["super-admin", "institution-admin", "alumni", "staff"]
    assert scalar(empty_db, "SELECT count(*) FROM institutions") == TENANTS
    assert scalar(empty_db, "SELECT count(*) FROM users") == 300
    assert (
        scalar(
            empty_db,
            "SELECT count(*) FROM users AS u JOIN roles AS r ON r.id = u.role_id"
            " WHERE r.name = 'super-admin' AND u.institution_id IS NULL",
        )
        == 2
    )
    unattached = scalar(
        empty_db,
        "SELECT avg((institution_id IS NULL)::int) FROM users AS u"
        " JOIN roles AS r ON r.id = u.role_id WHERE r.name = 'alumni'",
    )
    assert 0.35 <= unattached <= 0.65  # type: ignore[operator]
    jobs, public = empty_db.execute("SELECT count(*), avg(is_public::int) FROM jobs").fetchone() or (0, 0)
    assert 100 <= jobs <= 1000
    assert 0.2 <= public <= 0.4
    assert scalar(empty_db, "SELECT count(DISTINCT job_type) FROM jobs") == 4
    assert (
        scalar(
            empty_db,
            "SELECT count(*) FROM jobs AS j JOIN employers AS e ON e.id = j.employer_id"
            " WHERE e.tenant_id <> j.tenant_id",
        )
        == 0
    )
    assert (
        scalar(
            empty_db,
            "SELECT bool_and(config ?& ARRAY['colors', 'fonts', 'spacing']) FROM component_themes",
        )
        is True
    )


def test_refuses_to_overwrite_a_sample_without_replace(empty_db: psycopg.Connection) -> None:
    summary = build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    with pytest.raises(TenancyError) as caught:
        build_sample(empty_db, seed=4, tenants=TENANTS, rows=ROWS)
    assert str(caught.value) == "database already holds a sample (public.tenants exists)"
    assert "--replace" in caught.value.hint
    registry = [r[0] for r in empty_db.execute("SELECT id FROM tenants ORDER BY created_at")]
    assert registry == summary.tenants


def test_refuses_a_database_holding_some_of_the_tables(empty_db: psycopg.Connection) -> None:
    empty_db.execute("CREATE TABLE jobs (id int)")
    with pytest.raises(TenancyError, match="jobs") as caught:
        build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS)
    assert "--replace" in caught.value.hint

    build_sample(empty_db, seed=3, tenants=TENANTS, rows=ROWS, replace=True)
    assert scalar(empty_db, "SELECT count(*) > 0 FROM jobs") is True


@pytest.mark.parametrize(
    ("tenants", "rows", "seed", "words"),
    [
        (1, 1000, 42, "at least 2 tenants"),
        (10, 10 * ROWS_PER_TENANT_MIN - 1, 42, "too few"),
        (3, 1000, 2**63, "bigint"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(
    empty_db: psycopg.Connection, tenants: int, rows: int, seed: int, words: str
) -> None:
    with pytest.raises(TenancyError, match=words) as caught:
        build_sample(empty_db, tenants=tenants, rows=rows, seed=seed)
    assert caught.value.hint
    assert scalar(empty_db, "SELECT to_regclass('public.tenants')") is None


def test_commits_when_the_connection_is_not_in_autocommit(empty_db: psycopg.Connection) -> None:
    empty_db.autocommit = False
    messages: list[str] = []
    summary = build_sample(empty_db, seed=3, progress=messages.append, tenants=TENANTS, rows=ROWS)
    assert empty_db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(empty_db.info.dsn) as other:
        count = other.execute("SELECT count(*) FROM analytics_events").fetchone()
    assert count == (summary.rows_by_table["analytics_events"],)
    for table in MOVED_TABLES:
        assert f"{table}: {summary.rows_by_table[table]} rows" in messages


def test_summary_counts_moved_rows() -> None:
    summary = SampleSummary(
        tenants=["abc123", "def456"],
        rows_by_table={"templates": 3, "analytics_events": 7},
        rows_by_tenant={"abc123": 6, "def456": 4},
    )
    assert summary.moved_rows == 10


def test_tenant_schemas_are_made_in_transactions_that_fit_the_default_lock_table(
    empty_db: psycopg.Connection,
) -> None:
    """All tenant schemas in one transaction ran out of the lock table at about 700
    tenants with the default settings; each transaction now takes a bounded number."""
    tenants = 2 * TENANT_SCHEMAS_PER_TRANSACTION + 5
    summary = build_sample(empty_db, seed=3, tenants=tenants, rows=ROWS_PER_TENANT_MIN * tenants)
    made_by = empty_db.execute(
        "SELECT xmin::text, count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    assert [n for _, n in made_by] == [TENANT_SCHEMAS_PER_TRANSACTION] * 2 + [5]
    assert len(summary.tenants) == tenants
    # The session keeps no helper: it can build again.
    again = build_sample(empty_db, seed=4, replace=True, tenants=TENANTS, rows=ROWS)
    assert len(again.tenants) == TENANTS
