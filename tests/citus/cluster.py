"""A local Citus cluster for tests: a coordinator and workers on the embedded PostgreSQL.

Citus is built from the vendored source by scripts/build_citus (cached under
build/) and installed into the embedded PostgreSQL. Each node is its own data
folder and port, started through scripts/pg_ctl_unprivileged (PostgreSQL refuses
to run as root). Databases are created on every node with the citus extension;
the coordinator then registers itself and the workers.
"""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "scripts" / "pg_ctl_unprivileged"
HOST = "127.0.0.1"
USER = "postgres"

# Throwaway nodes: durability off for speed; logical WAL so shards can move without blocking writes.
SETTINGS = (
    "-c shared_preload_libraries=citus -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c wal_level=logical -c max_connections=200 -c max_wal_senders=20 -c max_replication_slots=20 "
    "-c unix_socket_directories='' -c listen_addresses=127.0.0.1"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    datadir: Path
    port: int = field(default_factory=_free_port)

    def dsn(self, dbname: str) -> str:
        return f"host={HOST} port={self.port} user={USER} dbname={dbname}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([str(WRAPPER), *args], check=True, capture_output=True, text=True)

    def init(self) -> None:
        self.pg_ctl("initdb", "-s", "-D", str(self.datadir), "-o", f"-U {USER} --auth=trust --no-sync")

    def start(self) -> None:
        log = self.datadir.parent / "server.log"
        self.pg_ctl("start", "-w", "-D", str(self.datadir), "-l", str(log), "-o", f"-p {self.port} {SETTINGS}")

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "immediate", "-D", str(self.datadir))


@dataclass
class Cluster:
    coordinator: Node
    workers: list[Node]

    @classmethod
    def start(cls, base: Path, workers: int = 2) -> Cluster:
        nodes = [Node(base / name / "data") for name in ["coordinator", *(f"worker{i}" for i in range(1, workers + 1))]]
        for n in nodes:
            n.init()
        for n in nodes:
            n.start()
        return cls(nodes[0], nodes[1:])

    @property
    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers]

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    def create_database(self, name: str) -> str:
        """A database of that name on every node, with Citus; returns the coordinator's DSN."""
        for n in self.nodes:
            with psycopg.connect(n.dsn("postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            with psycopg.connect(n.dsn(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION citus")
        with psycopg.connect(self.coordinator.dsn(name), autocommit=True) as conn:
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (HOST, self.coordinator.port))
            for w in self.workers:
                conn.execute("SELECT citus_add_node(%s, %s)", (HOST, w.port))
        return self.coordinator.dsn(name)

    def drop_database(self, name: str) -> None:
        for n in self.nodes:
            with psycopg.connect(n.dsn("postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
