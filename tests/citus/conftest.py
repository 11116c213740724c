"""Citus fixtures: Citus built once (cached under build/), one 3-node cluster per session.

Only tests marked ``citus`` use them. scripts/test selects those tests when
Citus can be built from ../shared/vendor (or is installed in the embedded
PostgreSQL) and says so plainly when it cannot.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from runner.devtools.sample import build_sample
from runner.engine.install import install
from runner.engine.migrate import migrate_tenants
from runner.manifest import Manifest, load_manifest
from tests.citus.cluster import REPO, Cluster

SAMPLE_TENANTS = 20
SAMPLE_ROWS = 20_000


@pytest.fixture(scope="session")
def citus_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = time.monotonic()
    build = subprocess.run([str(REPO / "scripts" / "build_citus")], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"Citus is not available (scripts/build_citus exit {build.returncode}): {build.stderr[-2000:]}")
    built = time.monotonic()
    cluster = Cluster.start(tmp_path_factory.mktemp("citus"))
    print(f"\ncitus: build/install check {built - started:.1f}s, cluster start {time.monotonic() - built:.1f}s")
    try:
        yield cluster
    finally:
        cluster.stop()


_names = itertools.count()


def migrated_database(cluster: Cluster, manifest: Manifest, tenants: int = SAMPLE_TENANTS) -> str:
    """A new database on every node: the sample, installed, provisioned and migrated on the coordinator."""
    dsn = cluster.create_database(f"citus_{next(_names)}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        summary = build_sample(conn, tenants=tenants, rows=SAMPLE_ROWS * tenants // SAMPLE_TENANTS, seed=11)
        install(conn, manifest)
        for t in summary.tenants:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    results = migrate_tenants(dsn, summary.tenants, jobs=2)
    assert [r.tenant_id for r in results if not r.ok] == []
    return dsn


@pytest.fixture(scope="session")
def example_manifest() -> Manifest:
    return load_manifest(REPO / "tenancy.toml")


@pytest.fixture
def make_migrated(citus_cluster: Cluster) -> Callable[..., str]:
    """make(manifest, tenants=20): a migrated sample database on the cluster (see migrated_database)."""

    def make(manifest: Manifest, tenants: int = SAMPLE_TENANTS) -> str:
        return migrated_database(citus_cluster, manifest, tenants)

    return make
