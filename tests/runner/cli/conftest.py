"""The CLI's tests start where an administrator's first run starts: installed, nothing provisioned."""

from __future__ import annotations

import pytest

from tests.conftest import Database


@pytest.fixture
def db(installed_db: Database) -> Database:
    return installed_db
