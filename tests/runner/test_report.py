"""What the user sees: plain text for pipes, rich for terminals, data never read as markup,
JSON numbers as numbers, --report paths checked first, and one progress display whose
cost does not grow with the number of tenants."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.engine.executor import TenantResult
from runner.errors import ReportPathError
from runner.report import (
    BOXED_ROWS,
    ProgressDisplay,
    check_report_path,
    plain_table,
    print_table,
    say,
    to_json,
)

REPO = Path(__file__).resolve().parents[2]
LONG_HINT = "Rename or drop that table, or take this table out of [move]. " + "x" * 150


def run_in_terminal(code: str, columns: int = 80) -> str:
    """Run Python code with stdout and stderr on a pseudo-terminal; return what it wrote."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode()


def test_square_brackets_and_long_lines_print_whole_on_a_terminal() -> None:
    out = run_in_terminal(f"from runner.report import say; say({LONG_HINT!r}); say({LONG_HINT!r}, err=True)")
    assert out.replace("\r\n", "\n").count(LONG_HINT + "\n") == 2


def test_square_brackets_and_long_lines_print_whole_to_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    say(LONG_HINT)
    say(LONG_HINT, err=True)
    captured = capsys.readouterr()
    assert captured.out == LONG_HINT + "\n" and captured.err == LONG_HINT + "\n"


def test_plain_table_aligns_columns_and_never_wraps(capsys: pytest.CaptureFixture[str]) -> None:
    print_table("t", ("tenant", "rows", "error"), [("10", 1234, "[x] " + "e" * 120), ("2", 5, None)], right=("rows",))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "t"
    assert lines[1].split() == ["tenant", "rows", "error"]
    assert lines[3] == "10      1,234  [x] " + "e" * 120
    assert lines[4] == "2           5"
    assert plain_table("", ("a",), [["1"]], set()) == "a\n1"


def test_tables_on_a_terminal_show_brackets_in_cells() -> None:
    out = run_in_terminal(
        "from runner.report import print_table; print_table('t', ('tenant', 'error'), [('a', 'out of [move].')])"
    )
    assert "out of [move]." in out and "┃" in out


def test_a_table_longer_than_a_screenful_prints_plain_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A boxed table of thousands of tenants cost the runner seconds of CPU on a terminal."""
    monkeypatch.setattr("runner.report.is_terminal", lambda stream: True)
    for n, boxed in ((BOXED_ROWS, True), (BOXED_ROWS + 1, False)):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        print_table("t", ("tenant", "rows"), [(str(i), i) for i in range(n)], right=("rows",))
        text = out.getvalue()
        assert ("┃" in text) is boxed, n
        if not boxed:
            assert (
                text.splitlines()[-1]
                == plain_table("t", ("tenant", "rows"), [[str(n - 1), str(n - 1)]], {"rows"}).splitlines()[-1]
            )


def test_json_keeps_numbers_as_numbers() -> None:
    doc = json.loads(
        to_json(
            {
                "rows": decimal.Decimal("900"),
                "seconds": decimal.Decimal("1.250"),
                "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            }
        )
    )
    assert doc == {"rows": 900, "seconds": 1.25, "at": "2026-01-02T03:04:05+00:00"}


def test_report_path_checked(tmp_path: Path) -> None:
    check_report_path(None)
    check_report_path(tmp_path / "new.json")
    assert not (tmp_path / "new.json").exists()
    with pytest.raises(ReportPathError, match="does not exist"):
        check_report_path(tmp_path / "missing" / "r.json")
    with pytest.raises(ReportPathError, match="is a directory"):
        check_report_path(tmp_path)


def _run_display(display: ProgressDisplay, tenants: list[str], failing: set[str]) -> None:
    with display:
        for t in tenants:
            display.start(t)
            display.advance({"tenant": t, "step": "copy", "table": "notes", "rows": 10})
            state = "failed" if t in failing else "migrated"
            display.finish(TenantResult(t, state, rows=10, error="boom [x]" if t in failing else None))


def test_progress_without_a_terminal_prints_failures_and_a_summary_not_a_line_per_tenant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenants = [str(i) for i in range(1, 501)]
    _run_display(ProgressDisplay(tenants, "serial"), tenants, {"7", "300"})
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "[7/500 serial:7] failed: boom [x]",
        "[300/500 serial:300] failed: boom [x]",
        err[-1],
    ]
    assert err[-1].startswith("migrate: 500/500 tenants (2 failed), 5,000 rows, ")


def test_progress_on_a_terminal_is_one_bar_for_all_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runner.report.is_terminal", lambda stream: True)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    tenants = [str(i) for i in range(1, 1001)]
    display = ProgressDisplay(tenants, "parallel")
    _run_display(display, tenants, {"5"})
    bar = display._bar
    assert bar is not None and len(bar.tasks) == 1
    assert bar.tasks[0].completed == 1000 and bar.tasks[0].fields["rows"] == "10,000"
    assert "failed: 1" in sys.stderr.getvalue() and "5: boom [x]" in sys.stderr.getvalue()
