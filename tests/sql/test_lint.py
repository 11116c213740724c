"""sqlfluff (postgres dialect) over the static SQL and over the rendered output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runner.engine.render import render_all, write_rendering
from runner.manifest import load_manifest
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[2]
SQLFLUFF = [sys.executable, "-m", "sqlfluff", "lint", "--config", str(REPO / ".sqlfluff"), "--processes", "2"]


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SQLFLUFF, *map(str, paths)], capture_output=True, text=True, cwd=REPO, check=False)


def test_static_sql_is_lint_clean() -> None:
    result = _lint(*(REPO / "sql" / d for d in ("ledger", "functions", "sample", "install", "queries")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_sql_is_lint_clean(sample_db: Database, tmp_path: Path) -> None:
    with sample_db.connect() as conn:
        rendering = render_all(conn, load_manifest(REPO / "tenancy.toml"))
    written = write_rendering(rendering, tmp_path)
    assert len(written) >= 13
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
