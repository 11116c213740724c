"""The manifest: the example parses, and every kind of broken manifest is refused with a hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import ManifestError
from runner.manifest import load_manifest, parse_manifest
from tests.runner.cli.tenancy import refused, tenancy

REPO = Path(__file__).resolve().parents[2]


def _doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tenancy": {"tenant_key": "tenant_id"},
        "registry": {"table": "tenants"},
        "move": {"tables": ["a", "b"]},
        "central": {"tables": ["tenants"]},
    }
    doc.update(overrides)
    return doc


def test_example_manifest_lists_the_alumate_tables() -> None:
    m = load_manifest(REPO / "tenancy.toml")
    assert len(m.move) == 12 and "component_themes" in m.move
    assert m.central[0] == "tenants" and m.hybrid == ("jobs", "employers", "leads")
    assert m.public_column == {"jobs": "is_public"}
    users = m.access("users")
    assert (users.mode, users.column, users.via_table, users.via_key) == (
        "rows",
        "institution_id",
        "institutions",
        "id",
    )
    assert m.access("permissions").mode == "none" and m.access("roles").mode == "all"
    assert m.access("companies").columns == ("id", "name")
    assert m.schema_for("abc123") == "tenant_abc123"
    assert m.schema_for("a-b") == "tenant_a_b"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_doc(tenancy={}), "tenant_key"),
        (_doc(move={"tables": []}), "[move] tables is empty"),
        (_doc(move={}), "[move] tables is missing"),
        (_doc(central={"tables": ["a"]}), "listed in both"),
        (_doc(move={"tables": ["a", "a"]}), "more than once"),
        (_doc(move={"tables": ["tenants"]}, central={}), "registry"),
        (_doc(tenancy={"tenant_key": "tenant_id", "schema_pattern": "tenant"}), "{id} exactly once"),
        (_doc(tenancy={"tenant_key": "tenant_id", "schema_pattern": "Tenant_{id}"}), "lowercase"),
        (_doc(tenancy={"tenant_key": "x" * 64}), "not a usable PostgreSQL identifier"),
        (_doc(extra={"x": 1}), "unknown manifest section"),
        (_doc(tenancy={"tenant_key": "tenant_id", "schema_patern": "t_{id}"}), "did you mean `schema_pattern`"),
        (_doc(registry={"table": "tenants", "id_colum": "id"}), "did you mean `id_column`"),
        (_doc(registy={"table": "tenants"}), "did you mean `registry`"),
        (_doc(central={"tables": ["tenants"], "tabels": []}), "did you mean `tables`"),
        (_doc(roles={"ownr": "{schema}_o"}), "did you mean `owner`"),
        (_doc(move={"tables": ["a"], "unique": {"zzz": [["slug"]]}}), "not a moved table"),
        (_doc(move={"tables": ["a"], "unique": {"a": "slug"}}), "list of column lists"),
        (_doc(hybrid={"tables": ["j"], "public_column": {"k": "is_public"}}), "not a hybrid table"),
        (_doc(central={"tables": ["tenants"], "other": 1}), "unknown key in [central]"),
        (_doc(central={"tables": ["tenants"], "access": {"users": "none"}}), "not listed in [central]"),
        (_doc(central={"tables": ["tenants"], "access": {"tenants": "none"}}), "registry must stay readable"),
        (_doc(central={"tables": ["tenants", "u"], "access": {"u": "some"}}), '"all", "none", { columns'),
        (_doc(central={"tables": ["tenants", "u"], "access": {"u": {"rows": {}}}}), "rows.column"),
        (_doc(central={"tables": ["tenants", "u"], "access": {"u": {"columns": []}}}), "non-empty list"),
        (_doc(central={"tables": ["tenants"], "access": {"tenants": {"columns": ["id"]}}}), "registry"),
        (_doc(central={"tables": ["tenants", "u"], "access": {"u": {"columns": ["a", "a"]}}}), "more than once"),
        (
            _doc(central={"tables": ["tenants", "u"], "access": {"u": {"rows": {"column": "c", "x": 1}}}}),
            "unknown key(s)",
        ),
        (
            _doc(central={"tables": ["tenants", "u"], "access": {"u": {"rows": {"column": "c", "via_table": "u"}}}}),
            "another central table",
        ),
        (
            _doc(
                central={
                    "tables": ["tenants", "u", "i"],
                    "access": {"u": {"rows": {"column": "c", "via_table": "i"}}, "i": "none"},
                }
            ),
            "must be readable",
        ),
        (_doc(citus={"reference_table": ["tenants"]}), "did you mean `reference_tables`"),
        (_doc(citus={"reference_tables": "tenants"}), "[citus] reference_tables must be a list"),
        (_doc(citus={"reference_tables": ["a"]}), "'a' is not a table of [central] or [hybrid]"),
        (_doc(citus={"reference_tables": ["tenants", "tenants"]}), "more than once"),
    ],
)
def test_broken_manifest_is_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as e:
        parse_manifest(doc)
    assert message in str(e.value)


def test_citus_reference_tables_are_consent_kept_in_the_manifest() -> None:
    assert load_manifest(REPO / "tenancy.toml").reference_tables == ()
    doc = _doc(central={"tables": ["tenants", "users"]}, hybrid={"tables": ["jobs"]})
    doc["citus"] = {"reference_tables": ["users", "jobs"]}
    assert parse_manifest(doc).reference_tables == ("users", "jobs")


def test_invalid_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[tenancy\n")
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(bad)
    with pytest.raises(ManifestError, match="not found") as e:
        load_manifest(tmp_path / "missing.toml")
    assert "--manifest" in e.value.hint


@pytest.mark.parametrize("tenant_id", ["", "a'b", "a;drop table x", "a b", "ABC", "x" * 64, "-abc", "a\x00b", "ünï"])
def test_hostile_tenant_ids_are_refused(tenant_id: str) -> None:
    m = parse_manifest(_doc())
    with pytest.raises(ManifestError):
        m.schema_for(tenant_id)


# -- Where the manifest is: --manifest, else $TENANCY_MANIFEST, else ./tenancy.toml ----------


def test_the_manifest_comes_from_tenancy_manifest_when_no_flag_names_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    # No ./tenancy.toml here: $TENANCY_MANIFEST is read (the refusal after it is the database's).
    out = tenancy(
        "render",
        "--dsn",
        "host=/nonexistent-socket-dir",
        cwd=elsewhere,
        env={"TENANCY_MANIFEST": str(REPO / "tenancy.toml")},
    )
    assert refused(out) and "cannot connect to the database" in out.stderr, out.stderr
    # Nowhere to be found: the error lists every place looked at.
    out = tenancy("render", "--dsn", "host=/nonexistent-socket-dir", cwd=elsewhere)
    assert refused(out) and "manifest not found" in out.stderr
    assert "--manifest (not set)" in out.stderr and "$TENANCY_MANIFEST (not set)" in out.stderr
    assert f"the current directory: {elsewhere / 'tenancy.toml'} (not found)" in out.stderr
    out = tenancy("render", cwd=elsewhere, env={"TENANCY_MANIFEST": str(tmp_path / "gone.toml")})
    assert refused(out) and f"$TENANCY_MANIFEST: {tmp_path / 'gone.toml'} (not found)" in out.stderr
    # `tenancy init` writes where the other verbs will look.
    out = tenancy("init", cwd=elsewhere, env={"TENANCY_MANIFEST": str(tmp_path / "mine.toml")})
    assert out.returncode == 0 and (tmp_path / "mine.toml").is_file()


def test_a_manifest_that_is_a_directory_is_refused_with_a_hint(tmp_path: Path) -> None:
    out = tenancy("migrate", "--manifest", str(tmp_path))
    assert refused(out) and "is a directory" in out.stderr, out.stderr
