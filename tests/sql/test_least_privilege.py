"""After install (an administrator, once) and provisioning (an administrator or
Pulumi), the runner works as a LOGIN role whose only right is membership in
tenancy_migrator: migrate, validate, status, rollback, re-provision checks, and
the online flow to its end (migrate --online, cutover, rollback after cutover,
contract); what needs more is refused with a hint, never a traceback."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from runner.cli import main
from runner.engine import executor
from runner.engine.install import install
from runner.manifest import Manifest
from tests.conftest import Database, Server
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[2]
MANIFEST = str(REPO / "tenancy.toml")
_logins = itertools.count()


@pytest.fixture
def admin_installed(sample_db: Database, manifest: Manifest) -> list[str]:
    """The administrator's part: install, and provision every tenant but the last."""
    with sample_db.connect() as conn:
        install(conn, manifest)
        tenants = executor.registry_tenants(conn, manifest)
        for t in tenants[:-1]:
            conn.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
    return tenants


@pytest.fixture
def runner_dsn(pg_server: Server, sample_db: Database, admin_installed: list[str]) -> Iterator[str]:
    """DSN of a fresh LOGIN role: NOSUPERUSER, NOCREATEROLE, NOCREATEDB, NOBYPASSRLS,
    and nothing but membership in tenancy_migrator."""
    name = f"runner_{os.getpid()}_{next(_logins)}"
    with pg_server.admin() as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION IN ROLE {}"
            ).format(sql.Identifier(name), sql.Identifier("tenancy_migrator"))
        )
    try:
        yield f"host={pg_server.host} port={pg_server.port} user={name} dbname={sample_db.name}"
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _cli(capsys: pytest.CaptureFixture[str], *args: str, manifest: bool = True) -> tuple[int, str, str]:
    code = main([*args, "--manifest", MANIFEST] if manifest else list(args))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())


def test_the_flow_after_install_runs_as_a_migrator_login(
    runner_dsn: str, admin_installed: list[str], sample_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    provisioned = admin_installed[:-1]
    with psycopg.connect(runner_dsn) as conn:
        assert conn.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
    dsn = ["--dsn", runner_dsn]
    # Re-checking provisioned tenants needs no more than the migrator has.
    code, out, err = _cli(capsys, "provision", *dsn, *[a for t in provisioned for a in ("--tenant", t)])
    assert code == 0, err
    tenant_args = [a for t in provisioned for a in ("--tenant", t)]
    code, out, err = _cli(capsys, "migrate", *dsn, "--jobs", "2", *tenant_args)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "migrate", *dsn, "--batch-size", "100", *tenant_args)  # a no-op re-run
    assert code == 0, out + err
    code, out, err = _cli(capsys, "validate", *dsn, *tenant_args)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "status", *dsn, "--json", manifest=False)
    assert code == 0 and '"migrated"' in out
    code, out, err = _cli(capsys, "rollback", *dsn, "--tenant", provisioned[0])
    assert code == 0, out + err
    with sample_db.connect() as conn:
        states = dict(conn.execute("SELECT tenant_id, state FROM tenancy.tenants").fetchall())
    assert states[provisioned[0]] == "provisioned"
    assert all(states[t] == "migrated" for t in provisioned[1:])
    assert "Traceback" not in out + err


def test_what_needs_an_administrator_is_refused_with_a_hint(
    runner_dsn: str,
    admin_installed: list[str],
    sample_db: Database,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    new = admin_installed[-1]
    dsn = ["--dsn", runner_dsn]
    # A tenant nobody provisioned: its roles cannot be created by the migrator.
    code, out, err = _cli(capsys, "migrate", *dsn, "--tenant", new)
    assert code == 1
    assert f"FAILED: tenant {new}: tenant '{new}' is not provisioned" in err
    assert f"tenancy provision --tenant {new}" in err
    code, out, err = _cli(capsys, "provision", *dsn, "--tenant", new)
    assert code == 1 and "TY060" not in out and "as one" in err
    # Install is the administrator's: a permission error, told as FAILED with a hint.
    # (Another manifest file name changes what install would apply.)
    other = tmp_path / "other.toml"
    other.write_text((REPO / "tenancy.toml").read_text())
    code = main(["install", *dsn, "--manifest", str(other)])
    out, err = (" ".join(s.split()) for s in capsys.readouterr())
    assert code == 2 and "FAILED: 42501" in err and "hint:" in err and "Traceback" not in err
    with sample_db.connect() as conn:
        # Its schema (the sample's) was left to its owner: nothing was provisioned.
        owner = conn.execute(
            "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (f"tenant_{new}",)
        ).fetchone()
        assert owner is not None and owner[0] != f"tenant_{new}_owner"
        assert conn.execute("SELECT count(*) FROM tenancy.ledger").fetchone() == (0,)


# -- The online flow, start to finish, as the migrator login ------------------------

Sums = dict[tuple[str, str], tuple[int, int] | None]
Columns = dict[str, list[str]]


def _columns(conn: psycopg.Connection, manifest: Manifest) -> Columns:
    """The columns a moved table's shared rows and its tenant tables have in common."""
    return {
        table: [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND column_name <> 'tenant_id' ORDER BY column_name",
                (table,),
            )
        ]
        for table in manifest.move
    }


def _sums(conn: psycopg.Connection, columns: Columns, tenants: list[str], side: str) -> Sums:
    """Per (tenant, moved table): row count and a sum of row hashes, as the administrator
    reads them: of the tenant's shared rows (side "shared") or of its tenant table
    ("tenant"; None when that table does not exist). Both sides hash the same columns."""
    out: Sums = {}
    for table, cols in columns.items():
        assert cols, table
        row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(map(sql.Identifier, cols)))
        for t in tenants:
            if side == "shared":
                q = sql.SQL(
                    "SELECT count(*), coalesce(sum(hashtext({})::bigint), 0) FROM public.{} WHERE tenant_id = %s"
                ).format(row, sql.Identifier(table))
                params: tuple[str, ...] = (t,)
            else:
                if conn.execute("SELECT to_regclass(%s)", (f"tenant_{t}.{table}",)).fetchone() == (None,):
                    out[(t, table)] = None
                    continue
                q = sql.SQL("SELECT count(*), coalesce(sum(hashtext({})::bigint), 0) FROM {}").format(
                    row, sql.Identifier(f"tenant_{t}", table)
                )
                params = ()
            found = conn.execute(q, params).fetchone()
            assert found is not None
            out[(t, table)] = (int(found[0]), int(found[1]))
    return out


def _only(sums: Sums, tenants: list[str]) -> Sums:
    return {k: v for k, v in sums.items() if k[0] in tenants}


def _states_seen_by_both(
    capsys: pytest.CaptureFixture[str], dsn: list[str], admin: psycopg.Connection
) -> dict[str, str]:
    """The tenant states as `tenancy status --json` shows them to the migrator login, checked
    against the ledger as the administrator reads it."""
    code = main(["status", *dsn, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    seen = {t["tenant_id"]: t["state"] for t in json.loads(out)["tenants"]}
    assert seen == dict(admin.execute("SELECT tenant_id, state FROM tenancy.tenants").fetchall())
    return seen


def test_the_online_flow_runs_as_a_migrator_login(
    runner_dsn: str,
    admin_installed: list[str],
    sample_db: Database,
    manifest: Manifest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """migrate --online, cutover of one tenant, rollback after cutover (copy back), migrate
    --online again, cutover --all, contract --archive, rollback refused: all through the
    CLI as a login that is only a member of tenancy_migrator, rows checked by the
    administrator at every step."""
    tenants = admin_installed
    t0 = tenants[0]
    dsn = ["--dsn", runner_dsn]
    outputs: list[str] = []

    def cli(*args: str, manifest_flag: bool = True) -> tuple[int, str, str]:
        code, out, err = _cli(capsys, *args, *dsn, manifest=manifest_flag)
        outputs.append(out + err)
        return code, out, err

    with sample_db.connect() as admin:
        # The administrator provisions the last tenant too: contract needs every tenant.
        admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", (tenants[-1],)).fetchall()
        columns = _columns(admin, manifest)
        before = _sums(admin, columns, tenants, "shared")
        assert all(v and v[0] > 0 for v in before.values())

        code, out, err = cli("migrate", "--online", "--jobs", "2")
        assert code == 0, out + err
        assert set(_states_seen_by_both(capsys, dsn, admin).values()) == {"syncing"}
        assert _sums(admin, columns, tenants, "tenant") == before == _sums(admin, columns, tenants, "shared")
        # Contract before every tenant is cut over: refused, listing them.
        code, out, err = cli("contract", manifest_flag=False)
        assert code == 2 and "FAILED:" in err and "not cut over" in err and t0 in err
        # The application writes t0's shared rows: captured, replayed by the migrator's cutover.
        admin.execute(
            "UPDATE public.brand_colors SET name = 'written while syncing' "
            "WHERE id = (SELECT min(id) FROM public.brand_colors WHERE tenant_id = %s)",
            (t0,),
        )
        before.update(_sums(admin, columns, [t0], "shared"))

        code, out, err = cli("cutover", "--tenant", t0)
        assert code == 0, out + err
        assert _states_seen_by_both(capsys, dsn, admin)[t0] == "cut_over"
        assert _only(_sums(admin, columns, tenants, "tenant"), [t0]) == _only(before, [t0])
        # Its shared rows stay, unchanged, behind the guard until contract; the others' too.
        assert _sums(admin, columns, tenants, "shared") == before

        code, out, err = cli("rollback", "--tenant", t0)
        assert code == 0 and "12 copied back into the shared tables first" in out, out + err
        assert _states_seen_by_both(capsys, dsn, admin)[t0] == "provisioned"
        assert _only(_sums(admin, columns, tenants, "shared"), [t0]) == _only(before, [t0])
        assert set(_only(_sums(admin, columns, tenants, "tenant"), [t0]).values()) == {None}

        code, out, err = cli("migrate", "--online", "--tenant", t0)
        assert code == 0, out + err
        assert _states_seen_by_both(capsys, dsn, admin)[t0] == "syncing"
        assert _only(_sums(admin, columns, tenants, "tenant"), [t0]) == _only(before, [t0])

        code, out, err = cli("cutover", "--all")
        assert code == 0, out + err
        assert set(_states_seen_by_both(capsys, dsn, admin).values()) == {"cut_over"}
        assert _sums(admin, columns, tenants, "tenant") == before
        assert _sums(admin, columns, tenants, "shared") == before

        code, out, err = cli("contract", "--archive", "alumate_archive", "--yes", manifest_flag=False)
        assert code == 0, out + err
        assert out.count("moved to alumate_archive") == len(manifest.move)
        assert set(_states_seen_by_both(capsys, dsn, admin).values()) == {"contracted"}
        for table in manifest.move:
            assert admin.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone() == (None,)
            # The archive holds every tenant's rows as they were at its cutover.
            assert admin.execute(
                sql.SQL("SELECT count(*) FROM alumate_archive.{}").format(sql.Identifier(table))
            ).fetchone() == (sum(before[(t, table)][0] for t in tenants),)  # type: ignore[index]
        assert admin.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tenancy_capture%'").fetchone() == (0,)
        assert admin.execute("SELECT count(*) FROM tenancy.change_log").fetchone() == (0,)
        # The archive schema is the shared tables' owner's, as the contract routine made it.
        assert admin.execute(
            "SELECT nspowner = (SELECT proowner FROM pg_proc WHERE oid = 'tenancy.contract_shared_tables(text)'::regprocedure) "
            "FROM pg_namespace WHERE nspname = 'alumate_archive'"
        ).fetchone() == (True,)
        after = _sums(admin, columns, tenants, "tenant")
        assert after == before

        unchanged = snapshot(admin)
        code, out, err = cli("rollback", "--tenant", t0, "--json")
        assert code == 1, out + err
        (refused,) = json.loads(out)["tenants"]
        assert (refused["state"], refused["sqlstate"]) == ("failed", "TY056")
        assert "alumate_archive" in refused["hint"] and f"FAILED: tenant {t0}" in err
        assert snapshot(admin) == unchanged
    assert not [o for o in outputs if "Traceback" in o]


@pytest.fixture
def app_owner(pg_server: Server, sample_db: Database, manifest: Manifest) -> Iterator[str]:
    """A NOLOGIN, non-superuser role that owns every central table of the sample (as an
    application's schema owner would), before install."""
    name = f"alumate_owner_{os.getpid()}_{next(_logins)}"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    with sample_db.connect() as conn:
        for table in {*manifest.move, *manifest.central, *manifest.hybrid, manifest.registry.table}:
            conn.execute(
                sql.SQL("ALTER TABLE public.{} OWNER TO {}").format(sql.Identifier(table), sql.Identifier(name))
            )
    try:
        yield name
    finally:
        with sample_db.connect() as conn:
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _contract_routine(conn: psycopg.Connection) -> tuple[str, bool, list[str], list[str]]:
    """Owner, SECURITY DEFINER, settings and who may EXECUTE tenancy.contract_shared_tables."""
    row = conn.execute(
        "SELECT p.proowner::regrole::text, p.prosecdef, p.proconfig, "
        "ARRAY(SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END "
        "      FROM aclexplode(p.proacl) AS a WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner ORDER BY 1) "
        "FROM pg_proc AS p WHERE p.oid = 'tenancy.contract_shared_tables(text)'::regprocedure"
    ).fetchone()
    assert row is not None
    return str(row[0]), bool(row[1]), list(row[2]), list(row[3])


def test_contract_runs_as_the_owner_of_the_shared_tables(
    app_owner: str, sample_db: Database, manifest: Manifest, pg_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shared tables belong to a role that is no superuser: install makes it the owner of
    the contract routine, and the migrator login contracts through it."""
    with sample_db.connect() as admin:
        install(admin, manifest)
        tenants = executor.registry_tenants(admin, manifest)
        for t in tenants:
            admin.execute("SELECT * FROM tenancy.provision_tenant(%s)", (t,)).fetchall()
        owner, definer, config, executors = _contract_routine(admin)
        assert (owner, definer, executors) == (app_owner, True, ["tenancy_engine"])
        assert set(config) == {"search_path=pg_catalog, pg_temp", "row_security=off"}
    name = f"runner_{os.getpid()}_{next(_logins)}"
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE tenancy_migrator").format(sql.Identifier(name)))
    dsn = ["--dsn", f"host={pg_server.host} port={pg_server.port} user={name} dbname={sample_db.name}"]
    try:
        assert main(["migrate", "--online", *dsn, "--manifest", MANIFEST]) == 0
        assert main(["cutover", "--all", *dsn, "--manifest", MANIFEST]) == 0
        capsys.readouterr()
        with sample_db.connect() as admin:
            unchanged = snapshot(admin)
            # That owner may not create a schema in this database: refused with the statement that helps.
            assert main(["contract", "--archive", "kept", *dsn]) == 2
            err = " ".join(capsys.readouterr().err.split())
            assert (
                f"FAILED: role {app_owner}, the owner of the shared tables, may not create archive schema kept" in err
            )
            assert f"CREATE SCHEMA kept AUTHORIZATION {app_owner}" in err and "Traceback" not in err
            assert snapshot(admin) == unchanged
            # A table whose owner changed since install: contract does not act for that owner.
            admin.execute("ALTER TABLE public.brand_fonts OWNER TO CURRENT_USER")
            unchanged = snapshot(admin)
            assert main(["contract", *dsn]) == 2
            err = " ".join(capsys.readouterr().err.split())
            assert f"FAILED: shared table public.brand_fonts is owned by postgres: contract runs as {app_owner}" in err
            assert "tenancy install" in err and snapshot(admin) == unchanged
            admin.execute(sql.SQL("ALTER TABLE public.brand_fonts OWNER TO {}").format(sql.Identifier(app_owner)))
            admin.execute(sql.SQL("CREATE SCHEMA kept AUTHORIZATION {}").format(sql.Identifier(app_owner)))
        assert main(["contract", "--archive", "kept", "--yes", *dsn]) == 0
        with sample_db.connect() as admin:
            moved = admin.execute(
                "SELECT count(*), count(*) FILTER (WHERE c.relowner = %s::regrole) FROM pg_class AS c "
                "WHERE c.relnamespace = 'kept'::regnamespace AND c.relkind IN ('r', 'p')",
                (app_owner,),
            ).fetchone()
            assert moved == (len(manifest.move), len(manifest.move))
            assert {r[0] for r in admin.execute("SELECT state FROM tenancy.tenants")} == {"contracted"}
    finally:
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_with_several_owners_the_contract_routine_stays_the_installers(
    app_owner: str, sample_db: Database, manifest: Manifest
) -> None:
    with sample_db.connect() as admin:
        admin.execute("ALTER TABLE public.brand_fonts OWNER TO CURRENT_USER")
        install(admin, manifest)
        assert _contract_routine(admin)[:2] == ("postgres", True)
        # Once they have one owner again, install makes it the routine's owner.
        admin.execute(sql.SQL("ALTER TABLE public.brand_fonts OWNER TO {}").format(sql.Identifier(app_owner)))
        assert install(admin, manifest).changed
        assert _contract_routine(admin)[0] == app_owner


def test_a_missing_grant_on_a_shared_table_is_a_result_drift_and_repaired_by_provision(
    runner_dsn: str, admin_installed: list[str], sample_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A right of the engine revoked by hand (here the DELETE and INSERT on a shared table a
    rollback after cutover needs): the rollback is refused as that tenant's result with a
    hint and changes nothing, verify-grants names the missing right, and `tenancy provision`
    (administrator) grants it again."""
    t = admin_installed[0]
    dsn = ["--dsn", runner_dsn]
    provisioned = [a for p in admin_installed[:-1] for a in ("--tenant", p)]
    code, out, err = _cli(capsys, "migrate", "--online", "--tenant", t, *dsn)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "cutover", "--tenant", t, *dsn)
    assert code == 0, out + err
    with sample_db.connect() as admin:
        admin.execute("REVOKE INSERT, DELETE ON public.brand_colors FROM tenancy_engine")
        unchanged = snapshot(admin)
    code, out, err = _cli(capsys, "rollback", "--tenant", t, *dsn)
    assert code == 1 and f"FAILED: tenant {t}: permission denied for table brand_colors" in err
    assert "hint: A privilege is missing" in err and "Traceback" not in out + err
    code, out, err = _cli(capsys, "verify-grants", "--json", *provisioned, *dsn)
    assert code == 1
    missing = {d["fact"] for d in json.loads(out)["drift"] if d["status"] == "missing"}
    assert missing == {f"{p} on table public.brand_colors to tenancy_engine" for p in ("INSERT", "DELETE")}
    with sample_db.connect() as admin:
        assert snapshot(admin) == unchanged
        assert admin.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == ("cut_over",)
        # The administrator repairs it (provision grants what the privilege model says).
        assert main(["provision", "--tenant", t, "--dsn", sample_db.dsn, "--manifest", MANIFEST]) == 0
    capsys.readouterr()
    code, out, err = _cli(capsys, "verify-grants", *provisioned, *dsn)
    assert code == 0, out + err
    code, out, err = _cli(capsys, "rollback", "--tenant", t, *dsn)
    assert code == 0, out + err
    with sample_db.connect() as admin:
        assert admin.execute("SELECT state FROM tenancy.tenants WHERE tenant_id = %s", (t,)).fetchone() == (
            "provisioned",
        )
