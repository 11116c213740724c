"""The credentials file of `tenancy provision --credentials`, and the SCRAM verifiers sent for it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from psycopg import sql

from runner.access.credentials import load_credentials, scram_verifier
from runner.errors import ManifestError
from tests.conftest import Server


def test_the_verifier_is_the_one_postgresql_stores_for_the_password(pg_server: Server) -> None:
    role = "scram_probe"
    with pg_server.admin() as admin:
        admin.execute("SET password_encryption = 'scram-sha-256'")
        admin.execute(sql.SQL("CREATE ROLE {} PASSWORD 'pencil'").format(sql.Identifier(role)))
        try:
            row = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert row is not None
    theirs = str(row[0])
    iterations, salt = theirs.split("$")[1].split(":")
    assert scram_verifier("pencil", salt=base64.b64decode(salt), iterations=int(iterations)) == theirs
    assert scram_verifier("pencil") != theirs  # a fresh salt each time


def test_the_file_gives_verifiers_never_passwords(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[acme]\napp = "pw-1"\nreadonly = "SCRAM-SHA-256$4096:c2FsdA==$a:b"\n[beta]\nreadonly = "pw-2"\n')
    f.chmod(0o600)
    creds = load_credentials(f)
    assert [(c.tenant_id, c.kind) for c in creds] == [("acme", "app"), ("acme", "readonly"), ("beta", "readonly")]
    assert all(c.secret.startswith("SCRAM-SHA-256$") for c in creds)
    assert creds[1].secret == "SCRAM-SHA-256$4096:c2FsdA==$a:b"
    assert "pw-1" not in repr(creds) and "pw-1" not in "".join(c.secret for c in creds)


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ('[acme]\napp = "x"\n', 0o644, "readable by other users"),
        ("[acme]\napp = \n", 0o600, "not valid TOML"),
        ('[Bad]\napp = "x"\n', 0o600, "invalid tenant id"),
        ('[acme]\nowner = "x"\n', 0o600, "unknown key"),
        ('[acme]\napp = ""\n', 0o600, "non-empty string"),
        ('[acme]\napp = "x"\nvalid_until = "soon"\n', 0o600, "valid_until"),
    ],
)
def test_a_bad_file_is_refused_with_a_hint(tmp_path: Path, text: str, mode: int, message: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    f.chmod(mode)
    with pytest.raises(ManifestError, match=message) as e:
        load_credentials(f)
    assert e.value.hint
