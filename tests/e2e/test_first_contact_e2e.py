"""The README's main job with the embedded model, as a newcomer runs it (issue 32): typed inside the
checkout it shows the benchmark alone, keeps as many requests in flight as the server has slots, a
rerun answered from the cache starts no server, and an image benchmark is one clear usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_embedded_evaluation import need
from tests.multimodal.data import math_vista_dir

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]


def main_job(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--llm-model",
            "smollm2-135m",
            *args,
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def test_readme_main_job_inside_the_checkout_shows_the_samples_alone(tmp_path):
    need("smollm2-135m")
    args = (
        "-m",
        "smoke",
        "--llm-limit",
        "1",
        "--llm-gen",
        "max_tokens=4",
        "--llm-gen",
        "temperature=0",
        f"--llm-cache-dir={tmp_path / 'cache'}",  # one word: a separate path would move pytest's rootdir
    )
    first = main_job(*args, cwd=ROOT)
    out = first.stdout
    assert first.returncode in (0, 1), out + first.stderr
    assert "collected 2 items" in out and "deselected" not in out, out  # the project's own tests are not collected
    assert "llmeval: 2 samples from smoke (math, mcq), 1 request in flight" in out
    assert "llmeval: serving smollm2-135m at http://127.0.0.1:" in out and "1 request in flight per process" in out
    second = main_job(*args, cwd=ROOT)
    assert second.returncode == first.returncode
    assert "every answer is in the cache; smollm2-135m is not served" in second.stdout
    assert "llmeval: serving" not in second.stdout and "2 answers from the cache" in second.stdout


def test_an_image_benchmark_on_a_text_only_embedded_model_is_one_usage_error(tmp_path):
    need("smollm2-135m")
    path = math_vista_dir(tmp_path / "mathvista")
    result = main_job(
        "-m", "math_vista", "--llm-dataset", f"math_vista={path}", "--llm-cache-dir", str(tmp_path / "c"), cwd=tmp_path
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "math_vista sends images (or audio) with each question, but smollm2-135m" in result.stderr
    assert "reads text only" in result.stderr and "HTTP 500" not in result.stdout + result.stderr
    assert "llmeval: serving" not in result.stdout
