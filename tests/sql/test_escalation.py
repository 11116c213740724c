"""No path from a migrator login to superuser, nor from a tenant owner to anyone else.

The attackers, each a real login:
- ``runner``: a LOGIN role whose only right is membership in tenancy_migrator
  (docs/privileges-runner.md);
- ``owner``: a LOGIN role an administrator made a member of tenant owner
  roles (say, to run the application's own schema migrations there): it can
  change those tenants' tables at will.
A superuser (the DBA) runs the tool's ordinary commands meanwhile. Each test
is one attack that was found to work: the migrator acting as a tenant owner,
a CHECK (or default, trigger, index, rule, policy) that runs its code when the
DBA's cutover replays into the table, a table swapped for a view while
validate waits for its lock, a forged ledger that makes contract drop rows
still in use, and tenant logins that need no password. The planted function
would make its owner a superuser; every test checks that it never ran.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.cli import main
from runner.engine import online, validate
from runner.engine.install import install
from runner.manifest import Manifest
from tests.conftest import Database, Server, provision_all
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()
DENIED = "42501"
# What the planted code writes when it runs: who ran it (current_user).
SPY = "public.tenancy_spy"


@dataclass
class Stage:
    admin: psycopg.Connection  # a superuser: the DBA
    db: Database
    runner: str  # DSN of the migrator-only login
    owner: str  # DSN of the login that holds the tenant owner roles
    owner_role: str
    tenants: list[str]

    def schema(self, tenant: str) -> str:
        return f"tenant_{tenant}"


def _login(pg_server: Server, db: Database, name: str) -> str:
    return f"host={pg_server.host} port={pg_server.port} user={name} dbname={db.name}"


@pytest.fixture
def stage(pg_server: Server, sample_db: Database, manifest: Manifest) -> Iterator[Stage]:
    """The sample installed and provisioned by the DBA; the two attackers' logins; the spy table."""
    n = next(_names)
    runner, owner = f"runner_{os.getpid()}_{n}", f"owner_{os.getpid()}_{n}"
    with sample_db.connect() as admin:
        install(admin, manifest)
        provision_all(admin, manifest)
        tenants = [r[0] for r in admin.execute("SELECT id FROM public.tenants ORDER BY id")]
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_migrator").format(sql.Identifier(runner)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        for t in tenants:
            admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(f"tenant_{t}_owner"), sql.Identifier(owner)))
        admin.execute(f"CREATE TABLE {SPY} (ran_as text, session_role text)")
        admin.execute(f"GRANT INSERT ON {SPY} TO PUBLIC")
        try:
            yield Stage(
                admin,
                sample_db,
                _login(pg_server, sample_db, runner),
                _login(pg_server, sample_db, owner),
                owner,
                tenants,
            )
        finally:
            for t in tenants:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", (t,)).fetchall()
            for role in (runner, owner):
                admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _plant_payload(stage: Stage, tenant: str) -> None:
    """The owner login's function in the tenant schema: logs who ran it and tries to make
    the owner login a superuser (it works only when a superuser runs it)."""
    s = sql.Identifier(stage.schema(tenant))
    with psycopg.connect(stage.owner, autocommit=True) as o:
        o.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(f"tenant_{tenant}_owner")))
        o.execute(
            sql.SQL(
                "CREATE FUNCTION {s}.pwn() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN"
                " INSERT INTO {spy} VALUES (current_user, session_user);"
                " BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', {who}); EXCEPTION WHEN OTHERS THEN NULL; END;"
                " RETURN 1; END $$;"
                " CREATE FUNCTION {s}.pwn_trigger() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN PERFORM {s}.pwn(); RETURN NEW; END $$;"
                " CREATE FUNCTION {s}.pwn_immutable(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$"
                " BEGIN PERFORM {s}.pwn(); RETURN $1; END $$"
            ).format(s=s, spy=sql.SQL(SPY), who=sql.Literal(stage.owner_role))
        )


def _nobody_ran_it(stage: Stage) -> None:
    """The planted function ran in no session but the owner login's own (building a planted
    index runs it there, as the table's owner: its own doing)."""
    assert (
        stage.admin.execute(
            sql.SQL("SELECT * FROM {} WHERE session_role <> %s").format(sql.SQL(SPY)), (stage.owner_role,)
        ).fetchall()
        == []
    )
    assert stage.admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (stage.owner_role,)).fetchone() == (
        False,
    )


def _sqlstate(dsn: str, stmt: sql.Composable | str, params: tuple[object, ...] = ()) -> str | None:
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(stmt, params).fetchall()  # type: ignore[arg-type]
    except psycopg.Error as e:
        return e.sqlstate
    return None


# -- 1. The migrator login cannot act as a tenant owner --------------------------------


def test_a_migrator_login_cannot_act_as_a_tenant_owner_nor_write_the_ledger(stage: Stage) -> None:
    t = stage.tenants[0]
    s, owner = stage.schema(t), f"tenant_{t}_owner"
    with psycopg.connect(stage.runner, autocommit=True) as r:
        held = r.execute(
            "SELECT count(*) FROM pg_roles AS o WHERE o.rolname LIKE 'tenant\\_%\\_owner' AND pg_has_role(o.oid, 'MEMBER')"
        ).fetchone()
    assert held == (0,)
    attempts = {
        "SET ROLE to the owner": sql.SQL("SET ROLE {}").format(sql.Identifier(owner)),
        "CREATE in the tenant schema": sql.SQL("CREATE FUNCTION {}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'").format(
            sql.Identifier(s)
        ),
        "CREATE TABLE in the tenant schema": sql.SQL("CREATE TABLE {}.x (i int)").format(sql.Identifier(s)),
        "GRANT the owner role to itself": sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)),
        "forge a tenant's state": sql.SQL("UPDATE tenancy.tenants SET state = 'cut_over'"),
        "forget a tenant's steps": sql.SQL("DELETE FROM tenancy.ledger"),
        "append to the change log": sql.SQL(
            "INSERT INTO tenancy.change_log (tenant_id, table_name, row_key) VALUES ('x', 'y', '[]')"
        ),
        "stamp a table it changed": sql.SQL("SELECT tenancy.stamp_tenant_tables(ARRAY[{}])").format(sql.Literal(t)),
        "call the tool's internals to act as the owner": sql.SQL("SELECT tenancy.run_statements(ARRAY[{}])").format(
            sql.Literal(f"ALTER TABLE {s}.brand_colors ADD CHECK (true)")
        ),
        "call the contract routine directly": sql.SQL("SELECT * FROM tenancy.contract_shared_tables(NULL)"),
        "read the moved tables": sql.SQL("SELECT * FROM public.brand_colors LIMIT 1"),
        "delete shared rows": sql.SQL("DELETE FROM public.brand_colors WHERE false"),
    }
    allowed = [what for what, stmt in attempts.items() if _sqlstate(stage.runner, stmt) != DENIED]
    assert allowed == []


# -- 2. Code planted on a tenant table never runs as the DBA (cutover, validate, ...) ---

PLANTS = {
    # query_to_xml() runs SQL text: the CHECK depends on nothing but a built-in.
    "CHECK through query_to_xml": (
        "ALTER TABLE {s}.brand_colors ADD CONSTRAINT spy "
        "CHECK (query_to_xml('select {s}.pwn()', true, false, '') IS NOT NULL) NOT VALID"
    ),
    "DEFAULT through table_to_xml": (
        "CREATE VIEW {s}.lure AS SELECT {s}.pwn() AS x; "
        "ALTER TABLE {s}.brand_colors ALTER COLUMN name SET DEFAULT table_to_xml('{s}.lure', true, false, '')::text"
    ),
    "trigger": "CREATE TRIGGER spy BEFORE INSERT OR UPDATE ON {s}.brand_colors FOR EACH ROW EXECUTE FUNCTION {s}.pwn_trigger()",
    "index expression": "CREATE INDEX spy ON {s}.brand_colors ({s}.pwn_immutable(id))",
    "rule": "CREATE RULE spy AS ON INSERT TO {s}.brand_colors DO ALSO SELECT {s}.pwn()",
    "policy": (
        "CREATE POLICY spy ON {s}.brand_colors USING ({s}.pwn() = 1) WITH CHECK ({s}.pwn() = 1); "
        "ALTER TABLE {s}.brand_colors ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY"
    ),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_code_planted_on_a_syncing_tenant_never_runs_as_the_dba(stage: Stage, plant: str) -> None:
    """The owner login plants code on a syncing tenant's table; the application writes the
    tenant's shared rows, so cutover must replay into that table; the DBA cuts over,
    validates and rolls back. Every step refuses (TY040) before touching it."""
    t = stage.tenants[0]
    assert {r.state for r in online.migrate_online(stage.db.dsn, [t])} == {"syncing"}
    _plant_payload(stage, t)
    with psycopg.connect(stage.owner, autocommit=True) as o:
        o.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(f"tenant_{t}_owner")))
        o.execute(sql.SQL(PLANTS[plant]).format(s=sql.Identifier(stage.schema(t))))
    stage.admin.execute(
        "UPDATE public.brand_colors SET name = name || '!' WHERE id = "
        "(SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s)",
        (t,),
    )
    stage.admin.execute("INSERT INTO public.brand_colors (tenant_id, name, hex) VALUES (%s, 'new', '#000000')", (t,))
    (result,) = online.cutover_tenants(stage.db.dsn, [t])
    assert result.state == "failed" and result.sqlstate == "TY040", result
    assert "brand_colors" in (result.detail or "")
    (checked,) = validate.validate_tenants(stage.db.dsn, [t])
    assert checked.state == "invalid"
    assert [c["table_name"] for c in checked.checks if c["check_name"] == "what tenancy made" and not c["passed"]] == [
        "brand_colors"
    ]
    with pytest.raises(psycopg.Error) as err:
        stage.admin.execute("SELECT * FROM tenancy.rollback_tenant(%s)", (t,))
    assert err.value.sqlstate == "TY040"
    assert stage.admin.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == (
        "syncing",
    )
    # Forced, the rollback drops the tables without reading them: the way out.
    stage.admin.execute("SELECT * FROM tenancy.rollback_tenant(%s, true)", (t,)).fetchall()
    _nobody_ran_it(stage)


# -- 3. A table swapped for a view while validate waits for its lock ---------------


def _wait_until_blocked(admin: psycopg.Connection, pid_holder: list[int]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pid_holder and admin.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid_holder[0],)
        ).fetchone() == ("Lock",):
            return
        time.sleep(0.05)
    raise AssertionError("the DBA's session never waited for the swap's lock")


def _swap_while_waiting(stage: Stage, tenant: str, table: str, read: str, params: tuple[object, ...]) -> list[object]:
    """The owner login renames `table` and puts a view of the same name in its place, in a
    transaction that commits while the DBA's statement `read` waits for its lock."""
    s = sql.Identifier(stage.schema(tenant))
    got: list[object] = []
    pid: list[int] = []
    with psycopg.connect(stage.owner) as o:
        o.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(f"tenant_{tenant}_owner")))
        o.execute(
            sql.SQL(
                "ALTER TABLE {s}.{t} RENAME TO {real}; "
                "CREATE VIEW {s}.{t} AS SELECT r.*, {s}.pwn() AS x FROM {s}.{real} AS r; "
                "GRANT SELECT ON {s}.{t} TO tenancy_federation_owner"
            ).format(s=s, t=sql.Identifier(table), real=sql.Identifier(f"{table}_real"))
        )

        def dba() -> None:
            with stage.db.connect() as c:
                pid.append(c.info.backend_pid)
                c.add_notice_handler(lambda d: got.append(d.message_primary))
                got.extend(c.execute(read, params).fetchall())

        worker = threading.Thread(target=dba)
        worker.start()
        _wait_until_blocked(stage.admin, pid)
        o.commit()
        worker.join(60)
        assert not worker.is_alive()
    return got


def test_a_table_swapped_for_a_view_while_validate_waits_is_not_read(stage: Stage) -> None:
    t = stage.tenants[0]
    stage.admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (t,)).fetchall()
    _plant_payload(stage, t)
    rows = _swap_while_waiting(
        stage,
        t,
        "component_themes",
        "SELECT table_name, check_name, actual, passed FROM tenancy.validate_tenant(%s)",
        (t,),
    )
    failed = [r for r in rows if isinstance(r, tuple) and r[3] is False]
    assert [(r[0], r[1]) for r in failed] == [("component_themes", "what tenancy made")]  # type: ignore[index]
    assert "replaced" in failed[0][2]  # type: ignore[index]
    _nobody_ran_it(stage)


def test_a_table_swapped_for_a_view_during_a_federated_read_is_left_out(stage: Stage) -> None:
    t = stage.tenants[0]
    member = f"fed_{stage.owner_role}"
    stage.admin.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_federation").format(sql.Identifier(member)))
    try:
        stage.admin.execute("SELECT * FROM tenancy.migrate_tenant(%s)", (t,)).fetchall()
        _plant_payload(stage, t)
        got = _swap_while_waiting(
            stage,
            t,
            "analytics_events",
            "SELECT tenant_id, events_in_schema FROM tenancy_federation.analytics_summary(ARRAY[%s])",
            (t,),
        )
        assert (t, False) in got
        assert any(isinstance(g, str) and "analytics_events left out" in g for g in got), got
    finally:
        stage.admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(member)))
    _nobody_ran_it(stage)


# -- 4. A forged ledger cannot make contract drop rows still in use ------------------


def test_contract_trusts_the_rows_not_the_ledger(stage: Stage) -> None:
    """Every tenant but the last is cut over; the ledger is then made to say the last one is
    too (the runner cannot: 42501; here an administrator's mistake does it). Contract, as
    the runner, refuses: the shared tables still hold that tenant's rows."""
    *done, last = stage.tenants
    assert {r.state for r in online.migrate_online(stage.db.dsn, stage.tenants)} == {"syncing"}
    assert {r.state for r in online.cutover_tenants(stage.db.dsn, done)} == {"cut_over"}
    assert _sqlstate(stage.runner, "UPDATE tenancy.tenants SET state = 'cut_over'") == DENIED
    stage.admin.execute("UPDATE tenancy.tenants SET state = 'cut_over' WHERE tenant_id = %s", (last,))
    before = snapshot(stage.admin)
    with psycopg.connect(stage.runner, autocommit=True) as r, pytest.raises(psycopg.Error) as err:
        r.execute("SELECT * FROM tenancy.contract(NULL)").fetchall()
    assert err.value.sqlstate == "TY055", err.value
    assert "still holds rows" in str(err.value) and last in (err.value.diag.message_detail or "")
    assert snapshot(stage.admin) == before


# -- 5. Tenant logins carry a credential or cannot log in ---------------------------


def test_tenant_logins_cannot_log_in_until_given_a_credential(
    stage: Stage, pg_server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tenant registered now: its roles are new (roles are cluster-wide, and other tests
    # give the sample tenants' logins credentials).
    t = f"fresh{os.getpid()}_{next(_names)}"
    stage.admin.execute("INSERT INTO public.tenants (id, name, created_at) VALUES (%s, 'Fresh', now())", (t,))
    stage.admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    stage.tenants.append(t)  # deprovisioned with the others
    app, ro = f"tenant_{t}_app", f"tenant_{t}_ro"
    logins = dict(
        stage.admin.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY (%s)", ([app, ro],)
        ).fetchall()
    )
    assert logins == {app: False, ro: False}
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        psycopg.connect(_login(pg_server, stage.db, app)).close()

    creds = tmp_path / "credentials.toml"
    creds.write_text(f'[{t}]\napp = "s3cret-app"\nvalid_until = 2099-01-01\n')
    creds.chmod(0o600)
    provision = [
        "provision",
        "--dsn",
        stage.db.dsn,
        "--manifest",
        str(REPO / "tenancy.toml"),
        "--tenant",
        t,
        "--credentials",
        str(creds),
    ]
    code = main(provision)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "s3cret" not in out + err
    row = stage.admin.execute(
        "SELECT rolcanlogin, rolpassword LIKE 'SCRAM-SHA-256$%%', rolvaliduntil::date::text FROM pg_authid "
        "WHERE rolname = %s",
        (app,),
    ).fetchone()
    assert row == (True, True, "2099-01-01")
    # The read-only login was given nothing: it still cannot log in, and provisioning again
    # changes neither.
    stage.admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    assert dict(
        stage.admin.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY (%s)", ([app, ro],)
        ).fetchall()
    ) == {app: True, ro: False}
    # A login without a password (an older version made them so): provisioning stops it.
    stage.admin.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(ro)))
    changes = stage.admin.execute("SELECT object_name, action FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    assert (ro, "login disabled: it had no credential (tenancy.set_tenant_credential)") in changes
    # A credentials file others may read is refused before anything changes.
    creds.chmod(0o644)
    code = main(provision)
    assert code == 2 and "chmod 600" in capsys.readouterr().err
