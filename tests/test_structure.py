"""Every unit stays small enough to read in one go: no function in runner/, infra/ or
policies/ longer than 60 lines, no file of sql/templates/ (includes too) longer than
200 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("runner", "infra", "policies")
TEMPLATES = REPO / "sql" / "templates"
MAX_FUNCTION_LINES = 60
MAX_TEMPLATE_LINES = 200

# The units over their limit, each named "path:function" or "path": none. A unit that
# grows past its limit is cut along its concerns, not listed here.
OVER_THE_LIMIT: frozenset[str] = frozenset()


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from its `def` to its last line) of each function under
    `node`: methods and nested functions too, each on its own."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + child.name
            yield name, (child.end_lineno or child.lineno) - child.lineno + 1
            yield from _functions(child, name + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, prefix + child.name + ".")
        else:
            yield from _functions(child, prefix)


def unit_lengths() -> dict[str, tuple[int, int]]:
    """Each function of the packages and each template file -> (its lines, its limit)."""
    units: dict[str, tuple[int, int]] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            where = path.relative_to(REPO).as_posix()
            for name, lines in _functions(ast.parse(path.read_text(encoding="utf-8"))):
                # Two functions of one name (a redefinition): the longer one counts.
                longest = max(lines, units.get(f"{where}:{name}", (0, 0))[0])
                units[f"{where}:{name}"] = (longest, MAX_FUNCTION_LINES)
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        units[path.relative_to(REPO).as_posix()] = (lines, MAX_TEMPLATE_LINES)
    return units


def _over(units: dict[str, tuple[int, int]]) -> dict[str, int]:
    return {unit: lines for unit, (lines, limit) in units.items() if lines > limit}


def test_no_unit_is_over_its_limit_unless_listed() -> None:
    units = unit_lengths()
    # The scan found the units, so an empty result means they are within their limits.
    assert "runner/manifest.py:parse_manifest" in units
    assert "sql/templates/provision_tenant/provision_tenants.sql.j2" in units
    unlisted = {u: n for u, n in _over(units).items() if u not in OVER_THE_LIMIT}
    assert not unlisted, (
        f"longer than {MAX_FUNCTION_LINES} lines (a function) or {MAX_TEMPLATE_LINES} (a template): "
        f"cut them along their concerns: {unlisted}"
    )


def test_every_listed_unit_is_still_over_its_limit() -> None:
    """A unit that was cut (or is gone) leaves OVER_THE_LIMIT, so the list never hides a new one."""
    stale = sorted(OVER_THE_LIMIT - set(_over(unit_lengths())))
    assert not stale, f"within the limit now (or gone): remove from OVER_THE_LIMIT: {stale}"
