"""Scripts split into statements at the semicolons that end them, and nowhere else."""

from __future__ import annotations

import pytest

from runner.sqlscript import ScriptError, statements


def test_semicolons_inside_quotes_bodies_and_comments_end_nothing() -> None:
    script = (
        "SELECT 1; -- a; comment\n"
        "/* outer; /* nested; */ still comment; */ SELECT 'a;b', E'it\\'s;', \"q;\"\"x\";\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;\n"
        "SELECT $1, a$b; DO $$ BEGIN PERFORM 1; END $$;\n"
        "-- only a comment after the last one\n"
    )
    assert statements(script) == [
        "SELECT 1",
        "-- a; comment\n/* outer; /* nested; */ still comment; */ SELECT 'a;b', E'it\\'s;', \"q;\"\"x\"",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$",
        "SELECT $1, a$b",
        "DO $$ BEGIN PERFORM 1; END $$",
    ]


def test_a_body_that_never_closes_is_an_error_not_a_guess() -> None:
    with pytest.raises(ScriptError, match=r"\$fn\$"):
        statements("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1;")
    with pytest.raises(ScriptError, match="comment"):
        statements("SELECT 1; /* open")
