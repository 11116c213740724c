"""An application that keeps writing while its tenants move: the load of `tenancy
bench-online` and of the online tests.

It logs in as an application would: a login of its own that is neither a
superuser nor the tables' owner (row-level security applies to it), with DML on
the central schema's tables and, through membership in each tenant's app role,
on the tenant schemas. Several connections each own a share of the tenants,
so the last acknowledged write of every row is known. Each one reads, inserts,
updates and deletes random rows of every moved table; every write is
`... RETURNING` the row as stored and only what the server acknowledged is
recorded.

It routes as docs/online.md tells an application to: a tenant that
`tenancy.online_tenants` says is cut over is written in its schema, every
other through the shared tables; a statement refused with TY050 switches that
tenant to its schema; a statement on a tenant's schema first checks, in the
same transaction, that the tenant is still cut over (a rollback after cutover
switches it back).

What it counts of the tool's promise (docs/online.md, "The guard"): a
statement on a cut-over tenant's shared rows, started after its cutover
returned, that answered without an error (`silently_ignored`) or with another
error than TY050 (`wrong_error_first`).
"""

from __future__ import annotations

import math
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from runner.manifest import Manifest
from runner.privileges import role_name

CUT_OVER = "TY050"
WRITERS = 4
Row = tuple[Any, ...]
# (tenant, table) -> {id: row as RETURNING gave it}
State = dict[tuple[str, str], dict[Any, Row]]


@dataclass(frozen=True)
class TableRecipe:
    """How the application writes one moved table: the columns kept in the tenant table
    (id first), the columns an insert copies, the unique text columns an insert must
    vary, the column an update changes, and the foreign key columns to other moved tables."""

    name: str
    columns: tuple[str, ...]
    insert_columns: tuple[str, ...]
    unique_text: frozenset[str]
    update_column: str
    insertable: bool
    references: tuple[str, ...]


def table_recipes(conn: psycopg.Connection, manifest: Manifest) -> list[TableRecipe]:
    """A recipe for every moved table the application can write: one with an `id` key and a
    nullable timestamp column outside every constraint, which updates set."""
    recipes = []
    for table in manifest.move:
        rel = f"{sql.Identifier(manifest.central_schema, table).as_string(conn)}"
        cols = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '', a.attnotnull "
            "FROM pg_attribute AS a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (rel,),
        ).fetchall()
        constrained = {
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_constraint AS c JOIN pg_attribute AS a "
                "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE c.conrelid = %s::regclass",
                (rel,),
            )
        }
        unique = [
            set(r[0])
            for r in conn.execute(
                "SELECT array_agg(a.attname::text) FROM pg_index AS i JOIN pg_attribute AS a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary GROUP BY i.indexrelid",
                (rel,),
            )
        ]
        references = tuple(
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_constraint AS c JOIN pg_attribute AS a "
                "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND cardinality(c.conkey) = 1 "
                "AND format_type(a.atttypid, NULL) IN ('bigint', 'integer')",
                (rel,),
            )
        )
        types = {c[0]: c[1] for c in cols}
        update = next(
            (c[0] for c in cols if c[1].startswith("timestamp") and not c[3] and c[0] not in constrained), None
        )
        if "id" not in types or update is None:
            continue
        varying = {c for u in unique for c in u if c != manifest.tenant_key}
        recipes.append(
            TableRecipe(
                name=table,
                columns=tuple(c[0] for c in cols if c[0] != manifest.tenant_key),
                insert_columns=tuple(c[0] for c in cols if c[0] != "id" and not c[2]),
                unique_text=frozenset(varying),
                update_column=update,
                insertable=all(types[c].startswith(("text", "character varying")) for c in varying),
                references=references,
            )
        )
    return recipes


def initial_state(
    conn: psycopg.Connection, manifest: Manifest, recipes: list[TableRecipe], tenants: list[str]
) -> State:
    """Every row of every recipe's shared table, by tenant: what the application starts from."""
    state: State = {(t, r.name): {} for t in tenants for r in recipes}
    for rec in recipes:
        query = sql.SQL("SELECT {k}, {c} FROM {t}").format(
            k=sql.Identifier(manifest.tenant_key),
            c=sql.SQL(", ").join(map(sql.Identifier, rec.columns)),
            t=sql.Identifier(manifest.central_schema, rec.name),
        )
        for row in conn.execute(query):
            if (row[0], rec.name) in state:
                state[(row[0], rec.name)][row[1]] = tuple(row[1:])
    return state


@contextmanager
def application_login(conn: psycopg.Connection, manifest: Manifest, tenants: list[str], name: str) -> Iterator[str]:
    """A login `name` with what an application holds (see the module's docstring), with a
    random password; yields its DSN (the server of conn's). Dropped on exit."""
    role = sql.Identifier(name)
    secret = secrets.token_urlsafe(24)
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(secret)))
    try:
        central = sql.Identifier(manifest.central_schema)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(central, role))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(central, role)
        )
        conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(central, role))
        # Routing by the ledger: tenancy.online_tenants is readable by every role.
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA tenancy TO {}").format(role))
        for t in tenants:
            app = role_name(manifest.roles.app, manifest.schema_for(t))
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(app), role))
        yield make_conninfo(conn.info.dsn, user=name, password=secret)
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        conn.execute(sql.SQL("DROP ROLE {}").format(role))


class _RolledBack(Exception):
    """The tenant is no longer cut over: its rows are in the shared tables again."""


@dataclass
class Writer:
    """One connection's share of the tenants, what the server acknowledged for them and
    what the tool answered."""

    tenants: list[str]
    state: State
    in_schema: set[str] = field(default_factory=set)
    acknowledged: int = 0
    refused_after_cutover: int = 0
    silently_ignored: int = 0
    wrong_error_first: int = 0
    reads_mismatched: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One statement of the application: what it does to which row of which tenant."""

    tenant: str
    recipe: TableRecipe
    op: str  # read | update | insert | delete
    key: Any


class Application:
    """The writer threads (see the module's docstring). `phase` names the stretch their
    latencies are counted in; `cut_over_at[tenant]` is set by whoever cuts a tenant over,
    when its cutover has returned."""

    def __init__(
        self,
        dsn: str,
        manifest: Manifest,
        recipes: list[TableRecipe],
        state: State,
        *,
        seed: int,
        writers: int = WRITERS,
        groups: dict[str, str] | None = None,
    ) -> None:
        tenants = sorted({t for t, _ in state})
        self.dsn, self.manifest, self.recipes, self.seed = dsn, manifest, recipes, seed
        self.writers = [
            Writer(tenants=tenants[i::writers], state={k: v for k, v in state.items() if k[0] in tenants[i::writers]})
            for i in range(min(writers, len(tenants)))
        ]
        self.groups = groups or {}
        self.phase = "start"
        self.cut_over_at: dict[str, float] = {}
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._run, args=(w, i), daemon=True) for i, w in enumerate(self.writers)
        ]

    def __enter__(self) -> Application:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def total(self, counter: str) -> int:
        return sum(int(getattr(w, counter)) for w in self.writers)

    def errors(self) -> Counter[str]:
        return sum((w.errors for w in self.writers), Counter())

    def _run(self, w: Writer, index: int) -> None:
        rnd = random.Random(self.seed * 1000 + index)
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '10s'")
                # Without waiting for the WAL flush at each commit, a statement's latency is
                # its own work, where the capture trigger's and the guard's cost show.
                conn.execute("SET synchronous_commit = off")
                w.in_schema = set(w.tenants) & _cut_over(conn)
                while not self.stop.is_set():
                    step = self._next_step(w, rnd)
                    if step is not None:
                        self._do(conn, w, step, rnd)
        except BaseException as e:  # reported by whoever runs the application (Application.failures)
            self.failures.append(e)

    def _next_step(self, w: Writer, rnd: random.Random) -> Step | None:
        tenant, recipe = rnd.choice(w.tenants), rnd.choice(self.recipes)
        rows = w.state[(tenant, recipe.name)]
        if not rows:
            return None
        op = rnd.choices(("read", "update", "insert", "delete"), (2, 6, 3, 1))[0]
        if op == "insert" and not recipe.insertable:
            op = "update"
        return Step(tenant, recipe, op, rnd.choice(list(rows)))

    def _do(self, conn: psycopg.Connection, w: Writer, step: Step, rnd: random.Random) -> None:
        shared = step.tenant not in w.in_schema
        statement = self._statement(step, shared)
        params = {
            "id": step.key,
            "tenant": step.tenant,
            "stamp": f"2030-01-01 00:00:00.{rnd.randrange(1_000_000):06d}",
            "suffix": f"-{rnd.randrange(16**8):08x}",
        }
        started = time.perf_counter()
        after_cutover = shared and self.cut_over_at.get(step.tenant, math.inf) < started
        try:
            if shared:
                returned = conn.execute(statement, params).fetchone()
            else:
                returned = self._in_schema(conn, step.tenant, statement, params)
        except _RolledBack:
            w.in_schema.discard(step.tenant)  # the shared tables again
            return
        except psycopg.Error as e:
            if shared and e.sqlstate == CUT_OVER:
                w.refused_after_cutover += 1
                w.in_schema.add(step.tenant)  # the application's switch
                return
            w.wrong_error_first += after_cutover
            w.errors[e.sqlstate or type(e).__name__] += 1
            return
        if after_cutover:
            w.silently_ignored += 1
        phase = f"{self.phase}:{self.groups.get(step.tenant, '')}"
        w.latencies.setdefault(phase, []).append(time.perf_counter() - started)
        self._record(w, step, returned)

    @staticmethod
    def _in_schema(
        conn: psycopg.Connection, tenant: str, statement: sql.Composed, params: dict[str, Any]
    ) -> Row | None:
        """The statement in the tenant's schema, in one transaction with the check that the
        tenant is still cut over (a rollback after cutover waits for it, or is seen by it)."""
        with conn.transaction():
            if tenant not in _cut_over(conn, tenant):
                raise _RolledBack
            return conn.execute(statement, params).fetchone()

    @staticmethod
    def _record(w: Writer, step: Step, returned: Row | None) -> None:
        rows = w.state[(step.tenant, step.recipe.name)]
        if step.op == "read":
            w.reads_mismatched += returned is None or tuple(returned) != rows.get(step.key)
            return
        if returned is None:
            return
        w.acknowledged += 1
        if step.op == "delete":
            rows.pop(step.key, None)
        else:
            rows[returned[0]] = tuple(returned)

    def _statement(self, step: Step, shared: bool) -> sql.Composed:
        r, key = step.recipe, self.manifest.tenant_key
        target = sql.Identifier(
            self.manifest.central_schema if shared else self.manifest.schema_for(step.tenant), r.name
        )
        returning = sql.SQL(", ").join(map(sql.Identifier, r.columns))
        where = sql.SQL("id = %(id)s") + (
            sql.SQL(" AND {} = %(tenant)s").format(sql.Identifier(key)) if shared else sql.SQL("")
        )
        parts = {"t": target, "w": where, "r": returning, "c": sql.Identifier(r.update_column)}
        if step.op == "read":
            return sql.SQL("SELECT {r} FROM {t} WHERE {w}").format(**parts)
        if step.op == "update":
            return sql.SQL("UPDATE {t} SET {c} = %(stamp)s WHERE {w} RETURNING {r}").format(**parts)
        if step.op == "delete":
            return sql.SQL("DELETE FROM {t} WHERE {w} RETURNING {r}").format(**parts)
        cols = [c for c in r.insert_columns if shared or c != key]
        exprs = [
            sql.SQL("{} || %(suffix)s").format(sql.Identifier(c)) if c in r.unique_text else sql.Identifier(c)
            for c in cols
        ]
        return sql.SQL("INSERT INTO {t} ({cols}) SELECT {e} FROM {t} WHERE {w} RETURNING {r}").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, cols)), e=sql.SQL(", ").join(exprs), **parts
        )

    def latencies(self, phase: str) -> list[float]:
        """Every latency of the phase, in seconds."""
        return [
            v for w in self.writers for key, values in w.latencies.items() if key.split(":")[0] == phase for v in values
        ]

    def medians_ms(self) -> dict[str, float]:
        """Median latency per phase and per phase:group, in ms; a phase named `name.N` (its
        Nth round) counts as `name`."""
        values: dict[str, list[float]] = {}
        for w in self.writers:
            for key, seconds in w.latencies.items():
                phase, group = key.split(":")
                phase = phase.split(".")[0]
                values.setdefault(phase, []).extend(seconds)
                if group:
                    values.setdefault(f"{phase}:{group}", []).extend(seconds)
        return {k: round(statistics.median(v) * 1000, 3) for k, v in sorted(values.items()) if v}

    def compare(self, conn: psycopg.Connection) -> dict[str, int]:
        """The acknowledged state against the rows of every tenant's schema: rows compared,
        lost, duplicated (in the schema, never acknowledged) and mismatched."""
        counts = Counter[str]()
        by_name = {r.name: r for r in self.recipes}
        for w in self.writers:
            for (tenant, table), expected in w.state.items():
                query = sql.SQL("SELECT {c} FROM {t}").format(
                    c=sql.SQL(", ").join(map(sql.Identifier, by_name[table].columns)),
                    t=sql.Identifier(self.manifest.schema_for(tenant), table),
                )
                actual = {row[0]: tuple(row) for row in conn.execute(query)}
                counts["rows_compared"] += len(actual)
                counts["rows_lost"] += sum(1 for k in expected if k not in actual)
                counts["rows_duplicated"] += sum(1 for k in actual if k not in expected)
                counts["rows_mismatched"] += sum(1 for k, v in expected.items() if k in actual and actual[k] != v)
        return {k: counts[k] for k in ("rows_compared", "rows_lost", "rows_duplicated", "rows_mismatched")}


def _cut_over(conn: psycopg.Connection, tenant: str | None = None) -> set[str]:
    """The tenants tenancy.online_tenants says are cut over (or whether `tenant` is)."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT tenant_id FROM tenancy.online_tenants WHERE state = 'cut_over' "
            "AND (%(t)s::text IS NULL OR tenant_id = %(t)s::text)",
            {"t": tenant},
        )
    }


def probe_cut_over_tenant(
    app: psycopg.Connection, admin: psycopg.Connection, manifest: Manifest, recipes: Iterable[TableRecipe], tenant: str
) -> Counter[str]:
    """Every statement shape on a cut-over tenant's shared rows, each in a transaction rolled
    back: SELECT, SELECT FOR UPDATE, UPDATE and DELETE by tenant key and by primary key,
    INSERT of a new row, of a row whose id is taken, and of a child whose parent does not
    exist. Counts the answers: TY050, `silently_ignored` (no error) or `wrong_error_first`;
    `no_row` for an INSERT that had no row to copy (the application deleted the tenant's row
    in its schema since it was read: nothing was written, so nothing was probed)."""
    answers = Counter[str]()
    for r in recipes:
        shared = sql.Identifier(manifest.central_schema, r.name)
        own = sql.Identifier(manifest.schema_for(tenant), r.name)
        key = sql.Identifier(manifest.tenant_key)
        row = admin.execute(sql.SQL("SELECT min(id) FROM {} WHERE {} = %s").format(shared, key), (tenant,)).fetchone()
        if row is None or row[0] is None:
            continue
        p = {"t": tenant, "id": row[0]}
        parts = {"s": shared, "k": key, "c": sql.Identifier(r.update_column), "o": own}
        shapes = [
            "SELECT * FROM {s} WHERE {k} = %(t)s",
            "SELECT * FROM {s} WHERE id = %(id)s",
            "SELECT * FROM {s} WHERE {k} = %(t)s FOR UPDATE",
            "UPDATE {s} SET {c} = {c} WHERE {k} = %(t)s",
            "UPDATE {s} SET {c} = {c} WHERE id = %(id)s",
            "DELETE FROM {s} WHERE {k} = %(t)s",
            "DELETE FROM {s} WHERE id = %(id)s",
        ]
        statements = [sql.SQL(s).format(**parts) for s in shapes]
        if r.insertable:
            statements += [_insert_probe(r, parts, manifest.tenant_key, with_id=i) for i in (False, True)]
        for i, statement in enumerate(statements):
            answers[_answer(app, statement, p, insert=i >= len(shapes))] += 1
    return answers


def _insert_probe(
    r: TableRecipe, parts: Mapping[str, sql.Composable], tenant_key: str, *, with_id: bool
) -> sql.Composed:
    """INSERT into the shared table of a copy of the tenant's row `id`: with its id (the key is
    taken) or without, its foreign keys to other moved tables pointing nowhere."""
    cols = [c for c in (("id",) if with_id else ()) + r.insert_columns if c != tenant_key]
    exprs = [sql.SQL("-{}").format(sql.Identifier(c)) if c in r.references else sql.Identifier(c) for c in cols]
    return sql.SQL("INSERT INTO {s} ({k}, {cols}) SELECT %(t)s, {e} FROM {o} WHERE id = %(id)s").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)), e=sql.SQL(", ").join(exprs), **parts
    )


def _answer(conn: psycopg.Connection, statement: sql.Composed, params: dict[str, Any], *, insert: bool) -> str:
    try:
        with conn.transaction(force_rollback=True):
            written = conn.execute(statement, params).rowcount
    except psycopg.Error as e:
        return "refused" if e.sqlstate == CUT_OVER else "wrong_error_first"
    return "no_row" if insert and written == 0 else "silently_ignored"
