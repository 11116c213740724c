"""Set-based provisioning (tenancy.provision_tenants): the same catalog as one tenant at a time,
all or nothing on bad input, and `tenancy provision` still isolates a failing tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from runner.access.provision import provision_tenants
from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[3]
MANIFEST = load_manifest(REPO / "tenancy.toml")


IDS = ["prov-a", "prov-b", "prov-c", "prov-d"]


@pytest.fixture
def installed(sample_db: Database) -> Iterator[tuple[Database, list[str]]]:
    """The sample with tenancy installed and four tenants of its own in the registry
    (roles are cluster-wide: other tests' tenants may have theirs already), each with a
    schema and a table made before provisioning, as the sample's; every one
    deprovisioned afterwards."""
    with sample_db.connect() as admin:
        admin.execute(
            "INSERT INTO public.tenants (id, name, created_at) SELECT i, 'n ' || i, now() FROM unnest(%s::text[]) AS i",
            (IDS,),
        )
        for t in IDS:
            schema = sql.Identifier(MANIFEST.schema_for(t))
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            admin.execute(sql.SQL("CREATE TABLE {}.courses (id serial PRIMARY KEY, name text)").format(schema))
        install(admin, MANIFEST)
    try:
        yield sample_db, IDS
    finally:
        with sample_db.connect() as admin:
            for t in [*IDS, "ab-1"]:
                admin.execute("SELECT * FROM tenancy.deprovision_tenant(%s, true)", [t]).fetchall()


def _catalog(conn: psycopg.Connection, tenants: list[str]) -> dict[str, Any]:
    """What provisioning decides about these tenants: roles, settings, memberships, ACLs, owners."""
    roles = [r[0] for r in conn.execute("SELECT role_name FROM tenancy.tenant_roles(%s)", (tenants,))]
    return {
        "roles": conn.execute(
            "SELECT rolname, rolcanlogin, rolconnlimit, rolinherit, rolcreaterole,"
            " shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = ANY (%s) ORDER BY 1",
            (roles,),
        ).fetchall(),
        "settings": conn.execute(
            "SELECT setrole::regrole::text, array(SELECT unnest(setconfig) ORDER BY 1) FROM pg_db_role_setting"
            " WHERE setrole::regrole::text = ANY (%s) ORDER BY 1",
            (roles,),
        ).fetchall(),
        "members": conn.execute(
            "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members"
            " WHERE roleid::regrole::text = ANY (%s) OR member::regrole::text = ANY (%s) ORDER BY 1, 2",
            (roles, roles),
        ).fetchall(),
        "schemas": conn.execute(
            "SELECT nspname, nspowner::regrole::text, array(SELECT a::text FROM unnest(nspacl) AS a ORDER BY 1)"
            " FROM pg_namespace WHERE nspname = ANY (SELECT tenancy.tenant_schema(t) FROM unnest(%s::text[]) AS t)"
            " ORDER BY 1",
            (tenants,),
        ).fetchall(),
        "relations": conn.execute(
            "SELECT c.oid::regclass::text, c.relowner::regrole::text,"
            " array(SELECT a::text FROM unnest(c.relacl) AS a ORDER BY 1)"
            " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY (SELECT tenancy.tenant_schema(t) FROM unnest(%s::text[]) AS t) ORDER BY 1",
            (tenants,),
        ).fetchall(),
        "default_acl": conn.execute(
            "SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype,"
            " array(SELECT a::text FROM unnest(defaclacl) AS a ORDER BY 1)"
            " FROM pg_default_acl WHERE defaclrole::regrole::text = ANY (%s) ORDER BY 1, 2, 3",
            (roles,),
        ).fetchall(),
        "registered": conn.execute(
            "SELECT tenant_id, schema_name FROM tenancy.tenants WHERE tenant_id = ANY (%s) ORDER BY 1", (tenants,)
        ).fetchall(),
    }


def _same_shape(value: object, tenants: list[str]) -> list[str]:
    """Rows with the tenants' schema names (and role names built on them) written <S> and
    their ids <T>, sorted."""
    rows = value if isinstance(value, list) else [value]
    out = []
    for row in rows:
        text = str(row)
        for t in tenants:
            text = text.replace(MANIFEST.schema_for(t), "<S>").replace(t, "<T>")
        out.append(text)
    return sorted(out)


def test_many_tenants_at_once_get_what_one_at_a_time_gets(installed: tuple[Database, list[str]]) -> None:
    """Two tenants one call each, two others in one call: the same changes and catalog, tenant for tenant."""
    db, tenants = installed
    assert len(tenants) >= 4
    singly, together = tenants[:2], tenants[2:4]
    with db.connect() as conn:
        conn.execute("SELECT * FROM tenancy.provision_shared_privileges()").fetchall()
        one_by_one = [
            (t, *row) for t in singly for row in conn.execute("SELECT * FROM tenancy.provision_tenant(%s, false)", (t,))
        ]
        at_once = conn.execute("SELECT * FROM tenancy.provision_tenants(%s, false)", (together,)).fetchall()
        assert {r[0] for r in at_once} == set(together)
        assert _same_shape(at_once, together) == _same_shape(one_by_one, singly)
        expected, got = _catalog(conn, singly), _catalog(conn, together)
        assert expected["roles"] and expected["relations"] and expected["default_acl"]
        for part in expected:
            assert _same_shape(got[part], together) == _same_shape(expected[part], singly), part
        # Nothing left to do, for either group.
        assert conn.execute("SELECT * FROM tenancy.provision_tenants(%s)", (tenants[:4],)).fetchall() == []


def test_a_bad_id_in_the_list_changes_nothing(installed: tuple[Database, list[str]]) -> None:
    db, tenants = installed
    with db.connect() as conn:
        for bad, code in (("not-registered", "TY002"), ("Bad Id", "TY001")):
            with pytest.raises(psycopg.Error) as e:
                conn.execute("SELECT * FROM tenancy.provision_tenants(%s)", ([tenants[0], bad],))
            assert e.value.sqlstate == code
        assert conn.execute("SELECT count(*) FROM tenancy.tenants").fetchone() == (0,)
        roles = [r[0] for r in conn.execute("SELECT role_name FROM tenancy.tenant_roles(%s)", ([tenants[0]],))]
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY (%s)", (roles,)).fetchone() == (0,)


def test_provision_command_isolates_a_failing_tenant(installed: tuple[Database, list[str]]) -> None:
    """Two registry ids that map to one schema: the second is refused (TY007), the others are provisioned."""
    db, tenants = installed
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO public.tenants (id, name, created_at) VALUES ('ab-1', 'a', now()), ('ab_1', 'b', now())"
        )
    results = provision_tenants(db.dsn, [*tenants, "ab-1", "ab_1"])
    by_id = {r.tenant_id: r for r in results}
    assert [r.tenant_id for r in results] == [*tenants, "ab-1", "ab_1"]
    assert all(by_id[t].state == "provisioned" and by_id[t].tables for t in [*tenants, "ab-1"])
    assert by_id["ab_1"].state == "failed" and by_id["ab_1"].sqlstate == "TY007"
    with db.connect() as conn:
        registered = [r[0] for r in conn.execute("SELECT tenant_id FROM tenancy.tenants ORDER BY 1")]
    assert registered == sorted([*tenants, "ab-1"])
