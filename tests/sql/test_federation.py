"""Federated reads (sql/functions/federation_*.sql), live on the sample database.

The original plan's PureSchemaIsolationTest cases, the security of schema
tenancy_federation (only role tenancy_federation may call it, tenant roles are
denied), hostile filter values, and each function against an oracle that
reads every tenant schema one by one.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

from runner.devtools.sample import build_sample
from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import allow_logins

REPO = Path(__file__).resolve().parent.parent.parent
FUNCTIONS = (
    "search_graduates",
    "analytics_summary",
    "graduate_profile",
    "user_tenants",
    "public_jobs",
)
# Two of the four sample tenants are migrated, two are not: every function
# must cope with both.
MIGRATED = 2

_names = itertools.count()


def load_federation_sample(conn: psycopg.Connection) -> None:
    """The sample with 4 tenants, installed; 2 migrated, the other 2 provisioned only."""
    build_sample(conn, tenants=4, rows=4000, seed=7)
    install(conn, load_manifest(REPO / "tenancy.toml"))
    # Federated reads cover provisioned tenants: provisioning grants their owner SELECT.
    for tenant in _tenant_ids(conn):
        conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant,)).fetchall()
    for tenant in _tenant_ids(conn)[:MIGRATED]:
        conn.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (tenant,)).fetchall()


def _tenant_ids(conn: psycopg.Connection[Any]) -> list[str]:
    with conn.cursor(row_factory=tuple_row) as cur:
        return [r[0] for r in cur.execute("SELECT id FROM public.tenants ORDER BY created_at, id")]


@pytest.fixture
def db(pg_server: Any, make_template: Callable[..., str]) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """Superuser connection to a fresh copy of the sample: installed, 2 of 4 tenants migrated."""
    template = make_template("federation", load_federation_sample)
    name = f"fed{os.getpid()}_{next(_names)}"
    pg_server.create(name, template)
    try:
        with psycopg.connect(pg_server.dsn(name), autocommit=True, row_factory=dict_row) as conn:
            yield conn
    finally:
        pg_server.drop(name)


def add_tenant(conn: psycopg.Connection[Any], tenant_id: str, name: str) -> str:
    """Register a tenant, provision and migrate it (empty moved tables) and give it courses and graduates."""
    conn.execute("INSERT INTO public.tenants (id, name, created_at) VALUES (%s, %s, now())", (tenant_id, name))
    conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
    conn.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (tenant_id,)).fetchall()
    schema = f"tenant_{tenant_id.replace('-', '_')}"
    conn.execute(
        sql.SQL(
            "CREATE TABLE {c} (id bigserial PRIMARY KEY, name varchar(255) NOT NULL,"
            " code varchar(50) NOT NULL UNIQUE, created_at timestamp);"
            "CREATE TABLE {g} (id bigserial PRIMARY KEY, name varchar(255) NOT NULL,"
            " email varchar(255) NOT NULL UNIQUE, phone varchar(255), address text,"
            " graduation_year integer, course_id bigint REFERENCES {c} (id), user_id bigint,"
            " created_at timestamp, updated_at timestamp)"
        ).format(c=sql.Identifier(schema, "courses"), g=sql.Identifier(schema, "graduates"))
    )
    # Tables made by hand: provisioning gives them to the tenant owner and grants on them.
    conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenant_id,)).fetchall()
    return schema


def add_graduate(conn: psycopg.Connection[Any], schema: str, name: str, year: int, user_id: int | None = None) -> int:
    row = conn.execute(
        sql.SQL("INSERT INTO {} (name, email, graduation_year, user_id) VALUES (%s, %s, %s, %s) RETURNING id").format(
            sql.Identifier(schema, "graduates")
        ),
        (name, f"g{next(_names)}@example.edu", year, user_id),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def search(conn: psycopg.Connection[Any], **filters: Any) -> list[dict[str, Any]]:
    args = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(f"p_{k}"), sql.Placeholder()) for k in filters)
    q = sql.SQL("SELECT * FROM tenancy_federation.search_graduates({})").format(args)
    return conn.execute(q, list(filters.values())).fetchall()


def oracle_graduates(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every graduate of every registered tenant, read schema by schema."""
    rows = []
    for t in conn.execute("SELECT id, name FROM public.tenants ORDER BY id").fetchall():
        schema = f"tenant_{t['id']}"
        for g in conn.execute(
            sql.SQL(
                "SELECT g.id AS graduate_id, g.name, g.graduation_year, g.user_id, c.code AS course_code,"
                " c.name AS course_name FROM {} AS g LEFT JOIN {} AS c ON c.id = g.course_id"
            ).format(sql.Identifier(schema, "graduates"), sql.Identifier(schema, "courses"))
        ):
            rows.append({"tenant_id": t["id"], "tenant_name": t["name"], **g})
    return rows


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return (r["tenant_id"], str(r["graduate_id"]))


# -- The original plan's PureSchemaIsolationTest -------------------------------------


def test_tenant_data_complete_isolation(db: psycopg.Connection[Any]) -> None:
    """Two tenants' themes and graduates stay apart; each tenant's app role sees only its own."""
    a = add_tenant(db, "univ-a", "University A")
    b = add_tenant(db, "univ-b", "University B")
    for schema, theme, graduate in ((a, "Tenant 1 Theme", "John Doe"), (b, "Tenant 2 Theme", "Jane Smith")):
        db.execute(
            sql.SQL("INSERT INTO {} (name, slug, config, created_at) VALUES (%s, %s, '{{}}', now())").format(
                sql.Identifier(schema, "component_themes")
            ),
            (theme, theme.lower().replace(" ", "-")),
        )
        add_graduate(db, schema, graduate, 2023)
    db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA tenant_univ_a TO tenant_univ_a_app")
    db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA tenant_univ_b TO tenant_univ_b_app")

    for role, schema, theme, graduate, other in (
        ("tenant_univ_a_app", a, "Tenant 1 Theme", "John Doe", b),
        ("tenant_univ_b_app", b, "Tenant 2 Theme", "Jane Smith", a),
    ):
        db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        try:
            # The role's own search_path is its tenant schema (provision_tenant).
            db.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
            themes = db.execute("SELECT name FROM component_themes").fetchall()
            graduates = db.execute("SELECT name FROM graduates").fetchall()
            assert [r["name"] for r in themes] == [theme]
            assert [r["name"] for r in graduates] == [graduate]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(sql.SQL("SELECT 1 FROM {}").format(sql.Identifier(other, "graduates")))
        finally:
            db.execute("RESET ROLE")
            db.execute("RESET search_path")


def test_no_tenant_id_columns_in_tenant_tables(db: psycopg.Connection[Any]) -> None:
    """component_themes, graduates and analytics_events of every migrated tenant have no tenant_id."""
    migrated = [r["tenant_id"] for r in db.execute("SELECT tenant_id FROM tenancy.tenants WHERE state = 'migrated'")]
    assert len(migrated) == MIGRATED
    for tenant in migrated:
        for table in ("component_themes", "graduates", "analytics_events"):
            columns = [
                r["column_name"]
                for r in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                    (f"tenant_{tenant}", table),
                )
            ]
            assert "id" in columns, f"tenant_{tenant}.{table} is missing"
            assert "tenant_id" not in columns, f"tenant_{tenant}.{table} still has tenant_id"


def test_cross_tenant_federation_service(db: psycopg.Connection[Any]) -> None:
    """Search for 2023 returns both new tenants' graduates, with their tenant id and name."""
    a = add_tenant(db, "univ-a", "University A")
    b = add_tenant(db, "univ-b", "University B")
    add_graduate(db, a, "Alice Johnson", 2023)
    add_graduate(db, b, "Bob Wilson", 2023)
    add_graduate(db, b, "Carol Old", 2019)

    rows = search(db, graduation_year=2023, tenant_ids=["univ-a", "univ-b"])
    assert [(r["name"], r["tenant_id"], r["tenant_name"]) for r in rows] == [
        ("Alice Johnson", "univ-a", "University A"),
        ("Bob Wilson", "univ-b", "University B"),
    ]
    # Without a tenant list: every registered tenant, new ones included without any change.
    everyone = search(db, graduation_year=2023, limit=10000)
    assert {r["tenant_id"] for r in everyone} == {*_tenant_ids(db)}
    assert {"Alice Johnson", "Bob Wilson"} <= {r["name"] for r in everyone}
    assert "Carol Old" not in {r["name"] for r in everyone}


# -- Security ---------------------------------------------------------------


def test_every_federation_function_is_definer_pinned_and_not_public(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        "SELECT p.proname, p.prosecdef, p.proconfig, p.proacl::text[] AS acl,"
        " has_function_privilege('tenancy_federation', p.oid, 'EXECUTE') AS federation_may"
        " FROM pg_proc AS p WHERE p.pronamespace = 'tenancy_federation'::regnamespace"
    ).fetchall()
    names = {r["proname"] for r in rows}
    assert set(FUNCTIONS) <= names
    for r in rows:
        assert r["proconfig"] == ["search_path=pg_catalog, pg_temp"], r["proname"]
        assert r["acl"] is not None and not any(a.startswith("=") for a in r["acl"]), r["proname"]
        assert r["federation_may"], r["proname"]
        if r["proname"] in FUNCTIONS:
            assert r["prosecdef"], f"{r['proname']} must be SECURITY DEFINER"
    schema_acl = db.execute(
        "SELECT nspacl::text[] AS acl FROM pg_namespace WHERE nspname = 'tenancy_federation'"
    ).fetchone()
    assert schema_acl is not None
    assert not any(a.startswith("=") for a in schema_acl["acl"])


def test_tenant_role_is_denied(db: psycopg.Connection[Any], pg_server: Any) -> None:
    """A tenant's app role (created by the migration) cannot call any federation function."""
    tenant = _tenant_ids(db)[0]
    role = f"tenant_{tenant}_app"
    for fn in FUNCTIONS:
        row = db.execute(
            "SELECT has_function_privilege(%s, p.oid, 'EXECUTE') AS may FROM pg_proc AS p"
            " WHERE p.pronamespace = 'tenancy_federation'::regnamespace AND p.proname = %s",
            (role, fn),
        ).fetchone()
        assert row is not None and row["may"] is False, fn
    dbname = db.info.dbname
    allow_logins(db, [tenant])
    with psycopg.connect(pg_server.dsn(dbname).replace(f"user={pg_server.user}", f"user={role}")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="tenancy_federation"):
            conn.execute("SELECT * FROM tenancy_federation.search_graduates(p_graduation_year => 2023)")
        conn.rollback()
        # Even with USAGE on the schema, EXECUTE itself is revoked.
        db.execute(sql.SQL("GRANT USAGE ON SCHEMA tenancy_federation TO {}").format(sql.Identifier(role)))
        try:
            calls: list[tuple[LiteralString, tuple[object, ...]]] = [
                ("SELECT * FROM tenancy_federation.search_graduates()", ()),
                ("SELECT * FROM tenancy_federation.analytics_summary()", ()),
                ("SELECT * FROM tenancy_federation.graduate_profile(%s, 1)", (tenant,)),
                ("SELECT * FROM tenancy_federation.user_tenants(1)", ()),
                ("SELECT * FROM tenancy_federation.public_jobs()", ()),
            ]
            for query, params in calls:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function"):
                    conn.execute(query, params)
                conn.rollback()
        finally:
            db.execute(sql.SQL("REVOKE USAGE ON SCHEMA tenancy_federation FROM {}").format(sql.Identifier(role)))


def test_member_of_federation_role_may_call(db: psycopg.Connection[Any]) -> None:
    """A role granted tenancy_federation reads every tenant without any tenant privilege."""
    role = f"fed_client_{os.getpid()}_{next(_names)}"
    db.execute(sql.SQL("CREATE ROLE {} NOLOGIN IN ROLE tenancy_federation").format(sql.Identifier(role)))
    try:
        db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        rows = db.execute("SELECT * FROM tenancy_federation.search_graduates(p_graduation_year => 2023)").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(sql.SQL("SELECT 1 FROM {}").format(sql.Identifier(f"tenant_{_tenant_ids(db)[0]}", "graduates")))
        db.execute("RESET ROLE")
        assert {r["tenant_id"] for r in rows} == set(_tenant_ids(db))
    finally:
        db.execute("RESET ROLE")
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_install_is_idempotent_for_role_and_grants(db: psycopg.Connection[Any]) -> None:
    """Re-applying the files (another database of the cluster, or a reinstall) changes nothing."""
    before = db.execute(
        "SELECT proname, proacl::text FROM pg_proc WHERE pronamespace = 'tenancy_federation'::regnamespace ORDER BY 1"
    ).fetchall()
    for f in sorted((REPO / "sql" / "functions").glob("federation_*.sql")):
        db.execute(f.read_text().encode())
    after = db.execute(
        "SELECT proname, proacl::text FROM pg_proc WHERE pronamespace = 'tenancy_federation'::regnamespace ORDER BY 1"
    ).fetchall()
    assert before == after


# -- Hostile filters ---------------------------------------------------------

HOSTILE_NAME = "O'Brien 100%_Real\\Name"


def test_hostile_filter_values_match_literally(db: psycopg.Connection[Any]) -> None:
    schema = f"tenant_{_tenant_ids(db)[0]}"
    add_graduate(db, schema, HOSTILE_NAME, 2030)
    add_graduate(db, schema, "O'Brien 100 Real Name", 2030)  # what % or _ as wildcards would also match
    add_graduate(db, schema, "Robert'); DROP TABLE graduates; --", 2030)

    def names(value: str) -> list[str]:
        return [r["name"] for r in search(db, name=value, limit=10000)]

    assert names("100%_") == [HOSTILE_NAME]
    assert names("%") == [HOSTILE_NAME]
    assert names("_") == [HOSTILE_NAME]
    assert names("\\") == [HOSTILE_NAME]
    assert names("o'brien") == ["O'Brien 100 Real Name", HOSTILE_NAME]
    assert names("'); DROP TABLE graduates; --") == ["Robert'); DROP TABLE graduates; --"]
    assert names("x" * 100_000) == []
    assert names("' OR 1=1 --") == []
    assert len(names("")) == len(oracle_graduates(db))  # empty string: every graduate
    # Course filter: same escaping.
    assert search(db, course="%", limit=10000) == []
    # Jobs: location taken literally, huge values harmless.
    for value in ("%", "_", "'", "x" * 100_000, "\\"):
        assert db.execute("SELECT * FROM tenancy_federation.public_jobs(p_location => %s)", (value,)).fetchall() == []
    # Hostile tenant ids are reported as unknown, not executed.
    with pytest.raises(psycopg.Error, match="unknown tenant") as caught:
        search(db, tenant_ids=["x'); DROP SCHEMA tenancy CASCADE; --"])
    assert caught.value.sqlstate == "TY002"
    assert db.execute("SELECT to_regnamespace('tenancy') IS NOT NULL AS ok").fetchone() == {"ok": True}


# -- Each function against an oracle ------------------------------------------


def test_search_matches_per_schema_oracle(db: psycopg.Connection[Any]) -> None:
    everyone = oracle_graduates(db)
    for filters, keep in (
        ({"name": "an"}, lambda r: "an" in r["name"].lower()),
        ({"graduation_year": 2020}, lambda r: r["graduation_year"] == 2020),
        ({"course": "eng"}, lambda r: r["course_name"] is not None and "eng" in r["course_name"].lower()),
        ({"name": "A", "graduation_year": 2023}, lambda r: "a" in r["name"].lower() and r["graduation_year"] == 2023),
    ):
        got = search(db, limit=10000, **filters)
        expected = [r for r in everyone if keep(r)]
        assert expected, filters
        assert sorted(map(_key, got)) == sorted(map(_key, expected)), filters
    code = everyone[0]["course_code"]
    by_code = search(db, course=code.lower(), limit=10000)
    assert {r["course_code"] for r in by_code} == {code}


def test_search_limit_tenants_and_stable_order(db: psycopg.Connection[Any]) -> None:
    ids = _tenant_ids(db)
    page = search(db, limit=7)
    assert len(page) == 7
    assert page == search(db, limit=7)
    assert page == search(db, limit=20)[:7]
    one = search(db, tenant_ids=[ids[1]], limit=10000)
    assert one and {r["tenant_id"] for r in one} == {ids[1]}
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="limit 0 is out of range"):
        search(db, limit=0)


def test_analytics_summary_counts(db: psycopg.Connection[Any]) -> None:
    ids = _tenant_ids(db)
    rows = db.execute("SELECT * FROM tenancy_federation.analytics_summary()").fetchall()
    per_tenant = {r["tenant_id"]: r for r in rows if r["scope"] == "tenant"}
    [total] = [r for r in rows if r["scope"] == "total"]
    assert rows[-1] is total and sorted(per_tenant) == sorted(ids)
    for tenant in ids:
        r = per_tenant[tenant]
        schema = f"tenant_{tenant}"
        grads = db.execute(
            sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, "graduates"))
        ).fetchone()
        assert grads is not None and r["graduates"] == grads["n"]
        migrated = tenant in ids[:MIGRATED]
        assert r["events_in_schema"] is migrated
        if migrated:
            ev = db.execute(
                sql.SQL("SELECT count(*) AS n, count(*) FILTER (WHERE event_type = 'page_view') AS pv FROM {}").format(
                    sql.Identifier(schema, "analytics_events")
                )
            ).fetchone()
            assert ev is not None and (r["events"], r["page_views"]) == (ev["n"], ev["pv"]) and ev["n"] > 0
        else:
            assert (r["events"], r["page_views"]) == (0, 0)
    for col in ("graduates", "events", "page_views"):
        assert total[col] == sum(r[col] for r in per_tenant.values())
    assert total["events_in_schema"] is False
    only = db.execute("SELECT * FROM tenancy_federation.analytics_summary(%s)", ([ids[0]],)).fetchall()
    assert [r["tenant_id"] for r in only] == [ids[0], None]
    assert only[1]["graduates"] == per_tenant[ids[0]]["graduates"]


def test_graduate_profile(db: psycopg.Connection[Any]) -> None:
    tenant = _tenant_ids(db)[2]
    [g] = [r for r in oracle_graduates(db) if r["tenant_id"] == tenant and r["graduate_id"] == 5]
    rows = db.execute("SELECT * FROM tenancy_federation.graduate_profile(%s, 5)", (tenant,)).fetchall()
    assert len(rows) == 1
    assert {k: rows[0][k] for k in ("tenant_id", "name", "course_code", "course_name")} == {
        k: g[k] for k in ("tenant_id", "name", "course_code", "course_name")
    }
    assert db.execute("SELECT * FROM tenancy_federation.graduate_profile(%s, -1)", (tenant,)).fetchall() == []
    with pytest.raises(psycopg.Error, match="unknown tenant\\(s\\) 'nope'") as caught:
        db.execute("SELECT * FROM tenancy_federation.graduate_profile('nope', 1)")
    assert caught.value.sqlstate == "TY002"


def test_user_tenants(db: psycopg.Connection[Any]) -> None:
    ids = sorted(_tenant_ids(db))
    users = db.execute(
        "SELECT u.id, r.name AS role, i.tenant_id AS home FROM public.users AS u JOIN public.roles AS r"
        " ON r.id = u.role_id LEFT JOIN public.institutions AS i ON i.id = u.institution_id ORDER BY u.id"
    ).fetchall()

    def reach(user_id: int) -> list[tuple[str, list[str]]]:
        return [
            (r["tenant_id"], r["reasons"])
            for r in db.execute("SELECT * FROM tenancy_federation.user_tenants(%s)", (user_id,))
        ]

    admin = next(u for u in users if u["role"] == "super-admin")
    assert reach(admin["id"]) == [(t, ["super-admin"]) for t in ids]
    staff = next(u for u in users if u["role"] == "staff" and u["home"])
    assert reach(staff["id"]) == [(staff["home"], ["institution"])]
    holders: dict[int, set[str]] = {}
    for g in oracle_graduates(db):
        if g["user_id"] is not None:
            holders.setdefault(g["user_id"], set()).add(g["tenant_id"])
    alumni = [u for u in users if u["role"] == "alumni" and len(holders.get(u["id"], ())) >= 2]
    assert alumni, "the sample links neighbouring tenants through shared alumni"
    for u in alumni:
        expected = sorted(holders[u["id"]] | ({u["home"]} if u["home"] else set()))
        got = reach(u["id"])
        assert [t for t, _ in got] == expected
        assert all(("graduate" in why) == (t in holders[u["id"]]) for t, why in got)
    assert reach(-1) == []


def test_public_jobs_matches_central_table(db: psycopg.Connection[Any]) -> None:
    names = {r["id"]: r["name"] for r in db.execute("SELECT id, name FROM public.tenants")}
    jobs = db.execute("SELECT * FROM public.jobs WHERE is_public AND status = 'active'").fetchall()
    for filters, keep in (
        ({}, lambda j: True),
        ({"p_location": "re"}, lambda j: j["location"] is not None and "re" in j["location"].lower()),
        ({"p_job_type": "full-time"}, lambda j: j["job_type"] == "full-time"),
        ({"p_salary_min": 90000}, lambda j: j["salary_max"] is not None and j["salary_max"] >= 90000),
    ):
        args = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder()) for k in filters)
        got = db.execute(
            sql.SQL("SELECT * FROM tenancy_federation.public_jobs({}{}p_limit => 10000)").format(
                args, sql.SQL(", ") if filters else sql.SQL("")
            ),
            list(filters.values()),
        ).fetchall()
        expected = sorted((j for j in jobs if keep(j)), key=lambda j: (j["created_at"], j["id"]), reverse=True)
        assert expected, filters
        assert [r["job_id"] for r in got] == [j["id"] for j in expected], filters
        assert all(r["tenant_name"] == names[r["tenant_id"]] for r in got)
