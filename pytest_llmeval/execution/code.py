"""Pass/fail scoring of generated programs by running them in the sandbox (:mod:`.sandbox`).

Three test styles:

* stdin/stdout programs (LiveCodeBench ``testtype == "stdin"``): :func:`check_stdio_program`, one sandboxed run
  per test, output compared with :func:`~pytest_llmeval.scoring.code.outputs_match`;
* LeetCode-style functions (LiveCodeBench ``testtype == "functional"``): :func:`check_functional`, the solution
  loaded once and ``Solution().<func_name>(*args)`` called in a fresh fork per test;
* HumanEval: :func:`check_humaneval`, prompt + completion, called by the dataset's ``check(candidate)``.

The last two run under a *checker* (``_checker_boot.py``): the verdict comes from a process apart from the
model's code, over a descriptor the program never holds, ending with a per-run nonce (docs/security.md), so an
early exit, a patched comparison or a fake result line cannot pass.

Every checker stops at the first failing test and returns a :class:`CodeVerdict`; Pass@1 of a sample is
``verdict.passed``. The text side (the code in a reply, the HumanEval program, comparing outputs) is pure and
lives in :mod:`pytest_llmeval.scoring.code`; LiveCodeBench's compressed private tests are decoded by
:mod:`pytest_llmeval.benchmarks.live_code_bench`.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from pytest_llmeval.errors import DatasetError
from pytest_llmeval.execution.sandbox import (
    DEFAULT_LIMITS,
    SandboxLimits,
    SandboxResult,
    disk_full_reason,
    run_python,
)
from pytest_llmeval.scoring.code import (
    excerpt,
    humaneval_solution,
    json_values_equal,
    outputs_match,
    parse_functional_test,
)

FailureStatus = Literal["wrong_answer", "runtime_error", "timeout", "memory_exceeded", "output_exceeded", "killed"]

_STDERR_TAIL_CHARS = 1500


class FailureDetail(BaseModel):
    """The first failing test: its 0-based index, why it failed, and short excerpts to show in a report;
    ``reason`` names the sandbox limit that stopped the run, when one did (``"wall time of 10 s reached"``)."""

    model_config = ConfigDict(frozen=True)

    test_index: int
    status: FailureStatus
    input_excerpt: str
    expected: str
    got: str
    stderr_tail: str = ""
    reason: str = ""


class CodeVerdict(BaseModel):
    """Result of running a program against its tests. ``n_passed`` counts the tests passed before the first
    failure (checkers stop there), so ``n_passed < n_total`` whenever ``passed`` is false."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    n_passed: int
    n_total: int
    first_failure: FailureDetail | None = None


def _tail(text: str, limit: int = _STDERR_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


# ------------------------------------------------------------------------------------------- stdin programs


def _failure_from_run(index: int, test_input: str, expected: str, result: SandboxResult) -> FailureDetail:
    return FailureDetail(
        test_index=index,
        status="wrong_answer" if result.status == "ok" else result.status,
        input_excerpt=excerpt(test_input),
        expected=excerpt(expected),
        got=excerpt(result.stdout),
        stderr_tail=_tail(_stderr_with_reason(result)),
        reason=result.reason or "",
    )


def _stderr_with_reason(result: SandboxResult) -> str:
    """The program's stderr, after the limit that stopped it (when one did), so a report says why."""
    return f"sandbox: {result.reason}\n{result.stderr}" if result.reason else result.stderr


def _require_tests(tests: Sequence[Any]) -> None:
    if not tests:
        raise ValueError("no tests to run: a program without tests cannot be judged; check the dataset row's tests")


def check_stdio_program(
    code: str,
    tests: Sequence[tuple[str, str]],
    limits: SandboxLimits = DEFAULT_LIMITS,
    *,
    python: str = sys.executable,
    tolerance: float | None = None,
) -> CodeVerdict:
    """Run ``code`` once per ``(stdin, expected stdout)`` test, in order, stopping at the first failure.

    A test passes when the run ends ``ok`` (exit code 0 within limits) and :func:`outputs_match` (with
    ``tolerance`` for numbers, None: exact). ``limits`` apply
    to each run; ``max_output_bytes`` is raised per test to twice the expected output when that is larger, so a
    correct program with a big answer is not cut off.
    """
    _require_tests(tests)
    for index, (test_input, expected) in enumerate(tests):
        run_limits = limits
        if 2 * len(expected) > limits.max_output_bytes:
            run_limits = limits.model_copy(update={"max_output_bytes": 2 * len(expected)})
        result = run_python(code, test_input, run_limits, python)
        if result.status != "ok" or not outputs_match(result.stdout, expected, tolerance):
            return CodeVerdict(
                passed=False,
                n_passed=index,
                n_total=len(tests),
                first_failure=_failure_from_run(index, test_input, expected, result),
            )
    return CodeVerdict(passed=True, n_passed=len(tests), n_total=len(tests))


# --------------------------------------------------------------------------------------- functional (LeetCode)


# Names LeetCode's Python judge has in scope before the solution runs (solutions use List, deque... unimported).
_SOLUTION_PRELUDE = """\
from typing import *
from collections import *
from functools import *
from itertools import *
from heapq import *
from bisect import *
from math import inf, gcd, sqrt, isqrt, ceil, floor, log, log2, comb, factorial
import bisect, collections, functools, heapq, itertools, math, operator, re, string, sys
"""

_CHECKER_FILE = Path(__file__).resolve().with_name("_checker_boot.py")


@functools.cache
def _checker_source() -> str:
    """The verdict process's source (``_checker_boot.py``) with the comparison function and the call of main.

    So :func:`json_values_equal` must stay self-contained: builtins and ``math`` only (a helper it called would
    be missing in the checker, and every functional test would fail with a NameError)."""
    return f"{_CHECKER_FILE.read_text(encoding='utf-8')}\n\n{inspect.getsource(json_values_equal)}\n\nmain()\n"


def _checked_run(
    mode: str, name: str, program: str, payload: dict[str, Any], limits: SandboxLimits, python: str
) -> tuple[list[dict[str, Any]], bool, SandboxResult]:
    """Run ``program`` under the checker (``_checker_boot.py``): ``(records, finished, result)``.

    ``records`` are what the checker wrote on its private descriptor, which the program cannot reach;
    ``finished`` is true only when the last line is the checker's ``{"done": nonce}``, with the nonce that
    travelled only inside the checker's stdin. Anything the program prints is in ``result.stdout`` and
    decides nothing.
    """
    nonce = secrets.token_hex(16)
    checker = (_checker_source(), [mode, name, str(max(1, math.ceil(limits.cpu_time_s))), _SOLUTION_PRELUDE])
    result = run_python(program, json.dumps({**payload, "nonce": nonce}), limits, python, checker=checker)
    records: list[dict[str, Any]] = []
    finished = False
    for line in (result.verdict or "").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            break
        if not isinstance(record, dict) or finished:
            break
        if "done" in record:
            finished = record["done"] == nonce
            if not finished:
                break
            continue
        records.append(record)
    return records, finished, result


def _unfinished(result: SandboxResult) -> tuple[FailureStatus, str]:
    """The failure of a run whose checker never said it was done: the run's own fate, else a plain error."""
    if result.status != "ok":
        return result.status, _stderr_with_reason(result)
    return "runtime_error", "the checker did not finish (it was killed or its process was ended)\n" + result.stderr


_STATUSES = ("wrong_answer", "runtime_error", "timeout", "memory_exceeded", "output_exceeded", "killed")


def check_functional(
    code: str,
    func_name: str,
    tests: Sequence[tuple[list[Any], Any]],
    limits: SandboxLimits = DEFAULT_LIMITS,
    *,
    python: str = sys.executable,
) -> CodeVerdict:
    """Call ``Solution().<func_name>(*args)`` (or a top-level function ``func_name`` when there is no such class)
    for each ``(args, expected)`` test, in order, stopping at the first failure.

    The solution is loaded once in the candidate process, with LeetCode's usual names already imported
    (``List``, ``Optional``, ``deque``, ``Counter``, ``lru_cache``, ``heapq``...). Each test runs in a fresh fork
    of it: ``limits.wall_time_s`` (kept by the checker) and ``limits.cpu_time_s`` apply per test, mutations do not
    leak between tests, and what the solution prints is discarded. The return value must be JSON-serialisable
    (tuples become lists) and equal to ``expected`` by :func:`json_values_equal`, as judged by the checker and
    again here. Use :func:`parse_functional_test` for LiveCodeBench rows.
    """
    _require_tests(tests)
    largest = max(len(json.dumps(expected)) for _, expected in tests)
    payload = {
        "tests": [[list(args), expected] for args, expected in tests],
        "wall_s": float(limits.wall_time_s),
        "max_reply_bytes": max(limits.max_output_bytes, 2 * largest + 1024),
    }
    # The per-test limits are kept by the checker; the run as a whole only needs a backstop.
    run_limits = limits.model_copy(
        update={
            "cpu_time_s": limits.cpu_time_s * (len(tests) + 1),
            "wall_time_s": limits.wall_time_s * (len(tests) + 1) + 5,
            "max_processes": limits.max_processes + 2,  # the checker and the fork of each test
        }
    )
    records, finished, result = _checked_run("functional", func_name, code, payload, run_limits, python)
    n_ok = 0
    failing: dict[str, Any] | None = None
    reason = ""
    for index, record in enumerate(records[: len(tests)]):
        if record.get("i") != index:
            break
        # The checker compared already; the verdict is ours: compare again here, outside the sandbox.
        if record.get("status") == "ok" and json_values_equal(record.get("got"), tests[index][1]):
            n_ok += 1
            continue
        failing = record
        break
    if finished and n_ok == len(tests):
        return CodeVerdict(passed=True, n_passed=n_ok, n_total=len(tests))
    index = min(n_ok, len(tests) - 1)
    args, expected = tests[index]
    if failing is not None:
        status = failing.get("status")
        status = "wrong_answer" if status == "ok" else status
        got = failing.get("got_repr") or (excerpt(json.dumps(failing["got"])) if "got" in failing else "")
        stderr = str(failing.get("error") or "") or result.stderr
        if status in ("timeout", "memory_exceeded", "output_exceeded"):  # the checker's words for the limit
            reason = excerpt(next(iter(stderr.strip().splitlines()[-1:]), ""))
    else:  # the checker was stopped before it judged this test: the run's fate is the test's
        status, stderr = _unfinished(result)
        got, reason = "", result.reason or ""
    if status not in _STATUSES:
        status = "runtime_error"
    return CodeVerdict(
        passed=False,
        n_passed=n_ok,
        n_total=len(tests),
        first_failure=FailureDetail(
            test_index=index,
            status=cast(FailureStatus, status),
            input_excerpt=excerpt("\n".join(json.dumps(a) for a in args)),
            expected=excerpt(json.dumps(expected)),
            got=got,
            stderr_tail=_tail(stderr),
            reason=reason,
        ),
    )


# ------------------------------------------------------------------------------------------------- HumanEval


def check_humaneval(
    completion: str,
    prompt: str,
    test: str,
    entry_point: str,
    limits: SandboxLimits = DEFAULT_LIMITS,
    *,
    python: str = sys.executable,
) -> CodeVerdict:
    """Judge a HumanEval completion; one test (the ``check`` function), so ``n_total`` is 1.

    Two processes in one sandbox (``_checker_boot.py``): the model's program (:func:`humaneval_solution`)
    runs in one and answers calls; the dataset's prompt, ``test`` code and ``check(candidate)`` run in the
    other, where ``candidate`` forwards each call and gets back plain data (numbers, strings, lists, tuples,
    dicts, sets, bytes, None) decoded there. Only that process writes the verdict, on a descriptor the program
    does not have. So an early ``exit()``, a patched ``assert`` or builtin, or a returned object whose
    ``__eq__`` is always true cannot pass. A failing ``assert`` is ``wrong_answer``; an exception, a value that
    is not plain data, or a program that ends before answering is ``runtime_error``.
    """
    program = humaneval_solution(completion, prompt, entry_point)
    payload = {"prompt": prompt, "test": test, "max_reply_bytes": max(limits.max_output_bytes, 1 << 20)}
    run_limits = limits.model_copy(update={"max_processes": limits.max_processes + 1})  # + the checker
    records, finished, result = _checked_run("humaneval", entry_point, program, payload, run_limits, python)
    record = records[0] if records else None
    if finished and record is not None and record.get("status") == "ok":
        return CodeVerdict(passed=True, n_passed=1, n_total=1)
    if finished and record is not None:
        status = record.get("status")
        error = str(record.get("error") or "")
    else:
        status, error = _unfinished(result)
    if status not in _STATUSES or status == "ok":
        status = "runtime_error"
    last_line = next((line for line in reversed(error.splitlines()) if line.strip()), "")
    if "[Errno 28]" in last_line:
        last_line = f"{disk_full_reason(limits)}: {last_line}"
    elif result.reason and not finished:
        last_line = result.reason
    stderr = error if not result.stderr else f"{error}\n--- the program's stderr ---\n{result.stderr}"
    return CodeVerdict(
        passed=False,
        n_passed=0,
        n_total=1,
        first_failure=FailureDetail(
            test_index=0,
            status=cast(FailureStatus, status),
            input_excerpt=f"check({entry_point})",
            expected="check() returns without an exception",
            got=excerpt(last_line or f"exit code {result.exit_code}"),
            stderr_tail=_tail(stderr),
        ),
    )


def check_livecodebench(
    code: str,
    tests: Sequence[dict[str, Any]],
    func_name: str | None = None,
    limits: SandboxLimits = DEFAULT_LIMITS,
    *,
    python: str = sys.executable,
    tolerance: float | None = None,
) -> CodeVerdict:
    """Judge ``code`` on LiveCodeBench test dicts (public then private, as
    ``benchmarks.live_code_bench.decode_lcb_private_tests`` decodes them). All tests of a problem share one
    ``testtype``: ``stdin`` goes to :func:`check_stdio_program` (numbers compared exactly, or
    within ``tolerance``), ``functional`` to :func:`check_functional`, which needs ``func_name`` (the row's
    ``metadata["func_name"]``)."""
    _require_tests(tests)
    kinds = {t["testtype"] for t in tests}
    if kinds == {"stdin"}:
        return check_stdio_program(
            code, [(t["input"], t["output"]) for t in tests], limits, python=python, tolerance=tolerance
        )
    if kinds == {"functional"}:
        if not func_name:
            raise DatasetError("LiveCodeBench functional tests need func_name (from the row's metadata)")
        parsed = [parse_functional_test(t["input"], t["output"]) for t in tests]
        return check_functional(code, func_name, parsed, limits, python=python)
    raise DatasetError(f"LiveCodeBench tests mix test types {sorted(kinds)}; one problem uses one type")
