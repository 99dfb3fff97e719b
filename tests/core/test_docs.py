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


@pytest.mark.parametrize("name", ["llm", "llm_endpoint", "llm_server", "perf", "llm_perf", "llm_capacity"])
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


def _error_kinds() -> list[str]:
    from pytest_llmeval import errors

    kinds = {getattr(cls, "kind", None) for cls in vars(errors).values() if isinstance(cls, type)}
    return sorted(k for k in kinds if isinstance(k, str) and k)


@pytest.mark.parametrize("kind", _error_kinds())
def test_every_error_kind_is_in_the_results_reference(kind):
    """A user filtering the samples JSONL on `error_kind` finds every value the code can write."""
    row = next(line for line in (DOCS / "results.md").read_text().splitlines() if "`error_kind`" in line)
    assert f"`{kind}`" in row


def test_the_retried_statuses_are_the_documented_ones():
    from pytest_llmeval.endpoint.client import RETRY_STATUSES

    listed = "/".join(str(code) for code in sorted(RETRY_STATUSES))
    for page in ("options.md", "serving.md"):
        assert listed in (DOCS / page).read_text(), page


def test_the_python_examples_of_the_docs_compile_and_import_what_they_use():
    """Each ```python block compiles; names it uses at top level are defined, imported or builtins."""
    import ast
    import builtins
    import re

    for page in sorted(DOCS.glob("*.md")):
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
            tree = ast.parse(block, filename=str(page))  # a SyntaxError names the page
            bound = set(dir(builtins))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    bound.update((a.asname or a.name).split(".")[0] for a in node.names)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound.add(node.id)
                elif isinstance(node, ast.arg):
                    bound.add(node.arg)
                elif isinstance(node, ast.ExceptHandler) and node.name:
                    bound.add(node.name)
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            assert not used - bound, f"{page.name}: {sorted(used - bound)} used but never imported or defined"
