"""The time limit on math-verify's symbolic step (`execution.symbolic.math_equal`): a pathological answer
is a scorer timeout within the limit, the warm-up is never counted, the helper process takes over off the main
thread or when another tool's alarm is pending, and the caller's alarm handler is left as it was."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_llmeval.errors import ScorerTimeoutError
from pytest_llmeval.execution.symbolic import math_equal, symbolic_calls

PATHOLOGICAL = ["10^{10^{10^{10}}}", "(10^{10})!", "9999999999!"]


@pytest.mark.parametrize("expression", PATHOLOGICAL)
def test_pathological_expression_is_a_scorer_timeout_within_the_limit(expression: str) -> None:
    assert math_equal("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}")  # symbolic: imports math-verify first
    started = time.perf_counter()
    with pytest.raises(ScorerTimeoutError) as info:
        math_equal(expression, "5", timeout_s=0.5)
    assert time.perf_counter() - started < 1.5
    assert info.value.kind == "scorer_timeout" and "not a wrong answer" in str(info.value)


COLD_FIRST_CALL = r"""
import sys, threading
sys.path.insert(0, sys.argv[1])
from pytest_llmeval.execution.symbolic import math_equal
from pytest_llmeval.errors import ScorerTimeoutError
verdicts = []
def score_twice():  # the first call pays the warm-up (sympy import) outside the limit; then a re-score
    for _ in range(2):
        try:
            verdicts.append(math_equal("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}", timeout_s=float(sys.argv[2])))
        except ScorerTimeoutError:
            verdicts.append("timeout")
if sys.argv[3] == "main":
    score_twice()
else:  # off the main thread: the helper process, whose start-up is not counted either
    worker = threading.Thread(target=score_twice)
    worker.start()
    worker.join()
print(verdicts)
"""


@pytest.mark.parametrize("thread", ["main", "worker"])
def test_first_symbolic_call_in_a_fresh_process_excludes_warm_up(thread: str) -> None:
    """Issue: cos(pi/3) == 1/2 scored False on a cold, loaded process (sympy's import ate the 2 s)."""
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", COLD_FIRST_CALL, root, "1.0", thread], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[True, True]"


def test_symbolic_path_off_the_main_thread() -> None:
    """Off the main thread SIGALRM is unavailable; a helper process enforces the limit instead."""
    results: dict[str, object] = {}

    def run() -> None:
        # symbolic (trigonometry), so this first call starts the helper outside the measured call
        results["equal"] = math_equal("\\cos\\frac{\\pi}{3}", "\\frac{1}{2}", timeout_s=30)
        started = time.perf_counter()
        try:
            results["slow"] = math_equal("10^{10^{10^{10}}}", "5", timeout_s=1.0)
        except ScorerTimeoutError:
            results["slow"] = "timeout"
        results["elapsed"] = time.perf_counter() - started
        results["after-restart"] = math_equal("\\sin\\frac{\\pi}{2}", "1", timeout_s=30)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert results["equal"] is True
    assert results["slow"] == "timeout"
    assert isinstance(results["elapsed"], float) and results["elapsed"] < 3.0
    assert results["after-restart"] is True


def test_alarm_handler_of_the_caller_is_restored() -> None:
    import signal

    def mine(signum: int, frame: object) -> None:  # pragma: no cover - never fires
        raise AssertionError("caller's alarm fired")

    previous = signal.signal(signal.SIGALRM, mine)
    before = symbolic_calls()
    try:
        assert math_equal("\\sin\\frac{\\pi}{6}", "\\frac{1}{2}") is True  # symbolic path, in-process alarm
        assert symbolic_calls() == before + 1
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_pending_alarm_of_another_tool_is_left_alone() -> None:
    """pytest-timeout's signal method arms SIGALRM itself; we must not cancel it."""
    import signal

    fired: list[bool] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 60.0)
    before = symbolic_calls()
    try:
        assert math_equal("\\tan\\frac{\\pi}{4}", "1", timeout_s=30) is True  # goes to the helper
        assert symbolic_calls() == before + 1
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0.0 < remaining <= 60.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired
