"""Where scoring's shared pieces live. The layer rules themselves (scoring imports no benchmarks,
engine, execution, report, gating or endpoint, and no process, signal or connection module) are
import contracts in `.importlinter`, checked by tests/core/test_code_checks.py."""

from __future__ import annotations

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("pytest_llmeval", cache_dir=None)


@pytest.mark.parametrize("module", ["numeric", "choice", "math_equiv"])
def test_boxed_extraction_has_its_own_module(graph: grimp.ImportGraph, module: str) -> None:
    imported = graph.find_modules_directly_imported_by(f"pytest_llmeval.scoring.{module}")
    assert "pytest_llmeval.scoring.boxed" in imported
    if module == "numeric":
        assert not any(name.startswith("pytest_llmeval.scoring.math_equiv") for name in imported)


def test_the_code_runners_and_the_judge_live_outside_scoring() -> None:
    from pathlib import Path

    import pytest_llmeval

    package = Path(pytest_llmeval.__file__).parent
    names = {p.name for p in (package / "scoring").iterdir()}
    assert not names & {"sandbox.py", "_sandbox_boot.py", "_checker_boot.py", "judge.py"}
    assert (package / "execution" / "sandbox.py").is_file() and (package / "endpoint" / "judge.py").is_file()
