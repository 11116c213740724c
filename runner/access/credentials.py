"""Credentials of the tenant login roles, for `tenancy provision --credentials FILE`.

Provisioning creates each tenant's application and read-only roles NOLOGIN:
a tenant role can log in only once it has a credential, whatever pg_hba.conf
trusts. The file gives them one:

    [acme]                     # a tenant id of the registry
    app = "…"                  # password of tenant_acme_app
    readonly = "…"             # of tenant_acme_ro (either key may be left out)
    valid_until = 2027-01-01   # optional: the credentials expire then

Each password is turned into a SCRAM-SHA-256 verifier here, so the password
itself never reaches the server (nor its statement log); a value that already
is a verifier (``SCRAM-SHA-256$…``) is sent as it is. The file is read with
tomllib and must not be readable by others.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import stat
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import psycopg

from runner.db import typed_errors
from runner.engine.rows import CredentialSet, fetch_one
from runner.errors import ManifestError
from runner.manifest import MAX_IDENTIFIER_BYTES, check_tenant_id

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
KINDS = ("app", "readonly")


@dataclass(frozen=True)
class Credential:
    tenant_id: str
    kind: str  # app | readonly
    secret: str = ""  # a SCRAM verifier, never the password
    valid_until: dt.datetime | None = None

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Credential({self.tenant_id!r}, {self.kind!r}, valid_until={self.valid_until})"


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    # SASLprep's normalisation, as PostgreSQL applies it to a password it hashes.
    normalized = unicodedata.normalize("NFKC", password).encode()
    salted = hashlib.pbkdf2_hmac("sha256", normalized, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def load_credentials(path: Path) -> list[Credential]:
    """The credentials the file gives; ManifestError (naming the file) when it is unsafe or malformed."""
    where = str(path)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ManifestError(
                f"{where!r} is readable by other users: it holds passwords",
                hint=f"chmod 600 {where}",
            )
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"credentials file {where!r} does not exist", hint="Pass the path of a TOML file."
        ) from None
    except IsADirectoryError:
        raise ManifestError(
            f"credentials file {where!r} is a directory", hint="Pass the path of a TOML file."
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(
            f"credentials file {where!r} is not valid TOML: {e}", hint="See `tenancy provision --help`."
        ) from None
    out: list[Credential] = []
    for tenant_id, section in doc.items():
        check_tenant_id(tenant_id, MAX_IDENTIFIER_BYTES)  # the length against [roles] is checked in SQL
        if not isinstance(section, dict):
            raise ManifestError(
                f"credentials file {where!r}: [{tenant_id}] must be a table",
                hint='Write [tenant] with app = "…" and/or readonly = "…".',
            )
        unknown = set(section) - {*KINDS, "valid_until"}
        if unknown:
            raise ManifestError(
                f"credentials file {where!r}: [{tenant_id}] has unknown key(s) {', '.join(sorted(unknown))}",
                hint="The keys are app, readonly and valid_until.",
            )
        until = section.get("valid_until")
        if until is not None and not isinstance(until, dt.date):
            raise ManifestError(
                f"credentials file {where!r}: [{tenant_id}] valid_until must be a TOML date or date-time",
                hint="For example valid_until = 2027-01-01.",
            )
        expires = _as_datetime(until)
        for kind in KINDS:
            value = section.get(kind)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise ManifestError(
                    f"credentials file {where!r}: [{tenant_id}] {kind} must be a non-empty string",
                    hint="A password, or a SCRAM-SHA-256 verifier.",
                )
            secret = value if value.startswith("SCRAM-SHA-256$") else scram_verifier(value)
            out.append(Credential(tenant_id, kind, secret, expires))
    return out


def _as_datetime(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    assert isinstance(value, dt.date)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def credentials_path(given: Path | None) -> Path | None:
    """--credentials, else $TENANCY_CREDENTIALS, else none."""
    if given is not None:
        return given
    env = os.environ.get("TENANCY_CREDENTIALS")
    return Path(env) if env else None


def apply_credentials(conn: psycopg.Connection, credentials: list[Credential]) -> list[tuple[str, str, str]]:
    """tenancy.set_tenant_credential() for each; returns (tenant, role, action) rows. One
    transaction: every login gets its credential, or none does."""
    done: list[tuple[str, str, str]] = []
    with conn.transaction(), typed_errors():
        for c in credentials:
            row = fetch_one(
                conn,
                CredentialSet,
                "SELECT tenant_id, object_name, action FROM tenancy.set_tenant_credential(%s, %s, %s, %s)",
                (c.tenant_id, c.kind, c.secret, c.valid_until),
            )
            if row:
                done.append((row.tenant_id, row.object_name, row.action))
    return done
