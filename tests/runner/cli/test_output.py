"""What the verbs print: a closed pipe, short provision lines, whole cells on a terminal, ledger files by name."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import Database, registry_ids
from tests.runner.cli.tenancy import REPO, tenancy


def test_render_into_a_pipe_closed_early_stops_quietly(db: Database) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.cli", "render", "--dsn", db.dsn],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"-- Rendered from sql/templates/")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == ""


def test_provision_prints_a_short_line_per_tenant(db: Database) -> None:
    out = tenancy("provision", dsn=db.dsn)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4 and all(len(line) <= 80 for line in lines), lines
    # Counted by kind (roles made by another test of the cluster may exist already: fewer created).
    assert all(
        re.fullmatch(rf"\[{i}/4 provision:[a-z0-9]+\] (\d+ created, )?\d+ granted or revoked(, \d+ other)?", line)
        for i, line in enumerate(lines, 1)
    ), lines
    # -v lists every change under its tenant.
    verbose = tenancy("provision", "-v", dsn=db.dsn).stdout
    assert verbose.count("] no change") == 4


def test_tables_on_a_terminal_keep_every_character(db: Database) -> None:
    long_error = "a long error " * 12 + "end"
    with db.connect() as conn:
        tenant = conn.execute("SELECT id FROM public.tenants ORDER BY id LIMIT 1").fetchone()
        assert tenant is not None
        conn.execute(
            "INSERT INTO tenancy.tenants (tenant_id, schema_name, state, last_error) VALUES (%s, %s, 'failed', %s)",
            (tenant[0], f"tenant_{tenant[0]}", long_error),
        )
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {
        "DATABASE_URL": db.dsn,
        "COLUMNS": "80",
        "LINES": "40",
        "TERM": "xterm",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner.cli", "status"],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        cwd=REPO,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait() == 0
    text = b"".join(chunks).decode()
    assert "…" not in text and "tenancy status" in text  # a table, no cell cut short
    # Every character of every cell is there, wrapped or not.
    flat = "".join(ch for ch in re.sub(r"\x1b\[[0-9;]*m", "", text) if ch.isalnum())
    assert tenant[0] in flat and f"tenant{tenant[0]}" in flat and long_error.replace(" ", "") in flat


def test_install_names_the_ledger_files_without_numbers(sample_db: Database) -> None:
    out = tenancy("install", dsn=sample_db.dsn)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if "ledger" in line)
    last = sorted(p.stem for p in (REPO / "sql" / "ledger").glob("*.sql"))[-1].split("_", 1)[1]
    assert line.startswith("  ledger: ") and "initial, upgrades" in line and f"{last})" in line
    assert not any(ch.isdigit() for ch in line.split("(", 1)[1]), line


def test_quiet_and_verbose(db: Database, manifest: object) -> None:
    ids = registry_ids(db, manifest)
    quiet = tenancy("migrate", "-q", "--tenant", ids[0], dsn=db.dsn)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert "migrate: 1 tenants: 1 migrated" in quiet.stdout  # the results stay
    verbose = tenancy("migrate", "-v", "--tenant", ids[1], "--tenant", ids[2], dsn=db.dsn)
    assert verbose.returncode == 0, verbose.stderr
    assert (
        f"[1/2 serial:{ids[1]}] migrated: " in verbose.stderr and f"[2/2 serial:{ids[2]}] migrated: " in verbose.stderr
    )
    normal = tenancy("migrate", "--tenant", ids[3], dsn=db.dsn)
    assert normal.stderr.startswith("migrate: 1/1 tenants") and len(normal.stderr.splitlines()) == 1
