"""Competition-math equality under a time limit: `math_equal`, the scorer the math benchmarks call.

`scoring.math_equiv.math_verdict` decides most pairs itself (pure, microseconds); what it leaves
`Undecided` goes to math-verify's symbolic check (`scoring.math_equiv.symbolic_equal`), which can
run for minutes on a pathological answer such as `10^{10^{10^{10}}}`. Here it gets a hard limit.

Time limits: in the main thread the symbolic check runs in-process under `SIGALRM`
(`signal.setitimer`, so fractions of a second work). Off the main thread, without `SIGALRM`, or when
another tool already has an alarm armed (e.g. pytest-timeout's signal method), it runs in a helper
process (`python -m pytest_llmeval.execution.symbolic`) that is killed and restarted on timeout.
Either way a pathological answer costs at most `timeout_s` and raises `ScorerTimeoutError`: the
sample is an error of kind `scorer_timeout`, never a wrong answer (a verdict that depends on machine
load would change on a re-score). The limit excludes the one-time warm-up (importing
math-verify/sympy and a first parse and verify, which take seconds on a loaded machine): it runs
before the alarm is armed, and in the helper before it reports ready.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from ..errors import ScorerTimeoutError
from ..processes import spawn_module
from ..scoring.math_equiv import (
    Undecided,
    load_math_verify,
    math_verdict,
    symbolic_equal,
)

__all__ = ["math_equal", "symbolic_calls"]


class _Timeout(BaseException):
    """Internal (caught here, becomes ScorerTimeoutError), so not in errors.py. Raised from the SIGALRM
    handler. BaseException so that library `except Exception` blocks cannot swallow it and keep computing."""


def _alarm_usable() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0  # nobody else's alarm is pending
    )


_WARM = False


def _warm_up() -> None:
    """Import math-verify and run one parse + verify, once per process, outside any time limit."""
    global _WARM
    if not _WARM:
        load_math_verify()
        symbolic_equal("\\frac{1}{2}", "0.5")
        _WARM = True


def _symbolic_equal_with_alarm(pred: str, target: str, timeout_s: float) -> bool | None:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _Timeout()

    _warm_up()  # never let the alarm interrupt an import (that would break sympy for good), nor count it
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            return symbolic_equal(pred, target)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        return None
    finally:
        signal.signal(signal.SIGALRM, previous)


def _worker_loop() -> None:
    """Helper-process loop: one JSON `[pred, target]` per stdin line, one JSON bool per stdout line."""
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    _warm_up()
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        pred, target = json.loads(line)
        try:
            result = symbolic_equal(pred, target)
        except Exception:
            result = False
        out.write(json.dumps(result) + "\n")
        out.flush()


class _HelperProcess:
    """One lazily started helper interpreter, killed and replaced when a comparison overruns.

    A plain subprocess rather than `multiprocessing`: spawn would re-import the user's `__main__`
    (a script without an `if __name__ == "__main__"` guard would run twice), and fork is unsafe
    with the dispatcher's live threads."""

    _STARTUP_TIMEOUT_S = 120.0  # importing sympy on a busy 2-core machine; not counted per call

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    def _start(self) -> subprocess.Popen[str]:
        process = spawn_module(
            "pytest_llmeval.execution.symbolic",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stream: IO[str]) -> None:  # a thread, so waiting with a timeout works everywhere
            for line in stream:
                lines.put(line)
            lines.put(None)

        assert process.stdout is not None
        threading.Thread(target=pump, args=(process.stdout,), daemon=True, name="llmeval-math-verify").start()
        try:
            ready = lines.get(timeout=self._STARTUP_TIMEOUT_S)
        except queue.Empty:
            ready = None
        if ready != "ready\n":
            process.kill()
            raise RuntimeError(
                "llmeval: the math-verify helper process did not start; "
                f"run `{sys.executable} -c 'import math_verify'` to see why"
            )
        self._process, self._lines = process, lines
        return process

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            # Reaping can take seconds when the helper had allocated a huge integer; do not wait.
            threading.Thread(target=self._process.wait, daemon=True).start()
        self._process = None

    def equal(self, pred: str, target: str, timeout_s: float) -> bool | None:
        """The verdict, or None when it took longer than `timeout_s` (the helper is then killed)."""
        with self._lock:
            process = self._process if self._process is not None and self._process.poll() is None else self._start()
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps([pred, target]) + "\n")
                process.stdin.flush()
                line = self._lines.get(timeout=timeout_s)
            except (OSError, queue.Empty):
                line = None
            if line is None:
                self._stop()
                return None
            return bool(json.loads(line))


_HELPER = _HelperProcess()
_SLOW_CALLS = 0


def symbolic_calls() -> int:
    """How many `math_equal` calls in this process needed the symbolic (slow) path so far."""
    return _SLOW_CALLS


def _symbolic_equal(pred: str, target: str, timeout_s: float) -> bool:
    global _SLOW_CALLS
    _SLOW_CALLS += 1
    try:
        verdict = (
            _symbolic_equal_with_alarm(pred, target, timeout_s)
            if _alarm_usable()
            else _HELPER.equal(pred, target, timeout_s)
        )
    except RecursionError:  # sympy on deeply nested input; math-verify catches the rest itself
        return False
    if verdict is None:
        raise ScorerTimeoutError(f"the symbolic comparison of {pred[:80]!r} with {target[:80]!r}", timeout_s)
    return bool(verdict)


def math_equal(prediction: str, target: str, timeout_s: float = 2.0) -> bool:
    """Whether a model's final answer equals the reference answer mathematically: the rules of
    `scoring.math_equiv.math_verdict` (steps 1-3 decide most pairs in microseconds), and math-verify
    for the rest under this module's time limit.

    At most `timeout_s` seconds (must be > 0) are spent in math-verify, not counting the one-time
    warm-up (see the module docstring); running out raises
    `pytest_llmeval.errors.ScorerTimeoutError` (kind `scorer_timeout`), never a verdict.
    `symbolic_calls()` counts how often math-verify ran.
    """
    if timeout_s <= 0:
        raise ValueError(f"math_equal: timeout_s must be > 0 seconds, got {timeout_s}")
    verdict = math_verdict(prediction, target)
    if isinstance(verdict, Undecided):
        return _symbolic_equal(verdict.prediction, verdict.target, timeout_s)
    return verdict


if __name__ == "__main__":  # the helper process (see _HelperProcess): python -m pytest_llmeval.execution.symbolic
    _worker_loop()
