"""Hostile programs that try to exhaust the host (disk, RAM, inodes) are stopped near their limit, fail with a
reason that names it, and leave the host's disk as it was. Each test is the attack itself, under bubblewrap."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.execution import sandbox
from pytest_llmeval.execution.sandbox import SandboxLimits, run_python
from tests.benchmarks import data
from tests.conftest import write_jsonl


@pytest.fixture(autouse=True)
def need_bwrap() -> None:
    if (problem := sandbox.bwrap_problem()) is not None:
        pytest.skip(problem)


# Writes 4 MB files (under file_size_mb, so only the disk limit can stop it) until a write fails; prints the
# total it managed to write.
FILL = """
import os
folder, written = {folder!r}, 0
try:
    for i in range(100000):
        with open(os.path.join(folder, "fill%d" % i), "wb") as f:
            for _ in range(4):
                f.write(b"x" * (1 << 20))
                written += 1 << 20
finally:
    print("wrote", written >> 20, "MB", flush=True)
"""


def _fill_files_on_the_host() -> list[str]:
    """Files the FILL program would leave on the host, had its /tmp or work folder been the host's."""
    return glob.glob("/tmp/fill0") + glob.glob("/tmp/*/fill0") + glob.glob("/dev/shm/fill0")


@pytest.mark.parametrize("folder", [".", "/tmp", "/dev/shm"])
def test_writing_until_stopped_stops_at_the_disk_limit(folder: str):
    result = run_python(FILL.format(folder=folder), limits=SandboxLimits(disk_mb=12))
    assert result.status == "output_exceeded"
    assert result.reason == "no space left in /tmp (disk_mb=12) or /dev/shm (1 MB)"
    written_mb = int(result.stdout.split()[1])
    assert written_mb <= (12 if folder != "/dev/shm" else 1)
    assert written_mb >= (8 if folder != "/dev/shm" else 0)  # it was the limit that stopped it, near the limit
    assert _fill_files_on_the_host() == []  # it wrote into the run's own tmpfs, gone with the run


def test_everything_outside_tmp_is_read_only():
    probe = (
        "import os\nfor path in ('/x', '/dev/x', '/usr/x', '/proc/x', os.path.dirname(os.__file__) + '/x'):\n"
        "    try:\n        open(path, 'w')\n        print('wrote', path)\n"
        "    except OSError as e:\n        print('refused', path, e.errno)\n"
    )
    result = run_python(probe)
    assert result.status == "ok" and "wrote" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 5


def test_many_small_files_are_stopped_at_max_files():
    spam = "for i in range(10**7):\n    open('f%d' % i, 'w').close()\n"
    result = run_python(spam, limits=SandboxLimits(max_files=2000))
    assert result.status == "output_exceeded"
    assert result.reason == "more than 2000 files and folders in /tmp"


def test_memory_spread_over_processes_is_stopped_at_the_total():
    """Each child stays under memory_mb (address space per process); together they pass total_memory_mb."""
    hog = (
        "import os, time\nfor _ in range(6):\n    if os.fork() == 0:\n        data = b'x' * (120 << 20)\n"
        "        time.sleep(60)\n        os._exit(0)\ntime.sleep(60)\n"
    )
    result = run_python(hog, limits=SandboxLimits(memory_mb=256, total_memory_mb=300, wall_time_s=60))
    assert result.status == "memory_exceeded"
    assert result.reason == "the processes together held more than 300 MB of memory"


def test_a_humaneval_answer_that_fills_the_disk_fails_saying_so(tmp_path: Path):
    """Through the benchmark's scoring path: the sample fails, and its explanation names the limit."""
    path = write_jsonl(tmp_path / "humaneval.jsonl", data.HUMANEVAL_ROWS)
    benchmark = get_benchmark("humaneval")()
    sample = list(benchmark.load("default", DatasetLoader({"humaneval": str(path)})))[1]
    reply = "```python\n" + FILL.format(folder="/tmp") + "\ndef truncate_number(number):\n    return number % 1.0\n```"
    score = benchmark.score(sample, reply)
    assert not score.passed
    assert score.explanation == (
        "output_exceeded: no space left in /tmp (disk_mb=64) or /dev/shm (1 MB): "
        "OSError: [Errno 28] No space left on device"
    )


def test_a_livecodebench_answer_that_floods_stdout_fails_saying_so(tmp_path: Path):
    folder = tmp_path / "code_generation_lite"
    write_jsonl(folder / "test5.jsonl", [data.lcb_row("abc380_a", "2024-11-16T00:00:00", functional=False)])
    benchmark = get_benchmark("live_code_bench")()
    sample = next(iter(benchmark.load("v5", DatasetLoader({"live_code_bench": str(folder)}))))
    score = benchmark.score(sample, "```python\nwhile True:\n    print('7' * 4096)\n```")
    assert not score.passed
    assert (score.explanation or "").startswith("test 1/3 output_exceeded: expected '7\\n'")
    assert (score.explanation or "").endswith("(stdout passed 1000000 bytes)")
