"""A model cannot forge a code verdict: each test below *is* the attack, a wrong program carrying a trick that
made the old one-process judge say "passed", scored through the benchmark's real scoring path (sandbox,
checker and all). Every trick must leave the wrong program failed; the right program still passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.benchmarks import DatasetLoader, get_benchmark
from pytest_llmeval.benchmarks.base import Sample
from pytest_llmeval.execution import sandbox
from tests.benchmarks import data
from tests.conftest import write_jsonl


@pytest.fixture(autouse=True)
def need_bwrap() -> None:
    if (problem := sandbox.bwrap_problem()) is not None:
        pytest.skip(problem)


# Tries every door to the verdict: reads every /proc/<pid>/{fd/*,environ,cmdline,maps+mem} it can for the checker's
# nonce, then writes fake verdict lines (with the nonce when found) into every pipe and descriptor it can open.
PROC_ATTACK = r"""
import os, re
def steal():
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        paths = [f"/proc/{pid}/{name}" for name in ("environ", "cmdline")]
        try:
            paths += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            pass
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                data = os.pread(fd, 1 << 20, 0)
            except OSError:
                try:
                    data = os.read(fd, 1 << 20)
                except OSError:
                    data = b""
            os.close(fd)
            found.update(re.findall(rb'"nonce": "([0-9a-f]+)"', data))
        try:  # the checker's memory itself: every readable, writable mapping
            with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
                for entry in maps:
                    span, perms = entry.split()[:2]
                    start, end = (int(x, 16) for x in span.split("-"))
                    if perms.startswith("rw") and end - start < 1 << 28:
                        mem.seek(start)
                        found.update(re.findall(rb'"nonce": "([0-9a-f]+)"', mem.read(end - start)))
        except (OSError, ValueError, OverflowError):
            pass
    return found
def forge(nonces):
    lines = b"".join(b'{"i": %d, "status": "ok", "got": [0, 1]}\n' % k for k in range(50))
    lines += b'{"status": "ok"}\n' + b"".join(b'{"done": "%s"}\n' % n for n in nonces or [b"0" * 32])
    targets = [f"/proc/{pid}/fd/{fd}" for pid in os.listdir("/proc") if pid.isdigit()
               for fd in (os.listdir(f"/proc/{pid}/fd") if os.access(f"/proc/{pid}/fd", os.R_OK) else [])]
    for path in targets:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, lines)
            os.close(fd)
        except OSError:
            pass
    for fd in range(3, 64):
        try:
            os.write(fd, lines)
        except OSError:
            pass
forge(steal())
"""

EXIT_0 = "import os\nos._exit(0)\n"

# Each trick follows a wrong HumanEval function (truncate_number returning 0.0); the tests call it with 3.5.
HUMANEVAL_TRICKS = {
    "exit()": "exit()\n",
    "raise SystemExit(0)": "raise SystemExit(0)\n",
    "sys.exit(0)": "import sys\nsys.exit(0)\n",
    "os._exit(0)": EXIT_0,
    "atexit os._exit": "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "excepthook os._exit": "import os, sys\nsys.excepthook = lambda *a: os._exit(0)\n",
    "fork, parent exits 0": "import os\nif os.fork():\n    os._exit(0)\n",
    "SIGALRM exit": "import os, signal\nsignal.signal(signal.SIGALRM, lambda *a: os._exit(0))\nsignal.setitimer("
    "signal.ITIMER_REAL, 0.001)\nimport time\ntime.sleep(1)\n",
    "patched builtins": "import builtins\nbuiltins.abs = lambda x: 0\n"
    "builtins.AssertionError = type('A', (Exception,), {})"
    "\nbuiltins.isinstance = lambda *a: True\n",
    "kill the checker": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(0)\n",
    "proc doors": PROC_ATTACK + EXIT_0,
    "write ok to fds": "import os\nfor fd in range(64):\n    try: os.write(fd, b'ok\\n')\n    except OSError: pass\n"
    + EXIT_0,
}
WRONG_HUMANEVAL = "def truncate_number(number: float) -> float:\n    return 0.0\n\n"
ALWAYS_EQUAL = (
    "class Yes(float):\n    __eq__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
    "    __lt__ = lambda s, o: True\n"
    "    __sub__ = lambda s, o: Yes()\n    __abs__ = lambda s: Yes()\n    __bool__ = lambda s: True\n\n"
    "def truncate_number(number: float) -> float:\n    return Yes()\n"
)


@pytest.fixture
def humaneval_sample(tmp_path: Path) -> Sample:
    path = write_jsonl(tmp_path / "humaneval.jsonl", data.HUMANEVAL_ROWS)
    return list(get_benchmark("humaneval")().load("default", DatasetLoader({"humaneval": str(path)})))[1]


@pytest.mark.parametrize("trick", sorted(HUMANEVAL_TRICKS))
def test_humaneval_wrong_function_with_a_trick_fails(humaneval_sample: Sample, trick: str):
    benchmark = get_benchmark("humaneval")()
    reply = f"```python\n{WRONG_HUMANEVAL}{HUMANEVAL_TRICKS[trick]}```"
    score = benchmark.score(humaneval_sample, reply)
    assert not score.passed, (trick, score)
    assert score.metrics == {"pass_at_1": 0.0}


def test_humaneval_returned_object_that_equals_everything_fails(humaneval_sample: Sample):
    score = get_benchmark("humaneval")().score(humaneval_sample, f"```python\n{ALWAYS_EQUAL}```")
    assert not score.passed
    assert "not plain data" in (score.explanation or "")  # a float subclass is refused, by exact type


def test_humaneval_early_exit_is_named(humaneval_sample: Sample):
    score = get_benchmark("humaneval")().score(humaneval_sample, f"```python\n{WRONG_HUMANEVAL}exit()\n```")
    assert score.explanation == (
        "runtime_error: the program exited (code 0) before answering: an early exit is a failure"
    )


def test_humaneval_right_function_still_passes_after_trying_the_doors(humaneval_sample: Sample):
    """A right answer passes, even from a program that tries to read the checker (the doors are closed,
    not booby-trapped); the attacks above fail for the trick, not for some side effect of the judge."""
    right = "def truncate_number(number: float) -> float:\n    return number % 1.0\n\n"
    reader = PROC_ATTACK.replace("forge(steal())", "assert not steal()")
    score = get_benchmark("humaneval")().score(humaneval_sample, f"```python\n{right}{reader}```")
    assert score.passed, score


# -- LiveCodeBench functional tests (twoSum; the wrong solution always answers [0, 1]) --------------------------

LCB_TRICKS = {
    "patch __main__.json_values_equal": "import __main__\n__main__.json_values_equal = lambda *a: True\n",
    "patch builtins": "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n",
    # the checker's own result lines on stdout, stderr and every descriptor the program has
    "print ok lines then exit": "import os\n"
    'lines = b\'\'.join(b\'{"i": %d, "status": "ok"}\\n\' % k for k in range(50))\n'
    "for fd in range(1, 64):\n    try: os.write(fd, lines)\n    except OSError: pass\n" + EXIT_0,
    "exit at load": "exit()\n",
    "fork, parent exits 0": "import os\nif os.fork():\n    os._exit(0)\n",
    "kill the checker": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "proc doors": PROC_ATTACK,
    "proc doors then exit": PROC_ATTACK + EXIT_0,
    "list that equals everything": "class Yes(list):\n    __eq__ = lambda s, o: True\n"
    "Solution.twoSum = lambda self, nums, target: Yes([0, 1])\n",
}
WRONG_LCB = "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n\n"


@pytest.fixture
def lcb_sample(tmp_path: Path) -> Sample:
    folder = tmp_path / "code_generation_lite"
    write_jsonl(folder / "test5.jsonl", [data.lcb_row("3600", "2025-01-04T00:00:00", functional=True)])
    loader = DatasetLoader({"live_code_bench": str(folder)})
    return next(iter(get_benchmark("live_code_bench")().load("v5", loader)))


@pytest.mark.parametrize("trick", sorted(LCB_TRICKS))
def test_lcb_wrong_solution_with_a_trick_fails(lcb_sample: Sample, trick: str):
    benchmark = get_benchmark("live_code_bench")()
    score = benchmark.score(lcb_sample, f"```python\n{WRONG_LCB}{LCB_TRICKS[trick]}```")
    assert not score.passed, (trick, score)
    assert score.metrics["pass_at_1"] == 0.0


def test_lcb_right_solution_still_passes(lcb_sample: Sample):
    score = get_benchmark("live_code_bench")().score(lcb_sample, data.LCB_FUNCTIONAL_RIGHT)
    assert score.passed and score.extracted == "3/3 tests passed"


# A test that calls the candidate inside an iteration (`all(map(...))`, a generator): a StopIteration
# raised there ends the iteration instead of failing, so `all([])` is True. The program raises it on
# purpose; the checker must never hand an iteration-ending exception back to the test.
@pytest.mark.parametrize("raised", ["StopIteration", "StopAsyncIteration", "GeneratorExit"])
def test_humaneval_exception_that_ends_an_iteration_cannot_pass_a_wrong_function(humaneval_sample: Sample, raised: str):
    meta = dict(humaneval_sample.metadata)
    meta["test"] = "def check(candidate):\n    assert all(map(lambda x: candidate(x) == x - int(x), [3.5, 1.25]))\n"
    sample = humaneval_sample.model_copy(update={"metadata": meta})
    reply = f"```python\ndef truncate_number(number: float) -> float:\n    raise {raised}\n```"
    score = get_benchmark("humaneval")().score(sample, reply)
    assert not score.passed, score
