"""Pass/fail scoring of generated programs by running them in the sandbox (:mod:`.sandbox`).

Three test styles:

* stdin/stdout programs (LiveCodeBench ``testtype == "stdin"``): :func:`check_stdio_program`, one sandboxed run
  per test, output compared with :func:`outputs_match`;
* LeetCode-style functions (LiveCodeBench ``testtype == "functional"``): :func:`check_functional`, the solution
  loaded once and ``Solution().<func_name>(*args)`` called in a fresh fork per test;
* HumanEval: :func:`check_humaneval`, prompt + completion, called by the dataset's ``check(candidate)``.

The last two run under a *checker* (``_checker_boot.py``): the verdict comes from a process apart from the
model's code, over a descriptor the program never holds, ending with a per-run nonce (docs/security.md), so an
early exit, a patched comparison or a fake result line cannot pass.

Every checker stops at the first failing test and returns a :class:`CodeVerdict`; Pass@1 of a sample is
``verdict.passed``. :func:`decode_lcb_private_tests` reads LiveCodeBench's compressed private tests without
unpickling anything but a string.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import io
import json
import math
import pickle
import re
import secrets
import sys
import textwrap
import zlib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from pytest_llmeval.errors import DatasetError
from pytest_llmeval.scoring.sandbox import (
    DEFAULT_LIMITS,
    SandboxLimits,
    SandboxResult,
    disk_full_reason,
    run_python,
)

FailureStatus = Literal["wrong_answer", "runtime_error", "timeout", "memory_exceeded", "output_exceeded", "killed"]

_EXCERPT_CHARS = 300
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


def _excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


def _tail(text: str, limit: int = _STDERR_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


# --------------------------------------------------------------------------------------------- code extraction

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "python 3"})
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^`\n]*?)[ \t]*$")


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language tag, code)`` of every fenced block; an unclosed last fence (truncated reply) runs to the end."""
    blocks: list[tuple[str, str]] = []
    fence: str | None = None
    tag, body = "", list[str]()
    for line in text.splitlines(keepends=True):
        if fence is None:
            match = _FENCE_OPEN.match(line.rstrip("\r\n"))
            if match:
                fence, tag, body = match.group(1), match.group(2).split(" ")[0].lower() if match.group(2) else "", []
            continue
        stripped = line.strip()
        if stripped.startswith(fence) and not stripped.strip(fence[0]):
            blocks.append((tag, "".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        blocks.append((tag, "".join(body)))
    return blocks


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(name)}\b", code, re.MULTILINE) is not None


def extract_code(text: str, language: str = "python", entry_point: str | None = None) -> str:
    """The program in a model reply: the *last* fenced block tagged ``language``, else the last fenced block of
    any language, else the whole reply unchanged.

    Why the last: replies often quote the sample input or a first attempt before the final program, and
    LiveCodeBench grades the last block too. Python tags ``python``, ``py``, ``python3``, ``py3`` all count.
    Fences are ```` ``` ```` or ``~~~`` (three or more); a reply cut off inside a fence still yields that code.
    Surrounding blank lines are dropped; indentation is kept (HumanEval bodies need it).

    ``entry_point`` (HumanEval's function name): the last block that defines it (``def``/``class``) wins over
    later blocks that only use it - an "Example usage" block (``print(add(2, 3))``) or tests after the solution
    are not the solution. Without such a block the rule above applies.
    """
    blocks = _fenced_blocks(text)
    if not blocks:
        return text
    wanted = _PYTHON_TAGS if language.lower() in _PYTHON_TAGS else {language.lower()}
    tagged = [code for tag, code in blocks if tag in wanted]
    candidates = tagged or [code for _, code in blocks]
    defining = [code for code in candidates if entry_point and _defines(code, entry_point)]
    code = defining[-1] if defining else candidates[-1]
    return code.strip("\r\n")


# ------------------------------------------------------------------------------------------ output comparison


def _tokens_equal(got: str, expected: str, tolerance: float | None = None) -> bool:
    if got == expected:
        return True
    try:
        g, e = Decimal(got), Decimal(expected)
    except (InvalidOperation, ValueError):
        return False
    if g == e:
        return True
    if tolerance is None or not (g.is_finite() and e.is_finite()):
        return False
    if _is_integer_token(got) and _is_integer_token(expected):
        return False
    # the judges' "absolute or relative error at most 1e-6": |got - expected| <= tol * max(1, |expected|)
    return abs(g - e) <= Decimal(repr(tolerance)) * max(Decimal(1), abs(e))


def _is_integer_token(token: str) -> bool:
    return re.fullmatch(r"[-+]?\d+", token) is not None


def _significant_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def outputs_match(got: str, expected: str, tolerance: float | None = None) -> bool:
    """Whether a program's stdout answers ``expected``, the way competitive-programming judges compare.

    Line by line after dropping trailing whitespace on each line and blank lines at the start and end; within a
    line, whitespace-separated tokens must be equal, either as strings or as exact decimal numbers (``1.50`` equals
    ``1.5``, ``3`` equals ``3.0``; no tolerance: ``0.333`` does not equal ``0.3333``). Line breaks matter: ``1 2``
    does not equal ``1\\n2``.

    ``tolerance`` (None: exact, as LiveCodeBench itself compares): two numbers, not both integers, also match
    when their absolute or relative error is at most ``tolerance`` (``0.333333`` for ``0.3333333333`` at 1e-6),
    for statements that accept an error ("answers within 1e-6 are accepted"). Integers stay exact.
    """
    got_lines, expected_lines = _significant_lines(got), _significant_lines(expected)
    if len(got_lines) != len(expected_lines):
        return False
    for got_line, expected_line in zip(got_lines, expected_lines, strict=False):
        got_tokens, expected_tokens = got_line.split(), expected_line.split()
        if len(got_tokens) != len(expected_tokens):
            return False
        if not all(_tokens_equal(g, e, tolerance) for g, e in zip(got_tokens, expected_tokens, strict=False)):
            return False
    return True


def json_values_equal(got: Any, expected: Any) -> bool:
    """Equality of two JSON values for functional tests (the harness applies it inside the sandbox as well).

    Booleans only equal booleans (``1`` is not ``true``); two integers must be equal; a float matches a number
    within 1e-6 relative or absolute (LeetCode accepts answers within 1e-5); lists compare element-wise in order
    (tuples arrive as lists), objects key by key; anything else with ``==``.
    """
    if isinstance(got, bool) or isinstance(expected, bool):
        return isinstance(got, bool) and isinstance(expected, bool) and got == expected
    if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
        if isinstance(got, int) and isinstance(expected, int):
            return got == expected
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(json_values_equal(g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(json_values_equal(got[k], expected[k]) for k in got)
    return bool(got == expected)


# ------------------------------------------------------------------------------------------- stdin programs


def _failure_from_run(index: int, test_input: str, expected: str, result: SandboxResult) -> FailureDetail:
    return FailureDetail(
        test_index=index,
        status="wrong_answer" if result.status == "ok" else result.status,
        input_excerpt=_excerpt(test_input),
        expected=_excerpt(expected),
        got=_excerpt(result.stdout),
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


def parse_functional_test(test_input: str, test_output: str) -> tuple[list[Any], Any]:
    """LiveCodeBench functional test -> ``(args, expected)``: the input holds one JSON value per line (one per
    argument, blank lines ignored), the output one JSON value."""
    try:
        args = [json.loads(line) for line in test_input.split("\n") if line.strip()]
        expected = json.loads(test_output)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"functional test is not JSON ({exc}); expected one JSON value per input line and a JSON output: "
            f"input={_excerpt(test_input, 80)!r} output={_excerpt(test_output, 80)!r}"
        ) from None
    return args, expected


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
    return (f"{_CHECKER_FILE.read_text(encoding='utf-8')}\n\n{inspect.getsource(json_values_equal)}\n\n"
            "main()\n")


def _checked_run(mode: str, name: str, program: str, payload: dict[str, Any], limits: SandboxLimits,
                 python: str) -> tuple[list[dict[str, Any]], bool, SandboxResult]:
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
        except json.JSONDecodeError:
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
        got = failing.get("got_repr") or (_excerpt(json.dumps(failing["got"])) if "got" in failing else "")
        stderr = str(failing.get("error") or "") or result.stderr
        if status in ("timeout", "memory_exceeded", "output_exceeded"):  # the checker's words for the limit
            reason = _excerpt(next(iter(stderr.strip().splitlines()[-1:]), ""))
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
            status=cast(FailureStatus, status),  # checked against _STATUSES above
            input_excerpt=_excerpt("\n".join(json.dumps(a) for a in args)),
            expected=_excerpt(json.dumps(expected)),
            got=got,
            stderr_tail=_tail(stderr),
            reason=reason,
        ),
    )


# ------------------------------------------------------------------------------------------------- HumanEval


def humaneval_solution(completion: str, prompt: str, entry_point: str) -> str:
    """The model's side of a HumanEval program: prompt + completion, without the tests.

    The completion is first reduced with :func:`extract_code` (chat models fence it; the block that defines
    ``entry_point`` wins over a later usage or test block). If it defines
    ``entry_point`` itself (the model repeated the signature), it is used whole, dedented, *after* the prompt,
    so the prompt's imports and helper functions stay available and the new definition wins. Otherwise it is
    the function body continuing the prompt; a body whose first line is not indented gets four spaces.
    """
    code = extract_code(completion, entry_point=entry_point)
    if re.search(rf"^[ \t]*def[ \t]+{re.escape(entry_point)}[ \t]*\(", code, re.MULTILINE):
        return prompt.rstrip("\n") + "\n\n" + textwrap.dedent(code) + "\n"
    first = next((line for line in code.splitlines() if line.strip()), "")
    if first and not first[0].isspace():
        code = textwrap.indent(code, "    ")
    return prompt + code + "\n"


def build_humaneval_program(completion: str, prompt: str, test: str, entry_point: str) -> str:
    """The single program HumanEval's reference harness runs: :func:`humaneval_solution` + the dataset's test
    code + ``check(entry_point)``. Not how this plugin judges (see :func:`check_humaneval`: in one process the
    model's code could exit early or patch the test); kept for ``bench/`` and for reading."""
    return f"{humaneval_solution(completion, prompt, entry_point)}\n{test}\n\ncheck({entry_point})\n"


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
            status=cast(FailureStatus, status),  # checked against _STATUSES above
            input_excerpt=f"check({entry_point})",
            expected="check() returns without an exception",
            got=_excerpt(last_line or f"exit code {result.exit_code}"),
            stderr_tail=_tail(stderr),
        ),
    )


# ------------------------------------------------------------------------------------------ LiveCodeBench rows


class _LCBTest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str
    output: str
    testtype: Literal["stdin", "functional"]


class _OnlyStrUnpickler(pickle.Unpickler):
    """Unpickles plain data only: any class or function reference (the way pickles run code) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only a pickled str is accepted")


def decode_lcb_private_tests(s: str, *, max_bytes: int = 1 << 30) -> list[dict[str, Any]]:
    """LiveCodeBench ``private_test_cases`` -> ``[{"input", "output", "testtype"}, ...]``.

    Accepts the plain JSON list (as ``public_test_cases`` is stored) and the compressed form: base64 of zlib of a
    pickle of that JSON string. The pickle is read with an unpickler that refuses every global, so it can only
    produce plain data (never run code), and the result must be a ``str``. Decompression stops at ``max_bytes``
    (a guard against decompression bombs). Raises :class:`~pytest_llmeval.errors.DatasetError` naming what is
    wrong with the field.
    """
    text = s.strip()
    if text.startswith("["):
        try:
            return _validate_lcb_tests(json.loads(text))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"LiveCodeBench tests look like JSON but do not parse: {exc}") from None
    try:
        compressed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DatasetError(
            "LiveCodeBench tests are neither a JSON list nor base64 (expected base64(zlib(pickle(json))))"
        ) from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, max_bytes)
    except zlib.error as exc:
        raise DatasetError(f"LiveCodeBench tests: base64 decoded but is not zlib data ({exc})") from None
    if inflater.unconsumed_tail:
        raise DatasetError(f"LiveCodeBench tests inflate to more than max_bytes={max_bytes}; raise max_bytes")
    if raw.lstrip().startswith(b"["):
        payload: Any = raw.decode("utf-8")
    else:
        try:
            payload = _OnlyStrUnpickler(io.BytesIO(raw)).load()
        except Exception as exc:
            raise DatasetError(f"LiveCodeBench tests: the decompressed pickle is not a plain string ({exc})") from None
    if not isinstance(payload, str):
        raise DatasetError(f"LiveCodeBench tests: expected a pickled JSON string, got {type(payload).__name__}")
    try:
        return _validate_lcb_tests(json.loads(payload))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"LiveCodeBench tests: the unpickled string is not JSON ({exc})") from None


def _validate_lcb_tests(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise DatasetError(f"LiveCodeBench tests: expected a JSON list of tests, got {type(value).__name__}")
    try:
        return [_LCBTest.model_validate(item).model_dump() for item in value]
    except ValidationError as exc:
        raise DatasetError(
            "LiveCodeBench tests: each test needs string 'input' and 'output' and testtype 'stdin' or "
            f"'functional' ({exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})"
        ) from None


def check_livecodebench(
    code: str,
    tests: Sequence[dict[str, Any]],
    func_name: str | None = None,
    limits: SandboxLimits = DEFAULT_LIMITS,
    *,
    python: str = sys.executable,
    tolerance: float | None = None,
) -> CodeVerdict:
    """Judge ``code`` on LiveCodeBench test dicts (public then private, as decoded above). All tests of a
    problem share one ``testtype``: ``stdin`` goes to :func:`check_stdio_program` (numbers compared exactly, or
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
