"""Run a command under RLIMIT_AS 1 GiB and read its own peak RSS.

The command is started by a small launcher process, not by the test process: Linux carries a
process's RSS high-water mark over fork and exec, so a child forked from a large pytest worker would
report the worker's peak as its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MARK = "__llmeval_peak_kb__"

LAUNCHER = rf"""
import os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))
process = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(process.pid, 0)
print("\n{MARK}", usage.ru_maxrss, flush=True)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_bounded(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """(exit status, output, peak RSS in MB) of `command` in a child bounded to 1 GiB."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out = done.stdout.decode("utf-8", "replace")
    head, _, tail = out.rpartition(MARK)
    return done.returncode, head.rstrip("\n"), int(tail.split()[0]) / 1024
