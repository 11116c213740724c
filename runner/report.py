"""What the user sees: lines, tables, JSON, the progress display and JSON reports.

Two kinds of output, chosen per stream when it is written to:
- a terminal gets rich: colours, boxed tables, one live progress display;
- a pipe or a file gets plain text: no colour, no wrapping, tables as aligned
  columns, and progress as at most one line per tenant.
Text that comes from data (tenant ids, table names, error messages, hints) is
never read as rich markup, so square brackets in it print as they are.
Results go to stdout; progress, warnings and failures go to stderr, so
`--json` output can be piped as it is.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from runner.db import ProgressEvent
from runner.engine.executor import TenantResult
from runner.errors import ReportPathError
from runner.states import TenantOutcome

# How many failures the live display keeps on screen (all are printed at the end).
SHOWN_FAILURES = 5
# Longer tables print as plain columns on a terminal too: a boxed table costs
# the runner about a millisecond of CPU a row to lay out (seconds for a few
# thousand tenants) and scrolls past anyway.
BOXED_ROWS = 100
# A boxed table's widest column (an error, a fact) is wrapped to no fewer characters a line.
MIN_FOLDED_WIDTH = 20


# -q (-1): results and failures only; -v (1): also a line per tenant as it finishes.
QUIET, NORMAL, VERBOSE = -1, 0, 1
_verbosity = {"level": NORMAL}


def set_verbosity(level: int) -> None:
    """How much goes to stderr besides failures and warnings (set once by the CLI from -v / -q)."""
    _verbosity["level"] = max(QUIET, min(VERBOSE, level))


def verbosity() -> int:
    return _verbosity["level"]


def is_terminal(stream: TextIO) -> bool:
    """Rich output only for an interactive terminal (not a pipe, a file or TERM=dumb)."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


def _stream(err: bool) -> TextIO:
    return sys.stderr if err else sys.stdout


def _console(stream: TextIO) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True)


def say(text: str, *, style: str | None = None, err: bool = False) -> None:
    """One line (or block) of text, printed as it is."""
    stream = _stream(err)
    if is_terminal(stream):
        _console(stream).print(text, style=style, markup=False, highlight=False)
    else:
        print(text, file=stream, flush=err)


def warn(text: str) -> None:
    say(f"warning: {text}", style="yellow", err=True)


def info(text: str) -> None:
    """Progress and notes on stderr; -q leaves them out."""
    if verbosity() > QUIET:
        say(text, err=True)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    right: Iterable[str] = (),
    err_rows: Iterable[int] = (),
) -> None:
    """A table on stdout: boxed on a terminal (up to BOXED_ROWS rows, when it fits), aligned
    plain columns otherwise. No value is ever cut short.

    Cells are formatted by :func:`cell`; rows whose index is in err_rows are red
    in a boxed table. There the widest column wraps inside its width; the others
    keep theirs.
    """
    cells = [[cell(v) for v in row] for row in rows]
    right_cols = set(right)
    red = set(err_rows)
    if is_terminal(sys.stdout) and len(cells) <= BOXED_ROWS:
        console = _console(sys.stdout)
        widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
        # The widest column folds into what the others, whole, leave of the terminal's width;
        # when that is too little, plain columns (the terminal wraps the long lines).
        widest = max(range(len(widths)), key=widths.__getitem__)
        room = console.width - (3 * len(columns) + 1) - (sum(widths) - widths[widest])
        if room >= min(widths[widest], MIN_FOLDED_WIDTH):
            table = Table(title=title)
            for i, c in enumerate(columns):
                table.add_column(
                    c,
                    justify="right" if c in right_cols else "left",
                    overflow="fold",
                    no_wrap=i != widest,
                    min_width=widths[i] if i != widest else None,
                )
            for i, row in enumerate(cells):
                table.add_row(*(Text(v) for v in row), style="red" if i in red else None)
            console.print(table)
            return
    print(plain_table(title, columns, cells, right_cols))


def plain_table(title: str, columns: Sequence[str], cells: Sequence[Sequence[str]], right: set[str]) -> str:
    """Aligned columns separated by two spaces; never wrapped or cut."""
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if c in right else v.ljust(w) for v, w, c in zip(values, widths, columns, strict=True)]
        return "  ".join(parts).rstrip()

    out = [title, line(columns), "  ".join("-" * w for w in widths)] if title else [line(columns)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def cell(value: Any) -> str:
    """How a value shows in a table: numbers grouped, None empty, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | decimal.Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value).replace("\n", " ")


def byte_size(n: int) -> str:
    """A size in bytes as people read it: 512 B, 1.5 kB, 2.0 MB, 3.1 GB."""
    size = float(n)
    for unit in ("B", "kB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def json_value(value: Any) -> Any:
    """JSON for what psycopg returns: numbers stay numbers, times are ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, default=json_value, ensure_ascii=False)


def print_json(doc: Any) -> None:
    print(to_json(doc))


# -- Failures and reports ------------------------------------------------------


def print_failures(results: Sequence[TenantResult]) -> None:
    """Each failed or invalid tenant on stderr: FAILED: the error, its detail, failed checks, hint."""
    for r in results:
        if r.ok:
            continue
        say(f"FAILED: tenant {r.tenant_id}: {r.error}", style="red", err=True)
        for line in (r.detail or "").splitlines():
            say(f"  {line}", err=True)
        for c in r.checks:
            if c.get("passed") is False:
                say(f"  {c['table_name']}: {c['check_name']}: expected {c['expected']}, got {c['actual']}", err=True)
        if r.hint:
            say(f"  hint: {r.hint}", err=True)


def report_doc(command: str, results: Sequence[TenantResult], **extra: Any) -> dict[str, Any]:
    """What --report writes and --json prints: the command, ok, one object per tenant."""
    return {
        "command": command,
        "ok": all(r.ok for r in results),
        "tenants": [asdict(r) for r in results],
        **extra,
    }


def check_report_path(path: Path | None) -> None:
    """Refuse a --report path that cannot be written, before any work is done."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    problem = None
    if path.is_dir():
        problem = "is a directory"
    elif not parent.is_dir():
        problem = f"its directory {parent} does not exist"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "is not writable"
    elif not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        problem = f"its directory {parent} is not writable"
    if problem:
        raise ReportPathError(
            f"cannot write the report to {path}: {problem}",
            hint="Pass --report a file path in an existing, writable directory.",
        )


def write_report(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(to_json(doc) + "\n", encoding="utf-8")


# -- Progress ------------------------------------------------------------------


class ProgressDisplay:
    """Progress of a run over many tenants, at a cost that does not grow with their number.

    On a terminal (stderr): one live display with one bar over all tenants
    (done/total, rows copied, rows/s, ETA), the tenants in flight with their
    current step, and the latest failures; it is redrawn a few times a second
    whatever the number of tenants. Otherwise: each failure as it happens, a
    plain summary line at most every SUMMARY_SECONDS, and one at the end; with
    -v also a line per tenant as it finishes. With -q: nothing (the failures
    are printed with the results).
    """

    SUMMARY_SECONDS = 10.0

    def __init__(self, tenants: Sequence[str], executor: str, *, verb: str = "migrate") -> None:
        self._index = {t: i + 1 for i, t in enumerate(tenants)}
        self._count = len(tenants)
        self._executor = executor
        self._verb = verb
        self._lock = threading.Lock()
        self._in_flight: dict[str, str] = {}
        self._rows_in_flight: dict[str, int] = {}
        self._failures: list[str] = []
        self._done = 0
        self._rows = 0
        self._started = time.monotonic()
        self._last_summary = self._started
        self._live: Live | None = None
        self._bar: Progress | None = None
        self._task: Any = None
        self._quiet = verbosity() == QUIET
        if is_terminal(sys.stderr) and not self._quiet:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("tenants  {task.fields[rows]} rows  {task.fields[rate]} rows/s  ETA"),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
            )
            self._task = self._bar.add_task(verb, total=max(self._count, 1), rows="0", rate="0")

    def __enter__(self) -> ProgressDisplay:
        if self._bar is not None:
            self._live = Live(
                get_renderable=self._render, console=_console(sys.stderr), refresh_per_second=4, transient=False
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
        elif self._count and not self._quiet:
            say(self.summary(), err=True)

    def _rows_now(self) -> int:
        return self._rows + sum(self._rows_in_flight.values())

    def summary(self) -> str:
        """One plain line: tenants done, failures, rows, rows/s, elapsed."""
        with self._lock:
            elapsed = time.monotonic() - self._started
            rows = self._rows_now()
            failed = len(self._failures)
            done = self._done
        rate = rows / elapsed if elapsed > 0 else 0.0
        line = f"{self._verb}: {done}/{self._count} tenants"
        if failed:
            line += f" ({failed} failed)"
        return line + f", {rows:,} rows, {rate:,.0f} rows/s, {elapsed:.1f}s"

    def _render(self) -> Group:
        assert self._bar is not None
        with self._lock:
            elapsed = max(time.monotonic() - self._started, 1e-9)
            rows = self._rows_now()
            self._bar.update(self._task, completed=self._done, rows=f"{rows:,}", rate=f"{rows / elapsed:,.0f}")
            lines: list[Any] = [self._bar]
            if self._in_flight:
                shown = list(self._in_flight.items())[:8]
                more = len(self._in_flight) - len(shown)
                text = ", ".join(f"{t} ({step})" if step else t for t, step in shown)
                lines.append(Text(f"in flight: {text}" + (f" and {more} more" if more > 0 else "")))
            if self._failures:
                lines.append(Text(f"failed: {len(self._failures)}", style="red"))
                lines += [Text(f"  {f}", style="red") for f in self._failures[-SHOWN_FAILURES:]]
        return Group(*lines)

    def label(self, tenant_id: str) -> str:
        return f"[{self._index.get(tenant_id, 0)}/{self._count} {self._executor}:{tenant_id}]"

    def start(self, tenant_id: str) -> None:
        with self._lock:
            self._in_flight[tenant_id] = ""
            self._rows_in_flight[tenant_id] = 0

    def advance(self, event: ProgressEvent) -> None:
        tenant = str(event.get("tenant"))
        step = f"{event.get('step') or ''} {event.get('table') or ''}".strip()
        with self._lock:
            if tenant in self._in_flight:
                self._in_flight[tenant] = step
            if event.get("step") == "copy" and event.get("rows") and tenant in self._rows_in_flight:
                self._rows_in_flight[tenant] += int(event["rows"])

    def finish(self, result: TenantResult) -> None:
        with self._lock:
            self._in_flight.pop(result.tenant_id, None)
            self._rows_in_flight.pop(result.tenant_id, None)
            self._done += 1
            if result.state != TenantOutcome.SKIPPED:  # a skipped tenant's rows were moved by an earlier run
                self._rows += result.rows
            if not result.ok:
                self._failures.append(f"{result.tenant_id}: {result.error}")
            now = time.monotonic()
            due = now - self._last_summary >= self.SUMMARY_SECONDS
            if due:
                self._last_summary = now
        if self._bar is not None or self._quiet:
            return
        if not result.ok:
            say(f"{self.label(result.tenant_id)} {result.state}: {result.error}", err=True)
        elif verbosity() == VERBOSE:
            say(f"{self.label(result.tenant_id)} {result.state}: {result.rows:,} rows, {result.seconds:.2f}s", err=True)
        if due:
            say(self.summary(), err=True)
