"""SQL scripts (the tool's own files) run one statement at a time.

A Citus coordinator forwards a DDL statement to its workers with the text the
client sent; when that text holds several statements, the workers refuse it
("cannot insert multiple commands into a prepared statement"). So a script is
split at the semicolons that end its statements, with PostgreSQL's rules for
what a semicolon inside is not: quoted strings ('…', E'…'), quoted identifiers
("…"), dollar-quoted bodies ($fn$…$fn$), and comments (--, nested /* */).
"""

from __future__ import annotations

import re

import psycopg

# What can hold a semicolon that ends nothing, each matched from its opening.
_TOKEN = re.compile(
    r"""
      (?P<line>--[^\n]*)
    | (?P<block>/\*)
    | (?P<estring>(?<![\w$])[eE]'(?:[^'\\]|\\.|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<dollar>(?<![\w$])\$(?:[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$)
    | (?P<end>;)
    """,
    re.VERBOSE | re.DOTALL,
)
_BLOCK = re.compile(r"/\*|\*/")


class ScriptError(ValueError):
    """A script whose quoting or comments do not close."""


def statements(script: str) -> list[str]:
    """The statements of a script, each without its semicolon; empty ones (only
    whitespace and comments) are left out."""
    out: list[str] = []
    start = pos = 0
    while (m := _TOKEN.search(script, pos)) is not None:
        kind = m.lastgroup
        pos = m.end()
        if kind == "block":
            pos = _block_end(script, m.start())
        elif kind == "dollar":
            close = script.find(m.group(), pos)
            if close < 0:
                raise ScriptError(f"dollar quote {m.group()} opened at offset {m.start()} is never closed")
            pos = close + len(m.group())
        elif kind == "end":
            _keep(out, script[start : m.start()])
            start = pos
    _keep(out, script[start:])
    return out


def _block_end(script: str, opened: int) -> int:
    depth = 0
    for m in _BLOCK.finditer(script, opened):
        depth += 1 if m.group() == "/*" else -1
        if depth == 0:
            return m.end()
    raise ScriptError(f"comment opened at offset {opened} is never closed")


def _keep(out: list[str], text: str) -> None:
    if not _only_comments(text):
        out.append(text.strip())


def _only_comments(text: str) -> bool:
    rest, pos = [], 0
    while (m := _TOKEN.search(text, pos)) is not None:
        rest.append(text[pos : m.start()])
        if m.lastgroup == "block":
            pos = _block_end(text, m.start())
        elif m.lastgroup == "line":
            pos = m.end()
        else:
            return False
    rest.append(text[pos:])
    return not "".join(rest).strip()


def run_script(conn: psycopg.Connection, script: str) -> None:
    """Each statement of the script in turn, on conn (in its transaction, if any)."""
    for statement in statements(script):
        conn.execute(statement.encode())
