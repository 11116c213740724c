"""The tool's fixed names (runner/names.py) are the ones its SQL creates."""

from __future__ import annotations

import re
from pathlib import Path

from runner import names

SQL = Path(__file__).resolve().parents[1] / "sql"
TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SQL.rglob("*.sql")))


def test_every_role_of_the_tool_is_created_by_its_sql() -> None:
    created = set(re.findall(r"CREATE ROLE (\w+)", TEXT))
    roles = {names.ENGINE_ROLE, names.CAPTURE_ROLE, names.FEDERATION_ROLE, names.FEDERATION_OWNER}
    assert roles <= created, roles - created


def test_every_schema_of_the_tool_is_created_by_its_sql() -> None:
    created = set(re.findall(r"CREATE SCHEMA IF NOT EXISTS (\w+)", TEXT))
    assert set(names.TOOL_SCHEMAS) <= created and names.TOOL_SCHEMA in names.TOOL_SCHEMAS
