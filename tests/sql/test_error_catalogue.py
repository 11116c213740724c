"""Install renders the error catalogue (runner/errors.py) into tenancy.error_codes(), and
the SQL raises with its hints."""

from __future__ import annotations

import psycopg
import pytest

from runner.errors import CATALOGUE
from tests.conftest import Database


def test_installed_error_codes_are_the_catalogue(db: Database) -> None:
    with db.connect() as conn:
        rows = conn.execute("SELECT code, meaning, hint FROM tenancy.error_codes() ORDER BY code").fetchall()
        assert rows == [(code, e.meaning, e.hint) for code, e in sorted(CATALOGUE.items())]
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("SELECT tenancy.tenant_schema('Not An Id')")
    assert raised.value.sqlstate == "TY001" and raised.value.diag.message_hint == CATALOGUE["TY001"].hint
