"""Run the `tenancy` command as a user does: a process of its own, environment under control."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# What tells libpq (and so the command) where a database is.
CONNECTION_ENV = (
    "DATABASE_URL",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "TENANCY_MANIFEST",
)


def tenancy(
    *args: str, dsn: str | None = None, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """`tenancy ARGS` with DATABASE_URL=dsn (when given), env added, and no other connection setting."""
    base = {k: v for k, v in os.environ.items() if k not in CONNECTION_ENV}
    if dsn:
        base["DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {}), "PYTHONPATH": str(REPO)},
        check=False,
    )


def refused(out: subprocess.CompletedProcess[str]) -> bool:
    """Bad input or environment, told as such: exit 2, FAILED: and a hint, no traceback."""
    return out.returncode == 2 and "FAILED: " in out.stderr and "hint: " in out.stderr and "Traceback" not in out.stderr
