"""Docs are part of the feature: every option, fixture and hook is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval import hooks
from pytest_llmeval.options import OPTIONS

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("spec", OPTIONS, ids=lambda spec: spec.flag)
def test_every_option_is_in_the_options_reference(spec):
    text = (DOCS / "options.md").read_text()
    assert f"`{spec.flag}" in text and f"`{spec.dest}`" in text


@pytest.mark.parametrize("name", ["llm", "llm_endpoint", "llm_server", "perf", "llm_perf"])
def test_every_fixture_is_documented(name):
    text = (DOCS / "fixtures.md").read_text() + (DOCS / "serving.md").read_text()
    assert f"`{name}`" in text


@pytest.mark.parametrize("name", [n for n in dir(hooks) if n.startswith("pytest_llmeval_")])
def test_every_hook_is_documented(name):
    assert f"`{name}(" in (DOCS / "fixtures.md").read_text()


def test_architecture_page_names_every_package():
    text = (DOCS / "architecture.md").read_text()
    package = Path(__file__).parents[2] / "pytest_llmeval"
    for folder in sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists()):
        assert f"`{folder}/`" in text, folder
