"""The code checks CI runs, as tests: lint (ruff check), format (ruff format --check), types (mypy) and
the import contracts (lint-imports, `.importlinter`). Each runs as its own process from the checkout's
root with the settings in pyproject.toml, so `./run-tests.sh` fails on a violation and prints the
tool's own report. The tools come with the `dev` extra (`./install.sh dev`)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (tool, module that provides it, command after `python`)
CHECKS = {
    "ruff-check": ("ruff", ["-m", "ruff", "check", "--no-cache", "."]),
    "ruff-format": ("ruff", ["-m", "ruff", "format", "--check", "--no-cache", "."]),
    "mypy": ("mypy", ["-m", "mypy"]),  # what to check: [tool.mypy] packages
    # `lint-imports` is a console script; this is the same entry point, run with this interpreter.
    "import-contracts": (
        "importlinter",
        [
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--no-cache",
        ],
    ),
}


def run_check(module: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(
            f"{module} is not installed: install the test tools with ./install.sh dev (pip install -e '.[dev]')"
        )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**_env(), "PYTHONPATH": str(ROOT)},
    )


def _env() -> dict[str, str]:
    """This environment without a PYTHONPATH/MYPYPATH of the caller's: each check sees this checkout only."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}


@pytest.mark.parametrize("check", list(CHECKS))
def test_code_check_passes(check: str) -> None:
    module, args = CHECKS[check]
    result = run_check(module, args)
    assert result.returncode == 0, f"{check} failed:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"


def test_a_broken_import_contract_fails_the_check(tmp_path: Path) -> None:
    """The contract check has teeth: scoring importing subprocess breaks "scoring is pure"."""
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_package = probe\ninclude_external_packages = True\n\n"
        "[importlinter:contract:pure]\nname = pure\ntype = forbidden\n"
        "source_modules =\n    probe.scoring\nforbidden_modules =\n    subprocess\n",
        encoding="utf-8",
    )
    package = tmp_path / "probe"
    (package / "scoring").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "scoring" / "__init__.py").write_text("", encoding="utf-8")
    (package / "scoring" / "timeout.py").write_text("def run():\n    import subprocess\n", encoding="utf-8")
    module, args = CHECKS["import-contracts"]
    if importlib.util.find_spec(module) is None:
        pytest.fail("import-linter is not installed: ./install.sh dev")
    result = subprocess.run(
        [sys.executable, *args, "--config", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**_env(), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "probe.scoring is not allowed to import subprocess" in result.stdout
