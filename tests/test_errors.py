"""One error catalogue (runner/errors.py CATALOGUE): README's table is it, text for
text; every SQLSTATE of class TY the SQL raises is in it, each raise says what to do,
and install renders it into tenancy.error_codes() (tests/sql/test_error_catalogue.py)."""

from __future__ import annotations

import re
from pathlib import Path

from runner.errors import _BY_SQLSTATE, CATALOGUE

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
SQL_FILES = sorted([*(REPO / "sql").rglob("*.sql"), *(REPO / "sql").rglob("*.sql.j2")])
# Raised and caught inside the federation functions: never reaches a caller, has no class.
INTERNAL = {"TY089"}


def _raises() -> list[tuple[str, str, str]]:
    """(file, code, the text from its ERRCODE to the next raise) of every TY raise."""
    found = []
    for path in SQL_FILES:
        text = path.read_text(encoding="utf-8")
        starts = [m.start() for m in re.finditer(r"ERRCODE\s*=|RAISE\b", text)] + [len(text)]
        for m in re.finditer(r"ERRCODE\s*=\s*'(TY\d{3})'", text):
            end = min(s for s in starts if s > m.start())
            found.append((path.relative_to(REPO).as_posix(), m.group(1), text[m.start() : end]))
    return found


def test_the_readme_table_is_the_catalogue_text_for_text() -> None:
    table = README.split("## Errors", 1)[1]
    rows = re.findall(r"^\| (TY\d{3}) \| (.*) \| (.*) \|$", table, flags=re.M)
    assert rows == [(code, e.meaning, e.hint) for code, e in sorted(CATALOGUE.items())]


def test_every_code_the_sql_raises_is_in_the_catalogue_and_each_raise_says_what_to_do() -> None:
    raises = _raises()
    assert {code for _, code, _ in raises} <= set(CATALOGUE)
    without_hint = [(path, code) for path, code, text in raises if "HINT" not in text]
    assert not without_hint, without_hint


def test_every_code_of_the_catalogue_is_raised_and_has_its_exception_type() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SQL_FILES)
    raised = set(re.findall(r"'(TY\d{3})'", text))
    assert set(CATALOGUE) <= raised
    assert set(_BY_SQLSTATE) == set(CATALOGUE) - INTERNAL
