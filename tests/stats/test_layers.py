"""The result models' old import path. Which layers may import the models, the statistics and the
gates is an import contract in `.importlinter` (tests/core/test_code_checks.py)."""

from __future__ import annotations


def test_the_old_models_path_still_imports():
    from pytest_llmeval import results
    from pytest_llmeval.report import models

    assert models.RunResult is results.RunResult and models.SampleRecord is results.SampleRecord
