"""verify-grants on the Citus workers: the privilege model checked on every worker too.

Citus propagates roles, schemas and the grants on distributed tables to the
workers; this reads each worker's catalog with the same drift check as the
coordinator's and keeps what a worker is responsible for: the tenant schemas
(their owner and ACL, the tables and sequences in them, shards included),
tenant roles' attributes and memberships. Central tables stay on the
coordinator, and default privileges matter only where tables are created
(the coordinator), so those are left to the coordinator's check.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from runner.access import drift as grants
from runner.engine.rows import fetch_value
from runner.privileges import DEFAULT_SEQUENCE, DEFAULT_TABLE, MEMBER, PrivilegeModel


@dataclass(frozen=True, order=True)
class WorkerDrift:
    worker: str
    drift: grants.Drift


def is_citus_coordinator(conn: psycopg.Connection) -> bool:
    if not fetch_value(
        conn,
        "SELECT to_regclass('pg_catalog.pg_dist_node') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
    ):
        return False
    return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid = 0)").fetchone() == (True,)


def workers(conn: psycopg.Connection) -> list[tuple[str, int]]:
    rows = conn.execute(
        "SELECT nodename, nodeport FROM pg_dist_node WHERE isactive AND groupid <> 0 ORDER BY nodeid"
    ).fetchall()
    return [(str(h), int(p)) for h, p in rows]


def worker_dsn(coordinator_dsn: str, host: str, port: int) -> str:
    """The coordinator's connection parameters (user, database, password, TLS) with the worker's address."""
    params = conninfo_to_dict(coordinator_dsn)
    params.update(host=host, port=str(port))
    params.pop("hostaddr", None)
    return make_conninfo(**params)  # type: ignore[arg-type]


def _worker_concern(model: PrivilegeModel, d: grants.Drift) -> bool:
    f = d.fact
    if f.object_type in (DEFAULT_TABLE, DEFAULT_SEQUENCE):
        return False
    if f.object_type in (grants.ATTRIBUTE,) or f.privilege == MEMBER:
        return True
    return f.schema in {t.schema for t in model.tenants}


def verify_workers(conn: psycopg.Connection, coordinator_dsn: str, model: PrivilegeModel) -> list[WorkerDrift]:
    """Drift on each active worker, for the facts a worker holds; empty when all agree."""
    found = []
    for host, port in workers(conn):
        with psycopg.connect(worker_dsn(coordinator_dsn, host, port), autocommit=True) as wconn:
            drift = grants.verify(wconn, model, all_tenants=False)
        found += [WorkerDrift(f"{host}:{port}", d) for d in drift if _worker_concern(model, d)]
    return sorted(found)
