"""What the bench/ scripts share: a GSM8K-shaped data file, the arguments of a `pytest -m gsm8k`
run against a loopback server, one timed pytest process with its peak memory, and a child process
read to its end with its peak memory.

The scripts import it as `from _common import ...`: `python bench/NAME.py` puts bench/ on sys.path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

QUIET = ["-q", "-p", "no:cacheprovider"]  # pytest's short output, and no .pytest_cache in the folder


@contextmanager
def work_folder() -> Iterator[Path]:
    """A temporary folder with an empty pytest.ini: pytest takes it as its rootdir, so no settings of
    the checkout apply and each run's files (results, cache) stay inside. Removed on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        yield work


def write_gsm8k(path: Path, count: int) -> Path:
    """`count` GSM8K rows, "What is i + 1?" with the answer `#### i+1`, one JSON object a line."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps({"question": f"What is {i} + 1?", "answer": f"#### {i + 1}"}) + "\n")
    return path


def gsm8k_args(base_urls: str | Sequence[str], data: Path) -> list[str]:
    """The plugin's arguments for `-m gsm8k` over the file `data` against the loopback server(s)
    at `base_urls` (several: replicas), model `fake-model`, response cache off."""
    urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
    return [
        *("--llm-model", "fake-model"),
        *(arg for url in urls for arg in ("--llm-base-url", url)),
        *("-m", "gsm8k", "--llm-dataset", f"gsm8k={data}", "--llm-no-cache"),
    ]


def bytecode_env() -> dict[str, str]:
    """This environment with bytecode caching on, as on a user's machine (some sandboxes export
    PYTHONDONTWRITEBYTECODE, which would make every run recompile the plugin and its dependencies)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_pytest(args: list[str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS in MB) of one `python -m pytest ARGS` process in `cwd`;
    its output is dropped. The peak RSS is the child's own (`wait4`), read when it is reaped."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=bytecode_env(),
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, os.waitstatus_to_exitcode(status), usage.ru_maxrss // 1024


def run_reading(command: list[str], **popen: Any) -> tuple[str, int, float]:
    """(its output, stdout and stderr together; exit code; peak RSS in MB) of one child process,
    read until it ends. `popen`: more `subprocess.Popen` arguments (cwd, env, preexec_fn...)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    out = process.stdout.read().decode()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    return out, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024
