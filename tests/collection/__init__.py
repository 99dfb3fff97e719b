"""Helpers shared by the collection tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def build_cli(schema: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m pytest_llmeval.collection build SCHEMA ARGS...` as a user would; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.collection", "build", str(schema), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
