"""Import direction of the result models, the statistics and the gates (issue 10 item 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "pytest_llmeval"


def imported_packages(path: Path) -> set[str]:
    """Top-level pytest_llmeval subpackages/modules imported by the module at `path`."""
    found: set[str] = set()
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(parts[: len(parts) - node.level])
            target = base + (node.module.split(".") if node.module else [])
            names = [target[0]] if target else [alias.name for alias in node.names]
            found.update(names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pytest_llmeval."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("pytest_llmeval."))
    return found


def modules(*names: str) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        target = PACKAGE / name
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    return paths


@pytest.mark.parametrize("path", modules("results", "stats"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_models_and_stats_import_no_upper_layer(path: Path):
    assert not imported_packages(path) & {"benchmarks", "items", "report", "gating", "evaluation", "run", "scoring"}


@pytest.mark.parametrize("path", modules("gating"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_gating_does_not_import_report(path: Path):
    assert "report" not in imported_packages(path)


def test_the_old_models_path_still_imports():
    from pytest_llmeval import results
    from pytest_llmeval.report import models

    assert models.RunResult is results.RunResult and models.SampleRecord is results.SampleRecord
