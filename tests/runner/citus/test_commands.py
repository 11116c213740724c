"""The Citus verbs on a server without Citus: a clear refusal, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.engine.install import install
from runner.manifest import load_manifest
from tests.conftest import Database
from tests.snapshots import snapshot

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "argv",
    [
        ["distribute", "--make-reference", "users", "--manifest", str(REPO / "tenancy.toml")],
        ["placement"],
        ["move", "--tenant", "x", "--to", "h:5432", "--manifest", str(REPO / "tenancy.toml")],
    ],
)
def test_citus_verbs_refuse_without_citus(
    sample_db: Database, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with sample_db.connect() as conn:
        install(conn, load_manifest(REPO / "tenancy.toml"))
        # Without the citus extension, install leaves the Citus functions out.
        assert conn.execute("SELECT to_regprocedure('tenancy.citus_require()')").fetchone() == (None,)
        before = snapshot(conn)
    assert main([*argv, "--dsn", sample_db.dsn]) == 2
    err = capsys.readouterr().err
    assert "FAILED:" in err and "no citus extension" in err and "coordinator" in err
    with sample_db.connect() as conn:
        assert snapshot(conn) == before


def test_move_target_must_be_host_and_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["move", "--tenant", "x", "--to", "nowhere", "--dsn", "postgresql://"])
    assert exit_.value.code == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
