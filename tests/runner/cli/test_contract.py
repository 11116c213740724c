"""tenancy contract: shows what it drops, needs --yes (or yes on a terminal), --dry-run changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import Database
from tests.runner.cli.tenancy import REPO, refused, tenancy
from tests.snapshots import snapshot


@pytest.fixture
def cut_over(db: Database) -> Database:
    """The sample, every tenant migrated online and cut over: contract may run."""
    for argv in (["migrate", "--online"], ["cutover", "--all"]):
        out = tenancy(*argv, dsn=db.dsn)
        assert out.returncode == 0, out.stdout + out.stderr
    return db


def _shared_tables(db: Database) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM tenancy.moved_tables AS m WHERE to_regclass(format('public.%I', m.table_name)) IS NOT NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def test_contract_shows_what_it_drops_and_needs_yes(cut_over: Database) -> None:
    with cut_over.connect() as conn:
        before = snapshot(conn)
    out = tenancy("contract", dsn=cut_over.dsn)
    assert refused(out) and "contract needs --yes (or a terminal to confirm on); nothing was changed" in out.stderr
    assert "contract: brand_colors: dropped" in out.stderr  # what it would have done
    dry = tenancy("contract", "--dry-run", "--json", dsn=cut_over.dsn)
    assert dry.returncode == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True and {t["action"] for t in doc["tables"]} == {"dropped"} and len(doc["tables"]) == 12
    with cut_over.connect() as conn:
        assert snapshot(conn) == before
    assert _shared_tables(cut_over) == 12
    out = tenancy("contract", "--yes", dsn=cut_over.dsn)
    assert out.returncode == 0, out.stderr
    assert _shared_tables(cut_over) == 0


def test_contract_goes_ahead_when_yes_is_typed_on_a_terminal(cut_over: Database) -> None:
    def ask(answer: bytes) -> tuple[int, str]:
        master, slave = os.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"DATABASE_URL": cut_over.dsn}
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "contract"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=REPO,
            env=env,
        )
        os.close(slave)
        seen = b""
        while b"Type yes to go on" not in seen:
            seen += os.read(master, 4096)
        os.write(master, answer)
        out, _ = proc.communicate()
        os.close(master)
        return proc.returncode, seen.decode() + out.decode()

    code, text = ask(b"no\n")
    assert code == 2 and _shared_tables(cut_over) == 12
    code, text = ask(b"yes\n")
    assert code == 0 and "brand_colors: dropped" in text
    assert _shared_tables(cut_over) == 0


def test_a_rejected_archive_name_is_told_with_a_hint(cut_over: Database) -> None:
    with cut_over.connect() as conn:
        before = snapshot(conn)
    for extra in ([], ["--dry-run"], ["--yes"]):
        out = tenancy("contract", "--archive", "bad name", *extra, dsn=cut_over.dsn)
        assert refused(out) and "invalid archive schema name 'bad name'" in out.stderr, out.stderr
        assert "lowercase letters" in out.stderr
    with cut_over.connect() as conn:
        assert snapshot(conn) == before
