"""The distribution name: `pytest-llmeval` on PyPI is an unrelated plugin that installs the same import
package. With it in the environment, a run stops with one error naming the clash and the fix."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest

OTHER_RECORD = """\
pytest_llmeval/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0
pytest_llmeval/plugin.py,sha256=2jmj7l5rSw0yVb_vlWAYkK_YBwk,6100
pytest_llmeval-0.0.0.dist-info/METADATA,,
pytest_llmeval-0.0.0.dist-info/RECORD,,
"""


def install_other_plugins_metadata(site: Path) -> None:
    """kevinschaul/pytest-llmeval 0.0.0's wheel metadata, in the layout pip leaves in site-packages."""
    info = site / "pytest_llmeval-0.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: pytest-llmeval\nVersion: 0.0.0\n"
        "Summary: A pytest plugin to evaluate/benchmark LLM prompts\n"
    )
    (info / "RECORD").write_text(OTHER_RECORD)
    (info / "top_level.txt").write_text("pytest_llmeval\n")
    (info / "entry_points.txt").write_text("[pytest11]\nllmeval = pytest_llmeval.plugin\n")


def run_with_site(pytester: pytest.Pytester, site: Path, *args: str) -> pytest.RunResult:
    pytester.makepyfile("def test_ok(): pass")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")]))
    pytester._monkeypatch.setenv("PYTHONPATH", path)
    # The check is a pytest11 entry point of its own (`llmeval-clash`); an environment installed before
    # it existed (an old editable install) gets it with -p, which an installed one refuses as a duplicate.
    installed = any(ep.name == "llmeval-clash" for ep in importlib.metadata.entry_points(group="pytest11"))
    return pytester.runpytest_subprocess(*(() if installed else ("-p", "pytest_llmeval._clash")), *args)


def test_the_other_pytest_llmeval_is_named_with_the_fix(pytester, tmp_path):
    site = tmp_path / "site"
    install_other_plugins_metadata(site)
    result = run_with_site(pytester, site, "--llm-model", "m")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "pytest-llmeval 0.0.0 is installed beside pytest-llmbench" in err
    assert "same import package `pytest_llmeval`" in err
    assert "pip uninstall -y pytest-llmeval && pip install --force-reinstall --no-deps pytest-llmbench" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_help_and_the_plugin_switched_off_still_work_beside_it(pytester, tmp_path):
    site = tmp_path / "site"
    install_other_plugins_metadata(site)
    assert run_with_site(pytester, site, "--help").ret == pytest.ExitCode.OK
    result = run_with_site(pytester, site, "-p", "no:llmeval")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


def test_without_the_other_distribution_nothing_is_said(pytester, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    result = run_with_site(pytester, site)
    assert result.ret == pytest.ExitCode.OK
    assert "pytest_llmeval" not in result.stderr.str()
