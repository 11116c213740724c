"""The README as a newcomer reads it: order of sections, the two-line quick start that CI
runs, every SQLSTATE documented, and no text about how the project was built."""

from __future__ import annotations

import re
from pathlib import Path

from runner.cli import build_parser
from runner.errors import SQLSTATES

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _sections() -> list[str]:
    return re.findall(r"^## (.+)$", README, flags=re.M)


def test_sections_come_in_the_order_a_newcomer_needs() -> None:
    wanted = ["Quick start", "The flow", "The CLI", "For DBAs: everything in psql", "Manifest reference", "Errors"]
    sections = _sections()
    assert [s for s in sections if s in wanted] == wanted
    assert README.index("# tenancy\n") == 0 and README.index("## Quick start") < 1500
    assert len(README.splitlines()) <= 300


def test_quick_start_is_two_lines_that_ci_runs() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", quick, flags=re.S)
    assert blocks == ["./scripts/tenancy demo\n./scripts/test\n"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "./scripts/test" in ci


def test_every_sqlstate_is_in_the_errors_table() -> None:
    errors = README.split("## Errors", 1)[1]
    for code in SQLSTATES:
        assert re.search(rf"^\| {code} \| ", errors, flags=re.M), code


def test_exit_codes_are_documented_in_readme_and_help() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in README.split("## The CLI", 1)[1]
    assert "exit codes:" in build_parser().format_help()


def test_docs_and_help_speak_of_the_product_only() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    texts["--help"] = parser.format_help() + "".join(p.format_help() for p in subparsers.values())
    for name, text in texts.items():
        for phrase in ("the seed", "seed's", "DESIGN.md", "for the lead", "README fragment"):
            assert phrase not in text, (name, phrase)


def test_links_to_existing_docs_resolve() -> None:
    for target in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (REPO / target).is_file(), target
