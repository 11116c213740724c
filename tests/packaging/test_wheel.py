"""The built package, as a user gets it: sdist -> wheel (what `python -m build`
does), installed into a fresh venv without the demo extra, run from a directory
that holds no checkout, against the test server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner import __version__
from tests.conftest import Database

REPO = Path(__file__).resolve().parents[2]


def run(
    *cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, check=False)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    bin: Path  # the fresh venv's bin/

    def tenancy(self, cwd: Path, *args: str, dsn: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        if dsn:
            env["DATABASE_URL"] = dsn
        return run(self.bin / "tenancy", *args, cwd=cwd, env=env)


def source_tree(dest: Path) -> Path:
    """A copy of the checkout (symlinks kept), so builds write nothing into the repository."""
    skip = shutil.ignore_patterns(".git", ".venv", ".embedded", "build", "dist", "*.egg-info", "*cache*")
    return Path(shutil.copytree(REPO, dest / "src", symlinks=True, ignore=skip))


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """sdist, then a wheel built from that sdist, installed into a fresh venv (once per session)."""
    dist = tmp_path_factory.mktemp("dist")
    src = source_tree(tmp_path_factory.mktemp("tree"))
    # The checkout's own build tools (the dev extra); no network build isolation.
    out = run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", dist, src)
    assert out.returncode == 0, out.stdout + out.stderr
    (sdist,) = dist.glob("tenancy-*.tar.gz")
    out = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, sdist)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = dist.glob("tenancy-*.whl")
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    out = run(env_dir / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    assert out.returncode == 0, out.stdout + out.stderr
    yield Installed(wheel, sdist, env_dir / "bin")


def _check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        shipped = {n.removeprefix("runner/sql/") for n in names if n.startswith("runner/sql/")}
        # The example manifest is a symlink in the repository: the wheel holds its content.
        assert whl.read("runner/sql/sample/tenancy.toml") == (REPO / "tenancy.toml").read_bytes()
    in_repo = {
        str(p.relative_to(REPO / "sql"))
        for p in (REPO / "sql").rglob("*")
        if p.is_file() and p.suffix in (".sql", ".j2", ".toml")
    }
    assert in_repo <= shipped, sorted(in_repo - shipped)
    assert "runner/cli/__init__.py" in names and "runner/py.typed" in names


def test_wheel_from_the_sdist_carries_the_sql_and_the_example_manifest(installed: Installed) -> None:
    _check_wheel(installed.wheel)


def test_wheel_from_the_checkout_carries_the_same(tmp_path: Path) -> None:
    """`pip wheel .`: built straight from the tree, without an sdist in between."""
    src = source_tree(tmp_path)
    out = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, src)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = tmp_path.glob("tenancy-*.whl")
    _check_wheel(wheel)


def test_installed_wheel_runs_the_flow_from_an_empty_directory(
    installed: Installed, blank_db: Database, tmp_path: Path
) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    dsn = blank_db.dsn

    out = installed.tenancy(work, "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"tenancy {__version__}", out.stderr

    # No manifest here: install says how to get one, init writes it, and never overwrites.
    out = installed.tenancy(work, "install", dsn=dsn)
    assert out.returncode == 2 and "FAILED:" in out.stderr and "tenancy init" in out.stderr
    out = installed.tenancy(work, "init")
    assert out.returncode == 0, out.stderr
    assert (work / "tenancy.toml").read_text() == (REPO / "tenancy.toml").read_text()
    (work / "tenancy.toml").write_text((REPO / "tenancy.toml").read_text() + "\n# mine\n")
    out = installed.tenancy(work, "init")
    assert out.returncode == 2 and "already exists" in out.stderr
    assert (work / "tenancy.toml").read_text().endswith("# mine\n")

    for args in (("sample", "--tenants", "3", "--rows", "600"), ("install",), ("migrate",), ("validate",)):
        out = installed.tenancy(work, *args, dsn=dsn)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr
    assert "upgraded" not in out.stdout
    with blank_db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM tenancy.tenants WHERE state = 'migrated'").fetchone() == (3,)
        assert conn.execute("SELECT version FROM tenancy.installed").fetchall() == [(__version__,)]
    assert sorted(p.name for p in work.iterdir()) == ["tenancy.toml"]


@pytest.mark.parametrize("command", [("demo",), ("bench",), ("bench-queries",)])
def test_devtools_without_the_demo_extra_fail_with_a_hint(
    installed: Installed, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "tenancy.toml").write_text((REPO / "tenancy.toml").read_text())
    out = installed.tenancy(tmp_path, *command)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "FAILED: the embedded PostgreSQL is not installed" in out.stderr
    assert "pip install 'tenancy[demo]'" in out.stderr
    assert "Traceback" not in out.stderr
