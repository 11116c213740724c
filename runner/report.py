"""What the user sees: progress bars per tenant, result tables, JSON reports."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from runner.db import ProgressEvent
from runner.engine.executor import TenantResult

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class RichProgress:
    """One bar per tenant, advanced by the copy NOTICEs; prefixed [i/N executor:tenant]."""

    def __init__(self, tenants: list[str], executor: str) -> None:
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._index = {t: i + 1 for i, t in enumerate(tenants)}
        self._count = len(tenants)
        self._executor = executor
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def _label(self, tenant_id: str) -> str:
        return f"[{self._index.get(tenant_id, 0)}/{self._count} {self._executor}:{tenant_id}]"

    def start(self, tenant_id: str, total_rows: int) -> None:
        with self._lock:
            self._tasks[tenant_id] = self._bars.add_task(self._label(tenant_id), total=max(total_rows, 1), step="")

    def advance(self, event: ProgressEvent) -> None:
        task = self._tasks.get(str(event.get("tenant")))
        if task is None:
            return
        step = f"{event.get('step')} {event.get('table') or ''}".strip()
        if event.get("step") == "copy" and event.get("rows"):
            self._bars.update(task, advance=int(event["rows"]), step=step)
        else:
            self._bars.update(task, step=step)

    def finish(self, result: TenantResult) -> None:
        task = self._tasks.get(result.tenant_id)
        if task is not None:
            total = self._bars.tasks[task].total or 1
            self._bars.update(task, completed=total, step=result.state)


def results_table(results: list[TenantResult], title: str) -> Table:
    table = Table(title=title)
    for col in ("tenant", "state", "rows", "seconds", "rows/s", "error"):
        table.add_column(col, justify="right" if col in ("rows", "seconds", "rows/s") else "left")
    for r in results:
        rps = r.rows_per_second
        table.add_row(
            r.tenant_id,
            r.state if r.ok else f"[red]{r.state}[/red]",
            f"{r.rows:,}",
            f"{r.seconds:.2f}",
            f"{rps:,.0f}" if rps else "",
            r.error or "",
        )
    return table


def print_failures(results: list[TenantResult]) -> None:
    for r in results:
        if r.ok:
            continue
        err_console.print(f"[red]FAILED:[/red] tenant {r.tenant_id}: {r.error}")
        if r.detail:
            for line in r.detail.splitlines():
                err_console.print(f"  {line}")
        for c in r.checks:
            if c.get("passed") is False:
                err_console.print(
                    f"  {c['table_name']}: {c['check_name']}: expected {c['expected']}, got {c['actual']}"
                )
        if r.hint:
            err_console.print(f"  hint: {r.hint}")


def write_report(path: Path, command: str, results: list[TenantResult], **extra: Any) -> None:
    doc = {
        "command": command,
        "ok": all(r.ok for r in results),
        "tenants": [asdict(r) for r in results],
        **extra,
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
