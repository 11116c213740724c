"""The layers of runner/: each module imports only from its own layer or those below it,
the imports between modules have no cycle, and no module of the product imports
runner.devtools (the dev verbs reach the CLI through an entry point: pyproject.toml)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "runner"

# Bottom first. A module's layer is that of its folder (runner/engine/...) or, for a
# module directly in runner/, its own name; runner itself is runner/__init__.py.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"runner", "errors", "names", "states", "resources", "signals"}),
    frozenset({"manifest", "sqlscript", "db"}),
    frozenset({"privileges"}),  # the privilege model: pure data
    frozenset({"engine"}),
    frozenset({"access", "federation", "citus", "report"}),
    frozenset({"cli"}),
)
BESIDE = "devtools"  # may import any layer; no layer imports it


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """runner.engine.migrate -> engine; runner.db -> db; runner -> runner."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _level(module: str) -> int | None:
    part = _part(module)
    return next((i for i, layer in enumerate(LAYERS) if part in layer), None)


def import_graph() -> dict[str, set[str]]:
    """Each module of runner/ -> the modules of runner/ it imports (at any depth of its code)."""
    modules = {_module(p): p for p in RUNNER.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_every_module_of_runner_has_a_layer() -> None:
    graph = import_graph()
    assert "runner.engine.migrate" in graph and "runner.cli" in graph
    assert not [m for m in graph if _level(m) is None and _part(m) != BESIDE]


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = sorted(
        f"{m} -> {d}"
        for m, deps in import_graph().items()
        if _part(m) != BESIDE
        for d in deps
        if _part(d) != BESIDE and (_level(d) or 0) > (_level(m) or 0)
    )
    assert not upward, upward


def test_no_module_of_the_product_imports_the_devtools() -> None:
    into = sorted(
        f"{m} -> {d}" for m, deps in import_graph().items() if _part(m) != BESIDE for d in deps if _part(d) == BESIDE
    )
    assert not into, into


def test_the_imports_between_modules_have_no_cycle() -> None:
    # Package __init__ modules re-export their package and are left out: importing
    # runner.cli.migrate imports runner.cli first, which is no dependency of migrate's.
    graph = import_graph()
    edges = {
        m: {d for d in deps if not RUNNER.joinpath(*d.split(".")[1:], "__init__.py").exists()}
        for m, deps in graph.items()
    }
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as e:
        raise AssertionError(f"import cycle: {' -> '.join(e.args[1])}") from None


def test_the_dev_verbs_reach_the_cli_through_its_entry_point_group() -> None:
    from runner.cli import build_parser, plugin_verbs

    names = {v.__name__.rpartition(".")[2] for v in plugin_verbs()}
    assert names == {"demo", "sample", "bench", "bench_online", "bench_queries"}
    assert {"demo", "bench-online"} <= set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
