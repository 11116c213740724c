"""`tenancy bench-queries`: the original plan's query-performance claims, measured in one run.

Prints ratios; asserts nothing (timings belong in a report, not in tests).

One database holds everything (``runner.devtools.sample.build_sample``, default 200
tenants, 1M rows in the shared tables, Zipf-sized tenants):

1. Typical tenant queries (the original plan's SchemaPerformanceBenchmark plus two
   the app runs constantly), before and after the migration, for the
   smallest, the median and the largest tenant. "Before" is the shared table
   with the best tenant-leading index for each query; "after" is the tenant
   table with the same index minus tenant_id (the migration derives it).
   Both sides live in the same database at the same time (the migration
   copies, the shared rows stay), so they share the cache and the run, and
   the calls alternate before/after so drift hits both alike. Each query is
   a prepared statement timed at the client: p50 and p95 per side. The
   original plan's claim "25-40% improvement in average query time" is checked on the
   mean over the five queries' means, per tenant and over the three tenants.
2. The original plan's index test: 10,000 themes for one tenant, inserted into the
   shared table before the migration; EXPLAIN ANALYZE of the slug lookup in
   the tenant table must show an index scan.
3. Federated search across all tenants (tenancy_federation.search_graduates,
   one query over the tenant schemas) vs the same search on one central
   graduates table with tenant_id (built here from the tenant schemas, as it
   would have been before schema-per-tenant) vs the original plan's loop of one query
   per tenant.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from runner.devtools import embedded
from runner.devtools.sample import build_sample, tenant_schema
from runner.engine.install import install
from runner.errors import TenancyError
from runner.manifest import load_manifest
from runner.resources import EXAMPLE_MANIFEST

DATABASE = "tenancy_querybench"
CLAIM_LOW, CLAIM_HIGH = 0.25, 0.40
THEMES_FOR_INDEX_TEST = 10_000

# Best tenant-leading indexes for the original plan's queries; the migration turns each
# into the same index without tenant_id in the tenant tables.
EXTRA_INDEXES: tuple[LiteralString, ...] = (
    "CREATE INDEX component_themes_tenant_default_idx ON public.component_themes (tenant_id, is_default)",
    "CREATE INDEX component_themes_tenant_created_idx ON public.component_themes (tenant_id, created_at DESC)",
)

# (name, query on the shared table with $tenant, same query in the tenant schema)
# {t} is the table: public.<t> before, <tenant schema>.<t> after.
QUERIES: tuple[tuple[str, LiteralString, LiteralString], ...] = (
    (
        "themes where is_default",
        "SELECT * FROM {t} WHERE tenant_id = %(tenant)s AND is_default",
        "SELECT * FROM {t} WHERE is_default",
    ),
    (
        "themes name pattern, newest 50",
        "SELECT * FROM {t} WHERE tenant_id = %(tenant)s AND name LIKE %(pattern)s ORDER BY created_at DESC LIMIT 50",
        "SELECT * FROM {t} WHERE name LIKE %(pattern)s ORDER BY created_at DESC LIMIT 50",
    ),
    (
        "theme by slug",
        "SELECT * FROM {t} WHERE tenant_id = %(tenant)s AND slug = %(slug)s",
        "SELECT * FROM {t} WHERE slug = %(slug)s",
    ),
    (
        "events of a type, newest 50",
        "SELECT * FROM {t} WHERE tenant_id = %(tenant)s AND event_type = 'page_view'"
        " ORDER BY occurred_at DESC LIMIT 50",
        "SELECT * FROM {t} WHERE event_type = 'page_view' ORDER BY occurred_at DESC LIMIT 50",
    ),
    (
        "count events of the tenant",
        "SELECT count(*) FROM {t} WHERE tenant_id = %(tenant)s",
        "SELECT count(*) FROM {t}",
    ),
)
QUERY_TABLE = {
    "themes where is_default": "component_themes",
    "themes name pattern, newest 50": "component_themes",
    "theme by slug": "component_themes",
    "events of a type, newest 50": "analytics_events",
    "count events of the tenant": "analytics_events",
}


@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p95_ms: float
    mean_ms: float


def _timing(samples: Sequence[float]) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(statistics.median(ordered) * 1e3, p95 * 1e3, statistics.fmean(ordered) * 1e3)


def _time(conn: psycopg.Connection[Any], query: sql.Composed | sql.SQL, params: dict[str, Any]) -> float:
    start = time.perf_counter()
    conn.execute(query, params, prepare=True).fetchall()
    return time.perf_counter() - start


def prepare(
    conn: psycopg.Connection[Any], manifest_path: Path, tenants: int, rows: int, seed: int, say: Callable[[str], None]
) -> dict[str, str]:
    """Build, index, install, migrate the measured tenants; returns role -> tenant id."""
    started = time.monotonic()
    summary = build_sample(conn, tenants=tenants, rows=rows, seed=seed)
    say(
        f"sample: {len(summary.tenants)} tenants, {summary.moved_rows:,} shared rows "
        f"({time.monotonic() - started:.1f}s)"
    )
    # Registry order is largest first (Zipf); pick by analytics rows to be exact.
    by_size = sorted(summary.tenants, key=lambda t: (summary.rows_by_tenant[t], t))
    chosen = {
        "small": by_size[0],
        "median": by_size[len(by_size) // 2],
        "largest": by_size[-1],
        "index-test": by_size[len(by_size) // 4],
    }
    conn.execute(
        "INSERT INTO public.component_themes (tenant_id, name, slug, config, is_default, created_at)"
        " SELECT %(tenant)s, 'Test Theme ' || i, 'test-theme-' || i, '{}', false,"
        " timestamp '2024-01-01' + i * interval '1 minute'"
        " FROM generate_series(1, %(n)s) AS i",
        {"tenant": chosen["index-test"], "n": THEMES_FOR_INDEX_TEST},
    )
    for statement in EXTRA_INDEXES:
        conn.execute(statement)
    conn.execute("ANALYZE public.component_themes, public.analytics_events")
    started = time.monotonic()
    install(conn, load_manifest(manifest_path))
    for tenant in dict.fromkeys(chosen.values()):
        conn.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (tenant,)).fetchall()
    # Both sides vacuumed, so index-only scans (the count) find all-visible pages on both.
    tables = [sql.Identifier("public", t) for t in ("component_themes", "analytics_events")]
    tables += [
        sql.Identifier(tenant_schema(t), table)
        for t in dict.fromkeys(chosen.values())
        for table in ("component_themes", "analytics_events")
    ]
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.SQL(", ").join(tables)))
    say(f"install + migrate {len(set(chosen.values()))} tenants ({time.monotonic() - started:.1f}s)")
    return chosen


def bench_tenant_queries(
    conn: psycopg.Connection[Any], tenant: str, iterations: int
) -> dict[str, tuple[Timing, Timing]]:
    """(before, after) timings per query for one tenant, calls alternating."""
    schema = tenant_schema(tenant)
    slug_row = conn.execute(
        "SELECT slug FROM public.component_themes WHERE tenant_id = %s ORDER BY id DESC LIMIT 1", (tenant,)
    ).fetchone()
    assert slug_row is not None
    params = {"tenant": tenant, "pattern": "%o%", "slug": slug_row[0]}
    results: dict[str, tuple[Timing, Timing]] = {}
    for name, before_q, after_q in QUERIES:
        table = QUERY_TABLE[name]
        before = sql.SQL(before_q).format(t=sql.Identifier("public", table))
        after = sql.SQL(after_q).format(t=sql.Identifier(schema, table))
        before_params = {k: v for k, v in params.items() if f"%({k})s" in before_q}
        after_params = {k: v for k, v in params.items() if f"%({k})s" in after_q}
        for _ in range(10):  # warm the cache and the prepared statements
            _time(conn, before, before_params)
            _time(conn, after, after_params)
        b: list[float] = []
        a: list[float] = []
        for i in range(iterations):
            if i % 2:
                b.append(_time(conn, before, before_params))
                a.append(_time(conn, after, after_params))
            else:
                a.append(_time(conn, after, after_params))
                b.append(_time(conn, before, before_params))
        results[name] = (_timing(b), _timing(a))
    return results


def index_test(conn: psycopg.Connection[Any], tenant: str) -> tuple[bool, str, int]:
    schema = tenant_schema(tenant)
    [(themes,)] = conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "component_themes"))
    ).fetchall()
    plan = [
        r[0]
        for r in conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM {} WHERE slug = %s").format(
                sql.Identifier(schema, "component_themes")
            ),
            ("test-theme-1",),
        )
    ]
    return any("Index Scan" in line for line in plan), plan[0].strip(), int(themes)


def bench_federated_search(conn: psycopg.Connection[Any], iterations: int) -> list[tuple[str, float, float, float]]:
    """(search, federated p50, central p50, per-tenant loop p50) in ms."""
    tenants = [r[0] for r in conn.execute("SELECT id FROM public.tenants ORDER BY id")]
    conn.execute("DROP TABLE IF EXISTS public.bench_central_graduates")
    branches = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {tid}::text AS tenant_id, g.* FROM {g} AS g").format(
            tid=sql.Literal(t), g=sql.Identifier(tenant_schema(t), "graduates")
        )
        for t in tenants
    )
    conn.execute(sql.SQL("CREATE TABLE public.bench_central_graduates AS {}").format(branches))
    conn.execute("ALTER TABLE public.bench_central_graduates ADD PRIMARY KEY (tenant_id, id)")
    # The tenant tables' own indexes are the pkey and email; same shape here.
    conn.execute("CREATE INDEX ON public.bench_central_graduates (tenant_id, graduation_year)")
    conn.execute("ANALYZE public.bench_central_graduates")
    rows = conn.execute("SELECT count(*) FROM public.bench_central_graduates").fetchone()
    assert rows is not None

    searches: list[tuple[str, dict[str, Any]]] = [
        ("year 2023, limit 100", {"name": None, "year": 2023, "limit": 100}),
        ("name contains 'an', limit 50", {"name": "%an%", "year": None, "limit": 50}),
    ]
    federated = sql.SQL(
        "SELECT * FROM tenancy_federation.search_graduates(p_name => %(raw)s,"
        " p_graduation_year => %(year)s, p_limit => %(limit)s)"
    )
    central = sql.SQL(
        "SELECT g.tenant_id, t.name, g.id, g.name, g.email, g.graduation_year FROM public.bench_central_graduates AS g"
        " JOIN public.tenants AS t ON t.id = g.tenant_id"
        " WHERE (%(name)s::text IS NULL OR g.name ILIKE %(name)s)"
        " AND (%(year)s::integer IS NULL OR g.graduation_year = %(year)s)"
        " ORDER BY g.name, g.tenant_id, g.id LIMIT %(limit)s"
    )
    out = []
    for label, p in searches:
        params = {**p, "raw": p["name"].strip("%") if p["name"] else None}
        fed_p = {k: params[k] for k in ("raw", "year", "limit")}
        cen_p = {k: params[k] for k in ("name", "year", "limit")}
        for _ in range(3):
            _time(conn, federated, fed_p)
            _time(conn, central, cen_p)
        f = [_time(conn, federated, fed_p) for _ in range(iterations)]
        c = [_time(conn, central, cen_p) for _ in range(iterations)]
        loop = [_seed_loop(conn, tenants, params) for _ in range(max(3, iterations // 5))]
        out.append((label, statistics.median(f) * 1e3, statistics.median(c) * 1e3, statistics.median(loop) * 1e3))
    return out


def _seed_loop(conn: psycopg.Connection[Any], tenants: Sequence[str], params: dict[str, Any]) -> float:
    """The original plan's TenantFederationService: one query per tenant, merged and sorted in the client."""
    start = time.perf_counter()
    merged: list[tuple[Any, ...]] = []
    for t in tenants:
        q = sql.SQL(
            "SELECT id, name, email, graduation_year FROM {} WHERE (%(name)s::text IS NULL OR name ILIKE %(name)s)"
            " AND (%(year)s::integer IS NULL OR graduation_year = %(year)s)"
        ).format(sql.Identifier(tenant_schema(t), "graduates"))
        merged += [(r[1], t, r[0]) for r in conn.execute(q, {"name": params["name"], "year": params["year"]})]
    merged.sort()
    del merged[params["limit"] :]
    return time.perf_counter() - start


def require_empty(conn: psycopg.Connection[Any]) -> None:
    """Refuse a database that holds any relation of its own: the benchmark fills it."""
    [(used,)] = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n"
        " ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')"
    ).fetchall()
    if used:
        raise TenancyError(
            f"database {conn.info.dbname!r} is not empty: bench-queries builds its own sample in it",
            hint="Create an empty database for it (createdb …) and pass that, or pass no --dsn and no "
            "DATABASE_URL to use an embedded PostgreSQL.",
        )


def run_benchmark(
    dsn: str | None,
    *,
    manifest_path: Path = EXAMPLE_MANIFEST,
    tenants: int,
    rows: int,
    seed: int,
    iterations: int,
    say: Callable[[str], None] = print,
) -> bool:
    """Run all three parts and print them; returns whether the original plan's claim held.

    With a dsn, it works inside that database, which must be empty (it is never
    dropped); without one, in database tenancy_querybench of the embedded
    server, recreated for each run.
    """
    target = dsn or embedded.fresh_database(embedded.start(), DATABASE)
    with psycopg.connect(target, autocommit=True) as conn:
        if dsn:
            require_empty(conn)
        server = conn.execute("SHOW server_version").fetchone()
        say(
            f"PostgreSQL {server[0] if server else '?'}; {tenants} tenants, {rows:,} rows, seed {seed}, "
            f"{iterations} calls per query and side"
        )
        chosen = prepare(conn, manifest_path, tenants, rows, seed, say)
        holds = _report_typical_queries(conn, chosen, iterations, say)
        _report_index_test(conn, chosen["index-test"], say)
        _report_federated_search(conn, tenants, iterations, say)
    return holds


def _report_typical_queries(
    conn: psycopg.Connection[Any], chosen: dict[str, str], iterations: int, say: Callable[[str], None]
) -> bool:
    """Part 1: the typical queries before and after, for the small, median and largest
    tenant, and the verdict; returns whether the original plan's claim held."""
    sizes = {
        t: conn.execute("SELECT count(*) FROM public.analytics_events WHERE tenant_id = %s", (t,)).fetchone()
        for t in chosen.values()
    }
    say("")
    say("1. Typical queries: shared table + tenant-leading index (before) vs tenant table (after)")
    say("   ratio = after / before (below 1 = faster after); improvement = 1 - ratio")
    means: dict[str, tuple[float, float]] = {}
    for role in ("small", "median", "largest"):
        tenant = chosen[role]
        size = sizes[tenant]
        say(f"   {role} tenant {tenant} ({size[0] if size else '?':,} events):")
        means[role] = _report_tenant_queries(conn, tenant, iterations, say)
    overall_b = statistics.fmean(b for b, _ in means.values())
    overall_a = statistics.fmean(a for _, a in means.values())
    overall = 1 - overall_a / overall_b
    per = {role: 1 - a / b for role, (b, a) in means.items()}
    holds = all(v >= CLAIM_LOW for v in per.values())
    say(f"   over the three tenants: {overall_b:.3f} ms -> {overall_a:.3f} ms, improvement {overall:+.0%}")
    verdict = "HOLDS" if holds else "DOES NOT HOLD"
    say(
        f"   VERDICT: the original plan's claim of a 25-40% improvement in average query time {verdict} on this data"
        f" (per tenant: {', '.join(f'{r} {v:+.0%}' for r, v in per.items())})."
    )
    return holds


def _report_tenant_queries(
    conn: psycopg.Connection[Any], tenant: str, iterations: int, say: Callable[[str], None]
) -> tuple[float, float]:
    """One tenant's typical queries, each before and after; returns the average query
    time (ms) before and after."""
    say(f"     {'query':32} {'before p50/p95 ms':>18} {'after p50/p95 ms':>17} {'p50 ratio':>9} {'p95 ratio':>9}")
    res = bench_tenant_queries(conn, tenant, iterations)
    for name, (b, a) in res.items():
        say(
            f"     {name:32} {b.p50_ms:8.3f}/{b.p95_ms:<9.3f} {a.p50_ms:8.3f}/{a.p95_ms:<8.3f}"
            f" {a.p50_ms / b.p50_ms:9.2f} {a.p95_ms / b.p95_ms:9.2f}"
        )
    geo = statistics.geometric_mean(a.p50_ms / b.p50_ms for b, a in res.values())
    say(f"     p50 ratio, geometric mean over the five queries (each weighs the same): {geo:.2f}")
    mb = statistics.fmean(b.mean_ms for b, _ in res.values())
    ma = statistics.fmean(a.mean_ms for _, a in res.values())
    say(f"     average query time: {mb:.3f} ms -> {ma:.3f} ms, improvement {1 - ma / mb:+.0%}")
    return mb, ma


def _report_index_test(conn: psycopg.Connection[Any], tenant: str, say: Callable[[str], None]) -> None:
    """Part 2: whether a slug lookup in a large tenant table uses its index."""
    say("")
    say(f"2. Index test: slug lookup in a tenant table with {THEMES_FOR_INDEX_TEST:,} themes")
    ok, top, themes = index_test(conn, tenant)
    say(f"   {tenant_schema(tenant)}.component_themes: {themes:,} rows; plan: {top}")
    say(f"   {'PASS: index scan' if ok else 'FAIL: no index scan'}")


def _report_federated_search(
    conn: psycopg.Connection[Any], tenants: int, iterations: int, say: Callable[[str], None]
) -> None:
    """Part 3: one federated query over the tenant schemas against one central table and
    against the original plan's loop of one query per tenant."""
    say("")
    say(f"3. Federated search across {tenants} tenants: one query over the tenant schemas vs one central table")
    for label, fed, cen, loop in bench_federated_search(conn, max(10, iterations // 10)):
        say(
            f"   {label:30} federated {fed:8.2f} ms  central {cen:8.2f} ms  ratio {fed / cen:6.2f}"
            f"  | original plan's loop of {tenants} queries {loop:8.2f} ms ({loop / fed:.1f}x the federated query)"
        )
