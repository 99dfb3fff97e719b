"""Scoring is pure: no module of `pytest_llmeval.scoring` imports benchmarks, engine, execution, report,
gating or endpoint (issue 10 item 3), nor starts processes, arms signals or opens connections (issue 24
item 3: those live in `execution/` and `endpoint/`). Imports are read from the source (AST), including relative and
function-local ones; only `if TYPE_CHECKING:` blocks are exempt, since they never run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_llmeval

PACKAGE = Path(pytest_llmeval.__file__).parent
FORBIDDEN = ("benchmarks", "engine", "execution", "report", "gating", "endpoint", "processes")
# What a pure scorer never needs: child processes, signals, sockets, event loops, HTTP, worker pools.
SIDE_EFFECTS = ("subprocess", "signal", "socket", "selectors", "multiprocessing", "asyncio", "concurrent",
                "http", "urllib", "httpx", "requests")


def _runtime_imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    """(line, absolute module) of every import outside `if TYPE_CHECKING:` blocks; `root` is the
    folder holding the `pytest_llmeval` package (relative imports are resolved against it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = list(path.relative_to(root).with_suffix("").parts)[:-1]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _violations(folder: Path, root: Path = PACKAGE.parent) -> list[str]:
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for line, name in _runtime_imports(path, root):
            parts = name.split(".")
            if parts[0] == "pytest_llmeval" and len(parts) > 1 and parts[1] in FORBIDDEN:
                bad.append(f"{path.relative_to(root)}:{line} imports {name}")
    return bad


def test_scoring_imports_no_benchmarks_engine_execution_report_gating_or_endpoint() -> None:
    assert _violations(PACKAGE / "scoring") == []


def test_scoring_starts_no_process_arms_no_signal_and_opens_no_connection() -> None:
    bad = []
    for path in sorted((PACKAGE / "scoring").rglob("*.py")):
        for line, name in _runtime_imports(path):
            if name.split(".")[0] in SIDE_EFFECTS:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert bad == []


def test_the_code_runners_and_the_judge_live_outside_scoring() -> None:
    names = {p.name for p in (PACKAGE / "scoring").iterdir()}
    assert not names & {"sandbox.py", "_sandbox_boot.py", "_checker_boot.py", "judge.py"}
    assert (PACKAGE / "execution" / "sandbox.py").is_file() and (PACKAGE / "endpoint" / "judge.py").is_file()


def test_the_walker_sees_relative_absolute_and_local_imports(tmp_path: Path) -> None:
    scoring = tmp_path / "pytest_llmeval" / "scoring"
    scoring.mkdir(parents=True)
    fake = scoring / "_layer_probe_tmp.py"
    fake.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..benchmarks.base import Score\n"
        "import pytest_llmeval.report.models\n"
        "def f():\n    from pytest_llmeval.engine import nodes\n"
        "if TYPE_CHECKING:\n    from ..endpoint.dispatcher import Dispatcher\n",
        encoding="utf-8",
    )
    probe = _violations(scoring, root=tmp_path)
    assert any("pytest_llmeval.benchmarks.base" in v for v in probe)
    assert any("pytest_llmeval.report.models" in v for v in probe)
    assert any("pytest_llmeval.engine" in v for v in probe)
    assert not any("endpoint" in v for v in probe)  # TYPE_CHECKING only


@pytest.mark.parametrize("module", ["numeric", "choice", "math_equiv"])
def test_boxed_extraction_has_its_own_module(module: str) -> None:
    imports = {name for _, name in _runtime_imports(PACKAGE / "scoring" / f"{module}.py")}
    assert "pytest_llmeval.scoring.boxed" in imports
    if module == "numeric":
        assert not any(name.startswith("pytest_llmeval.scoring.math_equiv") for name in imports)
