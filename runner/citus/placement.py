"""Where each distributed tenant lives: tenancy.citus_placement(), largest first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import psycopg

from runner.citus.distribute import require_citus
from runner.db import typed_errors


@dataclass(frozen=True)
class Placement:
    tenant_id: str
    schema_name: str
    node: str | None
    tables: int
    bytes: int
    rows_verified: int
    distributed_at: datetime | None
    moved_at: datetime | None


def placements(conn: psycopg.Connection) -> list[Placement]:
    require_citus(conn)
    with typed_errors():
        rows = conn.execute(
            "SELECT tenant_id, schema_name, node, tables, bytes, rows_verified, distributed_at, moved_at "
            "FROM tenancy.citus_placement()"
        ).fetchall()
    return [Placement(*r) for r in rows]


def tenants_per_node(conn: psycopg.Connection, found: list[Placement]) -> dict[str, int]:
    """Every active worker (also those holding no tenant yet) and how many tenants it holds."""
    workers = conn.execute(
        "SELECT nodename || ':' || nodeport FROM pg_dist_node WHERE isactive AND groupid <> 0 ORDER BY nodeid"
    ).fetchall()
    counts = Counter(p.node for p in found if p.node)
    return {w[0]: counts.get(w[0], 0) for w in workers}
