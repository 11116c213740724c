"""`tenancy bench-online`: proof that an online migration loses no acknowledged write.

One run builds the sample in a fresh database, installs tenancy, provisions
every tenant, then starts a writer: several connections, each owning a share
of the tenants (so the last acknowledged write of a row is known), inserting,
updating and deleting random rows of every moved table. Every write is
`... RETURNING` the row as stored, and only what the server acknowledged is
recorded. While it writes, in this order:

1. baseline and idle, alternating: the capture triggers disabled (no capture
   at all), then on with no tenant in flight (what every other tenant pays);
2. ``migrate --online`` of half the tenants, then a stretch where the writes
   to those (in flight, logged) and to the others (idle) are timed side by
   side. Each half is timed against itself (tenants differ in size):
   ``capture_write_overhead`` = [first half in flight / first half at
   baseline] / [second half idle / second half at baseline] x [idle /
   baseline], every ratio from phases run side by side or alternating, so the
   drift of a shared machine cancels out;
3. ``migrate --online`` of the other half;
4. cutover: ``--all`` (one call for every tenant) or ``per-tenant`` (one call
   each, writes going on in between). A write refused by the fence (TY050)
   is counted and the writer switches that tenant to its schema, as the
   application does;
5. a last stretch of writes to the tenant schemas.

Then the writer stops and its acknowledged state is compared, row by row, with
the tenant tables. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from runner.devtools import embedded
from runner.devtools.sample import build_sample
from runner.engine.install import install
from runner.engine.online import cutover_tenants, migrate_online
from runner.errors import TenancyError
from runner.manifest import load_manifest
from runner.resources import EXAMPLE_MANIFEST

BENCH_DATABASE = "tenancy_bench_online"
PHASE_SECONDS = 3.0
ROUNDS = 3
WRITERS = 4
Out = Callable[[str], None]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableRecipe:
    """How the writer writes one moved table: columns kept in the tenant table, the
    column an update changes, and the unique text columns an insert must vary."""

    name: str
    columns: tuple[str, ...]  # tenant-table columns, id first
    insert_columns: tuple[str, ...]  # columns an insert copies (no id, no generated ones)
    unique_text: frozenset[str]
    update_column: str
    insertable: bool


@dataclass
class Writer:
    """One connection's share of the tenants and what the server acknowledged for them."""

    tenants: list[str]
    state: dict[tuple[str, str], dict[Any, Row]]
    in_schema: set[str] = field(default_factory=set)
    acknowledged: int = 0
    refused_after_cutover: int = 0
    errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)


def run_bench_online(
    *,
    tenants: int = 20,
    rows: int = 200_000,
    seed: int = 42,
    dsn: str | None = None,
    variant: str = "per-tenant",
    out: Out = print,
) -> dict[str, object]:
    """Build, write, migrate online, cut over, compare; print the summary ending in one JSON line."""
    if variant not in ("all", "per-tenant"):
        raise TenancyError(f"unknown cutover variant {variant!r}", hint="Use --cutover all or --cutover per-tenant.")
    if dsn is not None:
        return _bench(dsn, tenants=tenants, rows=rows, seed=seed, variant=variant, out=out)
    with _embedded_database(out) as bench_dsn:
        return _bench(bench_dsn, tenants=tenants, rows=rows, seed=seed, variant=variant, out=out)


@contextmanager
def _embedded_database(out: Out) -> Iterator[str]:
    pgdata = embedded.data_dir().parent / "bench-pg"
    out(f"embedded PostgreSQL in {pgdata}")
    yield embedded.fresh_database(embedded.start(pgdata), BENCH_DATABASE)


def _recipes(conn: psycopg.Connection, schema: str, tables: list[str], tenant_key: str) -> list[TableRecipe]:
    recipes = []
    for table in tables:
        cols = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '', a.attnotnull "
            "FROM pg_attribute AS a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (f"{schema}.{table}",),
        ).fetchall()
        constrained = {
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_constraint AS c JOIN pg_attribute AS a "
                "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE c.conrelid = %s::regclass",
                (f"{schema}.{table}",),
            ).fetchall()
        }
        unique_cols = [
            set(r[0])
            for r in conn.execute(
                "SELECT array_agg(a.attname::text) FROM pg_index AS i JOIN pg_attribute AS a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary GROUP BY i.indexrelid",
                (f"{schema}.{table}",),
            ).fetchall()
        ]
        types = {c[0]: c[1] for c in cols}
        varying = {c for u in unique_cols for c in u if c != tenant_key}
        text_types = ("text", "character varying")
        insertable = all(types[c].startswith(text_types) for c in varying)
        update = next(
            c[0] for c in cols if c[1].startswith("timestamp") and not c[3] and c[0] not in constrained
        )
        kept = tuple(c[0] for c in cols if c[0] != tenant_key)
        recipes.append(
            TableRecipe(
                name=table,
                columns=kept,
                insert_columns=tuple(c[0] for c in cols if c[0] != "id" and not c[2]),
                unique_text=frozenset(varying),
                update_column=update,
                insertable=insertable,
            )
        )
    return recipes


class Workload:
    """The writer threads and the phase their latencies are counted in."""

    def __init__(self, dsn: str, recipes: list[TableRecipe], writers: list[Writer], schema_of: Callable[[str], str],
                 central: str, tenant_key: str, seed: int, first_half: set[str]) -> None:
        self.dsn, self.recipes, self.writers = dsn, recipes, writers
        self.schema_of, self.central, self.tenant_key = schema_of, central, tenant_key
        self.phase = "baseline"
        self.first_half = first_half
        self.stop = threading.Event()
        self.seed = seed
        self.threads = [threading.Thread(target=self._run, args=(w, i), daemon=True) for i, w in enumerate(writers)]

    def __enter__(self) -> Workload:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _run(self, w: Writer, index: int) -> None:
        rnd = random.Random(self.seed * 1000 + index)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            # Without waiting for the WAL flush at each commit, a write's latency is
            # the statement's own work, where the capture trigger's cost shows.
            conn.execute("SET synchronous_commit = off")
            while not self.stop.is_set():
                tenant = rnd.choice(w.tenants)
                recipe = rnd.choice(self.recipes)
                rows = w.state[(tenant, recipe.name)]
                if not rows:
                    continue
                op = rnd.choices(("update", "insert", "delete"), (6, 3, 1))[0]
                if op == "insert" and not recipe.insertable:
                    op = "update"
                key = rnd.choice(list(rows))
                # Timed per phase and per half of the tenants (tenants differ in size).
                phase = f"{self.phase}:{'first' if tenant in self.first_half else 'second'}"
                started = time.perf_counter()
                try:
                    result = conn.execute(self._statement(w, tenant, recipe, op), self._params(w, tenant, op, key, rnd))
                    returned = result.fetchone()
                except psycopg.Error as e:
                    if e.sqlstate == "TY050":
                        w.refused_after_cutover += 1
                        w.in_schema.add(tenant)  # the application's switch
                    else:
                        w.errors += 1
                    continue
                w.latencies.setdefault(phase, []).append(time.perf_counter() - started)
                if returned is None:
                    continue
                w.acknowledged += 1
                if op == "delete":
                    rows.pop(key, None)
                else:
                    rows[returned[0]] = tuple(returned)

    def _statement(self, w: Writer, tenant: str, r: TableRecipe, op: str) -> sql.Composed:
        shared = tenant not in w.in_schema
        target = (
            sql.Identifier(self.central, r.name) if shared else sql.Identifier(self.schema_of(tenant), r.name)
        )
        returning = sql.SQL(", ").join(sql.Identifier(c) for c in r.columns)
        where = sql.SQL("id = %(id)s") + (
            sql.SQL(" AND {} = %(tenant)s").format(sql.Identifier(self.tenant_key)) if shared else sql.SQL("")
        )
        if op == "update":
            return sql.SQL("UPDATE {t} SET {c} = %(stamp)s WHERE {w} RETURNING {r}").format(
                t=target, c=sql.Identifier(r.update_column), w=where, r=returning
            )
        if op == "delete":
            return sql.SQL("DELETE FROM {t} WHERE {w} RETURNING {r}").format(t=target, w=where, r=returning)
        cols = [c for c in r.insert_columns if shared or c != self.tenant_key]
        exprs = [
            sql.SQL("{} || %(suffix)s").format(sql.Identifier(c)) if c in r.unique_text else sql.Identifier(c)
            for c in cols
        ]
        return sql.SQL("INSERT INTO {t} ({c}) SELECT {e} FROM {t} WHERE {w} RETURNING {r}").format(
            t=target,
            c=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
            e=sql.SQL(", ").join(exprs),
            w=where,
            r=returning,
        )

    @staticmethod
    def _params(w: Writer, tenant: str, op: str, key: Any, rnd: random.Random) -> dict[str, Any]:
        return {
            "id": key,
            "tenant": tenant,
            "stamp": f"2030-01-01 00:00:00.{rnd.randrange(1_000_000):06d}",
            "suffix": f"-{rnd.randrange(16**8):08x}",
        }


def _median_ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 3) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _bench(dsn: str, *, tenants: int, rows: int, seed: int, variant: str, out: Out) -> dict[str, object]:
    manifest = load_manifest(EXAMPLE_MANIFEST)
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        version = conn.info.parameter_status("server_version") or "?"
        out(f"PostgreSQL {version}; {tenants} tenants, {rows} rows, seed {seed}, cutover {variant}")
        summary = build_sample(conn, tenants=tenants, rows=rows, seed=seed, progress=lambda m: out(f"  {m}"))
        install(conn, manifest)
        for t in summary.tenants:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
        recipes = _recipes(conn, manifest.central_schema, list(manifest.move), manifest.tenant_key)
        # What the writer starts from: every row of every moved table, by tenant.
        state: dict[tuple[str, str], dict[Any, Row]] = {(t, r.name): {} for t in summary.tenants for r in recipes}
        for rec in recipes:
            q = sql.SQL("SELECT {k}, {c} FROM {t}").format(
                k=sql.Identifier(manifest.tenant_key),
                c=sql.SQL(", ").join(sql.Identifier(c) for c in rec.columns),
                t=sql.Identifier(manifest.central_schema, rec.name),
            )
            for row in conn.execute(q):
                state[(row[0], rec.name)][row[1]] = tuple(row[1:])
        tables = [sql.Identifier(manifest.central_schema, rec.name) for rec in recipes]
        for ident in tables:
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER tenancy_capture").format(ident))
        # The load's aftermath (autovacuum, dirty buffers) would weigh on the first phases only.
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    writers = [
        Writer(
            tenants=summary.tenants[i::WRITERS],
            state={k: v for k, v in state.items() if k[0] in summary.tenants[i::WRITERS]},
        )
        for i in range(min(WRITERS, len(summary.tenants)))
    ]
    fence_ms: list[float] = []
    cutover_failures: list[str] = []
    half = summary.tenants[: len(summary.tenants) // 2]
    with Workload(
        dsn, recipes, writers, manifest.schema_for, manifest.central_schema, manifest.tenant_key, seed, set(half)
    ) as load:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for round_ in range(ROUNDS):
                for phase, action in (("baseline", "DISABLE"), ("idle", "ENABLE")):
                    if round_ or phase == "idle":
                        for ident in tables:
                            conn.execute(
                                sql.SQL("ALTER TABLE {} {} TRIGGER tenancy_capture").format(ident, sql.SQL(action))
                            )
                    load.phase = phase
                    time.sleep(PHASE_SECONDS / ROUNDS)
        for group, then in ((half, "mixed"), (summary.tenants[len(half) :], "in_flight")):
            load.phase = "migrate"
            out(f"migrate --online of {len(group)} tenants, writes going on")
            migrated = migrate_online(dsn, group)
            failed = [r for r in migrated if not r.ok]
            if failed:
                raise TenancyError(
                    f"migrate --online failed for {failed[0].tenant_id}: {failed[0].error}", hint=failed[0].hint
                )
            load.phase = then
            time.sleep(PHASE_SECONDS)
        load.phase = "cutover"
        out(f"cutover ({variant}), writes going on")
        if variant == "all":
            results = cutover_tenants(dsn, summary.tenants)
        else:
            results = []
            for t in summary.tenants:
                results += cutover_tenants(dsn, [t])
                time.sleep(PHASE_SECONDS / len(summary.tenants))
        for res in results:
            if res.ok and res.checks and res.checks[0].get("fence_ms") is not None:
                fence_ms.append(float(res.checks[0]["fence_ms"]))
            elif not res.ok:
                cutover_failures.append(f"{res.tenant_id}: {res.error}")
        load.phase = "after"
        time.sleep(PHASE_SECONDS)
    lost = duplicated = mismatched = compared = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for w in writers:
            for (tenant, table), expected in w.state.items():
                recipe = next(r for r in recipes if r.name == table)
                q = sql.SQL("SELECT {c} FROM {t}").format(
                    c=sql.SQL(", ").join(sql.Identifier(c) for c in recipe.columns),
                    t=sql.Identifier(manifest.schema_for(tenant), table),
                )
                actual = {row[0]: tuple(row) for row in conn.execute(q)}
                compared += len(actual)
                lost += sum(1 for k in expected if k not in actual)
                duplicated += sum(1 for k in actual if k not in expected)
                mismatched += sum(1 for k, v in expected.items() if k in actual and actual[k] != v)
        left = sum(
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(manifest.central_schema, r.name))
            ).fetchone()[0]  # type: ignore[index]
            for r in recipes
        )
    lat: dict[str, list[float]] = {}
    for w in writers:
        for key, values in w.latencies.items():
            phase = key.split(":")[0]
            lat.setdefault(key, []).extend(values)
            lat.setdefault(phase, []).extend(values)
    m = {k: _median_ms(v) for k, v in lat.items()}
    base, idle = m.get("baseline"), m.get("idle")
    parts = [m.get(k) for k in ("mixed:first", "baseline:first", "mixed:second", "baseline:second")]
    overhead = not_in_flight = None
    if base and idle:
        not_in_flight = round(idle / base, 3)
        if all(parts):
            a, a0, b, b0 = (float(x) for x in parts)  # type: ignore[arg-type]
            overhead = round((a / a0) / (b / b0) * not_in_flight, 3)
    result: dict[str, object] = {
        "tenants": tenants,
        "rows": rows,
        "cutover_variant": variant,
        "server_version": version,
        "writes_acknowledged": sum(w.acknowledged for w in writers),
        "writes_failed_other": sum(w.errors for w in writers),
        "rows_compared": compared,
        "rows_lost": lost,
        "rows_duplicated": duplicated,
        "rows_mismatched": mismatched,
        "shared_rows_left": left,
        "writes_refused_after_cutover": sum(w.refused_after_cutover for w in writers),
        "cutover_failures": cutover_failures,
        "cutover_block_ms_p50": _percentile(fence_ms, 0.5),
        "cutover_block_ms_p99": _percentile(fence_ms, 0.99),
        "write_ms_median": {k: m[k] for k in sorted(m)},
        "write_ms_max_during_cutover": round(max(lat.get("cutover", [0.0])) * 1000, 1),
        "capture_write_overhead": overhead,
        "capture_write_overhead_not_in_flight": not_in_flight,
        "seconds": round(time.monotonic() - started, 1),
    }
    out(
        f"{result['writes_acknowledged']} writes acknowledged; lost {lost}, duplicated {duplicated}, "
        f"mismatched {mismatched} of {compared} rows; fence p99 {result['cutover_block_ms_p99']} ms; "
        f"capture overhead {result['capture_write_overhead']} (in flight), "
        f"{result['capture_write_overhead_not_in_flight']} (not in flight)"
    )
    out(json.dumps(result))
    return result
