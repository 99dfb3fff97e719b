"""The modules of `pytest_llmeval.items` import each other in one direction only (no cycles,
not even under TYPE_CHECKING): found by walking the real import statements of the source files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_llmeval

PACKAGE = Path(pytest_llmeval.__file__).parent


def internal_imports(path: Path) -> set[str]:
    """Modules of pytest_llmeval that `path` imports anywhere (top level, functions, TYPE_CHECKING)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("pytest_llmeval"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("pytest_llmeval"))
    return found


def import_graph(folder: Path) -> dict[str, set[str]]:
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p for p in folder.glob("*.py")}
    return {name: internal_imports(path) & set(modules) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                found.append([*trail[trail.index(nxt):], nxt])
            elif len(trail) < len(graph):
                visit(nxt, [*trail, nxt])

    for start in graph:
        visit(start, [start])
    return found


def test_items_modules_have_no_import_cycle():
    graph = import_graph(PACKAGE / "items")
    assert "pytest_llmeval.items.nodes" in graph["pytest_llmeval.items.runtime"]  # the walker sees imports
    assert cycles(graph) == []


def test_nodes_does_not_import_runtime():
    assert not any("runtime" in name for name in internal_imports(PACKAGE / "items" / "nodes.py"))


def test_the_walker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}}) != []
