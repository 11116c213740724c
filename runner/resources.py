"""Where the tool's SQL lives, installed or in a checkout.

A built wheel carries the repository's `sql/` folder as `runner/sql` (package
data, mapped in pyproject.toml); a checkout or an editable install reads the
repository's `sql/` directly. Everything that reads SQL, templates or the
example manifest asks here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _sql_dir() -> Path:
    packaged = _PACKAGE / "sql"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "sql"


SQL_DIR = _sql_dir()
TEMPLATES_DIR = SQL_DIR / "templates"
FUNCTIONS_DIR = SQL_DIR / "functions"
# Numbered, idempotent files; each later file alters what earlier ones created.
LEDGER_DIR = SQL_DIR / "ledger"
# Functions for a Citus coordinator; installed only where the citus extension is.
CITUS_DIR = SQL_DIR / "citus"
SAMPLE_DIR = SQL_DIR / "sample"
# What `tenancy install` and `uninstall` run around the files above.
INSTALL_DIR = SQL_DIR / "install"
# Queries the runner sends, one per file.
QUERIES_DIR = SQL_DIR / "queries"
# The Alumate example manifest (the repository's tenancy.toml); the sample,
# demo and benchmarks are built to match it.
EXAMPLE_MANIFEST = SAMPLE_DIR / "tenancy.toml"


def read_query(name: str) -> str:
    """The text of sql/<name> (e.g. "install/routines.sql", "queries/acl_facts.sql")."""
    return (SQL_DIR / name).read_text(encoding="utf-8")
