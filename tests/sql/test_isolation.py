"""The attack suite: tenant isolation, proved on a live database after provision + migrate.

Each tenant's application and read-only roles connect for real and try to
reach every other tenant's tables, the central copies of the moved tables,
the reference tables (writes), other tenants' rows of the hybrid tables,
CREATE anywhere; then hybrid references to another tenant's hidden rows,
leaky expressions in WHERE, COPY in and out, other tenants' sequences by
name and OID, every function and table of schemas tenancy and
tenancy_federation (the lookups the row-level security policies call are
executable, never callable by name), temporary objects, and the central rows
the manifest filters. Every attempt must be denied (the counts are printed);
the same operations on the tenant's own data must work. The policies' lookup
must be served by the tenant key's index.

A login that holds the tenant owner roles plants a view, a rule, a trigger
and an index over its own function in tenant schemas; migrate, validate,
rollback and the federated reads then run, and the planted function must
never have run. A login that is only a member of tenancy_migrator then tries
to make the contract routine (which runs as the owner of the shared tables)
drop or move anything but the shared tables, or run its code, helped by the
owner login's objects. (tests/sql/test_escalation.py has the attacks that
reached superuser, one by one.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.engine import online
from runner.engine.install import install
from runner.manifest import load_manifest
from runner.privileges import GUARD_FUNCTION, RLS_FUNCTIONS, build_model
from tests.conftest import allow_logins, provision_all
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(REPO / "tenancy.toml")
DENIED = "42501"  # insufficient_privilege, also raised for an RLS WITH CHECK violation
# The lookups the row-level security policies call (model.RLS_FUNCTIONS), called by
# name as a tenant would try: out of reach, schema tenancy is not theirs to use.
RLS_CALLS = {
    "current_tenant_id()": "SELECT tenancy.current_tenant_id()",
    # Not a lookup, but executable by PUBLIC for the same reason (the guard policy of the
    # shared tables calls it); it only raises TY050.
    "refuse_cut_over_row(text,text)": "SELECT tenancy.refuse_cut_over_row('brand_colors', 'x')",
    "row_visible(text,text[],text[])": "SELECT tenancy.row_visible('public.employers', ARRAY['id'], ARRAY['1'])",
    "tenant_row_keys(text,text,text,anyelement)": (
        "SELECT tenancy.tenant_row_keys('public.institutions', 'id', 'tenant_id', 'x'::text)"
    ),
}


@dataclass
class Tally:
    attempts: int = 0
    denied: int = 0
    allowed: list[str] = field(default_factory=list)

    def record(self, what: str, was_denied: bool) -> None:
        self.attempts += 1
        if was_denied:
            self.denied += 1
        else:
            self.allowed.append(what)


def _dsn_as(db: object, role: str) -> str:
    return f"{db.dsn} user={role}"  # type: ignore[attr-defined]


def _denied(conn: psycopg.Connection, stmt: sql.Composable, params: tuple[object, ...] = ()) -> bool:
    """Run ``stmt`` in a transaction that is rolled back; True when PostgreSQL refused it.

    Any other error (a constraint, say) means the privilege check passed: not denied.
    """
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(stmt, params)
    except psycopg.Error as e:
        return e.sqlstate == DENIED
    return False


def _affects_nothing(conn: psycopg.Connection, stmt: sql.Composable, params: tuple[object, ...]) -> bool:
    """For RLS: a statement that runs but must see or change no row. Denied counts too."""
    try:
        with conn.transaction(force_rollback=True):
            cur = conn.execute(stmt, params)
            return cur.rowcount == 0 if cur.description is None else len(cur.fetchall()) == 0
    except psycopg.Error as e:
        if e.sqlstate == DENIED:
            return True
        raise


def _first_column(admin: psycopg.Connection, schema: str, table: str) -> str:
    row = admin.execute(
        "SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = %s::regclass"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum LIMIT 1",
        [f"{schema}.{table}"],
    ).fetchone()
    assert row is not None
    return str(row[0])


def _crud(admin: psycopg.Connection, schema: str, table: str) -> list[tuple[str, sql.Composable]]:
    t = sql.Identifier(schema, table)
    col = sql.Identifier(_first_column(admin, schema, table))
    return [
        ("SELECT", sql.SQL("SELECT * FROM {} LIMIT 1").format(t)),
        ("INSERT", sql.SQL("INSERT INTO {} DEFAULT VALUES").format(t)),
        # WHERE false: the privilege check still runs, no row is touched.
        ("UPDATE", sql.SQL("UPDATE {} SET {} = {} WHERE false").format(t, col, col)),
        ("DELETE", sql.SQL("DELETE FROM {} WHERE false").format(t)),
    ]


def _tables(admin: psycopg.Connection, schema: str) -> list[str]:
    return [
        r[0]
        for r in admin.execute(
            "SELECT c.relname FROM pg_class AS c WHERE c.relnamespace = %s::regnamespace"
            " AND c.relkind IN ('r', 'p') ORDER BY 1",
            [schema],
        )
    ]


@pytest.fixture
def migrated(sample_db: object) -> Iterator[tuple[object, list[str]]]:
    """The sample, installed, every tenant provisioned and migrated. Drops the tenants' roles after."""
    with sample_db.connect() as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        provision_all(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
        assert len(tenants) >= 3
        allow_logins(admin, tenants)
        for t in tenants:
            admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", [t]).fetchall()
    try:
        yield sample_db, tenants
    finally:
        with sample_db.connect() as admin:  # type: ignore[attr-defined]
            for t in tenants:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


def test_every_cross_tenant_attempt_is_denied(migrated: tuple[object, list[str]]) -> None:
    db, tenants = migrated
    model = build_model(MANIFEST, tenants)
    tally = Tally()
    own_checks = 0
    with db.connect() as admin:  # type: ignore[attr-defined]
        schemas = {t.tenant_id: t.schema for t in model.tenants}
        tenant_tables = {s: _tables(admin, s) for s in schemas.values()}
        assert all(set(MANIFEST.move) <= set(ts) for ts in tenant_tables.values())
        crud = {(s, t): _crud(admin, s, t) for s, ts in tenant_tables.items() for t in ts}
        central = MANIFEST.central_schema
        central_crud = {t: _crud(admin, central, t) for t in (*MANIFEST.move, *MANIFEST.central)}
        hybrid_rows = {
            (table, t): admin.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                    sql.Identifier(central, table), sql.Identifier(MANIFEST.tenant_key)
                ),
                [t],
            ).fetchone()[0]  # type: ignore[index]
            for table in MANIFEST.hybrid
            for t in tenants
        }
        assert all(n > 0 for n in hybrid_rows.values()), hybrid_rows
        own_themes = {
            s: admin.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(s, "component_themes"))
            ).fetchone()[0]  # type: ignore[index]
            for s in schemas.values()
        }
    all_schemas = [*schemas.values(), central, "tenancy"]

    for plan in model.tenants:
        for role in (plan.app, plan.readonly):
            writer = role is plan.app
            with psycopg.connect(_dsn_as(db, role.name), autocommit=True) as conn:
                # Other tenants' tables: nothing at all.
                for other, schema in schemas.items():
                    if other == plan.tenant_id:
                        continue
                    for table in tenant_tables[schema]:
                        for op, stmt in crud[(schema, table)]:
                            tally.record(f"{role.name} {op} {schema}.{table}", _denied(conn, stmt))
                # Central copies of moved tables: nothing; reference tables: no writes.
                for table in MANIFEST.move:
                    for op, stmt in central_crud[table]:
                        tally.record(f"{role.name} {op} {central}.{table}", _denied(conn, stmt))
                for table in MANIFEST.central:
                    for op, stmt in central_crud[table][1:]:
                        tally.record(f"{role.name} {op} {central}.{table}", _denied(conn, stmt))
                # Hybrid tables: other tenants' rows are invisible and unchangeable.
                for table in MANIFEST.hybrid:
                    t = sql.Identifier(central, table)
                    key = sql.Identifier(MANIFEST.tenant_key)
                    public = MANIFEST.public_column.get(table)
                    private = sql.SQL(" AND NOT {}").format(sql.Identifier(public)) if public else sql.SQL("")
                    col = sql.Identifier(_first_column_cached(db, central, table))
                    for other in tenants:
                        if other == plan.tenant_id:
                            continue
                        attempts = [
                            (
                                "SELECT",
                                sql.SQL("SELECT 1 FROM {} WHERE {} = %s{}").format(t, key, private),
                            ),
                            (
                                "UPDATE",
                                sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(t, col, col, key),
                            ),
                            ("DELETE", sql.SQL("DELETE FROM {} WHERE {} = %s").format(t, key)),
                        ]
                        for op, stmt in attempts:
                            tally.record(
                                f"{role.name} {op} {table} rows of {other}",
                                _affects_nothing(conn, stmt, (other,)),
                            )
                        stmt = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {} = %s LIMIT 1").format(
                            t, key, sql.Literal(other), t, key
                        )
                        tally.record(
                            f"{role.name} INSERT {table} row of {other}",
                            _denied(conn, stmt, (plan.tenant_id,)),
                        )
                # CREATE in any schema, its own included.
                for schema in all_schemas:
                    stmt = sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(schema, "intruder"))
                    tally.record(f"{role.name} CREATE in {schema}", _denied(conn, stmt))

                # Its own tables: reads always, writes for the application role only.
                for table in tenant_tables[plan.schema]:
                    for op, stmt in crud[(plan.schema, table)]:
                        if op == "SELECT":
                            assert not _denied(conn, stmt), f"{role.name} cannot read {table}"
                            own_checks += 1
                        elif op != "INSERT":
                            assert _denied(conn, stmt) is not writer, f"{role.name} {op} {table}"
                            own_checks += 1
                got = conn.execute("SELECT count(*) FROM component_themes").fetchone()
                assert got == (own_themes[plan.schema],) and own_themes[plan.schema] > 0
                own_checks += 1
                _check_own_writes(conn, plan.tenant_id, writer)
                own_checks += 1

    print(
        f"\ncross-tenant attempts: {tally.attempts}, denied: {tally.denied}"
        f" ({len(tenants)} tenants x 2 roles); own-tenant checks passed: {own_checks}"
    )
    assert tally.allowed == []
    assert tally.denied == tally.attempts
    per_role = (
        (len(tenants) - 1) * (len(MANIFEST.move) + 2) * 4  # + courses, graduates
        + len(MANIFEST.move) * 4
        + len(MANIFEST.central) * 3
        + len(MANIFEST.hybrid) * (len(tenants) - 1) * 4
        + len(all_schemas)
    )
    assert tally.attempts == per_role * 2 * len(tenants)


_COLUMN_CACHE: dict[tuple[str, str], str] = {}


def _first_column_cached(db: object, schema: str, table: str) -> str:
    if (schema, table) not in _COLUMN_CACHE:
        with db.connect() as admin:  # type: ignore[attr-defined]
            _COLUMN_CACHE[(schema, table)] = _first_column(admin, schema, table)
    return _COLUMN_CACHE[(schema, table)]


def _check_own_writes(conn: psycopg.Connection, tenant_id: str, writer: bool) -> None:
    """Insert, update and delete a row of its own moved table and of a hybrid table."""
    insert_theme = "INSERT INTO component_themes (name, slug, config) VALUES ('t', 'isolation-test', '{}') RETURNING id"
    if not writer:
        assert _denied(conn, sql.SQL(insert_theme))
        assert _denied(conn, sql.SQL("INSERT INTO jobs (tenant_id) VALUES (%s)"), (tenant_id,))
        return
    with conn.transaction(force_rollback=True):
        row = conn.execute(insert_theme).fetchone()
        assert row is not None
        assert conn.execute("UPDATE component_themes SET name = 'u' WHERE id = %s", row).rowcount == 1
        assert conn.execute("DELETE FROM component_themes WHERE id = %s", row).rowcount == 1
        job = conn.execute(
            "INSERT INTO jobs (tenant_id, title, job_type, created_at)"
            " VALUES (%s, 'isolation', 'full-time', now()) RETURNING id",
            [tenant_id],
        ).fetchone()
        assert job is not None
        assert conn.execute("UPDATE jobs SET title = 'u' WHERE id = %s", job).rowcount == 1
        assert conn.execute("DELETE FROM jobs WHERE id = %s", job).rowcount == 1


def test_tenant_sees_own_and_public_hybrid_rows(migrated: tuple[object, list[str]]) -> None:
    db, tenants = migrated
    plan = build_model(MANIFEST, tenants).tenants[0]
    with db.connect() as admin:  # type: ignore[attr-defined]
        expected = admin.execute(
            "SELECT count(*) FILTER (WHERE tenant_id = %s OR is_public),"
            " count(*) FILTER (WHERE is_public AND tenant_id <> %s) FROM public.jobs",
            [plan.tenant_id, plan.tenant_id],
        ).fetchone()
        leads = admin.execute("SELECT count(*) FROM public.leads WHERE tenant_id = %s", [plan.tenant_id]).fetchone()
    assert expected is not None and expected[1] > 0, "the sample must hold other tenants' public jobs"
    for role in (plan.app, plan.readonly):
        with psycopg.connect(_dsn_as(db, role.name), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (expected[0],)
            assert conn.execute("SELECT count(*) FROM leads").fetchone() == leads
            # Public rows of another tenant are readable, not writable.
            if role is plan.app:
                n = conn.execute(
                    "UPDATE jobs SET title = title WHERE is_public AND tenant_id <> %s",
                    [plan.tenant_id],
                ).rowcount
                assert n == 0


def test_the_policy_lookup_runs_once_per_statement_through_the_tenant_key_index(
    migrated: tuple[object, list[str]],
) -> None:
    """The policies compare the tenant key with tenancy.current_tenant_id() (STABLE), not a
    subquery: the planner scans the key's index, evaluating it once per statement (and
    once more when it estimates); a sequential scan would evaluate it once per row. The
    row filter through institutions (users) is served by users' index too."""
    db, tenants = migrated
    plan = build_model(MANIFEST, tenants).tenants[0]
    with db.connect() as admin:  # type: ignore[attr-defined]
        own = admin.execute("SELECT count(*) FROM public.leads WHERE tenant_id = %s", [plan.tenant_id]).fetchone()
        total = admin.execute("SELECT count(*) FROM public.leads").fetchone()
        assert own is not None and total is not None and 0 < own[0] < total[0]
        lookup = admin.execute("SELECT 'tenancy.current_tenant_id()'::regprocedure::oid").fetchone()
        calls = sql.SQL("SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcid = {}").format(
            sql.Literal(lookup[0] if lookup else None)
        )
        admin.execute("SET track_functions = 'pl'")
        counted = {}
        # The planner's own choice, then a sequential scan forced.
        for scan, off in (("default", ()), ("seq", ("indexscan", "indexonlyscan", "bitmapscan"))):
            with admin.transaction(force_rollback=True):
                for setting in off:
                    admin.execute(f"SET LOCAL enable_{setting} = off")
                admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(plan.app.name)))
                shown = "\n".join(r[0] for r in admin.execute("EXPLAIN SELECT count(*) FROM public.leads"))
                before = admin.execute(calls).fetchone()
                assert admin.execute("SELECT count(*) FROM public.leads").fetchone() == own
                after = admin.execute(calls).fetchone()
            assert before is not None and after is not None
            counted[scan] = (after[0] - before[0], shown)
        index_calls, index_plan = counted["default"]
        seq_calls, seq_plan = counted["seq"]
        assert "Index Cond: (tenant_id = tenancy.current_tenant_id())" in index_plan, index_plan
        assert 1 <= index_calls <= 2, index_plan
        assert "Seq Scan on leads" in seq_plan and seq_calls >= total[0], (seq_calls, seq_plan)
        print(f"\ncurrent_tenant_id() calls: {index_calls} through the index, {seq_calls} in a scan of {total[0]} rows")
        with admin.transaction(force_rollback=True):
            admin.execute("SET LOCAL enable_seqscan = off")
            admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(plan.app.name)))
            shown = "\n".join(r[0] for r in admin.execute("EXPLAIN SELECT * FROM public.users"))
        assert "users_institution_id_idx" in shown and "tenancy.tenant_row_keys(" in shown, shown


def test_provision_is_idempotent_and_deprovision_refuses_while_tables_exist(
    migrated: tuple[object, list[str]],
) -> None:
    db, tenants = migrated
    with db.connect() as admin:  # type: ignore[attr-defined]
        again = admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", [tenants[0]]).fetchall()
        assert again == []
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s)", [tenants[0]])
        assert err.value.sqlstate == "TY008"
        assert "still holds" in (err.value.diag.message_primary or "")
        assert "p_force" in (err.value.diag.message_hint or "")
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.provision_tenant('Bad Id')")
        assert err.value.sqlstate == "TY001"
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.provision_tenant('not-registered')")
        assert err.value.sqlstate == "TY002"


# -- A login holding the tenant owner roles plants code; no command of the tool runs it --

PLANTED_LOG = "planted_calls"


def _plant_payload(admin: psycopg.Connection, attacker: str, schema: str, owner: str) -> None:
    """The attacker's function in a tenant schema: it records every call (and who ran it)."""
    with psycopg.connect(admin.info.dsn.replace("user=postgres", f"user={attacker}"), autocommit=True) as a:
        s = sql.Identifier(schema)
        a.execute(
            sql.SQL(
                "CREATE FUNCTION {s}.pwn() RETURNS integer LANGUAGE plpgsql AS $$"
                " BEGIN INSERT INTO public.{log} VALUES (current_user, session_user); RETURN 1; END $$;"
                " CREATE FUNCTION {s}.pwn_trigger() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN PERFORM {s}.pwn(); RETURN NEW; END $$;"
                " CREATE FUNCTION {s}.pwn_immutable(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$"
                " BEGIN PERFORM {s}.pwn(); RETURN $1; END $$;"
                " ALTER FUNCTION {s}.pwn() OWNER TO {o};"
                " ALTER FUNCTION {s}.pwn_trigger() OWNER TO {o};"
                " ALTER FUNCTION {s}.pwn_immutable(bigint) OWNER TO {o}"
            ).format(s=s, o=sql.Identifier(owner), log=sql.Identifier(PLANTED_LOG))
        )


def _as(admin: psycopg.Connection, role: str) -> psycopg.Connection:
    return psycopg.connect(admin.info.dsn.replace("user=postgres", f"user={role}"), autocommit=True)


def _planted_calls(admin: psycopg.Connection) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in admin.execute(sql.SQL("SELECT * FROM public.{}").format(sql.Identifier(PLANTED_LOG)))
    ]


def _with_attacker_login(
    admin: psycopg.Connection, name: str, tenants: list[str], *, owner: bool
) -> Iterator[tuple[psycopg.Connection, str, list[str]]]:
    """A login that holds every tenant's owner role (owner) or is only a member of
    tenancy_migrator, and the table planted code writes to; dropped after, with every
    tenant's schema and roles."""
    if owner:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        for t in tenants:
            admin.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(build_model(MANIFEST, [t]).tenant(t).owner.name), sql.Identifier(name)
                )
            )
    else:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_migrator").format(sql.Identifier(name)))
    admin.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS public.{} (current_role_name text, session_role_name text)").format(
            sql.Identifier(PLANTED_LOG)
        )
    )
    admin.execute(sql.SQL("GRANT INSERT ON public.{} TO PUBLIC").format(sql.Identifier(PLANTED_LOG)))
    try:
        yield admin, name, tenants
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
        for t in tenants:
            admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


@pytest.fixture
def attacker(sample_db: object) -> Iterator[tuple[psycopg.Connection, str, list[str]]]:
    """The sample installed and provisioned, two tenants migrated, a login holding every
    tenant owner role."""
    name = f"mallory_{os.getpid()}"
    with sample_db.connect(autocommit=True) as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        provision_all(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
        for t in tenants[:2]:
            admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", [t]).fetchall()
        yield from _with_attacker_login(admin, name, tenants, owner=True)


def test_planted_view_trigger_rule_and_index_never_run_as_another_role(
    attacker: tuple[psycopg.Connection, str, list[str]],
) -> None:
    admin, mallory, tenants = attacker
    model = build_model(MANIFEST, tenants)
    a, b, c = (model.tenant(t) for t in tenants[:3])  # a, b migrated; c provisioned only
    for plan in (a, b, c):
        _plant_payload(admin, mallory, plan.schema, plan.owner.name)

    with _as(admin, mallory) as m:
        # a: a view in place of a moved table and of the federated graduates table, a rule.
        for table in ("component_themes", "graduates"):
            m.execute(
                sql.SQL(
                    "ALTER TABLE {s}.{t} RENAME TO {real};"
                    " CREATE VIEW {s}.{t} AS SELECT r.*, {s}.pwn() AS x FROM {s}.{real} AS r;"
                    " ALTER VIEW {s}.{t} OWNER TO {o};"
                    " GRANT SELECT ON {s}.{t} TO tenancy_federation_owner"
                ).format(
                    s=sql.Identifier(a.schema),
                    t=sql.Identifier(table),
                    real=sql.Identifier(f"{table}_real"),
                    o=sql.Identifier(a.owner.name),
                )
            )
        m.execute(
            sql.SQL("CREATE RULE spy AS ON UPDATE TO {}.brand_colors DO ALSO SELECT {}.pwn()").format(
                sql.Identifier(a.schema), sql.Identifier(a.schema)
            )
        )
        # b: a trigger on a moved table, an index over an "immutable" function.
        m.execute(
            sql.SQL(
                "CREATE TRIGGER spy BEFORE INSERT OR UPDATE OR DELETE ON {s}.templates"
                " FOR EACH ROW EXECUTE FUNCTION {s}.pwn_trigger();"
                " CREATE INDEX spy ON {s}.brand_fonts ({s}.pwn_immutable(id))"
            ).format(s=sql.Identifier(b.schema))
        )
    # Building the planted index ran the function: as the attacker's session, its own doing.
    assert {session for _, session in _planted_calls(admin)} == {mallory}
    admin.execute(sql.SQL("TRUNCATE public.{}").format(sql.Identifier(PLANTED_LOG)))

    # validate (as the DBA, a superuser): failed checks, nothing of those tables read.
    rows = admin.execute(
        "SELECT table_name, check_name, actual, passed FROM tenancy.validate_tenant(%s)", [a.tenant_id]
    ).fetchall()
    failed = {(r[0], r[1]): r[2] for r in rows if r[3] is False}
    assert set(failed) == {("component_themes", "what tenancy made"), ("brand_colors", "what tenancy made")}
    assert "was replaced" in failed[("component_themes", "what tenancy made")]
    assert "its rules differ" in failed[("brand_colors", "what tenancy made")]
    rows = admin.execute(
        "SELECT table_name, actual FROM tenancy.validate_tenant(%s) WHERE NOT passed", [b.tenant_id]
    ).fetchall()
    assert dict(rows) == {
        "templates": "was changed since tenancy made it: its triggers differ",
        "brand_fonts": "was changed since tenancy made it: its indexes differ",
    }

    # rollback refuses (TY040) and leaves everything in place.
    for plan in (a, b):
        with pytest.raises(psycopg.Error) as err:
            admin.execute("SELECT * FROM tenancy.rollback_tenant(%s)", [plan.tenant_id])
        assert err.value.sqlstate == "TY040"
        assert "refusing" in (err.value.diag.message_primary or "")

    # migrate: tenant c's tables are created, then planted on before the copy.
    admin.execute("BEGIN")
    admin.execute("SELECT tenancy.lock_tenant(%s)", [c.tenant_id])
    admin.execute("SELECT tenancy.begin_tenant_migration(%s)", [c.tenant_id])
    admin.execute("COMMIT")
    with _as(admin, mallory) as m:
        m.execute(
            sql.SQL(
                "CREATE TRIGGER spy BEFORE INSERT ON {s}.templates FOR EACH ROW EXECUTE FUNCTION {s}.pwn_trigger()"
            ).format(s=sql.Identifier(c.schema))
        )
    for step in (
        "SELECT tenancy.copy_tenant_table(%s, 'templates')",
        "SELECT * FROM tenancy.finish_tenant_migration(%s)",
    ):
        admin.execute("BEGIN")
        admin.execute("SELECT tenancy.lock_tenant(%s)", [c.tenant_id])
        with pytest.raises(psycopg.Error) as err:
            admin.execute(step, [c.tenant_id])
        admin.execute("ROLLBACK")
        assert err.value.sqlstate == "TY040", step

    # federation: a member's search leaves tenant a's planted graduates view out, with a warning.
    member = f"fed_{mallory}"
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_federation").format(sql.Identifier(member)))
    try:
        with _as(admin, member) as f:
            warnings: list[str] = []
            f.add_notice_handler(lambda d: warnings.append(d.message_primary or ""))
            found = {r[0] for r in f.execute("SELECT tenant_id FROM tenancy_federation.search_graduates()")}
            f.execute("SELECT * FROM tenancy_federation.analytics_summary()").fetchall()
            f.execute("SELECT * FROM tenancy_federation.user_tenants(1)").fetchall()
        assert a.tenant_id not in found and b.tenant_id in found
        assert any(a.tenant_id in w and "graduates" in w for w in warnings), warnings
    finally:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(member)))

    assert _planted_calls(admin) == []


# -- Beyond plain privileges: references, leaks, COPY, sequences, tool objects ---


def _refused(conn: psycopg.Connection, stmt: sql.Composable | str, params: tuple[object, ...] = ()) -> bool:
    """Any error is a refusal here (RLS check, privilege, COPY FROM under RLS)."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(stmt if isinstance(stmt, sql.Composable) else sql.SQL(stmt), params)  # type: ignore[arg-type]
    except psycopg.Error:
        return True
    return False


def test_attack_suite_references_leaks_copy_sequences_and_tool_objects(
    migrated: tuple[object, list[str]],
) -> None:
    db, tenants = migrated
    model = build_model(MANIFEST, tenants)
    assert set(RLS_CALLS) == {*RLS_FUNCTIONS, GUARD_FUNCTION}
    tally = Tally()
    own_checks = 0
    with db.connect() as admin:  # type: ignore[attr-defined]
        employers = {
            t: admin.execute("SELECT min(id) FROM public.employers WHERE tenant_id = %s", [t]).fetchone()[0]  # type: ignore[index]
            for t in tenants
        }
        missing_employer = admin.execute("SELECT max(id) + 1000 FROM public.employers").fetchone()[0]  # type: ignore[index]
        sequences = {
            plan.schema: admin.execute(
                "SELECT c.oid, c.relname FROM pg_class AS c WHERE c.relkind = 'S'"
                " AND c.relnamespace = %s::regnamespace ORDER BY 1 LIMIT 1",
                [plan.schema],
            ).fetchone()
            for plan in model.tenants
        }
        functions = [
            (int(r[0]), str(r[1]))
            for r in admin.execute(
                "SELECT p.oid, p.oid::regprocedure::text FROM pg_proc AS p"
                " WHERE p.pronamespace IN ('tenancy'::regnamespace, 'tenancy_federation'::regnamespace)"
                " AND p.prokind = 'f' ORDER BY 1"
            )
        ]
        tool_tables = [
            r[0]
            for r in admin.execute(
                "SELECT c.oid::regclass::text FROM pg_class AS c"
                " WHERE c.relnamespace = 'tenancy'::regnamespace AND c.relkind = 'r' ORDER BY 1"
            )
        ]
        own_users = {
            t: admin.execute(
                "SELECT count(*) FROM public.users AS u JOIN public.institutions AS i"
                " ON i.id = u.institution_id WHERE i.tenant_id = %s",
                [t],
            ).fetchone()[0]  # type: ignore[index]
            for t in tenants
        }
    assert all(n > 0 for n in own_users.values()) and all(employers.values())

    for plan in model.tenants:
        others = [t for t in tenants if t != plan.tenant_id]
        for role in (plan.app, plan.readonly):
            with psycopg.connect(_dsn_as(db, role.name), autocommit=True) as conn:
                who = role.name
                # Hybrid references: a job pointing at another tenant's hidden employer.
                for other in others:
                    tally.record(
                        f"{who} INSERT job -> employer of {other}",
                        _refused(
                            conn,
                            "INSERT INTO jobs (tenant_id, employer_id, title, job_type, created_at)"
                            " VALUES (%s, %s, 'x', 'full-time', now())",
                            (plan.tenant_id, employers[other]),
                        ),
                    )
                    tally.record(
                        f"{who} UPDATE own job -> employer of {other}",
                        _refused(
                            conn,
                            "UPDATE jobs SET employer_id = %s WHERE tenant_id = %s",
                            (employers[other], plan.tenant_id),
                        ),
                    )
                    # A leaky expression in WHERE must not see other tenants' rows before RLS.
                    # (leads has no public rows: any error would come from a hidden row.)
                    tally.record(
                        f"{who} leaky WHERE on leads of {other}",
                        not _refused(
                            conn,
                            "SELECT 1 FROM leads WHERE 1 / (CASE WHEN tenant_id = %s THEN 0 ELSE 1 END) = 0",
                            (other,),
                        ),
                    )
                    # Other tenants' sequences, by name and by OID.
                    oid, name = sequences[model.tenant(other).schema]
                    for stmt in (
                        sql.SQL("SELECT nextval({})").format(sql.Literal(f"{model.tenant(other).schema}.{name}")),
                        sql.SQL("SELECT nextval({}::oid)").format(sql.Literal(oid)),
                        sql.SQL("SELECT setval({}::oid, 1)").format(sql.Literal(oid)),
                        sql.SQL("SELECT last_value FROM {}").format(sql.Identifier(model.tenant(other).schema, name)),
                    ):
                        tally.record(f"{who} {stmt.as_string(conn)}", _denied(conn, stmt))
                    # COPY out of another tenant's table.
                    tally.record(
                        f"{who} COPY {model.tenant(other).schema}.templates",
                        _denied(
                            conn,
                            sql.SQL("COPY {} TO STDOUT").format(
                                sql.Identifier(model.tenant(other).schema, "templates")
                            ),
                        ),
                    )
                # A hidden and a missing employer fail alike (no existence oracle).
                if role is plan.app:
                    for employer in (employers[others[0]], missing_employer):
                        try:
                            with conn.transaction(force_rollback=True):
                                conn.execute(
                                    "INSERT INTO jobs (tenant_id, employer_id, title, job_type, created_at)"
                                    " VALUES (%s, %s, 'x', 'full-time', now())",
                                    (plan.tenant_id, employer),
                                )
                        except psycopg.Error as e:
                            assert e.sqlstate == DENIED, (employer, e.sqlstate)
                    own_checks += 1
                    # Its own employer: allowed.
                    with conn.transaction(force_rollback=True):
                        conn.execute(
                            "INSERT INTO jobs (tenant_id, employer_id, title, job_type, created_at)"
                            " VALUES (%s, %s, 'x', 'full-time', now())",
                            (plan.tenant_id, employers[plan.tenant_id]),
                        )
                    own_checks += 1
                # COPY of a hybrid table: only its own and public rows; COPY FROM refused.
                with conn.cursor() as cur, cur.copy("COPY jobs (tenant_id, is_public) TO STDOUT") as copy:
                    rows = [line.split("\t") for line in bytes(b"".join(copy)).decode().splitlines()]
                leaked = [r for r in rows if r[0] != plan.tenant_id and r[1] != "t"]
                tally.record(f"{who} COPY jobs TO", leaked == [])
                tally.record(f"{who} COPY jobs FROM", _refused(conn, "COPY jobs (tenant_id) FROM STDIN"))
                # Central data: only its own users, its own registry row; permissions hidden.
                assert conn.execute("SELECT count(*) FROM users").fetchone() == (own_users[plan.tenant_id],)
                assert conn.execute("SELECT array_agg(id) FROM tenants").fetchone() == ([plan.tenant_id],)
                own_checks += 2
                for other in others:
                    tally.record(
                        f"{who} SELECT users of {other}",
                        _affects_nothing(
                            conn,
                            sql.SQL(
                                "SELECT 1 FROM users AS u JOIN public.institutions AS i ON i.id = u.institution_id"
                                " WHERE i.tenant_id = %s UNION ALL SELECT 1 FROM users AS u WHERE u.institution_id"
                                " IN (SELECT id FROM public.institutions WHERE tenant_id <> %s)"
                            ),
                            (other, plan.tenant_id),
                        ),
                    )
                tally.record(f"{who} SELECT permissions", _denied(conn, sql.SQL("SELECT * FROM permissions")))
                # companies: its id and name, never its other columns.
                assert conn.execute("SELECT count(id), count(name) FROM companies").fetchone() != (0, 0)
                own_checks += 1
                for stmt in ("SELECT website FROM companies", "SELECT * FROM companies"):
                    tally.record(f"{who} {stmt}", _denied(conn, sql.SQL(stmt)))
                # The tool's own objects: no function, no table, no temporary object. The
                # policies' lookups are executable (a policy runs as the querying role), never
                # callable by name.
                for oid, fn in functions:
                    signature = fn.removeprefix("tenancy.")
                    if signature in RLS_CALLS:
                        tally.record(f"{who} {RLS_CALLS[signature]}", _denied(conn, sql.SQL(RLS_CALLS[signature])))
                        continue
                    may = conn.execute("SELECT has_function_privilege(%s::oid, 'EXECUTE')", [oid]).fetchone()
                    tally.record(f"{who} EXECUTE {fn}", may == (False,))
                tally.record(
                    f"{who} USAGE on schema tenancy",
                    conn.execute("SELECT has_schema_privilege('tenancy', 'USAGE')").fetchone() == (False,),
                )
                for table in tool_tables:
                    tally.record(f"{who} SELECT {table}", _denied(conn, sql.SQL(f"SELECT * FROM {table}")))  # noqa: S608
                tally.record(f"{who} CREATE TEMP TABLE", _denied(conn, sql.SQL("CREATE TEMP TABLE t (x int)")))
                tally.record(
                    f"{who} CREATE pg_temp function",
                    _denied(conn, sql.SQL("CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")),
                )
                # The per-role limits are in force in the session.
                assert conn.execute("SHOW statement_timeout").fetchone() == ("1min",)
                assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
                assert conn.execute("SHOW lock_timeout").fetchone() == ("10s",)
                own_checks += 3

    print(
        f"\nattack suite: attempts {tally.attempts}, denied {tally.denied},"
        f" allowed {len(tally.allowed)}; own-tenant checks passed: {own_checks}"
    )
    assert tally.allowed == []
    assert tally.attempts > 0 and tally.denied == tally.attempts


# -- The one routine that runs as the owner of the shared tables (contract) ---------


@pytest.fixture
def online_attacker(sample_db: object) -> Iterator[tuple[psycopg.Connection, str, str, list[str]]]:
    """The sample migrated online, every tenant but the last cut over, a login that is only a
    member of tenancy_migrator and one that holds every tenant owner role."""
    name = f"mallory_{os.getpid()}"
    dsn = sample_db.dsn  # type: ignore[attr-defined]
    with sample_db.connect(autocommit=True) as admin:  # type: ignore[attr-defined]
        install(admin, MANIFEST)
        provision_all(admin, MANIFEST)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
        assert {r.state for r in online.migrate_online(dsn, tenants)} == {"syncing"}
        assert {r.state for r in online.cutover_tenants(dsn, tenants[:-1])} == {"cut_over"}
        owner = f"{name}_owner"
        for _ in _with_attacker_login(admin, owner, tenants, owner=True):
            for attacker in _with_attacker_login(admin, name, [], owner=False):
                yield attacker[0], name, owner, tenants


def _sqlstate(conn: psycopg.Connection, stmt: str, params: tuple[object, ...] = ()) -> str | None:
    """Run ``stmt`` in a transaction that is rolled back; the SQLSTATE it raised, or None."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(stmt, params).fetchall()  # type: ignore[arg-type]
    except psycopg.Error as e:
        return e.sqlstate
    return None


def _relations(admin: psycopg.Connection) -> set[tuple[str, str]]:
    return {
        (str(r[0]), str(r[1]))
        for r in admin.execute(
            "SELECT n.nspname, c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
    }


def test_the_contract_routine_drops_or_moves_the_shared_tables_only_and_runs_no_planted_code(
    online_attacker: tuple[psycopg.Connection, str, str, list[str]],
) -> None:
    """tenancy.contract_shared_tables runs as the owner of the shared tables (here the
    superuser that owns the sample). Only the engine calls it, through tenancy.contract(); a
    member of tenancy_migrator calls that, with the owner login's objects in place, and tries
    to make it drop or move something else, or run its code."""
    admin, mallory, owner, tenants = online_attacker
    a = build_model(MANIFEST, tenants).tenant(tenants[0])
    _plant_payload(admin, owner, a.schema, a.owner.name)
    s = sql.Identifier(a.schema)
    shared = sql.Identifier(MANIFEST.central_schema, "brand_colors")
    tally = Tally()
    with _as(admin, mallory) as m:
        # Nothing can be planted on a shared table: no trigger, rule, policy, index, RLS, owner.
        for what, stmt in (
            ("trigger", "CREATE TRIGGER spy BEFORE DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {s}.pwn_trigger()"),
            ("rule", "CREATE RULE spy AS ON DELETE TO {t} DO ALSO SELECT {s}.pwn()"),
            ("policy", "CREATE POLICY spy ON {t} USING ({s}.pwn() = 1)"),
            ("index", "CREATE INDEX spy ON {t} ({s}.pwn_immutable(id))"),
            ("row level security", "ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
            ("owner", "ALTER TABLE {t} OWNER TO {o}"),
            ("truncate", "TRUNCATE {t}"),
            # ... nor can the tables the routine reads be changed, nor the routine called directly.
            ("moved_tables", "INSERT INTO tenancy.moved_tables (table_name) VALUES ('users')"),
            ("settings", "UPDATE tenancy.settings SET central_schema = 'tenancy'"),
            ("the routine itself", "SELECT * FROM tenancy.contract_shared_tables(NULL)"),
            ("the guard", "SELECT * FROM tenancy.shared_guard(false)"),
        ):
            tally.record(what, _denied(m, sql.SQL(stmt).format(t=shared, s=s, o=sql.Identifier(a.owner.name))))
        tally.record(
            "grant itself TRIGGER",
            _denied(m, sql.SQL("GRANT TRIGGER ON {} TO {}").format(shared, sql.Identifier(mallory))),
        )
        assert m.execute("SELECT has_table_privilege(%s, 'public.brand_colors', 'TRIGGER')", [mallory]).fetchone() == (
            False,
        )
        before = snapshot(admin)
        # The routine re-checks the registry itself: the last tenant is not cut over.
        assert _sqlstate(m, "SELECT * FROM tenancy.contract(NULL)") == "TY055"
        assert snapshot(admin) == before
    assert {r.state for r in online.cutover_tenants(admin.info.dsn, tenants[-1:])} == {"cut_over"}

    # Schemas an archive must never be: the tool's, the system's, the central one, a tenant's.
    admin.execute("CREATE SCHEMA loot")
    admin.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA loot TO {}").format(sql.Identifier(mallory)))
    with _as(admin, owner) as o:
        # A view of the owner login's over a shared table: DROP without CASCADE stops at it.
        o.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(a.owner.name)))
        o.execute(sql.SQL("CREATE VIEW {s}.spy AS SELECT b.id, {s}.pwn() AS x FROM {t} AS b").format(s=s, t=shared))
    with _as(admin, mallory) as m:
        m.execute("CREATE FUNCTION loot.pwn() RETURNS integer LANGUAGE sql AS 'SELECT 1'")
        before = snapshot(admin)
        for archive, expected in (
            ("public", "22023"),
            ("tenancy", "22023"),
            ("tenancy_federation", "22023"),
            ("information_schema", "22023"),
            ("pg_catalog", "22023"),
            ("pg_toast", "22023"),
            ("Kept", "22023"),
            ("kept; DROP TABLE users", "22023"),
            ("k" * 64, "22023"),
            (a.schema, "TY062"),
            ("loot", "TY062"),
        ):
            assert _sqlstate(m, "SELECT * FROM tenancy.contract(%s)", (archive,)) == expected, archive
        try:
            with m.transaction(force_rollback=True):
                m.execute("SELECT * FROM tenancy.contract(NULL)").fetchall()
        except psycopg.Error as e:
            assert e.sqlstate == "TY063" and "spy" in (e.diag.message_detail or ""), e
        else:
            raise AssertionError("contract dropped a table another object depends on")
        assert snapshot(admin) == before
    admin.execute(sql.SQL("DROP VIEW {}.spy").format(s))

    with _as(admin, mallory) as m:
        # Builtins shadowed in a schema put first on the caller's search_path: never called.
        for fn, args, result in (
            ("pg_has_role", "name, oid, text", "boolean"),
            ("hashtextextended", "text, bigint", "bigint"),
            ("array_to_string", "anyarray, text", "text"),
        ):
            m.execute(
                sql.SQL("CREATE FUNCTION loot.{f}({a}) RETURNS {r} LANGUAGE sql AS $$SELECT loot.pwn()::{r}$$").format(
                    f=sql.Identifier(fn), a=sql.SQL(args), r=sql.SQL(result)
                )
            )
        m.execute("SET search_path = loot, pg_catalog")
        m.execute("SET row_security = on")
        relations = _relations(admin)
        done = m.execute("SELECT table_name, action FROM tenancy.contract('kept')").fetchall()
        assert sorted(r[0] for r in done) == sorted(MANIFEST.move) and {r[1] for r in done} == {"moved to kept"}
        # The archive schema is the owner's alone: the attacker cannot plant anything there.
        tally.record("create in archive", _denied(m, sql.SQL("CREATE TABLE kept.x (i integer)")))
    moved = {(MANIFEST.central_schema, t) for t in MANIFEST.move}
    assert _relations(admin) == (relations - moved) | {("kept", t) for t in MANIFEST.move}
    assert admin.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'kept'").fetchone() == (
        "postgres",
    )
    assert _planted_calls(admin) == []
    assert tally.allowed == [] and tally.attempts == tally.denied == 13
